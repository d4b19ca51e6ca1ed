"""Build a cadence's state machine definition (Amazon States Language).

One Standard execution per lead enrollment. The Wait states encode the cadence:
touch 1 runs at once; every later touch is a Wait on the timestamp the previous
step returned from the lead's stored schedule, then a Task that invokes the step
function. On the normal path that is two billed transitions per touch and no
polling. The execution input carries ids only (lead id, cadence, enrollment).
"""

from __future__ import annotations

from typing import Any

from leadflow.cadence import Cadence

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# Raised by the step function when the enrollment was stopped or the lead can no
# longer be contacted; the execution then ends quietly instead of failing.
ENROLLMENT_STOPPED = "EnrollmentStopped"
STOPPED_STATE = "Stopped · lead answered or left"
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def wait_state_name(cadence: Cadence, number: int) -> str:
    return f"Until {cadence.state_name(number)}"


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
    states[STOPPED_STATE] = {"Type": "Succeed", "Comment": "The enrollment was stopped before this touch."}
    return {
        "Comment": f"{cadence.name}: {cadence.description}",
        "StartAt": cadence.state_name(1),
        "States": states,
    }
