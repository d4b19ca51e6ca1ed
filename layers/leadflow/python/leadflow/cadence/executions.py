"""Step Functions adapter: start and stop a lead's enrollment execution."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from leadflow import aws, clock
from leadflow.models import Enrollment


def execution_input(enrollment: Enrollment) -> dict[str, object]:
    """Ids and the cadence version only: no address, name or anything derived from them (the console
    shows this). An enrollment on a meeting's clock adds when touch 1 is due (its first Wait reads it).
    """
    ids: dict[str, object] = {
        "lead_id": enrollment.lead_id,
        "cadence": enrollment.cadence,
        "enrollment": enrollment.number,
        "version": enrollment.version,
    }
    if enrollment.meeting is not None and enrollment.meeting.status == "booked":
        ids["first_at"] = clock.iso(enrollment.schedule[0])
    return ids


def start(state_machine_arn: str, enrollment: Enrollment, *, name: str | None = None) -> str:
    """Start the enrollment's execution. Idempotent: same name and same input return the same execution.

    `name` replaces the enrollment's own for a restart (names stay taken for 90 days).
    """
    response = aws.client("stepfunctions").start_execution(
        stateMachineArn=state_machine_arn,
        name=name or enrollment.execution_name,
        input=json.dumps(execution_input(enrollment), sort_keys=True),
    )
    return str(response["executionArn"])


def stop(execution_arn: str, cause: str) -> None:
    """Stop a running execution; one that already ended is left as it is."""
    try:
        aws.client("stepfunctions").stop_execution(
            executionArn=execution_arn, error="LeadStopped", cause=cause
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionAlreadyStopped"):
            raise
