"""Enrollments and their touches: start and touch claims, stops, schedule moves, SES message ids.

Claims and stops are conditional writes on the enrollment item, so DynamoDB orders them: once a
stop is recorded no later claim can succeed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from leadflow.clock import iso, parse_iso
from leadflow.models import (
    CONTACTABLE,
    Enrollment,
    HeldTouch,
    RunStatus,
    StopReason,
    Touch,
    TouchStatus,
)
from leadflow.observability import LeadEventKind, publish_event
from leadflow.store.items import (
    by_day_keys,
    dynamodb_table,
    enrollment_sk,
    is_condition_failure,
    lead_item,
    lead_pk,
    put_new,
    query_prefix,
    serialize,
    task_sk,
    touch_sk,
    ttl,
    update_if,
)
from leadflow.store.table import ATTENTION_INDEX, ATTENTION_KEY, PARTITION_KEY, SORT_KEY


class ClaimRejected(Exception):
    """The touch may not be sent: already claimed, enrollment not running, or lead not contactable."""


def enrollment_item(enrollment: Enrollment) -> dict[str, Any]:
    item = {
        PARTITION_KEY: lead_pk(enrollment.lead_id),
        SORT_KEY: enrollment_sk(enrollment.number),
        **by_day_keys(enrollment.started_at, enrollment.lead_id, "enrollment"),
        **serialize(enrollment),
        **ttl("lead", enrollment.started_at),
    }
    if not enrollment.execution_arn:
        # In the sweep's index until its execution starts (set_execution_arn), and while touch 1 is
        # due and unclaimed (claim_touch takes it out).
        item[ATTENTION_KEY] = Attention.START.value
    return item


class Attention(StrEnum):
    """Why an enrollment is in the sweep's sparse index (store.table.ATTENTION_INDEX)."""

    START = "start"  # no execution yet (pending, or its starter crashed), or touch 1 due and unclaimed
    FAILED = "failed"  # the execution gave up on a touch


# An enrollment whose execution started while its first touch was not due yet waits for it in a
# bucket of the sweep's index named by the UTC day it falls due: the sweep reads the buckets of the
# last FIRST_TOUCH_LOOKBACK days only, never the ones weeks ahead (a not-now reply's day).
FIRST_TOUCH_BUCKET = "first#"


def first_touch_bucket(day: date) -> str:
    return f"{FIRST_TOUCH_BUCKET}{day.isoformat()}"


def needing_attention(kind: Attention | str) -> list[tuple[str, int]]:
    """(lead id, enrollment number) of every enrollment in the sweep's index under `kind` (an
    Attention, or a first_touch_bucket)."""
    found: list[tuple[str, int]] = []
    kwargs: dict[str, Any] = {
        "IndexName": ATTENTION_INDEX,
        "KeyConditionExpression": Key(ATTENTION_KEY).eq(str(kind)),
    }
    while True:
        page = dynamodb_table().query(**kwargs)
        found.extend(
            (str(item[PARTITION_KEY]).removeprefix("LEAD#"), int(str(item[SORT_KEY]).rpartition("#")[2]))
            for item in page["Items"]
        )
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def add_enrollment(enrollment: Enrollment) -> bool:
    """Enroll a known lead again: enrollment `n` is written only if the lead has `n - 1` and is contactable.

    Concurrent posts race on the lead's counter (one conditional update, ordered with every status
    change on the same item); exactly one wins. Returns False for the losers. The winner then puts
    the enrollment item: two single-item writes rather than a transaction (half the write units, and
    moto deep-copies the table per transaction item). A crash between them leaves the counter at
    `n` without enrollment `n`: nothing runs or is sent, and the caller's retry enrolls `n + 1`.
    A stop landing between the two writes finds no running enrollment to stop; the execution's
    first step checks the lead's status before it claims a touch, so nothing is sent.
    """
    contactable = sorted(status.value for status in CONTACTABLE)
    counted = update_if(
        Key={PARTITION_KEY: lead_pk(enrollment.lead_id), SORT_KEY: "LEAD"},
        UpdateExpression="SET enrollments = :number",
        ConditionExpression="enrollments = :previous AND #status IN ("
        + ", ".join(f":s{i}" for i in range(len(contactable)))
        + ")",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":number": enrollment.number,
            ":previous": enrollment.number - 1,
            **{f":s{i}": value for i, value in enumerate(contactable)},
        },
    )
    return counted is not None and put_new(enrollment_item(enrollment))


