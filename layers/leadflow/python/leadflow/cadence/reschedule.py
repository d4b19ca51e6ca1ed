"""Out-of-office: move a running cadence past the lead's stated return date.

The next touch moves to the first allowed day after the return date (the cadence's send window:
its weekdays, the lead's public holidays, one automated touch a day, in the lead's zone: the
planner's own rules), at the time of day it was planned for when the window allows; every later
touch keeps its distance in local days from it. Only later, never earlier, and never a touch
already claimed.

The execution is already waiting for the old due time. When it wakes, the step re-reads the
stored schedule and, finding the touch not yet due, sends the execution back to wait for the
new time (asl.NOT_DUE_YET): the normal path keeps two transitions per touch.
"""

from __future__ import annotations

from datetime import date, datetime

from leadflow.cadence import versions
from leadflow.cadence.enrollments import busy_days
from leadflow.cadence.model import Cadence
from leadflow.cadence.schedule import locale_for, plan
from leadflow.config import cadences
from leadflow.models import Enrollment, Lead, RunStatus
from leadflow.observability import logger
from leadflow.store import enrollment_items


def moved_schedule(lead: Lead, enrollment: Enrollment, cadence: Cadence, back_on: date) -> list[datetime]:
    """The schedule with its unsent touches moved past `back_on` (unchanged if already after it)."""
    schedule = list(enrollment.schedule)
    next_index = enrollment.last_touch  # 0-based index of the next touch
    if next_index >= len(schedule):
        return schedule
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    due = schedule[next_index].astimezone(locale.tz)
    if due.date() > back_on:
        return schedule
    # Plan the rest as a cadence of its own whose day 1 is the return date: its first touch lands on
    # day 2 (the first allowed day after it) and the others keep their distance from that touch.
    remaining = cadence.touches[next_index:]
    offset = remaining[0].day - 2
    rest = cadence.model_copy(
        update={"touches": tuple(touch.model_copy(update={"day": touch.day - offset}) for touch in remaining)}
    )
    own_days = {moment.astimezone(locale.tz).date() for moment in schedule[next_index:]}
    busy = busy_days(lead.id, locale) - own_days
    start = datetime.combine(back_on, due.timetz())
    return schedule[:next_index] + plan(rest, start, locale, busy)


def after_return(lead: Lead, back_on: date) -> int:
    """Move every running enrollment of the lead past `back_on`; returns how many touches moved."""
    known = cadences()
    moved = 0
    for enrollment in enrollment_items.enrollments(lead.id):
        if enrollment.run_status is not RunStatus.RUNNING or enrollment.cadence not in known:
            continue
        cadence = versions.cadence_of(enrollment)
        schedule = moved_schedule(lead, enrollment, cadence, back_on)
        changed = sum(1 for old, new in zip(enrollment.schedule, schedule, strict=True) if old != new)
        if changed and enrollment_items.move_schedule(
            lead.id, enrollment.number, schedule, enrollment.last_touch + 1
        ):
            moved += changed
    logger.info("out-of-office", extra={"lead_id": lead.id, "back_on": back_on.isoformat(), "moved": moved})
    return moved
