"""Rep tasks: call, LinkedIn and video touches, handed to the owning rep with a signed outcome link.

A task never blocks its cadence: the step creates it, alerts the owner and returns the next
touch's time at once. The rep records the outcome through `POST /tasks/{task_id}?token=…`;
`connected` and `meeting_booked` stop the lead's cadences as a reply does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from leadflow import clock, keys
from leadflow.cadence.terms import Channel
from leadflow.config import operator_config, settings
from leadflow.models import Lead, Task, TaskOutcome, TaskStatus, Touch, task_id
from leadflow.send.alerts import AlertKind, alert_owner, local_time
from leadflow.send.queue import queue_link
from leadflow.store import task_items

if TYPE_CHECKING:  # annotations only: a reply's task and link need no cadence model
    from leadflow.cadence.model import Cadence

DEFAULT_INSTRUCTIONS = {
    Channel.CALL: "Call the lead. Reference what they asked for and agree on one next step.",
    Channel.LINKEDIN: "Connect on LinkedIn with a short personal note; no pitch in the request.",
    Channel.VIDEO: "Record a 60-90 second personal video: who you are, one observation, one next step.",
    Channel.MANUAL_EMAIL: "Read the draft, write what only you know where it asks, then send it or skip it.",
}


def task_link(task: str) -> str:
    """The signed link of a task: `GET` shows it with outcome buttons, `POST` records an outcome."""
    return f"{settings().public_url.rstrip('/')}/tasks/{task}?token={quote(keys.task_token(task))}"


def create_task(
    lead: Lead,
    cadence: Cadence,
    enrollment: int,
    number: int,
    due_at: datetime,
    draft: tuple[str, str] | None = None,
    record: Touch | None = None,
) -> Task:
    """Store the task for touch `number` and alert its owner; returns the task.

    `draft`: the subject and body of a manual_email touch (leadflow.send.drafts), kept on the task.
    `record`: the touch's record; the task carries it (one item per task touch) unless it is a
    draft or falls due on another UTC day than the touch ran (see Task.sent_at): then the returned
    task has no `sent_at` and the caller stores the record itself.

    A call due within `speed_to_lead.call_gap_hours` of another open call task of the lead (the
    speed-to-lead call, typically) is due that long after it instead: one call per sitting.
    """
    touch = cadence.touch(number)
    if touch.channel is Channel.CALL:
        due_at = spaced_call(lead, due_at)
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
        subject=draft[0] if draft else None,
        body=draft[1] if draft else None,
    )
    if (
        record is not None
        and touch.channel is not Channel.MANUAL_EMAIL
        and due_at.astimezone(UTC).date() == record.sent_at.astimezone(UTC).date()
    ):
        task = task.model_copy(
            update={"template": record.template, "sent_at": record.sent_at, "claimed_at": record.claimed_at}
        )
    if not task_items.put_task(task) and task.sent_at is not None:
        task_items.record_touch_on_task(task)  # a retried touch: the record of its own claim
    config = operator_config()
    owner = config.rep(lead.owner) if lead.owner else config.reps[0]
    if owner.hours.working(clock.now()):
        alert_owner(lead, AlertKind.TASK, _task_detail(cadence, task))
    # Off now: no page at night; the task is in the rep's queue and their next morning digest.
    return task


def spaced_call(lead: Lead, due_at: datetime) -> datetime:
    """`due_at`, or the gap after an open call task of the lead it falls within the gap of (at the
    owner's next start if that is outside their hours)."""
    config = operator_config()
    gap = timedelta(hours=config.speed_to_lead.call_gap_hours)
    hours = (config.rep(lead.owner) if lead.owner else config.reps[0]).hours
    others = sorted(
        task.due_at
        for task in task_items.tasks(lead.id)
        if task.channel == Channel.CALL.value and task.status is TaskStatus.OPEN
    )
    for other in others:
        if abs(due_at - other) < gap:
            due_at = hours.opening(other + gap)
    return due_at


def _task_detail(cadence: Cadence, task: Task) -> str:
    link = task_link(task.id)
    choices = ", ".join(outcome.value for outcome in TaskOutcome)
    config = operator_config()
    zone = config.rep(task.owner).hours.timezone if task.owner else config.reps[0].hours.timezone
    if task.channel == Channel.MANUAL_EMAIL.value:
        what = [
            f"Edit and send the draft, or skip it: open {link}",
            "It goes out in the lead's thread with the usual footer; nothing is sent until you press send.",
        ]
    else:
        what = [
            f"Record the outcome ({choices}):",
            f"  open {link}",
            f'  or POST {link} with {{"outcome": "connected"}}',
            "connected and meeting_booked stop the cadence, as a reply does; the others let it go on.",
        ]
    return "\n".join(
        [
            f"{task.channel.upper()} task: {cadence.state_name(task.touch)} "
            f"({cadence.name}, touch {task.touch} of {len(cadence.touches)}), "
            f"due {local_time(task.due_at, zone)}",
            "",
            task.instruction,
            "",
            *what,
            *([f"All your open tasks: {queue_link(task.owner)}"] if task.owner else []),
        ]
    )