def claim_start(lead_id: str, number: int, at: datetime, lease_until: datetime) -> bool:
    """Take the lease to start an enrollment's execution that has not started: one caller at a time.

    A pending enrollment (StartExecution failed earlier) may be taken at once; it runs again from
    here, so its first step can claim a touch.
    """
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET start_lease_until = :until, run_status = :running",
            ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(execution_arn) AND "
            "(run_status = :pending OR (run_status = :running "
            "AND (attribute_not_exists(start_lease_until) OR start_lease_until < :at)))",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={
                ":until": iso(lease_until),
                ":at": iso(at),
                ":running": RunStatus.RUNNING.value,
                ":pending": RunStatus.PENDING.value,
            },
        )
        is not None
    )


def get_enrollment(lead_id: str, number: int, *, settled: bool = True) -> Enrollment | None:
    """The enrollment, its last claim shown `sent` once that touch's record is stored (`resolve_claim`).

    `settled=False`: the claim's state as stored, one read instead of two, for a caller that looks at
    that state only through `resolve_claim` (the step: when an earlier attempt claimed its touch).
    A claim still `claimed` there may be settled already (`resolve_claim`); nothing else differs.
    """
    item = lead_item(lead_id, enrollment_sk(number))
    if not item:
        return None
    return _enrollment(item) if settled else Enrollment.model_validate(item)


def enrollments(lead_id: str, *, settled: bool = True) -> list[Enrollment]:
    """The lead's enrollments, each as `get_enrollment` gives it (`settled=False`: as stored, no read
    of a claim's record, for a caller that never looks at the claim's state)."""
    items = query_prefix(lead_id, "ENROLLMENT#")
    return [_enrollment(item) if settled else Enrollment.model_validate(item) for item in items]


def _enrollment(item: dict[str, Any]) -> Enrollment:
    return resolve_claim(Enrollment.model_validate(item))


def resolve_claim(enrollment: Enrollment) -> Enrollment:
    """The enrollment with its claim shown `sent` once its touch item is stored (TouchState): one read
    of that item, only for a claim stored as `claimed`, instead of a write to the enrollment after
    every touch."""
    if enrollment.touch_state == TouchState.CLAIMED and settles(
        _record_item(enrollment.lead_id, enrollment.number, enrollment.last_touch), enrollment.claimed_at
    ):
        return enrollment.model_copy(update={"touch_state": TouchState.SENT.value, "provider_call_at": None})
    return enrollment


def settles(touch_item: dict[str, Any] | None, claimed_at: datetime | None) -> bool:
    """Whether a stored touch record (a touch item, or a rep task carrying it) is the record of the
    claim taken at `claimed_at`."""
    recorded = touch_item.get("claimed_at") if touch_item else None
    return recorded is not None and claimed_at is not None and parse_iso(str(recorded)) == claimed_at


def _record_item(lead_id: str, enrollment: int, number: int) -> dict[str, Any] | None:
    """The item holding a touch's record: its touch item, else the rep task carrying it."""
    item = lead_item(lead_id, touch_sk(enrollment, number))
    if item is None:
        task = lead_item(lead_id, task_sk(enrollment, number))
        item = task if task and task.get("sent_at") else None
    return item


def touches(lead_id: str) -> list[Touch]:
    """Every touch record of the lead, in order: touch items and the rep tasks that carry theirs."""
    return touches_from_items(query_prefix(lead_id, "T"))  # TASK# and TOUCH# (no other kind starts so)


def touches_from_items(items: Iterable[dict[str, Any]]) -> list[Touch]:
    """The touch records among a lead's items (the audit reads a whole partition)."""
    found: dict[tuple[int, int], Touch] = {}
    carried: list[dict[str, Any]] = []
    for item in items:
        sort_key = str(item.get(SORT_KEY, ""))
        if sort_key.startswith("TOUCH#"):
            touch = Touch.model_validate(item)
            found[(touch.enrollment, touch.number)] = touch
        elif sort_key.startswith("TASK#") and item.get("sent_at"):
            carried.append(item)
    for item in carried:
        touch = _carried_touch(item)
        found.setdefault((touch.enrollment, touch.number), touch)
    return [found[key] for key in sorted(found)]


