"""An operator acts on one lead: stop its cadences, pause them until a date, resume them.

Stop is the operator's own stop reason on every running enrollment. Pause moves the unsent touches
past a date with the out-of-office rules (send window, holidays, one touch a day, the lead's zone);
the waiting execution finds its touch not yet due and waits again. Resume plans the unsent touches
from now and restarts the execution under a new name: the restarted execution passes the touches
already sent without sending them again (the step's claim record) and waits for the next one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadflow import clock
from leadflow.cadence import executions, reschedule, stops, versions
from leadflow.cadence.enrollments import busy_days
from leadflow.cadence.schedule import locale_for, plan
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
    moved = reschedule.after_return(lead, until - timedelta(days=1))
    event_items.record_event(lead.id, "paused", clock.now(), details={"until": until.isoformat()})
    return moved


def resume(lead: Lead) -> int:
    """Plan every running enrollment's unsent touches from now and restart its execution."""
    now = clock.now()
    resumed = 0
    for enrollment in enrollment_items.enrollments(lead.id):
        if enrollment.run_status is not RunStatus.RUNNING or enrollment.last_touch >= len(
            enrollment.schedule
        ):
            continue
        schedule = replanned(lead, enrollment, now)
        if not enrollment_items.move_schedule(
            lead.id, enrollment.number, schedule, enrollment.last_touch + 1
        ):
            continue
        _restart(enrollment.model_copy(update={"schedule": schedule}), now)
        resumed += 1
    event_items.record_event(lead.id, "resumed", now)
    logger.info("lead resumed", extra={"lead_id": lead.id, "enrollments": resumed})
    return resumed


def replanned(lead: Lead, enrollment: Enrollment, start: datetime) -> list[datetime]:
    """The schedule with its unsent touches planned again from `start`, keeping their spacing."""
    cadence = versions.cadence_of(enrollment)
    next_index = enrollment.last_touch
    remaining = cadence.touches[next_index:]
    offset = remaining[0].day - 1
    rest = cadence.model_copy(
        update={"touches": tuple(touch.model_copy(update={"day": touch.day - offset}) for touch in remaining)}
    )
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    own_days = {moment.astimezone(locale.tz).date() for moment in enrollment.schedule[next_index:]}
    busy = busy_days(lead.id, locale) - own_days
    return list(enrollment.schedule[:next_index]) + plan(rest, start, locale, busy)


def _restart(enrollment: Enrollment, now: datetime) -> None:
    if enrollment.execution_arn:
        executions.stop(enrollment.execution_arn, cause="resumed by an operator")
    name = f"{enrollment.execution_name}-r{int(now.timestamp())}"
    arn = executions.start(settings().state_machine_arns[enrollment.cadence], enrollment, name=name)
    enrollment_items.set_execution_arn(enrollment.lead_id, enrollment.number, arn)
