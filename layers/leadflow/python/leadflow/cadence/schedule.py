"""When each touch of a cadence falls due for a lead, in the lead's own time zone.

Rules (docs/decisions.md, "Cadence engine"):
- The first touch goes out at once, whatever the window, if its channel is allowed at that
  hour (SMS only 08:00-21:00 local) and no other automated touch went out that local day.
- Every other touch lands on an allowed weekday that is not a public holiday of the lead's
  country, inside the window (SMS inside the window and 08:00-21:00), at the lead's own time
  of day when that is inside the window (they posted then), else at the window's start plus the
  lead's own offset within its first minutes (`opening_offset`), so the touches of every lead who
  posted overnight do not all fall due at exactly 09:00:00.
- Spacing is counted in local calendar days, so daylight-saving changes move nothing.
- A touch pushed by N days (weekend, holiday, window, a day already taken) pushes every later
  touch by N days as well: touches never bunch up.
- At most one automated touch (email, SMS) per lead per local day, across all its cadences:
  `busy_days` carries the days the lead's other enrollments already use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from leadflow import compiled
from leadflow.cadence.terms import SMS_EARLIEST, SMS_LATEST, Channel
from leadflow.fields import iana_zone

if TYPE_CHECKING:
    import holidays

    # Annotations only: a business-hours check (public_holiday) builds no cadence model.
    from leadflow.cadence.model import Cadence, SendWindow, Touch

log = logging.getLogger(__name__)

MAX_PUSH_DAYS = 60  # a window with no usable day in two months is a configuration error
# Touches placed at the window's opening spread over its first minutes: SES sending rate, Lambda
# concurrency and the write burst of a busy morning, instead of one spike at the top of the hour.
OPENING_SPREAD = timedelta(minutes=20)


def opening_offset(lead_id: str) -> timedelta:
    """The lead's offset after the window opens: deterministic (the same for every touch and re-plan),
    whole seconds (Step Functions waits on whole seconds), in [0, OPENING_SPREAD)."""
    digest = hashlib.sha256(f"opening:{lead_id}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:4], "big") % int(OPENING_SPREAD.total_seconds()))


@dataclass(frozen=True)
class Locale:
    """Where the lead is: the zone their days are counted in, and the country whose holidays apply."""

    zone: str
    country: str | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@dataclass(frozen=True)
class PlannedTouch:
    number: int
    touch: Touch
    due: datetime
    pushed_days: int = 0
    reasons: tuple[str, ...] = field(default=())


@cache
def _zone_table() -> tuple[dict[str, str], dict[str, str]]:
    """zone.tab from tzdata: country -> its first (principal) zone, and zone -> country."""
    by_country: dict[str, str] = {}
    by_zone: dict[str, str] = {}
    text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _, zone = line.split("\t")[:3]
        by_country.setdefault(country, zone)
        by_zone[zone] = country
    return by_country, by_zone


def valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return iana_zone(name)
    except ValueError:
        return None


def valid_country(code: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code known to the tz database, upper-cased; else None."""
    if not code:
        return None
    code = code.strip().upper()
    return code if code in _zone_table()[0] else None


def country_of_zone(zone: str | None) -> str | None:
    """The country zone.tab lists for an IANA zone (Asia/Tokyo -> JP), else None."""
    return _zone_table()[1].get(zone) if zone else None


def locale_for(timezone: str | None, country: str | None, window: SendWindow) -> Locale:
    """The lead's zone: the form's IANA name, else the country's principal zone, else the cadence's.

    The holiday country is the lead's country, else the country of the zone in use.
    """
    by_country, by_zone = _zone_table()
    country = valid_country(country)
    zone = valid_zone(timezone) or (by_country[country] if country else None) or window.timezone
    return Locale(zone=zone, country=country or by_zone.get(zone))


def public_holiday(country: str, day: date) -> bool:
    """Whether `day` is a public holiday in `country` (False for a country the package lacks)."""
    return day in holiday_dates(country, day.year)