def _carried_touch(task: dict[str, Any]) -> Touch:
    """The touch record a rep task carries (one item per task touch: models.Task.sent_at)."""
    return Touch.model_validate(
        {
            "lead_id": task["lead_id"],
            "enrollment": task["enrollment"],
            "number": task["touch"],
            "cadence": task["cadence"],
            "channel": task["channel"],
            "template": task["template"],
            "sent_at": task["sent_at"],
            "status": TouchStatus.TASK.value,
            "task_id": task["id"],
            "claimed_at": task.get("claimed_at"),
        }
    )


def get_touch(lead_id: str, enrollment: int, number: int) -> Touch | None:
    item = _record_item(lead_id, enrollment, number)
    if item is None:
        return None
    return Touch.model_validate(item) if str(item[SORT_KEY]).startswith("TOUCH#") else _carried_touch(item)


def set_execution_arn(lead_id: str, number: int, execution_arn: str, attention: str | None = None) -> None:
    """The execution started: the enrollment leaves the sweep's index, or moves to `attention` there
    (touch 1 still unsent: cadence.first_moment.attention; the same key as before costs no index write)."""
    if attention is None:
        update, values = "SET execution_arn = :arn REMOVE #attention", {":arn": execution_arn}
    else:
        update = "SET execution_arn = :arn, #attention = :attention"
        values = {":arn": execution_arn, ":attention": attention}
    dynamodb_table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression=update,
        ExpressionAttributeNames={"#attention": ATTENTION_KEY},
        ExpressionAttributeValues=values,
    )


def mark_pending(lead_id: str, number: int) -> bool:
    """StartExecution failed: the enrollment waits for the sweep (it stays in its index)."""
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET run_status = :pending REMOVE start_lease_until",
            ConditionExpression="run_status = :running AND attribute_not_exists(execution_arn)",
            ExpressionAttributeValues={
                ":pending": RunStatus.PENDING.value,
                ":running": RunStatus.RUNNING.value,
            },
        )
        is not None
    )


def take_failed(lead_id: str, number: int, attempt: int, at: datetime) -> Enrollment | None:
    """Run a failed enrollment again under execution attempt `attempt` (the sweep); None if it no
    longer is failed. Its touches already settled stay settled: the new execution skips them."""
    taken = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET run_status = :running, attempt = :attempt, retried_at = :at, "
        "#attention = :start REMOVE execution_arn, failure_error, failed_touch, failed_at",
        ConditionExpression="run_status = :failed",
        ExpressionAttributeNames={"#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":running": RunStatus.RUNNING.value,
            ":failed": RunStatus.FAILED.value,
            ":attempt": attempt,
            ":at": iso(at),
            ":start": Attention.START.value,
        },
    )
    return None if taken is None else _enrollment(taken)


def take_ended(
    lead_id: str, number: int, execution_arn: str, attempt: int, at: datetime
) -> Enrollment | None:
    """Run a `running` enrollment whose execution `execution_arn` (attempt `attempt`) ended early
    again, as attempt `attempt + 1` (the sweep); None if it no longer runs on that execution (a
    stop, a finish, another sweep or a restart came first). Its settled touches stay settled."""
    taken = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET attempt = :next, retried_at = :at, #attention = :start "
        "REMOVE execution_arn, start_lease_until",
        # No ARN: the execution started but the table could not take its ARN (same name, same attempt).
        ConditionExpression="run_status = :running AND attempt = :attempt AND "
        "(execution_arn = :arn OR attribute_not_exists(execution_arn))",
        ExpressionAttributeNames={"#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":running": RunStatus.RUNNING.value,
            ":attempt": attempt,
            ":next": attempt + 1,
            ":arn": execution_arn,
            ":at": iso(at),
            ":start": Attention.START.value,
        },
    )
    return None if taken is None else _enrollment(taken)


# The sweep's cursor over executions that ended early: the latest stop time (Step Functions' clock)
# it has reconciled. Not a lead's item: the audit and the report skip it.
ENDED_CURSOR_KEY = {PARTITION_KEY: "SWEEP", SORT_KEY: "ENDED_EARLY"}


