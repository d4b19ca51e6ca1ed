"""Day words and meeting offers as the lead reads them, on the lead's own calendar (issue 27).

- A day near the send day is "today", "tomorrow" or "yesterday" on the lead's calendar (not the
  rep's, not UTC's); a weekday name only further out, and a date past six days. A draft the rep
  sends later (manual_email) names every day: its send day is not known.
- Meeting days are offered only where the lead's working hours and the owner's overlap by a whole
  meeting; when the overlap is shorter than the lead's day the offer says which hours, in theirs.
  No overlap in the coming days: no days at all (the copy asks for a time instead).
The lead's working hours are not known: assume 09:00-17:00, Monday to Friday, in their zone, their
country's public holidays off (`lead_hours`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from leadflow.cadence.schedule import Locale
from leadflow.operator_config import BusinessHours

MEETING_MINUTES = 20  # the call the copy asks for
OFFER_DAYS = 2
OFFER_HORIZON_DAYS = 10  # look this many days ahead for days both sides work
RELATIVE = {0: "today", 1: "tomorrow", -1: "yesterday"}
RELATIVE_WORDS = frozenset(RELATIVE.values())


def day_word(day: date, today: date, relative: bool = True) -> str:
    """`day` as a reader whose date is `today` names it: today, tomorrow, Tuesday, Tuesday 15 December.

    Not `relative`: a weekday name even for today and tomorrow, for a draft a rep sends later.
    """
    delta = (day - today).days
    if relative and delta in RELATIVE:
        return RELATIVE[delta]
    return f"{day:%A}" if abs(delta) <= 6 else f"{day:%A} {day.day} {day:%B}"


def on_day(word: str) -> str:
    """The word after a verb: "today" as is, "on Tuesday" for a named day."""
    return word if word in RELATIVE_WORDS else f"on {word}"


def local_day_word(moment: datetime, now: datetime, zone: ZoneInfo, relative: bool = True) -> str:
    """The day of `moment` seen from `now`, both on the calendar of `zone` (the lead's)."""
    return day_word(moment.astimezone(zone).date(), now.astimezone(zone).date(), relative)


def lead_hours(locale: Locale) -> BusinessHours:
    """The working hours assumed for a lead: the default business day in their zone and country."""
    fields: dict[str, str] = {"timezone": locale.zone}
    if locale.country:
        fields["country"] = locale.country
    return BusinessHours.model_validate(fields)


def _span(hours: BusinessHours, day: date) -> tuple[datetime, datetime] | None:
    """One working day of `hours` as an interval (aware datetimes), None on a day off."""
    if not hours.working_day(day):
        return None
    zone = ZoneInfo(hours.timezone)
    start, end = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    return datetime.combine(day, start, tzinfo=zone), datetime.combine(day, end, tzinfo=zone)


def overlap(lead: BusinessHours, rep: BusinessHours, day: date) -> tuple[datetime, datetime] | None:
    """The longest stretch of the lead's working day `day` (their calendar) in which the rep works too."""
    lead_span = _span(lead, day)
    if lead_span is None:
        return None
    rep_zone = ZoneInfo(rep.timezone)
    first = lead_span[0].astimezone(rep_zone).date()
    last = lead_span[1].astimezone(rep_zone).date()
    best: tuple[datetime, datetime] | None = None
    for offset in range((last - first).days + 1):
        rep_span = _span(rep, first + timedelta(days=offset))
        if rep_span is None:
            continue
        start, end = max(lead_span[0], rep_span[0]), min(lead_span[1], rep_span[1])
        if end > start and (best is None or end - start > best[1] - best[0]):
            best = (start, end)
    return best


@dataclass(frozen=True)
class Offer:
    """The meeting days a message may offer, as words on the lead's calendar."""

    days: tuple[str, ...]  # ("tomorrow", "Wednesday"); empty when the hours never meet
    window: str | None  # "14:00-17:00 your time" when the shared hours are shorter than the lead's day
    minutes: int = MEETING_MINUTES

    @property
    def phrase(self) -> str:
        """ "tomorrow or Wednesday", "on Tuesday (14:00-17:00 your time)"; "" when no day is offered."""
        if not self.days:
            return ""
        said = " or ".join((on_day(self.days[0]), *self.days[1:]))
        return f"{said} ({self.window})" if self.window else said

    def words(self) -> dict[str, object]:
        return {
            "days": list(self.days),
            "window": self.window,
            "minutes": self.minutes,
            "phrase": self.phrase,
        }


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def offer(now: datetime, lead: BusinessHours, rep: BusinessHours, relative: bool = True) -> Offer:
    """Up to two days after the send day (lead's calendar) on which both work for a whole meeting."""
    return _offer(now.astimezone(ZoneInfo(lead.timezone)).date(), lead, rep, relative)


@cache
def _offer(today: date, lead: BusinessHours, rep: BusinessHours, relative: bool) -> Offer:
    zone = ZoneInfo(lead.timezone)
    need = timedelta(minutes=MEETING_MINUTES)
    offered: list[date] = []
    hours: tuple[time, time] | None = None  # the lead's local hours shared on every offered day
    for ahead in range(1, OFFER_HORIZON_DAYS + 1):
        day = today + timedelta(days=ahead)
        shared = overlap(lead, rep, day)
        if shared is None:
            continue
        start, end = shared[0].astimezone(zone).time(), shared[1].astimezone(zone).time()
        if hours is not None:  # one sentence names one stretch of hours for every day it offers
            start, end = max(start, hours[0]), min(end, hours[1])
        if datetime.combine(day, end) - datetime.combine(day, start) < need:
            continue
        offered.append(day)
        hours = (start, end)
        if len(offered) == OFFER_DAYS:
            break
    if hours is None:
        return Offer(days=(), window=None)
    full = (time.fromisoformat(lead.start), time.fromisoformat(lead.end))
    window = None if hours == full else f"{_clock(hours[0])}-{_clock(hours[1])} your time"
    return Offer(days=tuple(day_word(day, today, relative) for day in offered), window=window)
