# ruff: noqa: E501 (cue tables: one pattern line per language reads better than wrapped ones)
"""The cue phrases of each reply intent, per language (en, de, fr, es, pt, nl, it, ja).

Read by leadflow.answers.intent on the writer's own text as written (the patterns ignore case:
the same text keeps the capitals a referral's name is read by), with typographic apostrophes
made plain. Each cue is one regular expression per language; the rule set is the
data below and the order in which intent.read tries the intents. Japanese has no word
boundaries, so its cues are bare phrases.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "de", "fr", "es", "pt", "nl", "it", "ja")


def _compile(cues: dict[str, str]) -> dict[str, re.Pattern[str]]:
    return {language: re.compile(pattern, re.IGNORECASE) for language, pattern in cues.items()}


# An explicit request to be removed: the only cue that opts a lead out without a rep.
UNSUBSCRIBE = _compile(
    {
        "en": r"\bunsubscrib|\bremove (?:me|us|my (?:e-?mail|address|name|details))\b|\bopt(?:[- ])?(?:me )?out\b|"
        r"\bstop (?:e-?mailing|emails?|contacting|sending|writing|spamming|messaging)\b|\btake (?:me|us|my \w+) off\b|"
        r"\bdo not (?:e-?mail|contact|write|message)\b|\bdon'?t (?:e-?mail|contact|write to|message) (?:me|us)\b|"
        r"\bno (?:more|further) (?:e-?mails|messages|contact)\b|\b(?:delete|erase) my (?:data|details|address|e-?mail)\b|"
        r"\boff (?:your|the) (?:mailing )?list\b|\bleave me alone\b|^\s*stop[.!]*\s*$",
        "de": r"\babmelden\b|\babbestellen\b|\baustragen\b|\bkeine (?:weiteren |e-?mails? mehr|mails mehr)|"
        r"\bkeine (?:weiteren )?(?:e-?mails|mails|nachrichten)\b|\bnicht mehr (?:kontaktieren|anschreiben|schreiben|anmailen)\b|"
        r"\b(?:löschen|entfernen) sie (?:mich|meine (?:daten|adresse|e-?mail))|\bvon (?:ihrer|der) (?:liste|verteilerliste)\b|"
        r"\bschreiben sie mir nicht mehr\b|\btragen sie mich (?:\w+ ){0,4}aus\b|\bnehmen sie mich (?:\w+ ){0,4}(?:raus|heraus)\b|"
        r"\baus (?:ihrem|dem|ihrer|der) (?:verteiler|mailverteiler|e-?mail-verteiler|liste)\b",
        "fr": r"\bdésabonn|\bdesabonn|\bdésinscri|\bdesinscri|\bne (?:plus )?(?:me )?(?:contacter|écrire|recevoir) plus\b|"
        r"\bne plus (?:me )?(?:contacter|écrire|recevoir)\b|\bretirez[- ]moi\b|\bsupprimez[- ](?:moi|mon adresse|mes données)|"
        r"\bne m'écrivez plus\b|\bne me contactez plus\b|\barrêtez de m'(?:écrire|envoyer|contacter)|\bplus de (?:mails|e-?mails|messages)\b|"
        r"\bretirer (?:mon adresse|mon e-?mail) de\b",
        "es": r"\bdar(?:me|nos)? de baja\b|\bdarse de baja\b|\bden de baja\b|\bdéme de baja\b|\bdenme de baja\b|"
        r"\bno me (?:contacte|contacten|escriba|escriban|escribas|envíe|envíen)n?\b|\bno (?:me )?vuelva[ns]? a (?:escribir|contactar)|"
        r"\belimín(?:e|a|en)me\b|\bquít(?:e|a|en)me\b|\bsáqu(?:e|en)me\b|\bborr(?:e|a|en) mis datos\b|"
        r"\bdej(?:e|en|a) de (?:escribirme|enviarme|contactarme)\b|\bbaja de (?:la|su|tu) lista\b",
        "pt": r"\bdescadastr|\bcancelar (?:a )?(?:minha )?inscrição\b|\bremov(?:a|am)[- ]me\b|\bme remov(?:a|am)\b|"
        r"\bretir(?:e|em)[- ]me\b|\btir(?:e|em)[- ]me da\b|\bme tir(?:e|em) da\b|\bnão (?:me )?(?:envie|enviem|mande|mandem|contate|contatem|contacte)m?\b|"
        r"\bpar(?:e|em) de (?:me )?(?:enviar|mandar|contatar|escrever)|\bexclu(?:a|am|ir) (?:meus dados|meu (?:e-?mail|endereço))|"
        r"\bnão quero (?:mais )?receber\b",
        "nl": r"\bafmelden\b|\buitschrijven\b|\bschrijf (?:me|mij) uit\b|\bverwijder (?:mij|me|mijn)\b|\bhaal (?:me|mij) (?:van|uit)\b|"
        r"\bgeen (?:e-?mails|mails|berichten) meer\b|\bniet meer (?:mailen|benaderen|contacteren)\b|\bstop met (?:mailen|e-?mailen)\b",
        "it": r"\bcancella(?:mi|temi|re)? (?:dalla |la mia |la |l')(?:lista|iscrizione)|\bdisiscriv|\brimuov(?:i|ete|a|ere)(?:mi)?\b|"
        r"\btoglie(?:te)?mi\b|\bnon (?:mi )?(?:contattate|scrivete|inviate|contattatemi|scrivetemi)|"
        r"\bsmett(?:ete|a|i) di (?:scrivermi|inviarmi|contattarmi)\b|\bnon voglio (?:più )?ricevere\b|\beliminate i miei dati\b",
        "ja": r"配信停止|配信を停止|配信解除|配信不要|登録解除|購読解除|送らないで|送信しないで|連絡しないで|"
        r"リストから(?:削除|外し)|アドレスを削除|今後.{0,12}(?:ご連絡|メール|連絡).{0,12}(?:不要|控え|ご遠慮|送らない)",
    }
)

# Words before a cue that turn it off ("please don't remove me", "no need to unsubscribe me").
NEGATION = re.compile(
    r"(?:\bnot|\bdon'?t|\bdo not|\bnever|\bno need to|\bno reason to|\bnicht|\bkein\w*|\bne pas|\bpas besoin de|"
    r"\bno quiero|\bnão quero|\bniet|\bnon voglio|\bnon)\s+(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)
# A condition before a cue: "if you keep writing I'll unsubscribe" is no request yet (the rep decides).
CONDITION = re.compile(
    r"\b(?:if|unless|otherwise|or else|wenn|falls|sonst|si|sinon|se|senão|als|anders|altrimenti)\b|もし",
    re.IGNORECASE,
)

# The writer points to someone else ("talk to Maria", "die zuständige Person ist ...").
REFERRAL = _compile(
    {
        "en": r"\b(?:talk|speak|reach out|get in touch|connect) (?:to|with)\b|\bcontact\b|\bloop(?:ing|ed)? in\b|\bcc'?(?:d|ed|ing)\b|"
        r"\bcopying\b|\bforward(?:ed|ing)? (?:this|you|it) to\b(?! (?:me|us)\b)|\bruns\b|\bheads? (?:up )?(?:sales|marketing|ops|operations|it|procurement)\b|\bthe right (?:person|contact)\b|\bhandles? (?:this|that|these)\b|"
        r"\bresponsible for\b|\bin charge of\b|\bbetter (?:person|contact)\b|\bowns? (?:this|that)\b",
        "de": r"\bwenden sie sich an\b|\bsprechen sie mit\b|\bkontaktieren sie\b|\bmelden sie sich bei\b|\bzuständig\w*\b|"
        r"\bansprechpartner\w*\b|\bin kopie\b|\bweitergeleitet\b|\bleite (?:das|es|ihre)\b",
        "fr": r"\bcontactez\b|\badressez[- ]vous à\b|\bvoyez avec\b|\bla bonne personne\b|\bs'occupe de\b|\ben charge\b|"
        r"\bresponsable\b|\ben copie\b|\btransmets\b|\btransféré\b",
        "es": r"\bhabl[ae] con\b|\bcontact[ae](?:r)? (?:a|con)\b|\bescrib[ae] a\b|\bla persona (?:adecuada|indicada|correcta)\b|"
        r"\bse encarga\b|\bencargad[oa]\b|\bresponsable\b|\ben copia\b|\breenvi(?:o|é)\b",
        "pt": r"\bfal(?:e|ar) com\b|\bentr(?:e|ar) em contato com\b|\bcontat(?:e|ar) (?:a|o)\b|\ba pessoa (?:certa|indicada)\b|"
        r"\bresponsável\b|\bcuida (?:disso|desse|dessa)\b|\bem cópia\b|\bencaminh",
        "nl": r"\bneem contact op met\b|\bspreek met\b|\bbel met\b|\bmail met\b|\bde juiste persoon\b|\bverantwoordelijk\b|"
        r"\bgaat (?:hier|daar)over\b|\bin de cc\b|\bdoorgestuurd\b",
        "it": r"\bparl(?:a|i|are) con\b|\bcontatt(?:a|i|are)\b|\brivolg(?:iti|ersi|etevi) a\b|\bla persona giusta\b|"
        r"\bsi occupa\b|\bresponsabile\b|\bin copia\b|\binoltrato\b",
        "ja": r"担当(?:者)?は|担当者|にご連絡|までご連絡|に連絡して|宛に|をccに|ccに入れ|転送しました",
    }
)

# The address reached the wrong person, with nobody named instead.
WRONG_PERSON = _compile(
    {
        "en": r"\bwrong (?:person|contact|guy|email|address)\b|\bnot the (?:right|correct|best) (?:person|contact|one)\b|"
        r"\bnot (?:my|in my) (?:area|department|role|remit)\b|\bnot responsible for\b|\bno longer (?:with|at|work)\b|"
        r"\b(?:i|she|he) left (?:the company|\w+ in)\b|\bi(?: do not|'m not|don'?t) (?:handle|work on|deal with|manage)\b|"
        r"\bi'?m not (?:involved|the decision)",
        "de": r"\bfalsche(?:n)? (?:ansprechpartner|person|adresse)\b|\bnicht (?:der|die) richtige\b|\bnicht zuständig\b|"
        r"\bnicht mehr (?:bei|im unternehmen|in der firma)\b|\barbeite (?:nicht mehr|dort nicht)\b",
        "fr": r"\bpas (?:la bonne|le bon) (?:personne|interlocuteur|contact)\b|\bmauvaise personne\b|\bmauvais interlocuteur\b|"
        r"\bne (?:suis|travaille) plus\b|\bpas en charge\b|\bne m'occupe pas\b|\bpas de mon ressort\b",
        "es": r"\bno soy (?:la persona|el responsable|la responsable)\b|\bpersona equivocada\b|\bya no trabajo\b|\bno me encargo\b|"
        r"\bno es mi (?:área|departamento)\b|\bno llevo\b",
        "pt": r"\bnão sou (?:a pessoa|o responsável|a responsável)\b|\bpessoa errada\b|\b(?:não trabalho mais|já não trabalho)\b|"
        r"\bnão cuido\b|\bnão é (?:minha área|comigo)\b",
        "nl": r"\bniet de juiste (?:persoon|contactpersoon)\b|\bverkeerde (?:persoon|contactpersoon)\b|\bwerk(?:t)? (?:hier )?niet meer\b|"
        r"\bniet verantwoordelijk\b|\bga (?:hier|daar) niet over\b",
        "it": r"\bnon sono (?:la persona giusta|il responsabile|la responsabile)\b|\bpersona sbagliata\b|\bnon lavoro più\b|"
        r"\bnon mi occupo\b|\bnon è di mia competenza\b",
        "ja": r"担当では(?:ありません|ない)|担当者では(?:ありません|ない)|担当外|退職|部署が(?:違|異な)|私の担当ではな",
    }
)

# A deferral: the writer asks to hear from us later.
NOT_NOW = _compile(
    {
        "en": r"\bnot (?:right )?now\b|\bnot at (?:the|this) (?:moment|time|point)\b|\bnot (?:a priority )?(?:right now|at the moment)\b|"
        r"\bnot (?:this|until|before) (?:year|quarter|month|next)|\bnot until\b|"
        r"\b(?:circle|check|come|get|reach|follow) (?:back|out|up)(?: to me| with me| with us)? (?:in|after|next|around|later|once|when|early|mid|late)\b|"
        r"\btry (?:me|us) (?:again )?(?:in|after|next|later|around|early|mid|late)\b|\bping (?:me|us) (?:again )?(?:in|after|next|around)\b|"
        r"\breach out (?:again )?(?:in|after|next|later|around)\b|\b(?:revisit|reconnect|touch base)\b|"
        r"\blater (?:this|in the|next) (?:year|quarter|month)\b|\bmaybe (?:later|next)\b|\bbusy until\b|"
        r"\b(?:travel+ing|away|out|off|on (?:leave|vacation|holiday)) until\b|\bbad timing\b|\btiming is(?:n'?t| not)\b|"
        r"\btoo early\b|\bafter the (?:new year|holidays|summer)\b|\bin the new year\b|\bnext (?:year|quarter|fiscal)\b|"
        r"\bin q[1-4]\b|\bin (?:a few|a couple of|\w+) (?:months|weeks)\b|\bin (?:a|one) month\b",
        "de": r"\bnicht (?:jetzt|im moment|momentan|derzeit|gerade)\b|\b(?:im moment|momentan|derzeit|aktuell|gerade) (?:nicht|kein)|"
        r"\bmelden sie sich (?:gerne |bitte )?(?:wieder|nochmal|erneut|noch einmal)?\s*(?:im|in|nach|ab|anfang|mitte|ende)\b|"
        r"\bspäter (?:im jahr|wieder|nochmal)\b|\bnächste(?:s|n)? (?:jahr|quartal)\b|\bim (?:nächsten|neuen) (?:jahr|quartal)\b|"
        r"\bnach (?:neujahr|dem jahreswechsel|den feiertagen|dem sommer|der sommerpause)\b|\bin (?:ein paar|einigen|\w+) (?:monaten|wochen)\b|"
        r"\bunterwegs bis\b|\bauf reisen bis\b|\bzu früh\b|\bbis (?:zum|ende|nach|anfang|mitte)\b",
        "fr": r"\bpas (?:maintenant|pour le moment|en ce moment|tout de suite|pour l'instant)\b|"
        r"\b(?:revenez|recontactez|relancez)[- ](?:moi|nous|vers moi|vers nous)\b|\bplus tard\b|\bl'année prochaine\b|"
        r"\b(?:le|au) (?:trimestre|semestre) prochain\b|\baprès (?:le nouvel an|les fêtes|l'été|les vacances)\b|"
        r"\bdans (?:quelques|\w+) (?:mois|semaines)\b|\ben déplacement jusqu|\bjusqu'(?:au|à|en)\b|\btrop tôt\b|\bdébut (?:de )?l'année\b",
        "es": r"\bahora no\b|\bno es (?:el )?(?:buen )?momento\b|\ben este momento no\b|\bpor ahora no\b|\bahora mismo no\b|"
        r"\b(?:vuelv[ae]|escríb[ae]me|contácte?me|retomemos|hablemos)\b.{0,25}\b(?:en|después|el próximo|a partir|dentro)\b|"
        r"\bmás adelante\b|\bel (?:año|trimestre|mes) que viene\b|\b(?:próximo|siguiente) (?:año|trimestre|mes)\b|"
        r"\bdespués de (?:año nuevo|las fiestas|el verano|verano)\b|\bdentro de (?:unos|\w+) (?:meses|semanas)\b|"
        r"\ben (?:unos|\w+) meses\b|\bde viaje hasta\b|\bhasta (?:el|después|finales|principios|mediados)\b",
        "pt": r"\bagora não\b|\bnão é (?:o |um )?(?:bom )?momento\b|\bno momento não\b|\bpor enquanto não\b|"
        r"\b(?:volte|retome|me procure|procure-me|entre em contato|fale comigo|me escreva)\b.{0,25}\b(?:em|depois|no próximo|daqui|a partir)\b|"
        r"\bmais (?:para a )?frente\b|\bmais tarde\b|\b(?:próximo|no próximo) (?:ano|trimestre|mês|semestre)\b|"
        r"\b(?:ano|mês) que vem\b|\bdepois do (?:ano novo|verão|carnaval)\b|\bdaqui a (?:alguns|uns|\w+) (?:meses|semanas)\b|"
        r"\bem (?:alguns|uns|\w+) meses\b|\bviajando até\b|\baté (?:o dia|dia|depois|o fim|o final)\b",
        "nl": r"\bnu (?:even )?niet\b|\bop dit moment niet\b|\bmomenteel niet\b|\b(?:nog )?even niet\b|"
        r"\blater (?:dit jaar|terug|nog eens)\b|\bvolgend (?:jaar|kwartaal)\b|\bvolgende maand\b|"
        r"\bna (?:nieuwjaar|de zomer|de feestdagen|de vakantie)\b|\bin het nieuwe jaar\b|\bover (?:een paar|enkele|\w+) (?:maanden|weken)\b|"
        r"\b(?:neem|kom)\b.{0,25}\b(?:terug|contact)\b.{0,25}\b(?:in|na|over)\b|\btot (?:na|en met|de|het eind)\b|\bonderweg tot\b",
        "it": r"\bnon (?:ora|adesso|in questo momento|al momento|è il momento)\b|\bal momento no\b|\bper ora no\b|\bpiù avanti\b|"
        r"\b(?:ricontatta\w*|sentiamoci|risentiamoci|riscrivimi|scrivetemi|riscrivetemi)\b.{0,25}\b(?:a|in|dopo|tra|fra|il prossimo)\b|"
        r"\b(?:l')?anno prossimo\b|\bprossimo (?:anno|trimestre|mese)\b|\bdopo (?:capodanno|le feste|l'estate|il nuovo anno)\b|"
        r"\b(?:tra|fra) (?:qualche|alcuni|\w+) (?:mesi|settimane)\b|\bin viaggio fino\b|\bfino (?:al|alla fine)\b",
        "ja": r"今は|現時点では|今のところ|時期尚早|来期|来年|来月|年明け|改めて|後ほど|落ち着いたら|"
        r"(?:ヶ|か|カ|ケ)月後|半年後|週間後|まで出張|までは",
    }
)

# The writer declines.
NOT_INTERESTED = _compile(
    {
        "en": r"\bnot interested\b|\bno interest\b|\bno,? thanks?(?: you)?\b|\bnot for us\b|\bnot a (?:good )?fit\b|"
        r"\bwe'?re (?:all )?(?:set|good)\b|\bwe are (?:all )?(?:set|good)\b|\balready (?:use|have|using|work with|signed|chose|went|bought|purchased|picked|selected|found)\b|\bcompetitor'?s? (?:tool|product)\b|"
        r"\bwent with (?:another|a different|someone)\b|\b(?:don'?t|do not) need\b|\bno need for\b|\bnot looking\b|"
        r"\b(?:we'?ll|we will|i'?ll|i will) pass\b|\bpass on this\b|\bnot relevant\b|\bnot something we\b",
        "de": r"\bkein(?:en)? interesse\b|\bnicht interessiert\b|\bkein bedarf\b|\bbrauchen wir nicht\b|\bnein,? danke\b|"
        r"\b(?:haben|nutzen|verwenden) (?:bereits|schon)\b|\bschon eine lösung\b|\bpasst nicht zu uns\b",
        "fr": r"\bpas intéressée?s?\b|\baucun intérêt\b|\bpas d'intérêt\b|\bnon,? merci\b|\bpas besoin\b|"
        r"\b(?:nous avons|on a|nous utilisons|on utilise|utilisons) déjà\b|\bne (?:nous|m')intéresse pas\b",
        "es": r"\bno (?:me|nos) interesa\b|\bno (?:estoy|estamos) interesad|\bsin interés\b|\bno,? gracias\b|\bno necesitamos\b|"
        r"\bya (?:tenemos|usamos|trabajamos)\b",
        "pt": r"\bnão (?:tenho|temos) interesse\b|\bnão (?:estou|estamos) interessad|\bsem interesse\b|\bnão,? obrigad|"
        r"\bnão precisamos\b|\bjá (?:temos|usamos|trabalhamos)\b",
        "nl": r"\bgeen interesse\b|\bniet geïnteresseerd\b|\bnee,? dank|\b(?:hebben|gebruiken) (?:al|reeds)\b|\bniet nodig\b|\bgeen behoefte\b",
        "it": r"\bnon (?:sono|siamo) interessat|\bnon (?:mi|ci) interessa\b|\bnessun interesse\b|\bno,? grazie\b|"
        r"\bnon ne abbiamo bisogno\b|\b(?:abbiamo|usiamo|utilizziamo) già\b",
        "ja": r"興味(?:は|が)?(?:ありません|ない)|結構です|不要です|必要ありません|見送|お断り|既に.{0,10}(?:導入|利用|使用)",
    }
)

# Yes, or a step forward.
INTERESTED = _compile(
    {
        "en": r"\binterested\b|\bsounds (?:good|great|interesting)\b|\blet'?s (?:talk|chat|connect|do it|set|schedule|book|meet)\b|"
        r"\bhappy to\b|\b(?:book|schedule|set up) (?:a|the|some)\b|\bsend (?:me|us|over)\b|"
        r"\bworks for (?:me|us)\b|\bcall me\b|\bgive me a call\b|\bcount (?:me|us) in\b|^\s*(?:yes|yeah|yep|sure|absolutely|definitely)\b|"
        r"\blove to\b|\bwould like to\b|\bkeen\b|\bnot opposed\b|\bopen to\b|\bwhy not\b|\btell me more\b|\bdon'?t stop\b|\bkeep (?:me|them) coming\b",
        "de": r"\binteressiert\b|\binteresse (?:habe|haben|hätte|hätten)\b|\bgerne?\b|\bklingt (?:gut|spannend|interessant)\b|\bpasst\b|"
        r"\beinverstanden\b|\brufen sie (?:mich )?an\b|\btermin\b|^\s*ja\b",
        "fr": r"\bintéress(?:é|e)e?s?\b|\bvolontiers\b|\bavec plaisir\b|\bça me (?:va|convient)\b|\bd'accord\b|\bappelez[- ]moi\b|"
        r"\brendez-vous\b|^\s*oui\b|\bpourquoi pas\b",
        "es": r"\bme interesa\b|\bnos interesa\b|\binteresad[oa]s?\b|\bencantad|\bcon gusto\b|\bme parece bien\b|\bde acuerdo\b|"
        r"\bllám(?:ame|eme)\b|\breunión\b|^\s*sí\b|\bclaro\b|\bpor qué no\b",
        "pt": r"\btenho interesse\b|\btemos interesse\b|\binteressad[oa]s?\b|\bcom prazer\b|\bpode ser\b|\bme lig(?:a|ue)\b|"
        r"\breunião\b|^\s*sim\b|\bclaro\b|\bpor que não\b|\bvamos conversar\b",
        "nl": r"\bgeïnteresseerd\b|\binteresse\b|\bgraag\b|\bklinkt (?:goed|interessant)\b|\bprima\b|\bbel (?:me|mij)\b|\bafspraak\b|"
        r"^\s*ja\b|\blijkt me (?:goed|interessant)\b",
        "it": r"\binteressat[oaie]\b|\bmi interessa\b|\bci interessa\b|\bvolentieri\b|\bcon piacere\b|\bva bene\b|\bchiamami\b|"
        r"\bmi chiami\b|\bincontro\b|^\s*sì\b|\bcerto\b|\bperché no\b",
        "ja": r"興味があります|興味あります|興味を持|ぜひ|是非|お願いします|お願いいたします|詳しく|打ち合わせ|ミーティング|デモ|検討したい",
    }
)

# A question: the rep answers it.
QUESTION = _compile(
    {
        "en": r"\?|\bhow (?:much|does|do|long|many)\b|\bwhat (?:is|are|does|do)\b|\bdo you (?:support|integrate|have|offer)\b|\bcan (?:it|you)\b",
        "de": r"\bwie (?:viel|teuer|lange|funktioniert)\b|\bwas kostet\b|\bgibt es\b|\bunterstützt\b",
        "fr": r"\bcombien\b|\bcomment (?:ça|cela) marche\b|\best-ce que\b|\bquel (?:est|prix)\b",
        "es": r"¿|\bcuánto\b|\bcómo funciona\b|\bqué precio\b",
        "pt": r"\bquanto custa\b|\bcomo funciona\b|\bqual (?:é|o) (?:o )?preço\b",
        "nl": r"\bhoeveel\b|\bwat kost\b|\bhoe werkt\b",
        "it": r"\bquanto costa\b|\bcome funziona\b|\bqual è il prezzo\b",
        "ja": r"？|でしょうか|ですか|いくら|料金",
    }
)
