"""The step's side of a first moment sent outside its execution (cadence.first_moment).

`run`: an async invoke or a one-shot schedule asks for it. It runs the Task's own code (touches.
run_moment: claim, send, record), then: a stop ends it quietly; not due yet (a send window, the
sending guard, a meeting's clock) makes a one-shot schedule at the due time; a claim in doubt is
retried by schedule with the Task's own delays (asl.UNSETTLED_RETRY); a transient error is raised for
Lambda's two retries, and then the sweep hands it over again; any other error is recorded as the
Task's catch-all records it (the enrollment failed, ops alerted) and ends the waiting execution.

`before_second_moment`: the second moment's Task sends a first moment still unsent first (its
hand-over and every retry lost, or the sweep not running): never a later touch before touch 1; the
later touches keep their spacing from it (reschedule.caught_up) and the Task waits again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import clock
from leadflow.cadence import asl
from leadflow.cadence.model import Cadence
from leadflow.config import settings
from leadflow.models import (
    FIRST_MOMENT_EVENT_KEY,
    Enrollment,
    FailureDetail,
    FailureReport,
    FirstMomentRequest,
    RunStatus,
    TouchRequest,
)
from leadflow.observability import count, logger
from leadflow.store import enrollment_items
from leadflow.store.enrollment_items import TouchState

# The delays between retries of a claim in doubt: the Task's own (1 minute doubling to hourly, 12).
UNSETTLED_DELAYS = asl.retry_delays(asl.UNSETTLED_RETRY)


def run(request: FirstMomentRequest, target_arn: str | None) -> str:
    """Send the first moment now, or schedule it; returns what happened (a metric dimension)."""
    from leadflow.send.touches import EnrollmentStopped, NotDueYet, TouchUnsettled, run_moment

    touch = TouchRequest.model_validate(request.model_dump(exclude={"attempt"}))
    try:
        results = run_moment(touch, target_arn)
    except EnrollmentStopped:
        return "stopped"
    except NotDueYet as moved:
        due = clock.parse_iso(str(moved))
        return _schedule(request.model_copy(update={"attempt": 0}), due, target_arn)
    except TouchUnsettled:
        if request.attempt >= len(UNSETTLED_DELAYS):
            # In doubt past the Task's retries too: the second moment's Task settles it first (it
            # retries as long again), and the audit flags the claim (claim_without_outcome).
            logger.warning("touch 1 still in doubt: left to the second moment", extra=_ids(touch))
            return "unsettled"
        retry_at = clock.now() + timedelta(seconds=UNSETTLED_DELAYS[request.attempt])
        return _schedule(request.model_copy(update={"attempt": request.attempt + 1}), retry_at, target_arn)
    except Exception as error:
        if type(error).__name__ in asl.TRANSIENT_ERRORS:
            # What the Task retries (a throttle, an outage, a crash): Lambda retries the invoke twice
            # (1 and 2 minutes later), then the sweep hands it over again.
            raise
        return _failed(touch, error)
    return str(results[-1].outcome)


def _failed(request: TouchRequest, error: Exception) -> str:
    """An error retries cannot fix: what the Task's catch-all does (record the failure on the
    enrollment, alert ops; `leadflow sweep --retry-failed` once fixed), then stop the execution that
    waits for the second moment (the failed enrollment's retry starts a new one)."""
    from leadflow.cadence import executions
    from leadflow.send.failures import record_failure

    enrollment = enrollment_items.get_enrollment(request.lead_id, request.enrollment)
    execution = executions.arn_of(enrollment) if enrollment else None
    logger.error("touch 1 failed", extra={**_ids(request), "error": type(error).__name__})
    report = FailureReport(
        lead_id=request.lead_id,
        cadence=request.cadence,
        enrollment=request.enrollment,
        touch=request.touch,
        execution=execution or "",
        failure=FailureDetail(error=type(error).__name__),
    )
    if record_failure(report)["recorded"] and execution:
        executions.stop(execution, cause=f"touch {request.touch} failed: {type(error).__name__}")
    return "failed"


def before_second_moment(
    request: TouchRequest, cadence: Cadence, enrollment: Enrollment, target_arn: str | None
) -> Enrollment:
    """Called by the step for every touch after the first: at the second moment's first touch, settle
    the first moment first (send it now if unsent, settle or wait for one in doubt). Returns the
    enrollment as it is after (unchanged when there was nothing to do)."""
    groups = asl.moments(cadence)
    if not asl.first_moment_outside(cadence) or request.touch != groups[1][0]:
        return enrollment
    first_end = groups[0][-1]
    if enrollment.last_touch == first_end:
        enrollment = enrollment_items.resolve_claim(enrollment)  # the step read it as stored
    settled = enrollment.last_touch > first_end or (
        enrollment.last_touch == first_end and enrollment.touch_state in (None, TouchState.SENT)
    )
    if settled or enrollment.run_status is not RunStatus.RUNNING:
        return enrollment
    # Only a first moment unsent or in doubt gets here: the starter's module and the planner with it.
    from leadflow.cadence import first_moment as outside
    from leadflow.cadence.reschedule import caught_up
    from leadflow.send.touches import DUE_TOLERANCE, NotDueYet, run_moment

    now = clock.now()
    if outside.unsent(enrollment, cadence):
        if enrollment.schedule[0] - now > DUE_TOLERANCE:
            # Moved later (the sending guard, an out-of-office): the later touches moved with it.
            raise NotDueYet(clock.iso(max(enrollment.schedule[0], enrollment.schedule[request.touch - 1])))
        count("FirstTouchLate")
        logger.warning("touch 1 unsent at the second moment: sent first", extra=_ids(request))
        enrollment = caught_up(enrollment, now)
    run_moment(outside.request(enrollment, cadence), target_arn)
    return enrollment_items.get_enrollment(request.lead_id, request.enrollment) or enrollment


def _schedule(request: FirstMomentRequest, at: datetime, target_arn: str | None) -> str:
    """A one-shot schedule invoking the step for the first moment at `at`. Not created (no schedule
    group configured, or Scheduler refused): the sweep hands it over once due."""
    from leadflow.cadence import schedules

    config = settings()
    target = target_arn or config.escalation_target_arn
    group, role = config.escalation_schedule_group, config.escalation_schedule_role_arn
    if not (group and role and target):
        logger.warning("no schedule group configured: the sweep sends touch 1", extra=_ids(request))
        return "left_to_sweep"
    try:
        schedules.create_one_shot(
            group=group,
            name=schedules.first_moment_schedule_name(request.lead_id, request.enrollment, at),
            at=at,
            target_arn=target,
            role_arn=role,
            payload={FIRST_MOMENT_EVENT_KEY: request.model_dump(mode="json")},
        )
    except (ClientError, BotoCoreError) as error:
        count("FirstTouchScheduleFailed")
        logger.warning(
            "touch 1 schedule not created: the sweep sends it", extra={**_ids(request), "error": str(error)}
        )
        return "left_to_sweep"
    return "scheduled"


def _ids(request: TouchRequest) -> dict[str, object]:
    return {"lead_id": request.lead_id, "enrollment": request.enrollment}
