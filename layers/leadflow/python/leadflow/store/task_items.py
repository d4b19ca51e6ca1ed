"""Rep tasks: call, LinkedIn and video touches and their outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from leadflow.clock import iso
from leadflow.models import (
    Task,
    TaskOutcome,
    TaskStatus,
)
from leadflow.store.items import (
    by_day_keys,
    dynamodb_table,
    is_condition_failure,
    lead_item,
    lead_pk,
    query_prefix,
    serialize,
    task_sk,
    ttl,
    update_if,
)
from leadflow.store.table import ATTENTION_INDEX, ATTENTION_KEY, PARTITION_KEY, SORT_KEY

# A speed-to-lead task is in the sweep's sparse index under this while its chain goes on: the sweep
# escalates one whose schedule never fired (send.escalations).
ESCALATION_ATTENTION = "escalate"


def put_task(task: Task) -> bool:
    """Store a rep task once; a retried step finds it there and leaves it as it is (False).

    An open task stored with `escalate_at` (speed to lead: its first alert and the next one's time,
    send.speed) is in the sweep's index from this write on: no second write to put it there.
    """
    item = {
        PARTITION_KEY: lead_pk(task.lead_id),
        SORT_KEY: task_sk(task.enrollment, task.touch),
        **by_day_keys(task.due_at, task.lead_id, "task"),
        **serialize(task),
        **ttl("lead", task.due_at),
    }
    if task.escalate_at is not None and task.status is TaskStatus.OPEN:
        item[ATTENTION_KEY] = ESCALATION_ATTENTION
    try:
        dynamodb_table().put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(#sk)",
            ExpressionAttributeNames={"#sk": SORT_KEY},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        return False
    return True


def record_touch_on_task(task: Task) -> None:
    """A retried touch found its task stored by an earlier attempt: note the touch record of this
    attempt's claim on it (the claim it settles changed)."""
    update_if(
        Key={PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
        UpdateExpression="SET template = :template, sent_at = :sent, claimed_at = :claimed",
        ConditionExpression="attribute_exists(#sk)",
        ExpressionAttributeNames={"#sk": SORT_KEY},
        ExpressionAttributeValues={
            ":template": task.template,
            ":sent": iso(task.sent_at) if task.sent_at else None,
            ":claimed": iso(task.claimed_at) if task.claimed_at else None,
        },
    )


def get_task(lead_id: str, enrollment: int, touch: int) -> Task | None:
    item = lead_item(lead_id, task_sk(enrollment, touch))
    return Task.model_validate(item) if item else None


def tasks(lead_id: str) -> list[Task]:
    return [Task.model_validate(item) for item in query_prefix(lead_id, "TASK#")]


# A rep may correct a soft outcome (no answer, then connected); connected and meeting booked are final.
_OUTCOME_OPEN = [
    TaskStatus.OPEN,
    TaskStatus.DONE,
    TaskStatus.NO_ANSWER,
    TaskStatus.VOICEMAIL,
    TaskStatus.CANCELLED,
]


def record_task_outcome(task: Task, outcome: TaskOutcome, note: str | None, at: datetime) -> Task | None:
    """Set the task's outcome; None when it already has a final outcome (connected, meeting booked)."""
    values: dict[str, Any] = {
        ":outcome": outcome.value,
        ":at": iso(at),
        **{f":s{i}": status.value for i, status in enumerate(_OUTCOME_OPEN)},
    }
    expression = "SET #status = :outcome, outcome_at = :at"
    if note:
        expression += ", note = :note"
        values[":note"] = note
    updated = update_if(
        Key={PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
        # Worked: no escalation is due any more (out of the sweep's index).
        UpdateExpression=expression + " REMOVE #attention",
        ConditionExpression="#status IN (" + ", ".join(f":s{i}" for i in range(len(_OUTCOME_OPEN))) + ")",
        ExpressionAttributeNames={"#status": "status", "#attention": ATTENTION_KEY},
        ExpressionAttributeValues=values,
    )
    return None if updated is None else Task.model_validate(updated)


def cancel_open_tasks(lead_id: str, at: datetime) -> list[Task]:
    """Close the lead's open tasks (it stopped: no rep should still call); returns those it closed."""
    cancelled = []
    for task in tasks(lead_id):
        if task.status is not TaskStatus.OPEN:
            continue
        try:
            dynamodb_table().update_item(
                Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
                UpdateExpression="SET #status = :cancelled, outcome_at = :at REMOVE #attention",
                ConditionExpression="#status = :open",
                ExpressionAttributeNames={"#status": "status", "#attention": ATTENTION_KEY},
                ExpressionAttributeValues={
                    ":cancelled": TaskStatus.CANCELLED.value,
                    ":open": TaskStatus.OPEN.value,
                    ":at": iso(at),
                },
            )
            cancelled.append(task)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
    return cancelled


def add_escalation(task: Task, at: datetime, rep: str, step: str, next_at: datetime | None = None) -> bool:
    """Record an escalation of a still-open task; False when it got an outcome (or was cancelled), or
    when another run recorded one since `task` was read (the claim: a duplicated schedule fire, or
    the sweep beside a late fire, alerts once).

    The same write notes when the chain goes on (`next_at`: escalate_at, in the sweep's index), or,
    with none, ends it (out of the index): one write per alert.
    """
    values: dict[str, Any] = {
        ":none": [],
        ":one": [{"at": iso(at), "rep": rep, "step": step}],
        ":open": TaskStatus.OPEN.value,
        ":recorded": len(task.escalations),
    }
    expression = "SET escalations = list_append(if_not_exists(escalations, :none), :one)"
    if next_at is None:
        expression += " REMOVE #attention"
    else:
        expression += ", escalate_at = :next, #attention = :escalate"
        values |= {":next": iso(next_at), ":escalate": ESCALATION_ATTENTION}
    updated = update_if(
        Key={PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
        UpdateExpression=expression,
        ConditionExpression="#status = :open "
        "AND (attribute_not_exists(escalations) OR size(escalations) = :recorded)",
        ExpressionAttributeNames={"#status": "status", "#attention": ATTENTION_KEY},
        ExpressionAttributeValues=values,
    )
    return updated is not None


def set_escalation(lead_id: str, enrollment: int, touch: int, at: datetime) -> bool:
    """Note when the open task's next escalation is due, and put it in the sweep's index; False when
    the task is no longer open."""
    updated = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: task_sk(enrollment, touch)},
        UpdateExpression="SET escalate_at = :at, #attention = :escalate",
        ConditionExpression="#status = :open",
        ExpressionAttributeNames={"#status": "status", "#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":at": iso(at),
            ":escalate": ESCALATION_ATTENTION,
            ":open": TaskStatus.OPEN.value,
        },
    )
    return updated is not None


def end_escalation(task: Task) -> None:
    """Out of the sweep's index: the chain is over (or the task closed). Only while the escalation
    read in `task` is still the pending one: a run that scheduled a later one meanwhile keeps it."""
    update_if(
        Key={PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
        UpdateExpression="REMOVE #attention",
        ConditionExpression="escalate_at = :at OR #status <> :open",
        ExpressionAttributeNames={"#status": "status", "#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":at": iso(task.escalate_at) if task.escalate_at else "",
            ":open": TaskStatus.OPEN.value,
        },
    )


def escalating_tasks() -> list[tuple[str, int, int]]:
    """(lead id, enrollment, touch) of every task in the sweep's index (a chain going on)."""
    found: list[tuple[str, int, int]] = []
    kwargs: dict[str, Any] = {
        "IndexName": ATTENTION_INDEX,
        "KeyConditionExpression": Key(ATTENTION_KEY).eq(ESCALATION_ATTENTION),
    }
    while True:
        page = dynamodb_table().query(**kwargs)
        for item in page["Items"]:
            _, enrollment, touch = str(item[SORT_KEY]).split("#")
            found.append((str(item[PARTITION_KEY]).removeprefix("LEAD#"), int(enrollment), int(touch)))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- Drafts the rep writes (manual_email) --------------------------------------------------------


def _draft_key(task: Task) -> dict[str, str]:
    return {PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)}


def claim_draft(task: Task, claim_id: str, subject: str, body: str, at: datetime) -> Task | None:
    """Open -> sending, with the rep's text: only one send of a draft gets past this write (a
    double-submit finds it claimed). None when it is no longer open."""
    updated = update_if(
        Key=_draft_key(task),
        UpdateExpression="SET #status = :sending, claim_id = :claim, subject = :subject, body = :body, "
        "outcome_at = :at",
        ConditionExpression="#status = :open",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":sending": TaskStatus.SENDING.value,
            ":open": TaskStatus.OPEN.value,
            ":claim": claim_id,
            ":subject": subject,
            ":body": body,
            ":at": iso(at),
        },
    )
    return None if updated is None else Task.model_validate(updated)


