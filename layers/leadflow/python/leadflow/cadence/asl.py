"""Build a cadence's state machine definition (Amazon States Language).

One Standard execution per lead enrollment. The Wait states encode the cadence:
touch 1 runs at once; every later touch is a Wait on the timestamp the previous
step returned from the lead's stored schedule, then a Task that invokes the step
function. On the normal path that is two billed transitions per touch and no
polling. The execution input carries ids only (lead id, cadence, enrollment).
"""

from __future__ import annotations

from typing import Any

from leadflow.cadence.model import Cadence

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
]


def wait_state_name(cadence: Cadence, number: int) -> str:
    return f"Until {cadence.state_name(number)}"


def moved_state_names(cadence: Cadence, number: int) -> tuple[str, str]:
    """The Pass that reads a moved due time and the Wait on it, for touch `number`."""
    return f"Moved · {cadence.state_name(number)}", f"Until moved · {cadence.state_name(number)}"


def _moved_path(cadence: Cadence, number: int) -> dict[str, Any]:
    """Task -> (NotDueYet) -> read the new due time -> Wait on it -> the same Task again.

    Only taken when a due time moved after its Wait began: the normal path keeps its two
    transitions per touch.
    """
    read, wait = moved_state_names(cadence, number)
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
            "Next": cadence.state_name(number),
        },
    }


def _task(cadence: Cadence, number: int, step_function_arn: str) -> dict[str, Any]:
    last = number == len(cadence.touches)
    task: dict[str, Any] = {
        "Type": "Task",
        "Comment": f"Touch {number} of {len(cadence.touches)}",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": step_function_arn,
            "Payload": {
                "lead_id.$": "$.lead_id",
                "cadence.$": "$.cadence",
                "enrollment.$": "$.enrollment",
                "touch": number,
            },
        },
        "Retry": [
            {
                "ErrorEquals": TRANSIENT_LAMBDA_ERRORS,
                "IntervalSeconds": 2,
                "MaxAttempts": 6,
                "BackoffRate": 2.0,
            }
        ],
        "Catch": [{"ErrorEquals": [ENROLLMENT_STOPPED], "ResultPath": None, "Next": STOPPED_STATE}],
    }
    if number > 1:
        task["Catch"].append(
            {
                "ErrorEquals": [NOT_DUE_YET],
                "ResultPath": "$.deferral",
                "Next": moved_state_names(cadence, number)[0],
            }
        )
    if last:
        task["ResultPath"] = None
        task["End"] = True
    else:
        # Keep the ids in the state; add the next touch's due time for the Wait.
        task["ResultSelector"] = {"next_at.$": "$.Payload.next_at"}
        task["ResultPath"] = "$.schedule"
        task["Next"] = wait_state_name(cadence, number + 1)
    return task


def build_definition(cadence: Cadence, step_function_arn: str) -> dict[str, Any]:
    """The ASL document for a cadence, with its Lambda tasks invoking `step_function_arn`."""
    states: dict[str, Any] = {}
    for number in range(1, len(cadence.touches) + 1):
        if number > 1:
            states[wait_state_name(cadence, number)] = {
                "Type": "Wait",
                "TimestampPath": "$.schedule.next_at",
                "Next": cadence.state_name(number),
            }
        states[cadence.state_name(number)] = _task(cadence, number, step_function_arn)
        if number > 1:
            states.update(_moved_path(cadence, number))
    states[STOPPED_STATE] = {"Type": "Succeed", "Comment": "The enrollment was stopped before this touch."}
    return {
        "Comment": f"{cadence.name}: {cadence.description}",
        "StartAt": cadence.state_name(1),
        "States": states,
    }
