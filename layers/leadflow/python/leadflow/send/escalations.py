"""Speed to lead's escalation chain, outside the cadence's execution (issue 28).

Who is alerted and when is send.speed's decision; this module only triggers it. Touch 1 opens the
call task (speed.open_call) and, when the chain goes on, notes the next alert's time on the task
(`escalate_at`, which also puts the task in the sweep's sparse index; the write that stores the
task or records an alert notes it, and the last alert's takes the task out of the index) and
creates an EventBridge Scheduler one-shot schedule for that time. The schedule invokes the step
function with ids and the due time (EscalationRequest); that run checks the task is still open and
the escalation still the pending one, alerts (speed.escalate), and schedules the next one. An
outcome or a stop deletes the pending schedule. The execution never waits on the chain: 7 of the
demo cadence's 18 transitions were its Choice, Wait and Task states.

No escalation is lost: the note on the task is written before the schedule is created, and the
sweep escalates any open task whose escalation is more than SWEEP_GRACE overdue with no alert
recorded since (a schedule that was never created, or that Scheduler gave up on). No alert is sent
twice: speed.escalate records each alert with a conditional write on the number of alerts it read
(task_items.add_escalation), so a duplicated fire, or the sweep beside a late fire, alerts once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import clock
from leadflow.cadence import schedules
from leadflow.cadence.schedules import escalation_schedule_name as schedule_name
from leadflow.config import settings
from leadflow.models import CONTACTABLE, EscalationRequest, RunStatus, Task, TaskStatus
from leadflow.observability import count, logger
from leadflow.store import lead_items, task_items

# send.speed (the chain's rules, with the operator config) is imported by the runs that need it: the
# sweep's five-minute call usually finds nothing, and stops and outcomes only delete schedules.
if TYPE_CHECKING:
    from leadflow.cadence.model import Cadence
    from leadflow.cadence.sweep import SweepReport
    from leadflow.models import Enrollment, Lead
    from leadflow.send.speed import Next

# A schedule fires within seconds of its time (no flexible window), retries included within the
# hour; the sweep runs every 5 minutes. Past this, an escalation with no alert is taken as lost.
SWEEP_GRACE = timedelta(minutes=10)
# The chain is not bounded by a later touch any more (speed.resume asks for the next touch's time).
NO_LATER_TOUCH = datetime.max.replace(tzinfo=UTC)


def open_call(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, now: datetime, target_arn: str | None
) -> None:
    """Touch 1: open the speed-to-lead call task when the lead asked for one, and schedule its chain."""
    from leadflow.send import speed

    then = speed.open_call(lead, cadence, enrollment, now, None)
    if then is not None:
        _schedule(lead.id, enrollment.number, speed.SPEED_TOUCH, then, target_arn)


def escalate_now(lead: Lead, enrollment: Enrollment, now: datetime, target_arn: str | None) -> None:
    """An execution started before issue 28 reached its own escalation state: escalate, then hand the
    chain over to schedules."""
    from leadflow.send import speed

    then = speed.escalate(lead, enrollment, now, None)
    if then is not None:
        _schedule(lead.id, enrollment.number, speed.SPEED_TOUCH, then, target_arn)


def run(request: EscalationRequest, target_arn: str | None) -> str:
    """A schedule fired: escalate if its escalation is still the pending one. Returns what happened."""
    from leadflow.send.speed import SPEED_TOUCH

    task = task_items.get_task(request.lead_id, request.enrollment, SPEED_TOUCH)
    if task is None or task.status is not TaskStatus.OPEN:
        return "closed"
    if task.escalate_at != request.due:
        return "stale"  # a later escalation is pending (a repeated fire of an older schedule)
    return _go_on(task, clock.now(), target_arn)


def sweep_all(*, retry_all_failed: bool = False) -> SweepReport:
    """The sweep's whole run (its function, `leadflow sweep`, the Sandbox): the cadence's sweep, then
    the escalations whose schedule never fired. Composed here: cadence may not depend on send."""
    from leadflow.cadence import sweep as cadence_sweep  # the sweep function's runs only

    report = cadence_sweep.sweep(retry_all_failed=retry_all_failed)
    report.escalated = sweep(clock.now(), settings().escalation_target_arn)
    logger.info("sweep", extra=report.model_dump())
    return report


def sweep(now: datetime, target_arn: str | None) -> int:
    """The fallback: escalate every open task whose escalation is overdue with no alert recorded
    since (its schedule never fired); returns how many it escalated."""
    escalated = 0
    for lead_id, enrollment, touch in task_items.escalating_tasks():
        task = task_items.get_task(lead_id, enrollment, touch)
        if task is None:
            continue
        if task.status is not TaskStatus.OPEN or task.escalate_at is None:
            task_items.end_escalation(task)
            continue
        if task.escalate_at + SWEEP_GRACE > now:
            continue
        if _go_on(task, now, target_arn) == "escalated":
            escalated += 1
            logger.warning(
                "escalation overdue: the sweep delivered it",
                extra={"lead_id": lead_id, "enrollment": enrollment, "due": clock.iso(task.escalate_at)},
            )
    return escalated


def cancel(task: Task) -> None:
    """The task got an outcome: delete its pending schedule, if any (cadence.schedules)."""
    schedules.cancel_escalation(task)


def _go_on(task: Task, now: datetime, target_arn: str | None) -> str:
    from leadflow.cadence import versions
    from leadflow.send import speed

    assert task.escalate_at is not None
    # Its run status, cadence and schedule only: the last claim's state as stored does (no settle read).
    lead, enrollment = lead_items.get_lead_and_enrollment(task.lead_id, task.enrollment)
    if (
        enrollment is None
        or lead is None
        or enrollment.run_status is not RunStatus.RUNNING
        or lead.status not in CONTACTABLE
    ):
        task_items.end_escalation(task)
        return "stopped"
    if any(clock.parse_iso(alert["at"]) >= task.escalate_at for alert in task.escalations):
        # This escalation's alert went out (a repeated run, or the chain's last alert): only find
        # when the chain goes on, as a later touch did before issue 28.
        cadence = versions.cadence_at(enrollment.cadence, enrollment.version)
        resume = speed.resume(lead, cadence, enrollment, now, NO_LATER_TOUCH)
        if resume is None:
            task_items.end_escalation(task)
            return "over"
        if resume.at > now:
            _schedule(task.lead_id, task.enrollment, task.touch, resume, target_arn)
            return "scheduled"
    then = speed.escalate(lead, enrollment, now, None, task)
    if then is not None:
        _schedule(task.lead_id, task.enrollment, task.touch, then, target_arn)
    return "escalated"


def _schedule(lead_id: str, enrollment: int, touch: int, then: Next, target_arn: str | None) -> None:
    """Note the escalation on the task (the sweep's fallback) unless the alert's own write noted it,
    then create its schedule. A schedule that cannot be created is logged and counted, never
    raised: the sweep delivers the escalation."""
    at = then.at
    if not then.noted and not task_items.set_escalation(lead_id, enrollment, touch, at):
        return  # worked or cancelled meanwhile
    config = settings()
    target = target_arn or config.escalation_target_arn
    group, role = config.escalation_schedule_group, config.escalation_schedule_role_arn
    if not (group and role and target):
        logger.warning("no escalation schedule configured: the sweep escalates", extra={"lead_id": lead_id})
        return
    payload = EscalationRequest(lead_id=lead_id, enrollment=enrollment, due=at)
    try:
        schedules.create_one_shot(
            group=group,
            name=schedule_name(lead_id, enrollment, at),
            at=at,
            target_arn=target,
            role_arn=role,
            payload={"escalation": payload.model_dump(mode="json")},
        )
    except (ClientError, BotoCoreError) as error:
        count("EscalationScheduleFailed")
        logger.warning(
            "escalation schedule not created: the sweep escalates",
            extra={"lead_id": lead_id, "error": str(error)},
        )
