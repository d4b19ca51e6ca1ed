"""Stop a lead: record why, stop every running enrollment, and abort their executions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadflow import clock
from leadflow.cadence import executions, schedules
from leadflow.models import ContactStatus, Enrollment, RunStatus, StopReason
from leadflow.observability import logger
from leadflow.store import enrollment_items, event_items, lead_items, task_items


def stop_lead(
    lead_id: str,
    status: ContactStatus,
    reason: StopReason,
    *,
    at: datetime | None = None,
    event: Mapping[str, Any] | None = None,
) -> list[Enrollment]:
    """Set the contact status and stop all running enrollments; returns the ones this call stopped.

    The stop is written on the enrollment item before StopExecution is called, so
    a step that wakes in between finds it and sends nothing. The report's event for the stop
    is recorded at `at` (the answer's own time, so a redelivered answer lands on the same
    event); `event` holds its attribution when the caller knows the touch that drew it
    (record_event's keywords), else the last touch claimed before the stop is named.
    """
    now = at or clock.now()
    lead_items.set_contact_status(lead_id, status, reason.value, now)
    stopped = stop_enrollments(lead_id, reason)
    # For the report: what happened, when, and the touch that drew it.
    drew = stopped[-1] if stopped else None
    attribution: dict[str, Any] = {
        "enrollment": drew.number if drew else None,
        "touch": drew.stopped_after_touch if drew and drew.stopped_after_touch else None,
    }
    event_items.record_event(lead_id, reason.value, now, **{**attribution, **(event or {})})
    logger.info("lead stopped", extra={"lead_id": lead_id, "reason": reason.value, "stopped": len(stopped)})
    return stopped


def stop_enrollments(lead_id: str, reason: StopReason) -> list[Enrollment]:
    """Stop the lead's running enrollments, leaving its contact status as it is."""
    now = clock.now()
    stopped = []
    for enrollment in enrollment_items.enrollments(lead_id, settled=False):  # their run status only
        if enrollment.run_status not in (RunStatus.RUNNING, RunStatus.PENDING, RunStatus.FAILED):
            continue
        result = enrollment_items.stop_enrollment(lead_id, enrollment.number, reason, now)
        if result is None:
            continue
        stopped.append(result)
        execution = executions.arn_of(result)
        if execution:
            executions.stop(execution, cause=reason.value)
    # No rep should still call a lead who answered or left, nor be alerted to.
    for task in task_items.cancel_open_tasks(lead_id, now):
        schedules.cancel_escalation(task)
    return stopped