def holiday_dates(country: str, year: int) -> Mapping[date, str]:
    """The public holidays of `country` in `year` (national ones; none for a country `holidays` lacks).

    From the dates the build shipped (leadflow.compiled) inside its horizon: a cold start does not
    import `holidays`. Past the horizon, or without shipped dates, from the package itself.
    """
    shipped = compiled.holiday_dates(country, year)
    if shipped is not None:
        return shipped
    _warn_past_horizon(year)
    return _package_holiday_dates(country, year)


@cache
def _warn_past_horizon(year: int) -> None:
    horizon = compiled.holiday_horizon()
    if horizon is not None:  # shipped, but not this year: a deployment older than its horizon
        log.warning("holiday dates shipped for %s-%s, not %s: importing holidays", *horizon, year)


@cache
def _package_holiday_dates(country: str, year: int) -> Mapping[date, str]:
    with _holidays_lock:  # a calendar fills in a year on first lookup, which is not thread-safe
        calendar = _holidays(country)
        if calendar is None:
            return {}
        calendar.get(date(year, 1, 1))  # fills in the year
        return {day: name for day, name in sorted(calendar.items()) if day.year == year}


@cache
def _holidays(country: str) -> holidays.HolidayBase | None:
    import holidays

    _load_countries_lazily()
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:  # a country the package does not cover: no holidays skipped
        return None


