"""Rep task outcomes: what a rep records on a task (`POST /tasks/{task_id}?token=…`).

`connected` and `meeting_booked` answer like a reply does: they stop the lead's cadences
(meeting booked also starts the post-meeting cadence). Creating tasks is `send.tasks`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow import clock
from leadflow.answers import outcomes
from leadflow.cadence import stops
from leadflow.cadence.terms import Channel
from leadflow.models import TASK_ID, ContactStatus, StopReason, Task, TaskOutcome, TaskStatus
from leadflow.observability import logger, publish_event
from leadflow.send import escalations
from leadflow.store import enrollment_items, lead_items, task_items


class TaskNotFound(LookupError):
    pass


class TaskClosed(Exception):
    """The task already has a final outcome (connected or meeting booked)."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.id} is {task.status.value}")
        self.task = task


class DraftTask(Exception):
    """An email draft (manual_email) is sent or skipped on its page; it takes no call outcome."""


def find_task(task: str) -> Task:
    match = TASK_ID.match(task)
    found = (
        task_items.get_task(match["lead_id"], int(match["enrollment"]), int(match["touch"]))
        if match
        else None
    )
    if found is None:
        raise TaskNotFound(task)
    return found


def task_zone(task: Task) -> str:
    """The zone a rep's meeting time is read in: the lead's (its enrollment was planned in it)."""
    enrollment = enrollment_items.get_enrollment(task.lead_id, task.enrollment)
    return (enrollment.zone if enrollment else None) or "UTC"


def meeting_time(task: Task, meeting_at: datetime | None) -> datetime | None:
    """A time without offset (the page's date-time field) is the lead's local time."""
    if meeting_at is None or meeting_at.tzinfo is not None:
        return meeting_at
    return meeting_at.replace(tzinfo=ZoneInfo(task_zone(task)))


def record_outcome(
    task_ref: str,
    outcome: TaskOutcome,
    note: str | None = None,
    meeting_at: datetime | None = None,
    meeting_minutes: int = 30,
) -> tuple[Task, bool]:
    """Record a task's outcome; returns the task and whether it stopped the lead's cadences.

    `meeting_booked` takes the meeting's start (`meeting_at`): post-meeting runs on its clock.
    Without it the cadence stops and post-meeting waits for the time (this page again, or the
    calendar's webhook). Repeating a final outcome is a no-op, except that a meeting_booked may
    be repeated to give the time; changing a final outcome raises TaskClosed.
    """
    task = find_task(task_ref)
    if task.channel == Channel.MANUAL_EMAIL.value:
        raise DraftTask(task.id)
    starts_at = meeting_time(task, meeting_at)
    times = (starts_at, starts_at + timedelta(minutes=meeting_minutes)) if starts_at else None
    updated = task_items.record_task_outcome(task, outcome, note, clock.now())
    if updated is not None:
        escalations.cancel(updated)  # worked: its pending escalation is deleted
        publish_event(
            "task_done",
            task.lead_id,
            clock.now(),
            cadence=task.cadence,
            enrollment=task.enrollment,
            touch=task.touch,
            channel=task.channel,
            detail=outcome.value,
        )
    if updated is None:
        current = find_task(task_ref)
        if current.status.value == outcome.value:
            if outcome is TaskOutcome.MEETING_BOOKED and times:
                _booked(current, times)
            return current, False
        raise TaskClosed(current)
    stopped = _answered(task, outcome, times)
    logger.info("task outcome", extra={"lead_id": task.lead_id, "task": task.id, "outcome": outcome.value})
    return updated, stopped


def _booked(task: Task, times: tuple[datetime, datetime] | None) -> None:
    lead = lead_items.get_lead(task.lead_id)
    if lead is None:
        raise TaskNotFound(task.id)
    outcomes.meeting_booked(
        lead,
        at=clock.now(),
        booking_id=f"task-{task.id}",
        provider="rep task",
        starts_at=times[0] if times else None,
        ends_at=times[1] if times else None,
    )


def _answered(task: Task, outcome: TaskOutcome, times: tuple[datetime, datetime] | None = None) -> bool:
    """Connected and meeting booked answer like a reply does; returns whether the lead was stopped.

    A task cancelled by an earlier stop belongs to a lead that already stopped; a meeting booked
    on it still counts (the post-meeting cadence starts).
    """
    if not outcome.stops_cadence or (
        task.status is TaskStatus.CANCELLED and outcome is TaskOutcome.CONNECTED
    ):
        return False
    lead = lead_items.get_lead(task.lead_id)
    if lead is None:
        raise TaskNotFound(task.id)
    now = clock.now()
    if outcome is TaskOutcome.MEETING_BOOKED:
        _booked(task, times)
        return True
    attribution = outcomes.attribute(lead.id, now, enrollment=task.enrollment, touch=task.touch)
    stops.stop_lead(
        lead.id,
        ContactStatus.REPLIED,
        StopReason.CONNECTED,
        at=now,
        event=outcomes.event_fields(attribution, now, source="rep-task", via=task.channel),
    )
    outcomes.account_stop(lead)
    return True


assert {status.value for status in TaskStatus} >= {outcome.value for outcome in TaskOutcome}