def ended_cursor() -> datetime | None:
    item = dynamodb_table().get_item(Key=ENDED_CURSOR_KEY, ConsistentRead=True).get("Item")
    return parse_iso(str(item["stopped_after"])) if item else None


def move_ended_cursor(stopped_after: datetime) -> None:
    """Move the cursor forward (never back: two sweeps may overlap)."""
    update_if(
        Key=ENDED_CURSOR_KEY,
        UpdateExpression="SET stopped_after = :at",
        ConditionExpression="attribute_not_exists(stopped_after) OR stopped_after < :at",
        ExpressionAttributeValues={":at": iso(stopped_after)},
    )


class TouchState(StrEnum):
    """Where the claimed touch (`last_touch`) of an enrollment stands, on the enrollment item.

    claimed -> sent: the touch's item is stored as soon as the provider took the message (or the
    task or skip is decided), and that settles the claim: nothing is written to the enrollment
    after it (the next claim, or the completion after the last touch, overwrites the state), and
    an enrollment read here shows a claim whose touch item is stored as `sent` (`_enrollment`).
    Or claimed -> released (nothing went out: the next attempt claims it again). `accepted` (the
    record kept in `pending_touch`) is only read: an earlier version wrote it between the provider
    call and the touch item, and `sent` after it: writes of an item the copy pushed over 1 KB.
    A claim carries its attempt's `claim_id`; `provider_call_at` is set by the claim of an email
    or a text, just before the provider is called: from then until an outcome is stored the touch
    is in doubt (it may have gone out).
    """

    CLAIMED = "claimed"
    ACCEPTED = "accepted"
    SENT = "sent"
    RELEASED = "released"


def claim_touch(
    lead_id: str,
    number: int,
    touch: int,
    at: datetime,
    *,
    provider_call_at: datetime | None = None,
    execution_arn: str | None = None,
) -> str:
    """Claim touch `touch` of enrollment `number` with one conditional write on the enrollment;
    returns the claim's id (only its attempt may release it).

    Succeeds only if the enrollment is running and the touch is neither claimed nor done (a
    released claim may be taken again); a stop writes the same item, so DynamoDB orders the two.
    Raises ClaimRejected. (The lead's contact status is checked by the caller just before: every
    change that makes a lead uncontactable also stops its running enrollments.)

    `provider_call_at`: the caller calls the provider (SES, SNS) right after this write, so the
    touch may go out from then on (in doubt until an outcome is stored). An email or a text is
    claimed so, once rendered and re-checked, just before the call: one write, where a claim
    before rendering and a mark before the call were two. A task or a skip calls no provider.

    `execution_arn`: touch 1's claim stores it unless one is stored (enrollments.started).
    """
    claim_id = secrets.token_hex(8)
    values: dict[str, Any] = {
        ":touch": touch,
        ":at": iso(at),
        ":claim": claim_id,
        ":running": RunStatus.RUNNING.value,
        ":claimed": TouchState.CLAIMED.value,
        ":released": TouchState.RELEASED.value,
    }
    expression = "SET last_touch = :touch, claimed_at = :at, touch_state = :claimed, claim_id = :claim"
    removed = "pending_touch"
    if provider_call_at is None:
        removed += ", provider_call_at"
    else:
        expression += ", provider_call_at = :call"
        values[":call"] = iso(provider_call_at)
    # Touch 1 leaves the sweep's index (set_execution_arn) with its claim: the same write. It stores
    # the execution's ARN (`execution_arn`, derived) when the start left that to it (enrollments.
    # started): the mark that the execution started (claim_start, re-posts and the sweep read it).
    if touch == 1:
        removed += ", #attention"
        if execution_arn:
            expression += ", execution_arn = if_not_exists(execution_arn, :arn)"
            values[":arn"] = execution_arn
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression=f"{expression} REMOVE {removed}",
            **({"ExpressionAttributeNames": {"#attention": ATTENTION_KEY}} if touch == 1 else {}),
            ConditionExpression="run_status = :running AND "
            "(last_touch < :touch OR (last_touch = :touch AND touch_state = :released))",
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise ClaimRejected(f"touch {touch} of enrollment {number} not claimable") from error
        raise
    return claim_id


