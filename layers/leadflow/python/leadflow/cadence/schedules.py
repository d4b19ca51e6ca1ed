"""EventBridge Scheduler adapter: one-shot schedules that invoke a function once, then delete themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import aws, clock
from leadflow.config import settings
from leadflow.models import Task
from leadflow.observability import logger

# An escalation delivered this late is no use to anyone: past it, Scheduler drops the event and the
# sweep (which escalates what never fired) takes over.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
# Past its time by its retries' hour (and a margin for Scheduler's own delay), a one-shot schedule
# has fired or been given up on, and Scheduler has deleted it (ActionAfterCompletion).
SPENT_AFTER = timedelta(seconds=RETRY_POLICY["MaximumEventAgeInSeconds"], minutes=10)


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


def escalation_pending(task: Task, now: datetime) -> bool:
    """Whether the task's escalation schedule may still exist: not once the chain's last alert went
    out (an alert recorded at or after escalate_at: the chain noted no later one), nor SPENT_AFTER
    past its time. Most replies and outcomes come after that: they make no Scheduler call."""
    if task.escalate_at is None:  # only a speed-to-lead task has escalations
        return False
    if any(clock.parse_iso(alert["at"]) >= task.escalate_at for alert in task.escalations):
        return False
    return now < task.escalate_at + SPENT_AFTER


def cancel_escalation(task: Task) -> None:
    """The task got an outcome or was cancelled by a stop: delete its pending escalation schedule, if
    any. One that cannot be deleted fires, finds the task closed and does nothing, then deletes itself."""
    group, at = settings().escalation_schedule_group, task.escalate_at
    if group is None or at is None or not escalation_pending(task, clock.now()):
        return
    name = escalation_schedule_name(task.lead_id, task.enrollment, at)
    try:
        delete(group=group, name=name)
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            "escalation schedule not deleted: it fires to a closed task", extra={"error": str(error)}
        )
