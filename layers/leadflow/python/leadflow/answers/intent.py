"""What a human reply says: one of seven intents, read from the writer's own text.

    read("Talk to Maria (maria@acme.example), she runs ops.", today=date(2026, 11, 25))
    -> Reading(intent=REFERRAL, line="Talk to Maria (maria@acme.example), she runs ops.", ...)

The text is the reply without quoted history, signature or footer (classify.text.own_text), so a
quoted "unsubscribe" link decides nothing. The rules (leadflow.answers.intent_rules) are tried in
this order, the first that finds a cue wins:
1. unsubscribe: an explicit removal request, not negated ("don't remove me") and not conditional
   ("if you write again I'll unsubscribe": that goes to the rep);
2. referral: a pointer to someone else, naming them (an address, or a capitalized name);
3. wrong_person; 4. not_now (a deferral phrase); 5. not_interested;
6. not_now again when the text names a day at least NOT_NOW_MIN_DAYS away ("let's talk in March");
7. question, 8. interested; 9. nothing recognised: `question`, not sure.
A reply the rules are not sure of goes to the rep like a positive one: it never opts anyone out.

A hosted model (Amazon Bedrock, Comprehend custom classification) plugs in by configuration:
`answers.intent_reader: "package.module:function"`, a function (text, subject) -> intent name or
None. It is imported on first use; without it (the default) nothing leaves the process. Its
answer replaces the rules' except that it cannot opt a lead out on its own: an `unsubscribe` the
rules did not also find goes to the rep. An error or None falls back to the rules.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, ConfigDict

from leadflow.answers import intent_rules as rules
from leadflow.answers.snooze import snooze_date, stated_days
from leadflow.models import Intent
from leadflow.observability import logger

RULES_READER = "rules"
NOT_NOW_MIN_DAYS = 21
LINE_LIMIT = 200  # characters of the deciding line kept on the lead


# The rep answers these at once (hot reply); the report counts them as positive replies.
POSITIVE = frozenset({Intent.INTERESTED, Intent.QUESTION})


def action_group(intent: Intent) -> str:
    """Intents that lead to the same action: interested and question are one ("positive")."""
    return "positive" if intent in POSITIVE else intent.value


class Contact(BaseModel):
    """The person a referral points to."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    email: str | None = None


class Reading(BaseModel):
    model_config = ConfigDict(frozen=True)

    intent: Intent
    # The writer's line that decided it ("" when nothing did), and the rule: "unsubscribe:fr".
    line: str = ""
    rule: str = ""
    sure: bool = True
    # not_now: the day the writer asked us to wait for, in their zone (None: they named none).
    snoozed_until: date | None = None
    referral: Contact | None = None
    reader: str = RULES_READER


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_NAME = re.compile(r"\b([A-ZÀ-ÖØ-Þ][\w'’-]+(?: [A-ZÀ-ÖØ-Þ][\w'’-]+){0,2})")
# Capitalized words that start no name: pronouns, greetings and titles of the eight languages.
_NOT_NAMES = frozenset(
    """
I Me We Us You He She They It The This That Please Thanks Thank Hi Hello Sie Ihr Er Es Wir Ich Bitte
Je Nous Vous Il Elle Merci Yo Nosotros Usted Ella Eu Nós Você Ele Ela Ik Wij U Hij Zij Io Noi Lei Lui Grazie
Our His Her Their Him My Mr Mrs Ms Dr Herr Frau Monsieur Madame Señor Señora Senhor Senhora Meneer Mevrouw
Signor Signora CC Cc
""".split()  # noqa: SIM905 (a word list reads better as text)
)


