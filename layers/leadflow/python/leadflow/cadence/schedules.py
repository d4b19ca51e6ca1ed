"""EventBridge Scheduler adapter: one-shot schedules that invoke a function once, then delete themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import aws
from leadflow.config import settings
from leadflow.models import Task
from leadflow.observability import logger

# An escalation delivered this late is no use to anyone: past it, Scheduler drops the event and the
# sweep (which escalates what never fired) takes over.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}


def at_expression(moment: datetime) -> str:
    """Scheduler's one-time expression, `at(yyyy-mm-ddThh:mm:ss)`, in ScheduleExpressionTimezone (UTC)."""
    return f"at({moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def create_one_shot(
    *, group: str, name: str, at: datetime, target_arn: str, role_arn: str, payload: dict[str, Any]
) -> bool:
    """Invoke `target_arn` with `payload` at `at` (to the second: no flexible window), then delete the
    schedule. False when a schedule of that name exists already (a repeated run created it)."""
    try:
        aws.client("scheduler").create_schedule(
            GroupName=group,
            Name=name,
            ScheduleExpression=at_expression(at),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": target_arn,
                "RoleArn": role_arn,
                "Input": json.dumps(payload, sort_keys=True),
                "RetryPolicy": RETRY_POLICY,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConflictException":
            return False
        raise
    return True


def delete(*, group: str, name: str) -> bool:
    """Delete a schedule; False when there is none (it fired and deleted itself, or never existed)."""
    try:
        aws.client("scheduler").delete_schedule(GroupName=group, Name=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def escalation_schedule_name(lead_id: str, enrollment: int, at: datetime) -> str:
    """One schedule per speed-to-lead escalation time (64 characters at most: a lead id has 40)."""
    return f"speed-{lead_id}-{enrollment}-{at.astimezone(UTC):%y%m%d%H%M%S}"


def first_moment_schedule_name(lead_id: str, enrollment: int, at: datetime) -> str:
    """One schedule per first moment and due time (cadence.first_moment; 64 characters at most)."""
    return f"first-{lead_id}-{enrollment}-{at.astimezone(UTC):%y%m%d%H%M%S}"


def cancel_escalation(task: Task) -> None:
    """The task got an outcome or was cancelled by a stop: delete its pending escalation schedule, if
    any. One that cannot be deleted fires, finds the task closed and does nothing, then deletes itself."""
    group = settings().escalation_schedule_group
    if task.escalate_at is None or group is None:  # only a speed-to-lead task has escalations
        return
    name = escalation_schedule_name(task.lead_id, task.enrollment, task.escalate_at)
    try:
        delete(group=group, name=name)
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            "escalation schedule not deleted: it fires to a closed task", extra={"error": str(error)}
        )
