"""Rep task outcomes: what a rep records on a task (`POST /tasks/{task_id}?token=…`).

`connected` and `meeting_booked` answer like a reply does: they stop the lead's cadences
(meeting booked also starts the post-meeting cadence). Creating tasks is `send.tasks`.
"""

from __future__ import annotations

from leadflow import clock
from leadflow.answers import outcomes
from leadflow.cadence import stops
from leadflow.models import TASK_ID, ContactStatus, StopReason, Task, TaskOutcome, TaskStatus
from leadflow.observability import logger, publish_event
from leadflow.store import lead_items, task_items


class TaskNotFound(LookupError):
    pass


class TaskClosed(Exception):
    """The task already has a final outcome (connected or meeting booked)."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.id} is {task.status.value}")
        self.task = task


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


def record_outcome(task_ref: str, outcome: TaskOutcome, note: str | None = None) -> tuple[Task, bool]:
    """Record a task's outcome; returns the task and whether it stopped the lead's cadences.

    Repeating a final outcome is a no-op; changing it raises TaskClosed.
    """
    task = find_task(task_ref)
    updated = task_items.record_task_outcome(task, outcome, note, clock.now())
    if updated is not None:
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
            return current, False
        raise TaskClosed(current)
    stopped = _answered(task, outcome)
    logger.info("task outcome", extra={"lead_id": task.lead_id, "task": task.id, "outcome": outcome.value})
    return updated, stopped


def _answered(task: Task, outcome: TaskOutcome) -> bool:
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
        outcomes.meeting_booked(
            lead, at=now, booking_id=f"task-{task.id}", provider="rep task", starts_at=None
        )
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
