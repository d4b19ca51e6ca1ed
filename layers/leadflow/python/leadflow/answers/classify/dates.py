"""Return dates stated in out-of-office mail: "back on May 5", "zurück am 05.05.", "de retour le 5 mai".

A date without a year is placed in the year that puts it closest after the mail was
written (a date up to 60 days earlier is taken as past: "out since May 1"). A date
that follows a return phrase wins; otherwise the latest date mentioned does, since an
absence notice names its last day or the day back last. Dates that are not after the
mail's own date are no return date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "января january jan januar janv janvier enero ene gennaio genn gen januari jan janeiro",
        "февраля february feb februar févr fevr février fevrier febrero febbraio febr februari fevereiro fev",
        "марта march mar märz maerz mars marzo maart março marco",
        "апреля april apr avril avr abril aprile",
        "мая may mai mayo maggio mei maio",
        "июня june jun juni juin junio giugno giu junho",
        "июля july jul juli juil juillet julio luglio lug julho",
        "августа august aug août aout agosto augustus",
        "сентября september sep sept septembre septiembre settembre sett setembro",
        "октября october oct okt oktober octobre octubre ottobre ott outubro",
        "ноября november nov novembre noviembre novembro",
        "декабря december dec dez dezember déc decembre décembre diciembre dic dicembre december dezembro",
    ],
    start=1,
):
    for _name in _names.split():
        MONTHS.setdefault(_name, _number)

_MONTH = "|".join(sorted((re.escape(name) for name in MONTHS), key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th|er|ème|e|º|°)?"
_YEAR = r"(?P<y>(?:19|20)\d\d)"

_PATTERNS = [
    # 2026-05-05
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    # 5 May, 5th of May, 5. Mai, 5 de mayo, 5 mai 2026
    re.compile(
        rf"\b(?P<d>\d{{1,2}}){_ORDINAL}\.?\s*(?:of\s+|de\s+)?(?P<mname>{_MONTH})\b\.?(?:,?\s*(?:de\s+)?{_YEAR})?",
        re.IGNORECASE,
    ),
    # May 5, May 5th, 2026
    re.compile(rf"\b(?P<mname>{_MONTH})\b\.?\s+(?P<d>\d{{1,2}}){_ORDINAL}\b(?:,?\s*{_YEAR})?", re.IGNORECASE),
    # 05.05. / 05.05.2026 / 5.5.26 (day first); "9.00 Uhr" has no closing dot and is no date.
    re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?:(?P<y>(?:19|20)?\d\d)\b)?"),
    # 5月5日 (Japanese, Chinese)
    re.compile(r"(?:(?P<y>(?:19|20)\d\d)年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})日"),
    # 5/5, 05/05/2026: month first in English text, day first elsewhere, unless a field exceeds 12.
    re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>(?:19|20)?\d\d))?(?![\d/])"),
]

# Phrases after which the date is the day back (or the last day away).
_RETURN_PHRASES = re.compile(
    r"\b(?:back|return(?:ing|s)?|until|till|through|reachable|available\s+again|"
    r"zurück|zurueck|wieder|bis(?:\s+einschließlich|\s+einschliesslich|\s+zum)?|ab\s+dem|"
    r"retour|jusqu'au|jusqu’au|à\s+partir\s+du|reprendrai|"
    r"vuelta|regreso|regresaré|hasta|"
    r"ritorno|rientro|rientrerò|fino\s+al|"
    r"terug|tot\s+en\s+met|vanaf|"
    r"retorno|volto|até|вернусь|до)\b|以降|から",
    re.IGNORECASE,
)
_ANCHOR_REACH = 60  # characters after a return phrase in which its date is looked for
_ENGLISH_HINT = re.compile(r"\b(?:the|office|back|until|return|thanks|regards)\b", re.IGNORECASE)


def _resolve(day: int, month: int, year: int | None, reference: date) -> date | None:
    if year is not None:
        if year < 100:
            year += 2000
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for candidate_year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if reference - timedelta(days=60) <= candidate <= reference + timedelta(days=305):
            return candidate
    return None


def _dates(text: str, reference: date) -> list[tuple[int, date]]:
    """Every date in the text with its position."""
    english = bool(_ENGLISH_HINT.search(text))
    found: list[tuple[int, date]] = []
    taken: list[range] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            span = range(match.start(), match.end())
            if any(span.start < other.stop and other.start < span.stop for other in taken):
                continue
            groups = match.groupdict()
            year = int(groups["y"]) if groups.get("y") else None
            if groups.get("mname"):
                month = MONTHS[groups["mname"].lower()]
                day = int(groups["d"])
            elif groups.get("a"):
                first, second = int(groups["a"]), int(groups["b"])
                month_first = second > 12 or (first <= 12 and english)
                month, day = (first, second) if month_first else (second, first)
            else:
                month, day = int(groups["m"]), int(groups["d"])
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            resolved = _resolve(day, month, year, reference)
            if resolved is not None:
                taken.append(span)
                found.append((match.start(), resolved))
    return found


def return_date(text: str, reference: date) -> date | None:
    """The date the writer is back (or last away), if the text states one after `reference`."""
    dates = [(position, moment) for position, moment in _dates(text, reference) if moment > reference]
    dates = [(position, moment) for position, moment in dates if moment <= reference + timedelta(days=365)]
    if not dates:
        return None
    anchors = [match.end() for match in _RETURN_PHRASES.finditer(text)]
    anchored = [
        moment
        for position, moment in dates
        if any(0 <= position - anchor <= _ANCHOR_REACH for anchor in anchors)
    ]
    return max(anchored or [moment for _, moment in dates])
