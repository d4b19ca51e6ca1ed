"""The first moment of a cadence (touch 1, and any touch sharing its moment), sent outside its execution.

The execution starts at the Wait before the second moment (cadence.asl): the demo cadence costs 10
transitions instead of 11. Whoever starts an execution hands the first moment to the step function
with an asynchronous invoke (ids only; Lambda retries it twice), right after StartExecution: the
step's claim and record are the ones the state machine's Task uses (send.touches), so a repeat
sends nothing twice and a stop recorded first sends nothing. A first moment that is not due yet (a
send window, a holiday, a meeting's clock, a not-now day) becomes a one-shot schedule at its time
(send.first_moment, from the step).

Nothing is lost: until touch 1 is claimed, the enrollment stays in the sweep's index (`attention`),
and the sweep hands a due, unclaimed touch 1 to the step again (cadence.sweep); the audit flags one
overdue past FIRST_TOUCH_BOUND. Nothing goes out of order: the second moment's Task sends an unsent
first moment first (send.touches.run_moment).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import aws
from leadflow.cadence import asl
from leadflow.cadence.model import Cadence
from leadflow.config import settings
from leadflow.models import FIRST_MOMENT_EVENT_KEY, Enrollment, TouchRequest
from leadflow.observability import count, logger
from leadflow.store import enrollment_items
from leadflow.store.enrollment_items import Attention, TouchState

EVENT_KEY = FIRST_MOMENT_EVENT_KEY
# Lambda retries an async invoke after 1 and 2 minutes; the sweep runs every 5. A due touch 1 this
# long unclaimed was not handed over (or every attempt failed): the sweep hands it over again.
SWEEP_GRACE = timedelta(minutes=10)
# The audit's bound: three sweeps past the grace.
FIRST_TOUCH_BOUND = SWEEP_GRACE + timedelta(minutes=15)


def request(enrollment: Enrollment, cadence: Cadence) -> TouchRequest:
    """The step's request for the first moment: ids and the version, as the Task would send them."""
    group = asl.moments(cadence)[0]
    return TouchRequest(
        lead_id=enrollment.lead_id,
        cadence=enrollment.cadence,
        enrollment=enrollment.number,
        version=enrollment.version,
        touch=group[0],
        through=group[-1] if len(group) > 1 else None,
    )


def unsent(enrollment: Enrollment, cadence: Cadence) -> bool:
    """Whether the execution leaves the first moment to the step and it has not been claimed (or a
    claim was released: nothing went out). A claimed one in doubt is settled by the step's retries."""
    if not asl.first_moment_outside(cadence):
        return False
    return enrollment.last_touch == 0 or (
        enrollment.last_touch == 1 and enrollment.touch_state == TouchState.RELEASED
    )


def attention(enrollment: Enrollment, cadence: Cadence, now: datetime) -> str | None:
    """Where the enrollment waits in the sweep's index once its execution runs: START while touch 1 is
    due today, its due day's bucket when later, None (out) when the first moment is not unsent."""
    if not unsent(enrollment, cadence):
        return None
    due_day = enrollment.schedule[0].astimezone(now.tzinfo).date()
    return Attention.START.value if due_day <= now.date() else enrollment_items.first_touch_bucket(due_day)


def hand_over(enrollment: Enrollment) -> bool:
    """Invoke the step asynchronously for the first moment (it sends it now, or schedules it for its
    time). False when it could not be invoked: the sweep hands it over again (never raised: the
    caller's post or command still succeeds)."""
    step = settings().step_function_name
    if not step:
        logger.warning("STEP_FUNCTION_NAME not set: the sweep sends touch 1", extra=_ids(enrollment))
        return False
    from leadflow.cadence import versions

    payload = {EVENT_KEY: request(enrollment, versions.cadence_of(enrollment)).model_dump(mode="json")}
    try:
        aws.client("lambda").invoke(
            FunctionName=step, InvocationType="Event", Payload=json.dumps(payload).encode()
        )
    except (ClientError, BotoCoreError) as error:
        # Throttled, or refused outright (a permission missing): the enrollment and its execution are
        # stored, so the sweep sends touch 1; the metric alarms on the refusals' cause.
        count("FirstTouchHandOverFailed")
        logger.warning(
            "touch 1 not handed to the step: the sweep sends it",
            extra={**_ids(enrollment), "error": str(error)},
        )
        return False
    return True


def overdue(enrollment: Enrollment, cadence: Cadence, now: datetime, grace: timedelta) -> bool:
    """A first moment unsent more than `grace` after its due time (held by the sending guard: not
    overdue, the guard's own bound applies)."""
    held = enrollment.held is not None and enrollment.held.touch == 1
    return unsent(enrollment, cadence) and not held and now - enrollment.schedule[0] > grace


def _ids(enrollment: Enrollment) -> dict[str, object]:
    return {"lead_id": enrollment.lead_id, "enrollment": enrollment.number}