def _load_countries_lazily() -> None:
    """Let `holidays` import one country's module, not all of them.

    holidays loads a country's module on first use, but importing any module of the package
    `holidays.countries` first runs its __init__, which imports all ~250 countries: the largest
    single cost of a cold start that plans a schedule. The package in its place here has the same
    directory and resolves each of its names (class, code, alias) from holidays' own registry on
    first access, importing that country's module only.
    """
    if "holidays.countries" in sys.modules:
        return
    from holidays.registry import COUNTRIES

    spec = importlib.util.find_spec("holidays.countries")
    assert spec is not None
    package = importlib.util.module_from_spec(spec)  # the package's module, its __init__ not run
    modules = {name: module for module, names in COUNTRIES.items() for name in names}

    def country_entity(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module 'holidays.countries' has no attribute {name!r}")
        return getattr(importlib.import_module(f"holidays.countries.{modules[name]}"), name)

    package.__getattr__ = country_entity  # type: ignore[method-assign]
    sys.modules["holidays.countries"] = package
    sys.modules["holidays"].countries = package  # type: ignore[attr-defined]


_holidays_lock = threading.Lock()


def holiday_name(locale: Locale, day: date) -> str | None:
    return holiday_dates(locale.country, day.year).get(day) if locale.country else None


def _hours(channel: Channel, window: SendWindow) -> tuple[time, time]:
    if channel is Channel.SMS:
        hours = window.sms_hours()
        assert hours is not None, "validated at load: SMS touches need a window overlapping SMS hours"
        return hours
    return window.start, window.end


def _sendable_now(channel: Channel, local: datetime) -> bool:
    """The first touch ignores the window, but never sends an SMS in quiet hours."""
    return channel is not Channel.SMS or SMS_EARLIEST <= local.time() < SMS_LATEST


def _blocker(day: date, touch: Touch, window: SendWindow, locale: Locale, taken: set[date]) -> str | None:
    """Why no touch of this kind may land on `day`, or None."""
    if day.weekday() not in window.weekday_numbers:
        return f"no sends on {day:%a}"
    if window.skip_holidays:
        name = holiday_name(locale, day)
        if name:
            return f"holiday: {name}"
    if touch.automated and day in taken:
        return "another automated touch that day"
    return None


def open_days(
    touch: Touch, after: date, window: SendWindow, locale: Locale, taken: set[date]
) -> Iterator[tuple[date, datetime, datetime]]:
    """The days after `after` a touch of this kind may land on, with its hours' opening and closing."""
    opens, closes = _hours(touch.channel, window)
    for offset in range(1, MAX_PUSH_DAYS + 1):
        day = after + timedelta(days=offset)
        if _blocker(day, touch, window, locale, taken) is None:
            yield (
                day,
                datetime.combine(day, opens, tzinfo=locale.tz),
                datetime.combine(day, closes, tzinfo=locale.tz),
            )


def plan_touches(
    cadence: Cadence,
    start: datetime,
    locale: Locale,
    busy_days: frozenset[date] = frozenset(),
    opening: timedelta = timedelta(0),
    *,
    at_once: bool = True,
) -> list[PlannedTouch]:
    """Due time of every touch of `cadence` for a lead whose day 1 begins at `start`; `opening` is the
    lead's offset after the window opens (`opening_offset`). Without `at_once` the first touch keeps
    to the window like the others (a late start: the lead did not just post)."""
    window = cadence.window
    tz = locale.tz
    local_start = start.astimezone(tz)
    day_one = local_start.date()
    posted_at = local_start.time().replace(microsecond=0, tzinfo=None)
    taken = set(busy_days)
    shift = 0
    previous = start
    planned: list[PlannedTouch] = []
    for number, touch in enumerate(cadence.touches, start=1):
        reasons: list[str] = []
        if (
            number == 1
            and at_once
            and touch.day == 1
            and _sendable_now(touch.channel, local_start)
            and not (touch.automated and day_one in taken)
        ):
            due, pushed = start, 0
        else:
            due, pushed = _place(
                touch, day_one, shift, posted_at, previous, window, locale, taken, reasons, opening
            )
            shift += pushed
        if touch.automated:
            taken.add(due.astimezone(tz).date())
        previous = due
        planned.append(PlannedTouch(number, touch, due, pushed, tuple(reasons)))
    return planned


def _place(
    touch: Touch,
    day_one: date,
    shift: int,
    posted_at: time,
    earliest: datetime,
    window: SendWindow,
    locale: Locale,
    taken: set[date],
    reasons: list[str],
    opening: timedelta = timedelta(0),
) -> tuple[datetime, int]:
    """The first allowed moment on or after the touch's target day; returns it and the days pushed."""
    tz = locale.tz
    opens, closes = _hours(touch.channel, window)
    spread = (datetime.combine(date.min, opens) + opening).time()
    at = posted_at if opens <= posted_at < closes else spread if opens <= spread < closes else opens
    target = day_one + timedelta(days=touch.day - 1 + shift)
    for pushed in range(MAX_PUSH_DAYS + 1):
        day = target + timedelta(days=pushed)
        blocker = _blocker(day, touch, window, locale, taken)
        if blocker:
            reasons.append(f"{day.isoformat()} {blocker}")
            continue
        due = datetime.combine(day, at, tzinfo=tz)
        if due < earliest:
            # Same day as the previous touch or the post: later that day, if the window is still open.
            local_earliest = earliest.astimezone(tz)
            if local_earliest.date() == day and local_earliest.time() < closes:
                due = earliest
            else:
                reasons.append(f"{day.isoformat()} window closed")
                continue
        return due, pushed
    raise ValueError(
        f"touch {touch.name}: no allowed day within {MAX_PUSH_DAYS} days of {target} "
        f"(window {window.weekdays}, {locale.country} holidays)"
    )


def plan(
    cadence: Cadence,
    start: datetime,
    locale: Locale | None = None,
    busy_days: frozenset[date] = frozenset(),
    opening: timedelta = timedelta(0),
    *,
    at_once: bool = True,
) -> list[datetime]:
    """Due time of every touch (see plan_touches); without a locale, the cadence's default zone."""
    locale = locale or locale_for(None, None, cadence.window)
    return [item.due for item in plan_touches(cadence, start, locale, busy_days, opening, at_once=at_once)]