def release_touch(
    lead_id: str, number: int, touch: int, claim_id: str | None, provider_call_at: datetime | None
) -> bool:
    """Give a claim back: nothing went out, so the next attempt may claim the touch again.

    Only the claim as it was seen: its id (None: a claim stored before claims had ids) and its
    provider call (None: never called; a late attempt marking it meanwhile keeps the claim).
    """
    condition = "last_touch = :touch AND touch_state = :claimed AND "
    values: dict[str, Any] = {
        ":released": TouchState.RELEASED.value,
        ":claimed": TouchState.CLAIMED.value,
        ":touch": touch,
    }
    if claim_id is None:
        condition += "attribute_not_exists(claim_id)"
    else:
        condition += "claim_id = :claim"
        values[":claim"] = claim_id
    if provider_call_at is None:
        condition += " AND attribute_not_exists(provider_call_at)"
    else:
        condition += " AND provider_call_at = :call"
        values[":call"] = iso(provider_call_at)
    update = "SET touch_state = :released REMOVE provider_call_at"
    names: dict[str, str] = {}
    if touch == 1:
        # Nothing went out: touch 1 is due and unclaimed again, back in the sweep's index.
        update = "SET touch_state = :released, #attention = :start REMOVE provider_call_at"
        names["#attention"] = ATTENTION_KEY
        values[":start"] = Attention.START.value
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        is not None
    )


def record_send_event(lead_id: str, enrollment: int, touch: int, message_id: str, at: datetime) -> None:
    """SES's Send event for a tagged touch (the events pipeline): proof the message was accepted."""
    dynamodb_table().put_item(
        Item={
            PARTITION_KEY: lead_pk(lead_id),
            SORT_KEY: send_event_sk(enrollment, touch, message_id),
            "message_id": message_id,
            "sent_at": iso(at),
        }
    )


def send_events(lead_id: str, enrollment: int, touch: int) -> list[dict[str, Any]]:
    """SES Send events recorded for one touch (one per accepted message; two would be a duplicate)."""
    return query_prefix(lead_id, send_event_sk(enrollment, touch, ""))


def send_event_sk(enrollment: int, touch: int, message_id: str) -> str:
    return f"SENDEVENT#{enrollment:03d}#{touch:02d}#{message_id}"


def record_touch(touch: Touch, complete: bool, *, accepted: bool = False, stored: bool = False) -> None:
    """Store the touch and its message index entry: that settles its claim (settle_touch).
    `accepted`: recorded from an earlier version's `pending_touch`, whose state must be settled.
    `stored`: the record is stored already (a rep task carries it): only settle."""
    if not stored:
        _put_touch(touch)
    if accepted:
        _settle_claim(touch.lead_id, touch.enrollment, touch.number)
    settle_touch(touch, complete)


def _put_touch(touch: Touch) -> None:
    table = dynamodb_table()
    table.put_item(
        Item={
            PARTITION_KEY: lead_pk(touch.lead_id),
            SORT_KEY: touch_sk(touch.enrollment, touch.number),
            **by_day_keys(touch.sent_at, touch.lead_id, "touch"),
            **serialize(touch),
            **ttl("lead", touch.sent_at),
        }
    )
    # Index the provider's message id (SES MessageId, SNS message id): replies and SES events name
    # it. Our own Message-ID needs no entry: it carries its touch, signed (tokens.own_message_id).
    if touch.message_id:
        table.put_item(
            Item={
                PARTITION_KEY: f"MSG#{touch.message_id}",
                SORT_KEY: "MSG",
                "lead_id": touch.lead_id,
                "enrollment": touch.enrollment,
                "touch": touch.number,
                "channel": touch.channel,
                "sent_at": iso(touch.sent_at),
                **ttl("lead", touch.sent_at),
            }
        )


