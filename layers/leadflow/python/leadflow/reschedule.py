"""Out-of-office: move a running cadence past the lead's stated return date.

The next touch moves to the first business day after the return date, at the time of day it
was planned for; every later touch moves by as much, keeping its spacing. Only later, never
earlier, and never a touch already claimed.

The execution is already waiting for the old due time. When it wakes, the step re-reads the
stored schedule and, finding the touch not yet due, sends the execution back to wait for the
new time (asl.NOT_DUE_YET): the normal path keeps two transitions per touch.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadflow import store
from leadflow.models import Enrollment, Lead, RunStatus
from leadflow.observability import logger

WEEKEND = (5, 6)


def first_business_day_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() in WEEKEND:
        day += timedelta(days=1)
    return day


def moved_schedule(enrollment: Enrollment, back_on: date) -> list[datetime]:
    """The schedule with its unsent touches moved past `back_on` (unchanged if already after it)."""
    schedule = list(enrollment.schedule)
    next_index = enrollment.last_touch  # 0-based index of the next touch
    if next_index >= len(schedule):
        return schedule
    due = schedule[next_index]
    if due.date() > back_on:
        return schedule
    shift = datetime.combine(first_business_day_after(back_on), due.timetz()) - due
    return schedule[:next_index] + [moment + shift for moment in schedule[next_index:]]


def after_return(lead: Lead, back_on: date) -> int:
    """Move every running enrollment of the lead past `back_on`; returns how many touches moved."""
    moved = 0
    for enrollment in store.enrollments(lead.id):
        if enrollment.run_status is not RunStatus.RUNNING:
            continue
        schedule = moved_schedule(enrollment, back_on)
        changed = sum(1 for old, new in zip(enrollment.schedule, schedule, strict=True) if old != new)
        if changed and store.move_schedule(lead.id, enrollment.number, schedule, enrollment.last_touch + 1):
            moved += changed
    logger.info("out-of-office", extra={"lead_id": lead.id, "back_on": back_on.isoformat(), "moved": moved})
    return moved
