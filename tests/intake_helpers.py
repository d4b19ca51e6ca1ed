"""Inspection helpers for the intake tests: everything stored, every execution started."""

from __future__ import annotations

from typing import Any

from leadflow import aws


def stored_items(table: str = "leadflow") -> list[dict[str, Any]]:
    return aws.client("dynamodb").scan(TableName=table)["Items"]


def all_executions(sb: Any) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    return [
        execution
        for arn in sb.state_machine_arns.values()
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
    ]


def returning_alerts(sb: Any) -> list[dict[str, Any]]:
    """Rep alerts about posts, leaving out the new-lead and task alerts every cadence sends."""
    return [alert for alert in sb.rep_alerts() if alert["kind"] not in ("lead_accepted", "task")]


def assert_nothing_stored(sb: Any) -> None:
    assert stored_items() == []
    assert stored_items("leadflow-idempotency") == []
    assert all_executions(sb) == []
    assert sb.rep_alerts() == []
