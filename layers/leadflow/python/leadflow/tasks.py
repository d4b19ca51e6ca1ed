"""Rep tasks: call, LinkedIn and video touches, handed to the owning rep with a signed outcome link.

A task never blocks its cadence: the step creates it, alerts the owner and returns the next
touch's time at once. The rep records the outcome through `POST /tasks/{task_id}?token=…`;
`connected` and `meeting_booked` stop the lead's cadences as a reply does.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from leadflow import clock, keys, outcomes, stops, store
from leadflow.alerts import AlertKind, alert_owner
from leadflow.cadence import Cadence, Channel
from leadflow.config import settings
from leadflow.models import TASK_ID, ContactStatus, Lead, StopReason, Task, TaskOutcome, TaskStatus, task_id
from leadflow.observability import logger

DEFAULT_INSTRUCTIONS = {
    Channel.CALL: "Call the lead. Reference what they asked for and agree on one next step.",
    Channel.LINKEDIN: "Connect on LinkedIn with a short personal note; no pitch in the request.",
    Channel.VIDEO: "Record a 60-90 second personal video: who you are, one observation, one next step.",
}


def task_link(task: str) -> str:
    """The signed link of a task: `GET` shows it with outcome buttons, `POST` records an outcome."""
    return f"{settings().public_url.rstrip('/')}/tasks/{task}?token={quote(keys.task_token(task))}"


def create_task(lead: Lead, cadence: Cadence, enrollment: int, number: int, due_at: datetime) -> Task:
    """Store the task for touch `number` and alert its owner; returns the task."""
    touch = cadence.touch(number)
    task = Task(
        id=task_id(lead.id, enrollment, number),
        lead_id=lead.id,
        enrollment=enrollment,
        touch=number,
        cadence=cadence.name,
        channel=touch.channel.value,
        name=touch.name,
        instruction=touch.instruction or DEFAULT_INSTRUCTIONS[touch.channel],
        owner=lead.owner,
        due_at=due_at,
    )
    store.put_task(task)
    alert_owner(lead, AlertKind.TASK, _task_detail(cadence, task))
    return task


def _task_detail(cadence: Cadence, task: Task) -> str:
    link = task_link(task.id)
    choices = ", ".join(outcome.value for outcome in TaskOutcome)
    return "\n".join(
        [
            f"{task.channel.upper()} task: {cadence.state_name(task.touch)} "
            f"({cadence.name}, touch {task.touch} of {len(cadence.touches)}), due {clock.iso(task.due_at)}",
            "",
            task.instruction,
            "",
            f"Record the outcome ({choices}):",
            f"  open {link}",
            f'  or POST {link} with {{"outcome": "connected"}}',
            "connected and meeting_booked stop the cadence, as a reply does; the others let it go on.",
        ]
    )


class TaskNotFound(LookupError):
    pass


class TaskClosed(Exception):
    """The task already has a final outcome (connected or meeting booked)."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.id} is {task.status.value}")
        self.task = task


def find_task(task: str) -> Task:
    match = TASK_ID.match(task)
    found = store.get_task(match["lead_id"], int(match["enrollment"]), int(match["touch"])) if match else None
    if found is None:
        raise TaskNotFound(task)
    return found


def record_outcome(task_ref: str, outcome: TaskOutcome, note: str | None = None) -> tuple[Task, bool]:
    """Record a task's outcome; returns the task and whether it stopped the lead's cadences.

    Repeating a final outcome is a no-op; changing it raises TaskClosed.
    """
    task = find_task(task_ref)
    updated = store.record_task_outcome(task, outcome, note, clock.now())
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
    lead = store.get_lead(task.lead_id)
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