def settle_draft(
    task: Task, claim_id: str, status: TaskStatus, at: datetime, message_id: str | None = None
) -> bool:
    """Sending -> sent (with the SES MessageId), back to open (nothing went out), or cancelled (the
    lead stopped meanwhile); only by the claim that holds it."""
    values: dict[str, Any] = {
        ":status": status.value,
        ":sending": TaskStatus.SENDING.value,
        ":claim": claim_id,
        ":at": iso(at),
    }
    expression = "SET #status = :status, outcome_at = :at"
    if message_id:
        expression += ", message_id = :message_id"
        values[":message_id"] = message_id
    if status is TaskStatus.OPEN:
        expression = "SET #status = :status REMOVE outcome_at, claim_id"
        del values[":at"]
    return (
        update_if(
            Key=_draft_key(task),
            UpdateExpression=expression,
            ConditionExpression="#status = :sending AND claim_id = :claim",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
        is not None
    )


def close_draft(task: Task, status: TaskStatus, at: datetime) -> Task | None:
    """Open -> skipped (by the rep) or expired; None when it is no longer open."""
    updated = update_if(
        Key=_draft_key(task),
        UpdateExpression="SET #status = :status, outcome_at = :at",
        ConditionExpression="#status = :open",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": status.value, ":open": TaskStatus.OPEN.value, ":at": iso(at)},
    )
    return None if updated is None else Task.model_validate(updated)
