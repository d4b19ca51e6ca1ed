"""Out-of-office: move a running cadence past the lead's stated return date.

The next touch moves to the first allowed day after the return date (the cadence's send window:
its weekdays, the lead's public holidays, one automated touch a day, in the lead's zone: the
planner's own rules), at the time of day it was planned for when the window allows; every later
touch keeps its distance in local days from it. Only later, never earlier, and never a touch
already claimed.

The execution is already waiting for the old due time. When it wakes, the step re-reads the
stored schedule and, finding the touch not yet due, sends the execution back to wait for the
new time (asl.NOT_DUE_YET): the normal path keeps two transitions per touch.

`replanned` plans the unsent touches again from a moment, keeping their spacing: an operator's
resume, the sending guard's hold, and a late start (`caught_up`) share it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadflow.cadence import versions
from leadflow.cadence.enrollments import busy_days
from leadflow.cadence.model import Cadence
from leadflow.cadence.schedule import locale_for, opening_offset, plan
from leadflow.config import cadences
from leadflow.models import Enrollment, Lead, RunStatus
from leadflow.observability import logger
from leadflow.store import enrollment_items, lead_items

# An execution that starts this long after its next touch fell due starts late (the sweep starting an
# enrollment pending for days, or resuming one whose execution died long ago): its unsent touches are
# planned again from the start, else every touch whose time has passed would go out back to back.
# The step's own tolerance for a due time (send.touches.DUE_TOLERANCE); intake starts within it.
LATE_START = timedelta(minutes=1)


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


def replanned(
    lead: Lead, enrollment: Enrollment, cadence: Cadence, index: int, start: datetime, *, at_once: bool = True
) -> list[datetime]:
    """The schedule with its touches from `index` (0-based) planned again as a cadence of their own
    whose day 1 begins at `start`: they keep their spacing in local days under the planner's rules
    (window, holidays, the lead's opening offset, one automated touch a local day across its
    cadences). `at_once`: the first of them may go out at `start` whatever the window (plan_touches)."""
    remaining = cadence.touches[index:]
    offset = remaining[0].day - 1
    rest = cadence.model_copy(
        update={"touches": tuple(touch.model_copy(update={"day": touch.day - offset}) for touch in remaining)}
    )
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    own_days = {moment.astimezone(locale.tz).date() for moment in enrollment.schedule[index:]}
    busy = busy_days(lead.id, locale) - own_days
    planned = plan(rest, start, locale, busy, opening_offset(lead.id), at_once=at_once)
    return list(enrollment.schedule[:index]) + planned


def first_unsettled(enrollment: Enrollment) -> int:
    """0-based index of the first touch without a stored outcome: the one after the last claimed, or
    the claimed one itself while it is in doubt or was released."""
    settled = enrollment.touch_state in (None, enrollment_items.TouchState.SENT)
    return enrollment.last_touch if settled else enrollment.last_touch - 1


def caught_up(enrollment: Enrollment, now: datetime) -> Enrollment:
    """The enrollment about to start, with its unsent touches planned again from `now` when the first
    of them fell due more than LATE_START ago: that one goes out now (inside the lead's window), each
    later one keeps its spacing from it. Touch 1 keeps the planner's "at once, whatever the window"
    on the local day it was planned for (the lead posted that day); any later day waits for the
    window. Stored with a conditional write (still running, no later touch claimed); when that
    fails, the stored schedule stands and the step's claims still send nothing twice."""
    index = first_unsettled(enrollment)
    if index >= len(enrollment.schedule) or now - enrollment.schedule[index] <= LATE_START:
        return enrollment
    lead = lead_items.get_lead(enrollment.lead_id)
    if lead is None or enrollment.cadence not in cadences():
        return enrollment
    cadence = versions.cadence_of(enrollment)
    tz = locale_for(lead.timezone, lead.country, cadence.window).tz
    at_once = index == 0 and enrollment.schedule[0].astimezone(tz).date() == now.astimezone(tz).date()
    schedule = replanned(lead, enrollment, cadence, index, now, at_once=at_once)
    if not enrollment_items.catch_up_schedule(lead.id, enrollment.number, schedule, index + 1):
        return enrollment
    logger.info(
        "late start: unsent touches planned again from now",
        extra={
            "lead_id": lead.id,
            "enrollment": enrollment.number,
            "touch": index + 1,
            "late_seconds": int((now - enrollment.schedule[index]).total_seconds()),
        },
    )
    return enrollment.model_copy(update={"schedule": schedule})
