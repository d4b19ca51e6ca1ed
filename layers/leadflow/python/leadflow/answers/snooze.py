# ruff: noqa: E501 (phrase tables: one pattern line per language reads better than wrapped ones)
"""When a not-now reply asks to hear from us again: "circle back in March", "after the new year",
"in six months", "traveling until the 14th", in the eight languages the intent rules read.

`snooze_date(text, today)` gives the day (in the lead's zone: `today` is the lead's local date),
or None when the text states no time. Each phrase becomes a day:
- a month ("in March", "im März", "3月に"): its first day, the next one after today;
  "mid-"/"Mitte" the 15th, "end of"/"Ende" the 20th;
- a quarter ("Q3", "next quarter", "nächstes Quartal"): its first day;
- the new year, next year, "after the holidays": 7 January (after the holidays and Epiphany);
- after the summer: 1 September; next month: its first day; next week: next Monday;
- "in N days/weeks/months" (digits or words; "half a year", 半年): today plus that (months are
  calendar months: 23 November plus six is 23 May);
- a day ("until the 14th", "bis zum 14.", "jusqu'au 14", 14日まで): the day after it
  (back then), the next 14th after today; a full date ("until 5 May") uses the out-of-office
  return-date reader (leadflow.answers.classify.dates).
The latest day stated wins (nothing goes out before any of them), capped at MAX_DAYS: a Step
Functions Standard execution lives at most a year.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from leadflow.answers.classify.dates import return_date

MAX_DAYS = 360
NEW_YEAR_DAY = (1, 7)

_MONTHS = {
    1: "january|januar|janvier|enero|janeiro|januari|gennaio",
    2: "february|februar|février|fevrier|febrero|fevereiro|februari|febbraio",
    3: "march|märz|maerz|mars|marzo|março|marco|maart",
    4: "april|avril|abril|aprile",
    5: "may|mai|mayo|maio|mei|maggio",
    6: "june|juni|juin|junio|junho|giugno",
    7: "july|juli|juillet|julio|julho|luglio",
    8: "august|août|aout|agosto|augustus",
    9: "september|septembre|septiembre|setembro|settembre",
    10: "october|oktober|octobre|octubre|outubro|ottobre",
    11: "november|novembre|noviembre|novembro",
    12: "december|dezember|décembre|decembre|diciembre|dezembro|dicembre",
}
_MONTH_NUMBER = {name: number for number, names in _MONTHS.items() for name in names.split("|")}
_MONTH_NAMES = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
# A month name counts only after a word that makes it a time ("may" alone is a verb).
_MONTH_PHRASE = re.compile(
    r"\b(?:(?P<prep>in|im|en|em|a|ad|after|nach|après|después de|depois de|dopo|na|from|ab|à partir de|a partir de|"
    r"da|vanaf|around|um|vers|hacia|por volta de|verso|rond|until|till|bis|jusqu'en|hasta|até|fino a|tot|by|por)\s+)?"
    r"(?:the\s+)?(?:(?P<part>mid|early|late|end of|beginning of|start of|anfang|mitte|ende|début|mi|fin|principios de|"
    r"mediados de|finales de|início de|meados de|final de|inizio|metà|fine|begin|half|eind)[\s-]*(?:of\s+|de\s+|d')?)?"
    rf"(?P<month>{_MONTH_NAMES})\b",
    re.IGNORECASE,
)
_JA_MONTH = re.compile(r"(?P<month>1[0-2]|[1-9])月(?:に|以降|から|頃|ごろ|中旬|末|上旬|初め|まで|になったら)")

_ORDINALS = {
    1: "first|erste|ersten|premier|primer|primeiro|eerste|primo",
    2: "second|zweite|zweiten|deuxième|segundo|tweede|secondo",
    3: "third|dritte|dritten|troisième|tercer|terceiro|derde|terzo",
    4: "fourth|vierte|vierten|quatrième|cuarto|quarto|vierde",
}
_ORDINAL_NUMBER = {word: number for number, words in _ORDINALS.items() for word in words.split("|")}
_QUARTER = re.compile(
    r"\bq(?P<q>[1-4])\b|\b(?P<ordinal>[1-4])(?:st|nd|rd|th|\.|er|e|º)? ?(?:quarter|quartal|trimestre|kwartaal)\b|"
    rf"\b(?P<word>{'|'.join(_ORDINAL_NUMBER)}) (?:quarter|quartal|trimestre|kwartaal)\b|第(?P<ja>[1-4一二三四])四半期",
    re.IGNORECASE,
)
_END_OF_YEAR = re.compile(
    r"\bend of (?:the )?year\b|\bjahresende\b|\bende des jahres\b|\bfin (?:de l'|d')année\b|\bfinal(?:es)? del año\b|"
    r"\bfi(?:m|nal) do ano\b|\beind van het jaar\b|\bfine (?:dell')?anno\b|年末",
    re.IGNORECASE,
)
_NEXT_QUARTER = re.compile(
    r"\bnext quarter\b|\bnächste[ns]? quartal\b|\btrimestre prochain\b|\bpróximo trimestre\b|\btrimestre que vem\b|"
    r"\bvolgend kwartaal\b|\bprossimo trimestre\b|来期|次の四半期",
    re.IGNORECASE,
)
_NEW_YEAR = re.compile(
    r"\bnew year\b|\bnext year\b|\bafter the holidays\b|\bneujahr\b|\bjahreswechsel\b|\bnächste[ns]? jahr\b|\bneuen jahr\b|"
    r"\bnouvel an\b|\bannée prochaine\b|\baprès les fêtes\b|\bdébut (?:de )?l'année\b|\baño nuevo\b|\baño que viene\b|\bpróximo año\b|"
    r"\bdespués de las fiestas\b|\bano novo\b|\bano que vem\b|\bpróximo ano\b|\bnieuwjaar\b|\bnieuwe jaar\b|\bvolgend jaar\b|"
    r"\bcapodanno\b|\banno prossimo\b|\bprossimo anno\b|\bnuovo anno\b|\bdopo le feste\b|年明け|来年|新年",
    re.IGNORECASE,
)
_SUMMER = re.compile(
    r"\bafter (?:the )?summer\b|\bnach dem sommer\b|\bnach der sommerpause\b|\baprès l'été\b|\bdespués del verano\b|"
    r"\bdepois do verão\b|\bna de zomer\b|\bdopo l'estate\b|夏以降|夏休み明け",
    re.IGNORECASE,
)
_NEXT_MONTH = re.compile(
    r"\bnext month\b|\bnächsten monat\b|\bmois prochain\b|\bpróximo mes\b|\bmes que viene\b|\bpróximo mês\b|\bmês que vem\b|"
    r"\bvolgende maand\b|\bprossimo mese\b|\bmese prossimo\b|来月",
    re.IGNORECASE,
)
_NEXT_WEEK = re.compile(
    r"\bnext week\b|\bnächste woche\b|\bsemaine prochaine\b|\bpróxima semana\b|\bsemana que vem\b|\bsemana que viene\b|"
    r"\bvolgende week\b|\bprossima settimana\b|\bsettimana prossima\b|来週",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
    "several": 4,
    "einem": 1,
    "einen": 1,
    "ein": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "neun": 9,
    "zehn": 10,
    "zwölf": 12,
    "ein paar": 3,
    "einigen": 3,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "neuf": 9,
    "dix": 10,
    "douze": 12,
    "quelques": 3,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "doce": 12,
    "unos": 3,
    "unos pocos": 3,
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "três": 3,
    "quatro": 4,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "doze": 12,
    "alguns": 3,
    "uns": 3,
    "een": 1,
    "twee": 2,
    "drie": 3,
    "vijf": 5,
    "zes": 6,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "twaalf": 12,
    "een paar": 3,
    "enkele": 3,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "sei": 6,
    "otto": 8,
    "dieci": 10,
    "dodici": 12,
    "qualche": 3,
    "alcuni": 3,
}
_NUMBER = "|".join(sorted((re.escape(word) for word in _NUMBER_WORDS), key=len, reverse=True))
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
_UNITS = {
    "day": r"days?|tagen?|jours?|días?|dias?|dagen?|giorni?|giorno",
    "week": r"weeks?|wochen?|semaines?|semanas?|weken?|settimane?|settimana",
    "month": r"months?|monaten?|monat|mois|meses|mes|mês|maanden?|mesi|mese",
}
_RELATIVE = re.compile(
    rf"\b(?:in|within|dans|en|em|dentro de|daqui a|over|tra|fra|nach)\s+(?P<n>\d{{1,2}}|{_NUMBER})\s+"
    rf"(?P<unit>{'|'.join(_UNITS.values())})\b",
    re.IGNORECASE,
)
_HALF_YEAR = re.compile(
    r"\bhalf a year\b|\bsix months\b|\bhalbe[ns]? jahr\b|\bsix mois\b|\bmedio año\b|\bseis meses\b|\bmeio ano\b|"
    r"\bhalf jaar\b|\bsei mesi\b|半年",
    re.IGNORECASE,
)
_JA_RELATIVE = re.compile(r"(?P<n>\d{1,2}|[一二三四五六七八九十]+)\s*(?P<unit>ヶ月|か月|カ月|ケ月|週間|日)後")
_JA_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# "until the 14th", "bis zum 14.", "jusqu'au 14", "hasta el 14", "até o dia 14", "tot de 14e", "fino al 14", 14日まで
_UNTIL_DAY = re.compile(
    r"\b(?:until|till|after|through|bis(?: zum| nach dem)?|nach dem|jusqu'au|après le|hasta el|después del|até o dia|até dia|"
    r"depois do dia|tot(?: en met)? de|na de|fino al|dopo il)\s+(?:the\s+)?(?P<day>[0-3]?\d)(?:st|nd|rd|th|e|\.|º)?(?!\s*[./\d])"
    r"(?!\s*(?:of\s+)?(?:" + _MONTH_NAMES + r"))",
    re.IGNORECASE,
)
_JA_UNTIL_DAY = re.compile(r"(?<![月\d])(?P<day>[0-3]?\d)日(?:まで|以降|から|過ぎ)")


def _next_month_start(month: int, today: date, day: int = 1) -> date:
    year = today.year if (month, day) > (today.month, today.day) else today.year + 1
    return date(year, month, day)


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate > today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _months_later(today: date, months: int) -> date:
    """The same day `months` calendar months on (the month's last day when it is shorter)."""
    index = today.month - 1 + months
    year, month = today.year + index // 12, index % 12 + 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _number(word: str) -> int:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    return sum(_JA_NUMBERS.get(char, 0) for char in word) or 1


def _unit(word: str) -> int:
    for unit, pattern in _UNITS.items():
        if re.fullmatch(pattern, word, re.IGNORECASE):
            return _UNIT_DAYS[unit]
    return 1


def stated_days(text: str, today: date) -> list[date]:
    """Every day the text asks us to wait for, after `today`."""
    days: list[date] = []
    for match in _MONTH_PHRASE.finditer(text):
        if not (match.group("prep") or match.group("part")):
            continue
        part = (match.group("part") or "").lower()
        day = 15 if part in ("mid", "mitte", "mi", "mediados de", "meados de", "metà", "half") else 1
        day = (
            20
            if part
            in ("late", "end of", "the end of", "ende", "fin", "finales de", "final de", "fine", "eind")
            else day
        )
        days.append(_next_month_start(_MONTH_NUMBER[match.group("month").lower()], today, day))
    for match in _JA_MONTH.finditer(text):
        days.append(_next_month_start(int(match.group("month")), today))
    for match in _QUARTER.finditer(text):
        if match.group("word"):
            quarter = _ORDINAL_NUMBER[match.group("word").lower()]
        elif match.group("ja"):
            quarter = _number(match.group("ja"))
        else:
            quarter = int(match.group("q") or match.group("ordinal"))
        days.append(_next_month_start(3 * quarter - 2, today))
    if _END_OF_YEAR.search(text):
        days.append(_next_month_start(12, today))
    if _NEXT_QUARTER.search(text):
        current = (today.month - 1) // 3
        days.append(date(today.year + 1, 1, 1) if current == 3 else date(today.year, 3 * current + 4, 1))
    if _NEW_YEAR.search(text):
        days.append(date(today.year + 1, *NEW_YEAR_DAY))
    if _SUMMER.search(text):
        days.append(_next_month_start(9, today))
    if _NEXT_MONTH.search(text):
        days.append(date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1))
    if _NEXT_WEEK.search(text):
        days.append(today + timedelta(days=7 - today.weekday()))
    for match in _RELATIVE.finditer(text):
        count, unit = _number(match.group("n")), _unit(match.group("unit"))
        days.append(_months_later(today, count) if unit == 30 else today + timedelta(days=count * unit))
    if _HALF_YEAR.search(text):
        days.append(_months_later(today, 6))
    for match in _JA_RELATIVE.finditer(text):
        count, unit = _number(match.group("n")), {"週間": 7, "日": 1}.get(match.group("unit"), 30)
        days.append(_months_later(today, count) if unit == 30 else today + timedelta(days=count * unit))
    for match in [*_UNTIL_DAY.finditer(text), *_JA_UNTIL_DAY.finditer(text)]:
        named = _next_day_of_month(int(match.group("day")), today - timedelta(days=1))
        if named is not None:
            days.append(named + timedelta(days=1))
    full_date = return_date(text, today)
    if full_date is not None:
        days.append(full_date)
    return [day for day in days if day > today]


def snooze_date(text: str, today: date) -> date | None:
    """The latest day the text asks us to wait for (capped at MAX_DAYS), or None when it states none."""
    days = stated_days(text, today)
    if not days:
        return None
    return min(max(days), today + timedelta(days=MAX_DAYS))
