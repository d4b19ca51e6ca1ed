"""EventBridge Scheduler adapter: one-shot schedules that invoke a function once, then delete themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from leadflow import aws

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
