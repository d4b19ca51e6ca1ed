"""Build a cadence's state machine definition (Amazon States Language).

One Standard execution per lead enrollment. The Wait states encode the cadence: every send
moment after the first is a Wait on the timestamp the previous step returned from the lead's
stored schedule (the execution input carries the second moment's), then a Task that invokes the
step function. The first moment costs the execution nothing: whoever starts the execution invokes
the step asynchronously for it (leadflow.cadence.first_moment; a one-shot schedule when it is not
due yet), and the second moment's Task sends it first if it is still unsent then. Touches
that fall due at the same moment (one cadence day, at most one of them automated: a rep's call
beside the day's text) share one Task (`moments`); a touch on a channel the lead cannot receive
(a text without SMS consent) is recorded as skipped inside that Task. On the normal path that is
two billed transitions per send moment after the first and no polling: 10 transitions for the
demo cadence's 6 moments. The execution input carries ids only
(lead id, cadence, enrollment), the cadence version, which the step reads its touch from
(leadflow.cadence.versions), and the second moment's due time (a time, not personal data).
Speed-to-lead escalations run outside the execution (EventBridge Scheduler one-shot schedules,
leadflow.send.escalations): they cost the execution no transition.

Errors: every Task retries what is transient (the step classifies AWS errors and raises them
by name, see leadflow.aws.transient) with exponential backoff and full jitter. A stop or a
moved due time is caught on every touch. Anything else is caught too (States.ALL): the
execution records the failure on the enrollment (status `failed`, the error's name, the touch),
alerts ops, and ends in a named Fail state; `leadflow sweep` retries failures that were transient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadflow.cadence.model import Cadence  # annotations only: the readers of cadences build it


LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# Raised by the step function when the enrollment was stopped or the lead can no
# longer be contacted; the execution then ends quietly instead of failing.
ENROLLMENT_STOPPED = "EnrollmentStopped"
STOPPED_STATE = "Stopped · lead answered or left"
# Raised by the step function when the touch's stored due time moved later (an out-of-office
# reply with a return date); its message is the new due time. The execution waits again.
NOT_DUE_YET = "NotDueYet"
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    # The function ran out of time or memory: the touch's claim tells the retry what happened.
    "Sandbox.Timedout",
    "Lambda.Unknown",
    "Runtime.ExitError",
]
# Raised by the step after classifying an AWS error (leadflow.aws.Throttled / ServiceUnavailable).
THROTTLED = "Throttled"
SERVICE_UNAVAILABLE = "ServiceUnavailable"
TRANSIENT_ERRORS = [*TRANSIENT_LAMBDA_ERRORS, THROTTLED, SERVICE_UNAVAILABLE]
# Raised by the step when an earlier attempt claimed the touch and its outcome is not known yet
# (a crash right around the SES call: the touch is in doubt): retried until SES's Send event
# settles it or the in-doubt bound passes (leadflow.send.touches.IN_DOUBT_BOUND, 6 h). The
# execution holds its place: no later touch runs first. Backing off from a minute to hourly, the
# 12 retries span 7 h (retry_delays): a late event is noticed within the hour, at 12 transitions.
TOUCH_UNSETTLED = "TouchUnsettled"
UNSETTLED_RETRY = {"IntervalSeconds": 60, "MaxAttempts": 12, "BackoffRate": 2.0, "MaxDelaySeconds": 3600}
# Every error the sweep may retry after an execution gave up on it.
RETRYABLE_ERRORS = frozenset([*TRANSIENT_ERRORS, TOUCH_UNSETTLED, "States.Timeout"])
TRANSIENT_RETRY = {
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}
RECORD_FAILURE_STATE = "Record failure · alert ops"
FAILED_STATE = "Failed · ops alerted"
# The step function's event for RECORD_FAILURE_STATE carries this key (leadflow.models.FailureReport).
FAILURE_KEY = "failure"
# Every step invocation names its enrollment by the ids the execution input carries (no PII).
ENROLLMENT_IDS = {"lead_id.$": "$.lead_id", "cadence.$": "$.cadence", "enrollment.$": "$.enrollment"}


def retry_delays(retry: dict[str, Any]) -> list[float]:
    """The seconds a Retry waits before each of its attempts, as Step Functions computes them
    (before any jitter: IntervalSeconds x BackoffRate^n, at most MaxDelaySeconds)."""
    interval, rate = float(retry.get("IntervalSeconds", 1)), float(retry.get("BackoffRate", 2.0))
    cap = float(retry.get("MaxDelaySeconds", float("inf")))
    return [min(interval * rate**attempt, cap) for attempt in range(int(retry.get("MaxAttempts", 3)))]


def moments(cadence: Cadence) -> list[tuple[int, ...]]:
    """Touch numbers grouped by the moment they fall due, in order: consecutive touches of one cadence
    day with at most one automated touch (email, SMS) among them. The plan puts such touches at the
    same time (two automated touches never share a local day, so those are never grouped)."""
    groups: list[tuple[int, ...]] = []
    for number, touch in enumerate(cadence.touches, start=1):
        members = groups[-1] if groups else ()
        same_day = bool(members) and cadence.touch(members[0]).day == touch.day
        automated = touch.automated and any(cadence.touch(member).automated for member in members)
        if same_day and not automated:
            groups[-1] = (*members, number)
        else:
            groups.append((number,))
    return groups


def task_state_name(cadence: Cadence, number: int) -> str:
    """The Task state of the moment whose first touch is `number` (a lone touch keeps its own name)."""
    group = next(group for group in moments(cadence) if group[0] == number)
    if len(group) == 1:
        return cadence.state_name(number)
    touches = [cadence.touch(member) for member in group]
    name = f"Day {touches[0].day:02d} · " + " + ".join(f"{t.channel.value} · {t.name}" for t in touches)
    # Step Functions state names stop at 80 characters.
    return name if len(name) <= 80 else f"Day {touches[0].day:02d} · touches {group[0]}-{group[-1]}"


def wait_state_name(cadence: Cadence, number: int) -> str:
    return f"Until {task_state_name(cadence, number)}"


def moved_state_names(cadence: Cadence, number: int) -> tuple[str, str]:
    """The Pass that reads a moved due time and the Wait on it, for the moment starting at touch `number`."""
    task = task_state_name(cadence, number)
    return f"Moved · {task}"[:80], f"Until moved · {task}"[:80]


def failed_state_name(cadence: Cadence, number: int) -> str:
    return f"Failed · {task_state_name(cadence, number)}"[:80]


def _retry() -> list[dict[str, Any]]:
    return [
        {"ErrorEquals": TRANSIENT_ERRORS, **TRANSIENT_RETRY},
        {"ErrorEquals": [TOUCH_UNSETTLED], **UNSETTLED_RETRY},
    ]


def _failure_path(cadence: Cadence, number: int) -> dict[str, Any]:
    """Catch-all of touch `number`: name the touch, then the shared failure recording."""
    return {
        failed_state_name(cadence, number): {
            "Type": "Pass",
            "Comment": "An error that retries could not fix: record it on the enrollment and alert ops.",
            "Result": number,
            "ResultPath": "$.failed_touch",
            "Next": RECORD_FAILURE_STATE,
        }
    }


def _record_failure(step_function_arn: str) -> dict[str, Any]:
    return {
        RECORD_FAILURE_STATE: {
            "Type": "Task",
            "Comment": "Mark the enrollment failed (error name and touch) and alert ops.",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": step_function_arn,
                "Payload": {
                    **ENROLLMENT_IDS,
                    "touch.$": "$.failed_touch",
                    "execution.$": "$$.Execution.Id",
                    FAILURE_KEY: {"error.$": "$.failure.Error"},
                },
            },
            "Retry": _retry(),
            # Even the recording may fail: the execution still ends in the Fail state, and the
            # audit finds the enrollment running without a running execution.
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.recording_error", "Next": FAILED_STATE}
            ],
            "ResultPath": None,
            "Next": FAILED_STATE,
        },
        FAILED_STATE: {
            "Type": "Fail",
            "Error": "TouchFailed",
            "Cause": "A touch failed with an error retries could not fix. The enrollment is marked "
            "failed with the error and the touch; ops were alerted; `leadflow sweep` retries transient ones.",
        },
    }


def _moved_path(cadence: Cadence, number: int) -> dict[str, Any]:
    """Task -> (NotDueYet) -> read the new due time -> Wait on it -> the same Task again.

    Only taken when a due time moved after its Wait began: the normal path keeps its two
    transitions per touch.
    """
    read, wait = moved_state_names(cadence, number)
    task = task_state_name(cadence, number)
    return {
        read: {
            "Type": "Pass",
            "Comment": "The touch's due time moved (out-of-office); the error message holds the new one.",
            "Parameters": {"error.$": "States.StringToJson($.deferral.Cause)"},
            "ResultPath": "$.deferral",
            "Next": wait,
        },
        wait: {
            "Type": "Wait",
            "TimestampPath": "$.deferral.error.errorMessage",
            "Next": task,
        },
    }


def _task(cadence: Cadence, group: tuple[int, ...], step_function_arn: str) -> dict[str, Any]:
    number, through = group[0], group[-1]
    last = through == len(cadence.touches)
    payload: dict[str, Any] = {
        **ENROLLMENT_IDS,
        # The version the execution started on: the step reads this touch from it.
        "version.$": "$.version",
        "touch": number,
    }
    if through != number:
        payload["through"] = through
    task: dict[str, Any] = {
        "Type": "Task",
        "Comment": f"Touch {number} of {len(cadence.touches)}"
        if through == number
        else f"Touches {number}-{through} of {len(cadence.touches)}, due at the same moment",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": step_function_arn, "Payload": payload},
        "Retry": _retry(),
        "Catch": [
            {"ErrorEquals": [ENROLLMENT_STOPPED], "ResultPath": None, "Next": STOPPED_STATE},
            {
                "ErrorEquals": [NOT_DUE_YET],
                "ResultPath": "$.deferral",
                "Next": moved_state_names(cadence, number)[0],
            },
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.failure",
                "Next": failed_state_name(cadence, number),
            },
        ],
    }
    if last:
        task["ResultPath"] = None
        task["End"] = True
    else:
        # Keep the ids in the state; add the next touch's due time for the Wait.
        task["ResultSelector"] = {"next_at.$": "$.Payload.next_at"}
        task["ResultPath"] = "$.schedule"
        task["Next"] = wait_state_name(cadence, through + 1)
    return task


def first_moment_outside(cadence: Cadence) -> bool:
    """Whether the execution leaves the first moment to the async step (cadence.first_moment): every
    cadence with a later moment to wait for. A cadence of one moment keeps it in its execution."""
    return len(moments(cadence)) > 1


def build_definition(cadence: Cadence, step_function_arn: str) -> dict[str, Any]:
    """The ASL document for a cadence, with its Lambda tasks invoking `step_function_arn`.

    The execution starts at the Wait before the second moment (`schedule.next_at` in its input): the
    first moment is sent outside it, at once or at its time (a meeting's clock, a send window).
    """
    states: dict[str, Any] = {}
    groups = moments(cadence)
    outside = first_moment_outside(cadence)
    for index, group in enumerate(groups):
        number = group[0]
        if index == 0 and outside:
            continue
        if index > 0:
            states[wait_state_name(cadence, number)] = {
                "Type": "Wait",
                "TimestampPath": "$.schedule.next_at",
                "Next": task_state_name(cadence, number),
            }
        states[task_state_name(cadence, number)] = _task(cadence, group, step_function_arn)
        states.update(_moved_path(cadence, number))
        states.update(_failure_path(cadence, number))
    states[STOPPED_STATE] = {"Type": "Succeed", "Comment": "The enrollment was stopped before this touch."}
    states.update(_record_failure(step_function_arn))
    return {
        "Comment": f"{cadence.name}: {cadence.description}",
        "StartAt": wait_state_name(cadence, groups[1][0]) if outside else task_state_name(cadence, 1),
        "States": states,
    }
