"""Step Functions adapter: start and stop a lead's enrollment execution."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from leadflow import aws, clock
from leadflow.models import Enrollment

if TYPE_CHECKING:
    from leadflow.cadence.model import Cadence  # annotations only: the readers of cadences build it


def execution_input(enrollment: Enrollment, cadence: Cadence) -> dict[str, object]:
    """Ids and the cadence version only: no address, name or anything derived from them (the console
    shows this). The execution's first Wait reads the second moment's due time from `schedule.next_at`
    (a time, not personal data): the first moment is sent outside it (cadence.first_moment).
    """
    from leadflow.cadence import asl  # a start's: a reply's or an erasure's stops need none

    ids: dict[str, object] = {
        "lead_id": enrollment.lead_id,
        "cadence": enrollment.cadence,
        "enrollment": enrollment.number,
        "version": enrollment.version,
    }
    if asl.first_moment_outside(cadence):
        second = asl.moments(cadence)[1][0]
        ids["schedule"] = {"next_at": clock.iso(enrollment.schedule[second - 1])}
    return ids


def start(
    state_machine_arn: str, enrollment: Enrollment, cadence: Cadence, *, name: str | None = None
) -> str:
    """Start the enrollment's execution. Idempotent: same name and same input return the same execution.

    `cadence`: the version the enrollment runs on. `name` replaces the enrollment's own for a restart
    (names stay taken for 90 days).
    """
    response = aws.client("stepfunctions").start_execution(
        stateMachineArn=state_machine_arn,
        name=name or enrollment.execution_name,
        input=json.dumps(execution_input(enrollment, cadence), sort_keys=True),
    )
    return str(response["executionArn"])


def arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives a Standard execution: its state machine's ARN with `execution`
    for `stateMachine`, and the execution's name after it."""
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


def arn_of(enrollment: Enrollment) -> str | None:
    """The ARN of the enrollment's execution under its current name: the one stored, else derived
    (a start leaves it to touch 1's claim: enrollments.started). None where the cadence's state
    machine is unknown to this function (no STATE_MACHINE_ARNS) and none is stored."""
    if enrollment.execution_arn:
        return enrollment.execution_arn
    from leadflow.config import settings

    machine = settings().state_machine_arns.get(enrollment.cadence)
    return arn(machine, enrollment.execution_name) if machine else None


def status(execution_arn: str) -> str | None:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None when no execution has that ARN."""
    try:
        described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise
    return str(described["status"])


def stop(execution_arn: str, cause: str) -> None:
    """Stop a running execution; one that already ended is left as it is."""
    try:
        aws.client("stepfunctions").stop_execution(
            executionArn=execution_arn, error="LeadStopped", cause=cause
        )
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionAlreadyStopped"):
            raise


# How an execution ends without finishing its cadence: Step Functions keeps this record whatever
# happened to the table (the sweep reconciles the enrollments these leave `running`).
ENDED_EARLY = ("FAILED", "TIMED_OUT", "ABORTED")
# Listing (newest start first) stops at executions started this long before the cursor: no
# cadence runs that long (21 days, plus out-of-office deferrals). One older than this that dies
# is left to the hourly audit (running_without_execution, alarmed).
LONGEST_RUN = timedelta(days=60)


class EndedExecution(BaseModel):
    arn: str
    name: str
    status: str
    stopped_at: datetime | None  # Step Functions' clock (ListExecutions gives none for TIMED_OUT)


def ended_early(state_machine_arn: str, stopped_after: datetime | None) -> list[EndedExecution]:
    """The state machine's executions that ended early (ENDED_EARLY) after `stopped_after` (a stop
    time Step Functions reported earlier; None: every one it still lists, 90 days)."""
    found: list[EndedExecution] = []
    paginator = aws.client("stepfunctions").get_paginator("list_executions")
    for status in ENDED_EARLY:
        for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter=status):
            if not _collect(page["executions"], stopped_after, found):
                break
    return found


def _collect(page: list[dict[str, Any]], stopped_after: datetime | None, found: list[EndedExecution]) -> bool:
    """Add the page's executions stopped after the cursor; False once they started too long ago."""
    for execution in page:
        stopped = execution.get("stopDate")
        if stopped_after is not None and execution["startDate"] < stopped_after - LONGEST_RUN:
            return False
        if stopped_after is None or stopped is None or stopped > stopped_after:
            found.append(
                EndedExecution(
                    arn=execution["executionArn"],
                    name=execution["name"],
                    status=execution["status"],
                    stopped_at=stopped,
                )
            )
    return True
