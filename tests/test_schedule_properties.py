"""Property-based tests of the send-window schedule over random zones, countries, post times and cadences."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.cadence.model import Cadence, Channel, Weekday, load_cadences
from leadflow.cadence.schedule import Locale, _zone_table, holiday_name, plan_touches

ZONES = sorted(_zone_table()[1])
COUNTRIES = sorted(_zone_table()[0])
SHIPPED = list(load_cadences().values())


@st.composite
def windows(draw):
    weekdays = draw(st.lists(st.sampled_from(list(Weekday)), min_size=1, max_size=7, unique=True))
    start = draw(st.integers(6, 12))
    end = draw(st.integers(max(start + 1, 13), 21))
    return {
        "weekdays": [day.value for day in weekdays],
        "start": f"{start:02d}:{draw(st.sampled_from([0, 30])):02d}",
        "end": f"{end:02d}:00",
        "timezone": draw(st.sampled_from(ZONES)),
        "skip_holidays": draw(st.booleans()),
    }


@st.composite
def cadences(draw):
    touches, day, automated_days = [], 1, set()
    for number in range(draw(st.integers(1, 8))):
        day += draw(st.integers(0, 6)) if number else 0
        channel = draw(st.sampled_from(list(Channel)))
        if channel.automated and day in automated_days:
            channel = Channel.CALL
        if channel.automated:
            automated_days.add(day)
        touches.append({"day": day, "channel": channel.value, "name": f"t{number}"})
    return Cadence.model_validate(
        {"name": "random", "description": "generated", "window": draw(windows()), "touches": touches}
    )


post_times = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))


@st.composite
def locales(draw):
    zone = draw(st.sampled_from(ZONES))
    country = draw(st.one_of(st.none(), st.sampled_from(COUNTRIES), st.just(_zone_table()[1][zone])))
    return Locale(zone=zone, country=country)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cadence=st.one_of(st.sampled_from(SHIPPED), cadences()),
    start=post_times,
    locale=locales(),
    busy_offsets=st.sets(st.integers(0, 20), max_size=4),
)
def test_schedules_are_monotonic_in_their_windows_off_holidays_and_keep_their_spacing(
    cadence, start, locale, busy_offsets
):
    tz = locale.tz
    day_one = start.astimezone(tz).date()
    busy = frozenset(day_one + timedelta(days=offset) for offset in busy_offsets)
    planned = plan_touches(cadence, start, locale, busy)
    window = cadence.window

    assert len(planned) == len(cadence.touches)
    dues = [item.due for item in planned]
    assert dues == sorted(dues), "monotonic"
    assert dues[0] >= start

    automated_days: list[date] = []
    for index, item in enumerate(planned):
        local = item.due.astimezone(tz)
        touch = item.touch
        if touch.channel is Channel.SMS:
            assert time(8) <= local.time() < time(21), "SMS only 08:00-21:00 local"
        if touch.automated:
            assert local.date() not in busy, "another cadence already has this day"
            automated_days.append(local.date())
        immediate = index == 0 and item.due == start
        if immediate:
            assert touch.day == 1
            continue
        assert local.weekday() in window.weekday_numbers, "allowed weekday"
        if window.skip_holidays:
            assert holiday_name(locale, local.date()) is None, "no public holiday"
        opens, closes = (
            (window.sms_hours() or (None, None))
            if touch.channel is Channel.SMS
            else (
                window.start,
                window.end,
            )
        )
        assert opens <= local.time() < closes, "inside the window"
        # Never earlier than its playbook day, counted in local calendar days.
        assert (local.date() - day_one).days >= touch.day - 1

    assert len(automated_days) == len(set(automated_days)), "one automated touch per local day"
    for before, after in itertools.pairwise(planned):
        gap = (after.due.astimezone(tz).date() - before.due.astimezone(tz).date()).days
        assert gap >= after.touch.day - before.touch.day, "local-day spacing kept"


@settings(max_examples=150, deadline=None)
@given(cadence=cadences(), start=post_times, locale=locales())
def test_a_push_moves_every_later_touch_by_at_least_as_many_days(cadence, start, locale):
    planned = plan_touches(cadence, start, locale)
    tz = locale.tz
    day_one = start.astimezone(tz).date()
    pushed_so_far = 0
    for item in planned:
        pushed_so_far += item.pushed_days
        if item.number == 1 and item.due == start:
            continue
        # Its date is its playbook day plus every push so far: no touch catches up with a pushed one.
        assert (item.due.astimezone(tz).date() - day_one).days == item.touch.day - 1 + pushed_so_far