def settle_touch(touch: Touch, complete: bool) -> None:
    """The touch's record is stored: tell the event stream, and complete the enrollment after the
    last touch (one write, which also settles the claim on the enrollment item)."""
    sent_at = iso(touch.sent_at)
    table = dynamodb_table()
    kind: LeadEventKind = "touch_sent"
    if touch.status.value == "skipped":
        kind = "touch_skipped"
    elif touch.task_id:
        kind = "task_due"
    publish_event(
        kind,
        touch.lead_id,
        touch.sent_at,
        cadence=touch.cadence,
        enrollment=touch.enrollment,
        touch=touch.number,
        channel=touch.channel,
        detail=touch.skip_reason,
    )
    if complete:
        try:
            table.update_item(
                Key={PARTITION_KEY: lead_pk(touch.lead_id), SORT_KEY: enrollment_sk(touch.enrollment)},
                UpdateExpression="SET run_status = :completed, completed_at = :at, touch_state = :sent "
                "REMOVE pending_touch, provider_call_at",
                ConditionExpression="run_status = :running",
                ExpressionAttributeValues={
                    ":completed": RunStatus.COMPLETED.value,
                    ":running": RunStatus.RUNNING.value,
                    ":at": sent_at,
                    ":sent": TouchState.SENT.value,
                },
            )
            publish_event(
                "completed", touch.lead_id, touch.sent_at, cadence=touch.cadence, enrollment=touch.enrollment
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise


def _settle_claim(lead_id: str, number: int, touch: int) -> None:
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET touch_state = :sent REMOVE pending_touch, provider_call_at",
            ConditionExpression="last_touch = :touch",
            ExpressionAttributeValues={":sent": TouchState.SENT.value, ":touch": touch},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


def stop_enrollment(lead_id: str, number: int, reason: StopReason, at: datetime) -> Enrollment | None:
    """Stop a running, pending or failed enrollment; returns it as stopped, or None if it was none
    of these (nothing runs, nothing is retried after this).

    The same item the claim conditions on, so a claim after this write fails.
    `stopped_after_touch` records the last touch claimed before the stop. The enrollment returned is
    the item as written, its last claim's state as stored (`resolve_claim` shows a settled one
    `sent`): stops read its number, execution and `stopped_after_touch`, no claim's record.
    """
    stopped = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET run_status = :stopped, stop_reason = :reason, stopped_at = :at, "
        "stopped_after_touch = last_touch REMOVE #attention",
        ConditionExpression="run_status IN (:running, :pending, :failed)",
        ExpressionAttributeNames={"#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":stopped": RunStatus.STOPPED.value,
            ":running": RunStatus.RUNNING.value,
            ":pending": RunStatus.PENDING.value,
            ":failed": RunStatus.FAILED.value,
            ":reason": reason.value,
            ":at": iso(at),
        },
    )
    return None if stopped is None else Enrollment.model_validate(stopped)


def message_owner(message_id: str) -> dict[str, Any] | None:
    """The lead, enrollment and touch an SES MessageId (or our own Message-ID without <>) belongs to.

    Our own Message-ID names its touch, signed; an earlier version indexed it like SES's id (those
    entries are still read, until their TTL)."""
    item = dynamodb_table().get_item(Key={PARTITION_KEY: f"MSG#{message_id}", SORT_KEY: "MSG"}).get("Item")
    if item:
        return dict(item)
    from leadflow import tokens  # our own Message-ID's reader: not every cold start's (intake, step)

    target = tokens.parse_own_message_id(message_id) if "@" in message_id else None
    if target is None:
        return None
    return {**target.model_dump(), "channel": "email"}


def count_on_touch(lead_id: str, enrollment: int, touch: int, kind: str, at: datetime) -> None:
    """On the touch item: when `kind` (delivery, open, click...) first happened, and how often."""
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: touch_sk(enrollment, touch)},
            UpdateExpression="SET #first = if_not_exists(#first, :at) ADD #count :one",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={
                "#first": f"first_{kind}_at",
                "#count": f"{kind}_count",
                "#pk": PARTITION_KEY,
            },
            ExpressionAttributeValues={":at": iso(at), ":one": 1},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


def mark_undelivered(lead_id: str, enrollment: int, touch: int, why: str, at: datetime) -> bool:
    """SES rejected the touch or could not render it: True the first time (a redelivery is not new)."""
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: touch_sk(enrollment, touch)},
            UpdateExpression="SET undelivered = :why, undelivered_at = :at",
            ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(undelivered)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":why": why, ":at": iso(at)},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        return False
    return True


def note_delay(
    lead_id: str, enrollment: int, touch: int, *, at: datetime, delay_type: str, expires: datetime | None
) -> None:
    """A DeliveryDelay on the touch: since when (the first one), the latest kind and SES's give-up time."""
    values: dict[str, Any] = {":at": iso(at), ":type": delay_type or "unknown"}
    expiry = ""
    if expires is not None:
        values[":expires"] = iso(expires)
        expiry = ", delay_expires = :expires"
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: touch_sk(enrollment, touch)},
            UpdateExpression="SET delayed_since = if_not_exists(delayed_since, :at), delay_type = :type"
            + expiry,
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