def _plain(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")


def _line(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return " ".join(text[start : end if end >= 0 else len(text)].split())[:LINE_LIMIT]


def _first(patterns: dict[str, re.Pattern[str]], text: str) -> tuple[str, re.Match[str]] | None:
    """The earliest cue of any language in the text."""
    found = [(language, match) for language, pattern in patterns.items() if (match := pattern.search(text))]
    return min(found, key=lambda pair: pair[1].start()) if found else None


def _sentence_before(text: str, position: int) -> str:
    start = max(text.rfind(mark, 0, position) for mark in (".", "!", "?", "\n", "。", "！", "？", ";"))
    return text[start + 1 : position]


def _removal(text: str, subject: str) -> tuple[str, re.Match[str], bool] | None:
    """The first removal cue (language, match, sure): negated ones are skipped, conditional ones unsure."""
    own_subject = subject.strip()
    for source in (text, own_subject):
        for language, pattern in rules.UNSUBSCRIBE.items():
            for match in pattern.finditer(source):
                before = _sentence_before(source, match.start())
                if rules.NEGATION.search(source[max(0, match.start() - 40) : match.start()]):
                    continue
                return language, match, not rules.CONDITION.search(before)
    return None


def wants_out(text: str, subject: str = "") -> bool:
    """A sure, written request to be removed (classify reads this for Kind.UNSUBSCRIBE)."""
    found = _removal(_plain(text), _plain(subject))
    return found is not None and found[2]


def _others(text: str, sender: str) -> list[str]:
    """Addresses in the text other than the writer's own and our plus-addresses."""
    return [
        address.rstrip(".")
        for address in _EMAIL.findall(text)
        if address.lower() != sender.lower() and "+" not in address.split("@")[0]
    ]


def _names(text: str) -> list[str]:
    return [name for name in _NAME.findall(text) if name.split()[0] not in _NOT_NAMES]


def _referral(text: str, sender: str, match: re.Match[str] | None) -> Contact | None:
    """Whom a referral points to: an address that is not the sender's and the name beside it, or a
    name right after the cue in the same sentence ("talk to Maria")."""
    addresses = _others(text, sender)
    after = re.split(r"[.!?\n]", text[match.end() : match.end() + 60])[0] if match else ""
    if addresses:
        address = addresses[0]
        before = re.split(r"[.!?\n]", text[max(0, text.find(address) - 60) : text.find(address)])[-1]
        near = _names(before)
        name = (near[-1] if near else None) or next(iter(_names(after)), None) or _japanese_name(text)
        return Contact(name=name, email=address.lower())
    named = _names(after) or ([found] if (found := _japanese_name(text)) else [])
    return Contact(name=named[0]) if named else None


def _japanese_name(text: str) -> str | None:
    found = re.search(r"([一-龯ァ-ン]{1,6})(?:さん|様)", text)
    return found.group(1) if found else None


def read_rules(text: str, subject: str = "", *, today: date, sender: str = "") -> Reading:
    """The rules' reading of a reply's own text (see the module doc for the order)."""
    text = _plain(text)
    removal = _removal(text, _plain(subject))
    if removal is not None:
        language, match, sure = removal
        line = _line(match.string, match.start())
        if sure:
            return Reading(intent=Intent.UNSUBSCRIBE, line=line, rule=f"unsubscribe:{language}")
        return Reading(
            intent=Intent.QUESTION, line=line, rule=f"conditional-unsubscribe:{language}", sure=False
        )
    referral = _first(rules.REFERRAL, text)
    if referral is not None:
        contact = _referral(text, sender, referral[1])
        if contact is not None:
            return Reading(
                intent=Intent.REFERRAL,
                line=_line(text, referral[1].start()),
                rule=f"referral:{referral[0]}",
                referral=contact,
            )
    wrong = _first(rules.WRONG_PERSON, text)
    if wrong is not None and _others(text, sender):
        # "Wrong person: Jamie Park runs it, jamie@...": the address makes it a referral.
        return Reading(
            intent=Intent.REFERRAL,
            line=_line(text, wrong[1].start()),
            rule=f"referral:{wrong[0]}",
            referral=_referral(text, sender, None),
        )
    if wrong is not None:
        return Reading(
            intent=Intent.WRONG_PERSON, line=_line(text, wrong[1].start()), rule=f"wrong_person:{wrong[0]}"
        )
    later = _first(rules.NOT_NOW, text)
    if later is not None:
        return _not_now(text, today, _line(text, later[1].start()), f"not_now:{later[0]}")
    declined = _first(rules.NOT_INTERESTED, text)
    if declined is not None:
        return Reading(
            intent=Intent.NOT_INTERESTED,
            line=_line(text, declined[1].start()),
            rule=f"not_interested:{declined[0]}",
        )
    far = [day for day in stated_days(text, today) if (day - today).days >= NOT_NOW_MIN_DAYS]
    if far:
        return _not_now(text, today, "", "not_now:date")
    asked = _first(rules.QUESTION, text)
    if asked is not None:
        return Reading(
            intent=Intent.QUESTION, line=_line(text, asked[1].start()), rule=f"question:{asked[0]}"
        )
    liked = _first(rules.INTERESTED, text)
    if liked is not None:
        return Reading(
            intent=Intent.INTERESTED, line=_line(text, liked[1].start()), rule=f"interested:{liked[0]}"
        )
    return Reading(intent=Intent.QUESTION, line=_line(text, 0), rule="no cue", sure=False)


def _not_now(text: str, today: date, line: str, rule: str) -> Reading:
    until = snooze_date(text, today)
    if not line:
        line = next((_line(text, m.start()) for m in re.finditer(r"\S", text)), "")
    return Reading(intent=Intent.NOT_NOW, line=line, rule=rule, snoozed_until=until)


ModelReader = Callable[[str, str], str | None]


def _model(spec: str) -> ModelReader:
    module, _, function = spec.partition(":")
    reader: ModelReader = getattr(importlib.import_module(module), function)
    return reader


def read(
    text: str, subject: str = "", *, today: date, sender: str = "", reader: str = RULES_READER
) -> Reading:
    """The intent of a reply, by the configured reader (the rules unless a model is configured)."""
    by_rules = read_rules(text, subject, today=today, sender=sender)
    if reader == RULES_READER:
        return by_rules
    try:
        answer = _model(reader)(text, subject)
        intent = Intent(answer) if answer else None
    except Exception as error:  # a model that fails must not lose the reply: the rules answer
        logger.warning(
            "intent model failed; the rules decide", extra={"reader": reader, "error": type(error).__name__}
        )
        return by_rules
    if intent is None or intent is by_rules.intent:
        return by_rules
    if intent is Intent.UNSUBSCRIBE:
        # Only a removal request the rules also see opts out; the model's alone goes to the rep.
        return by_rules.model_copy(update={"intent": Intent.QUESTION, "sure": False, "reader": reader})
    snoozed = snooze_date(_plain(text), today) if intent is Intent.NOT_NOW else None
    referral = by_rules.referral if intent is Intent.REFERRAL else None
    return Reading(
        intent=intent,
        line=by_rules.line,
        rule="model",
        snoozed_until=snoozed,
        referral=referral,
        reader=reader,
    )
