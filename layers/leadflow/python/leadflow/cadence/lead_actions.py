"""An operator acts on one lead: stop its cadences, pause them until a date, resume them.

Stop is the operator's own stop reason on every running enrollment. Pause moves the unsent touches
past a date with the out-of-office rules (send window, holidays, one touch a day, the lead's zone);
the waiting execution finds its touch not yet due and waits again. Resume brings back the
schedule from before the pause (or plans the unsent touches from now when that has passed) and
restarts the execution under a new name: the restarted execution passes the touches already sent
without sending them again (the step's claim record) and waits for the next one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadflow import clock
from leadflow.cadence import executions, reschedule, stops, versions
from leadflow.cadence.enrollments import started
from leadflow.config import settings
from leadflow.models import Enrollment, Lead, RunStatus, StopReason
from leadflow.observability import logger
from leadflow.store import enrollment_items, event_items

# Without --until, a pause lasts this long (a Standard execution may wait up to a year).
DEFAULT_PAUSE = timedelta(days=30)


def stop(lead: Lead) -> list[Enrollment]:
    """Stop every running enrollment of the lead (its contact status stays as it is)."""
    stopped = stops.stop_enrollments(lead.id, StopReason.OPERATOR)
    event_items.record_event(lead.id, "operator_stop", clock.now())
    return stopped


def pause(lead: Lead, until: date) -> int:
    """Move the unsent touches of every running enrollment to `until` or later; returns how many moved."""
    if until <= clock.now().date():
        raise ValueError(f"--until {until.isoformat()} is not in the future")
    for enrollment in enrollment_items.enrollments(lead.id):
        if enrollment.run_status is RunStatus.RUNNING:
            enrollment_items.mark_paused(lead.id, enrollment.number, until, enrollment.schedule)
    moved = reschedule.after_return(lead, until - timedelta(days=1))
    event_items.record_event(lead.id, "paused", clock.now(), details={"until": until.isoformat()})
    return moved


def resume(lead: Lead) -> int:
    """Resume every paused enrollment of the lead and restart its execution; returns how many.

    The schedule from before the pause comes back while its next touch is still ahead (a resume never
    sends early); once that moment has passed, the unsent touches are planned again from now with
    their spacing. An enrollment that is not paused is left alone, so a second resume is a no-op; the
    resume itself is one conditional write, so two at once restart the execution once.
    """
    now = clock.now()
    resumed = 0
    for enrollment in enrollment_items.enrollments(lead.id):
        if (
            enrollment.run_status is not RunStatus.RUNNING
            or enrollment.paused_until is None
            or enrollment.last_touch >= len(enrollment.schedule)
        ):
            continue
        taken = enrollment_items.take_resume(
            lead.id, enrollment.number, resumed_schedule(lead, enrollment, now), enrollment.last_touch + 1
        )
        if taken is None:
            continue  # resumed by someone else meanwhile, stopped, or its touch went out
        _restart(taken, previous=executions.arn_of(enrollment))
        resumed += 1
    if resumed:
        event_items.record_event(lead.id, "resumed", now)
    logger.info("lead resumed", extra={"lead_id": lead.id, "enrollments": resumed})
    return resumed


def resumed_schedule(lead: Lead, enrollment: Enrollment, now: datetime) -> list[datetime]:
    planned = enrollment.planned
    next_index = enrollment.last_touch
    if planned and len(planned) == len(enrollment.schedule) and planned[next_index] >= now:
        return list(enrollment.schedule[:next_index]) + list(planned[next_index:])
    return replanned(lead, enrollment, now)


def replanned(lead: Lead, enrollment: Enrollment, start: datetime) -> list[datetime]:
    """The schedule with its unsent touches planned again from `start`, keeping their spacing."""
    cadence = versions.cadence_of(enrollment)
    return reschedule.replanned(lead, enrollment, cadence, enrollment.last_touch, start)


def _restart(enrollment: Enrollment, *, previous: str | None) -> None:
    """Start the resumed execution (its name counts the resumes), then stop the one waiting for the
    paused schedule. Both alive for a moment send nothing twice: each touch is claimed once."""
    cadence = versions.cadence_of(enrollment)
    arn = executions.start(settings().state_machine_arns[enrollment.cadence], enrollment, cadence)
    started(enrollment, cadence, arn)  # a touch 1 paused before it went out is handed over again
    if previous and previous != arn:
        executions.stop(previous, cause="resumed by an operator")