def move_schedule(
    lead_id: str, number: int, schedule: list[datetime], from_touch: int, held: HeldTouch | None = None
) -> bool:
    """Store a moved schedule, unless the enrollment stopped or touch `from_touch` was already claimed;
    `held` records that the sending guard moved it (the audit flags a touch held too long)."""
    values: dict[str, Any] = {
        ":schedule": [iso(moment) for moment in schedule],
        ":running": RunStatus.RUNNING.value,
        ":touch": from_touch,
    }
    if held is not None:
        values[":held"] = serialize(held)
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET #schedule = :schedule" + (", held = :held" if held is not None else ""),
            ConditionExpression="run_status = :running AND last_touch < :touch",
            ExpressionAttributeNames={"#schedule": "schedule"},
            ExpressionAttributeValues=values,
        )
        is not None
    )


def catch_up_schedule(lead_id: str, number: int, schedule: list[datetime], from_touch: int) -> bool:
    """Store the schedule of a late start (cadence.reschedule.caught_up), unless the enrollment stopped
    or a touch after `from_touch` was claimed, or `from_touch` itself was sent meanwhile (it may be
    in doubt or released: its new time only matters once it is free to claim again)."""
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET #schedule = :schedule",
            ConditionExpression="run_status = :running AND (last_touch < :touch "
            "OR (last_touch = :touch AND touch_state <> :sent))",
            ExpressionAttributeNames={"#schedule": "schedule"},
            ExpressionAttributeValues={
                ":schedule": [iso(moment) for moment in schedule],
                ":running": RunStatus.RUNNING.value,
                ":touch": from_touch,
                ":sent": TouchState.SENT.value,
            },
        )
        is not None
    )


def mark_failed(lead_id: str, number: int, error: str, touch: int, at: datetime) -> Enrollment | None:
    """Record that the execution gave up on `touch`; None when the enrollment was no longer running
    (a stop or the end won the race: nothing is lost then)."""
    failed = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET run_status = :failed, failure_error = :error, failed_touch = :touch, "
        "failed_at = :at, #attention = :attention",
        ConditionExpression="run_status = :running",
        ExpressionAttributeNames={"#attention": ATTENTION_KEY},
        ExpressionAttributeValues={
            ":attention": Attention.FAILED.value,
            ":failed": RunStatus.FAILED.value,
            ":running": RunStatus.RUNNING.value,
            ":error": error,
            ":touch": touch,
            ":at": iso(at),
        },
    )
    if failed is None:
        return None
    publish_event("failed", lead_id, at, enrollment=number, touch=touch, detail=error)
    return _enrollment(failed)


def mark_paused(lead_id: str, number: int, until: date, schedule: list[datetime]) -> bool:
    """An operator paused the running enrollment until `until`: keep the schedule it had before the
    first pause (a second pause keeps the first one's), for the resume."""
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET paused_until = :until, planned = if_not_exists(planned, :planned)",
            ConditionExpression="run_status = :running",
            ExpressionAttributeValues={
                ":until": until.isoformat(),
                ":planned": [iso(moment) for moment in schedule],
                ":running": RunStatus.RUNNING.value,
            },
        )
        is not None
    )


def take_resume(lead_id: str, number: int, schedule: list[datetime], from_touch: int) -> Enrollment | None:
    """Claim the resume of a paused enrollment and store its schedule: one conditional write, so of two
    resumes at once exactly one wins (the other, and any resume of an enrollment not paused, gets None).
    `resumes` counts them: the restarted execution's name."""
    taken = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET #schedule = :schedule, resumes = if_not_exists(resumes, :zero) + :one "
        "REMOVE paused_until, planned",
        ConditionExpression="run_status = :running AND last_touch < :touch "
        "AND attribute_exists(paused_until)",
        ExpressionAttributeNames={"#schedule": "schedule"},
        ExpressionAttributeValues={
            ":schedule": [iso(moment) for moment in schedule],
            ":running": RunStatus.RUNNING.value,
            ":touch": from_touch,
            ":zero": 0,
            ":one": 1,
        },
    )
    return None if taken is None else _enrollment(taken)
