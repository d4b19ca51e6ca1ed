"""DynamoDB adapter: the only module that reads or writes the table.

Claims and stops are conditional writes on the enrollment item, so DynamoDB
orders them: once a stop is recorded no later claim can succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from leadflow import aws
from leadflow.clock import iso
from leadflow.config import settings
from leadflow.models import (
    CONTACTABLE,
    ContactStatus,
    Enrollment,
    Lead,
    RunStatus,
    StopReason,
    SubmissionRecord,
    Task,
    TaskOutcome,
    TaskStatus,
    Touch,
)
from leadflow.table import BY_DAY_INDEX, BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY, PARTITION_KEY, SORT_KEY


class ClaimRejected(Exception):
    """The touch may not be sent: already claimed, enrollment not running, or lead not contactable."""


def _table() -> Any:
    return aws.table(settings().table_name)


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def enrollment_sk(number: int) -> str:
    return f"ENROLLMENT#{number:03d}"


def touch_sk(enrollment: int, touch: int) -> str:
    return f"TOUCH#{enrollment:03d}#{touch:02d}"


def _serialize(model: Any) -> dict[str, Any]:
    return {key: value for key, value in model.model_dump(mode="json").items() if value is not None}


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return False


def _put_new(item: dict[str, Any]) -> bool:
    """Put an item only if its key is free; False (writing nothing) when it already exists."""
    try:
        _table().put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def by_day_keys(moment: datetime, lead_id: str, kind: str) -> dict[str, str]:
    """Index an item under the UTC day it happened (leads, enrollments, touches, events): the report
    reads a period day by day through the by_day index, never by Scan."""
    stamp = iso(moment)
    return {BY_DAY_PARTITION_KEY: f"DAY#{stamp[:10]}", BY_DAY_SORT_KEY: f"{stamp}#{lead_id}", "kind": kind}


def submission_sk(record: SubmissionRecord) -> str:
    return f"SUBMISSION#{iso(record.received_at)}#{record.submission_id}"


def _submission_item(record: SubmissionRecord) -> dict[str, Any]:
    return {
        PARTITION_KEY: lead_pk(record.lead_id),
        SORT_KEY: submission_sk(record),
        "kind": "submission",
        **_serialize(record),
    }


def create_lead(
    lead: Lead, email_key: str, enrollment: Enrollment | None, submission: SubmissionRecord | None = None
) -> bool:
    """Write the email index, the lead, its first enrollment (if any) and the post's record atomically.

    Returns False, writing nothing, when the address is already known.
    """
    table_name = settings().table_name
    items = [
        {
            "Put": {
                "TableName": table_name,
                "Item": {PARTITION_KEY: f"EMAIL#{email_key}", SORT_KEY: "EMAIL", "lead_id": lead.id},
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        },
        {
            "Put": {
                "TableName": table_name,
                "Item": {
                    PARTITION_KEY: lead_pk(lead.id),
                    SORT_KEY: "LEAD",
                    **by_day_keys(lead.created_at, lead.id, "lead"),
                    **_serialize(lead),
                },
            }
        },
    ]
    if enrollment is not None:
        items.append({"Put": {"TableName": table_name, "Item": _enrollment_item(enrollment)}})
    if submission is not None:
        items.append({"Put": {"TableName": table_name, "Item": _submission_item(submission)}})
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=_to_low_level(items))
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def _enrollment_item(enrollment: Enrollment) -> dict[str, Any]:
    return {
        PARTITION_KEY: lead_pk(enrollment.lead_id),
        SORT_KEY: enrollment_sk(enrollment.number),
        **by_day_keys(enrollment.started_at, enrollment.lead_id, "enrollment"),
        **_serialize(enrollment),
    }


def add_enrollment(enrollment: Enrollment) -> bool:
    """Enroll a known lead again: enrollment `n` is written only if the lead has `n - 1` and is contactable.

    Concurrent posts race on the lead's counter; exactly one wins. Returns False for the losers.
    """
    table_name = settings().table_name
    contactable = sorted(status.value for status in CONTACTABLE)
    items = [
        {
            "Update": {
                "TableName": table_name,
                "Key": {PARTITION_KEY: lead_pk(enrollment.lead_id), SORT_KEY: "LEAD"},
                "UpdateExpression": "SET enrollments = :number",
                "ConditionExpression": "enrollments = :previous AND #status IN ("
                + ", ".join(f":s{i}" for i in range(len(contactable)))
                + ")",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":number": enrollment.number,
                    ":previous": enrollment.number - 1,
                    **{f":s{i}": value for i, value in enumerate(contactable)},
                },
            }
        },
        {
            "Put": {
                "TableName": table_name,
                "Item": _enrollment_item(enrollment),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        },
    ]
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=_to_low_level(items))
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def claim_start(lead_id: str, number: int, at: datetime, lease_until: datetime) -> bool:
    """Take the lease to start an enrollment's execution that has not started: one caller at a time."""
    try:
        _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET start_lease_until = :until",
            ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(execution_arn) "
            "AND run_status = :running "
            "AND (attribute_not_exists(start_lease_until) OR start_lease_until < :at)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={
                ":until": iso(lease_until),
                ":at": iso(at),
                ":running": RunStatus.RUNNING.value,
            },
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def record_submission(record: SubmissionRecord) -> None:
    _table().put_item(Item=_submission_item(record))


def submissions(lead_id: str) -> list[SubmissionRecord]:
    return [SubmissionRecord.model_validate(item) for item in _query_prefix(lead_id, "SUBMISSION#")]


def record_return(lead_id: str, at: datetime, profile: dict[str, Any], consent: dict[str, bool]) -> None:
    """A known lead posted again: count it, fill profile fields still blank, and keep the latest consent."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":one": 1, ":at": iso(at)}
    assignments = ["last_submitted_at = :at"]
    for index, (name, value) in enumerate(profile.items()):
        names[f"#p{index}"] = name
        values[f":p{index}"] = value
        assignments.append(f"#p{index} = if_not_exists(#p{index}, :p{index})")
    for index, (name, given) in enumerate(consent.items()):
        names[f"#c{index}"] = name
        values[f":c{index}"] = given
        assignments.append(f"#c{index} = :c{index}")
    _table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
        UpdateExpression="SET " + ", ".join(assignments) + " ADD resubmissions :one",
        **({"ExpressionAttributeNames": names} if names else {}),
        ExpressionAttributeValues=values,
    )


def claim_returning_alert(lead_id: str, at: datetime, quiet_since: datetime) -> bool:
    """True for one caller when the lead was created, and last alerted about, before `quiet_since`."""
    try:
        _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
            UpdateExpression="SET returning_alerted_at = :at",
            ConditionExpression="created_at < :quiet AND "
            "(attribute_not_exists(returning_alerted_at) OR returning_alerted_at < :quiet)",
            ExpressionAttributeValues={":at": iso(at), ":quiet": iso(quiet_since)},
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def _to_low_level(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transactions go through the low-level client: serialize resource-style values."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    converted = []
    for entry in items:
        ((operation, spec),) = entry.items()
        spec = dict(spec)
        for field in ("Item", "Key", "ExpressionAttributeValues"):
            if field in spec:
                spec[field] = {name: serializer.serialize(value) for name, value in spec[field].items()}
        converted.append({operation: spec})
    return converted


def lead_id_for_email(email_key: str) -> str | None:
    # Consistent: a post racing the one that created the lead must see it.
    item = (
        _table()
        .get_item(Key={PARTITION_KEY: f"EMAIL#{email_key}", SORT_KEY: "EMAIL"}, ConsistentRead=True)
        .get("Item")
    )
    return str(item["lead_id"]) if item else None


def get_lead(lead_id: str) -> Lead | None:
    item = (
        _table()
        .get_item(Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"}, ConsistentRead=True)
        .get("Item")
    )
    return Lead.model_validate(item) if item else None


def get_enrollment(lead_id: str, number: int) -> Enrollment | None:
    item = (
        _table().get_item(Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)}).get("Item")
    )
    return Enrollment.model_validate(item) if item else None


def _query_prefix(lead_id: str, prefix: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key(PARTITION_KEY).eq(lead_pk(lead_id)) & Key(SORT_KEY).begins_with(prefix),
        "ConsistentRead": True,
    }
    while True:
        page = _table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def enrollments(lead_id: str) -> list[Enrollment]:
    return [Enrollment.model_validate(item) for item in _query_prefix(lead_id, "ENROLLMENT#")]


def touches(lead_id: str) -> list[Touch]:
    return [Touch.model_validate(item) for item in _query_prefix(lead_id, "TOUCH#")]


def _lead_item(lead_id: str, sort_key: str) -> dict[str, Any] | None:
    """One item of the lead's partition, read consistently."""
    key = {PARTITION_KEY: lead_pk(lead_id), SORT_KEY: sort_key}
    item = _table().get_item(Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def get_touch(lead_id: str, enrollment: int, number: int) -> Touch | None:
    item = _lead_item(lead_id, touch_sk(enrollment, number))
    return Touch.model_validate(item) if item else None


def set_execution_arn(lead_id: str, number: int, execution_arn: str) -> None:
    _table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
        UpdateExpression="SET execution_arn = :arn",
        ExpressionAttributeValues={":arn": execution_arn},
    )


def claim_touch(lead_id: str, number: int, touch: int, at: datetime) -> None:
    """Claim touch `touch` of enrollment `number` with one conditional write on the enrollment.

    Succeeds only if the enrollment is running and the touch is not yet claimed;
    a stop writes the same item, so DynamoDB orders the two. Raises ClaimRejected.
    (The lead's contact status is checked by the caller just before: every change
    that makes a lead uncontactable also stops its running enrollments.)
    """
    try:
        _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET last_touch = :touch, claimed_at = :at",
            ConditionExpression="run_status = :running AND last_touch < :touch",
            ExpressionAttributeValues={":touch": touch, ":at": iso(at), ":running": RunStatus.RUNNING.value},
        )
    except ClientError as error:
        if _is_condition_failure(error):
            raise ClaimRejected(f"touch {touch} of enrollment {number} not claimable") from error
        raise


def record_touch(touch: Touch, complete: bool) -> None:
    """Store the sent touch, its message index entry, and complete the enrollment after the last touch."""
    sent_at = iso(touch.sent_at)
    table = _table()
    table.put_item(
        Item={
            PARTITION_KEY: lead_pk(touch.lead_id),
            SORT_KEY: touch_sk(touch.enrollment, touch.number),
            **by_day_keys(touch.sent_at, touch.lead_id, "touch"),
            **_serialize(touch),
        }
    )
    # Index the SES MessageId and our own Message-ID (bare, without <>): replies name either.
    for message_id in (touch.message_id, (touch.own_message_id or "").strip("<>")):
        if message_id:
            table.put_item(
                Item={
                    PARTITION_KEY: f"MSG#{message_id}",
                    SORT_KEY: "MSG",
                    "lead_id": touch.lead_id,
                    "enrollment": touch.enrollment,
                    "touch": touch.number,
                    "channel": touch.channel,
                    "sent_at": sent_at,
                }
            )
    if complete:
        try:
            table.update_item(
                Key={PARTITION_KEY: lead_pk(touch.lead_id), SORT_KEY: enrollment_sk(touch.enrollment)},
                UpdateExpression="SET run_status = :completed, completed_at = :at",
                ConditionExpression="run_status = :running",
                ExpressionAttributeValues={
                    ":completed": RunStatus.COMPLETED.value,
                    ":running": RunStatus.RUNNING.value,
                    ":at": sent_at,
                },
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise


def stop_enrollment(lead_id: str, number: int, reason: StopReason, at: datetime) -> Enrollment | None:
    """Stop a running enrollment; returns it as stopped, or None if it was not running.

    The same item the claim conditions on, so a claim after this write fails.
    `stopped_after_touch` records the last touch claimed before the stop.
    """
    try:
        result = _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET run_status = :stopped, stop_reason = :reason, stopped_at = :at, "
            "stopped_after_touch = last_touch",
            ConditionExpression="run_status = :running",
            ExpressionAttributeValues={
                ":stopped": RunStatus.STOPPED.value,
                ":running": RunStatus.RUNNING.value,
                ":reason": reason.value,
                ":at": iso(at),
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return None
        raise
    return Enrollment.model_validate(result["Attributes"])


def set_contact_status(lead_id: str, status: ContactStatus, reason: str, at: datetime) -> None:
    """Record the lead's contact status. Opt-outs and bounces are final: nothing overwrites them."""
    final = [ContactStatus.OPTED_OUT.value, ContactStatus.BOUNCED.value]
    try:
        _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
            UpdateExpression="SET #status = :status, status_reason = :reason, status_at = :at",
            ConditionExpression="attribute_exists(#pk) AND NOT #status IN (:f0, :f1)",
            ExpressionAttributeNames={"#status": "status", "#pk": PARTITION_KEY},
            ExpressionAttributeValues={
                ":status": status.value,
                ":reason": reason,
                ":at": iso(at),
                ":f0": final[0],
                ":f1": final[1],
            },
        )
    except ClientError as error:
        if not _is_condition_failure(error):
            raise


def message_owner(message_id: str) -> dict[str, Any] | None:
    """The lead, enrollment and touch an SES MessageId (or our own Message-ID without <>) belongs to."""
    item = _table().get_item(Key={PARTITION_KEY: f"MSG#{message_id}", SORT_KEY: "MSG"}).get("Item")
    return dict(item) if item else None


def record_event(
    lead_id: str,
    kind: str,
    at: datetime,
    *,
    enrollment: int | None = None,
    touch: int | None = None,
    channel: str | None = None,
    event_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    once: bool = False,
) -> bool:
    """Append what a lead did (a reply, an opt-out, a bounce, an open...) to the by_day index.

    Keyed by time and kind (and `event_id` when several events of a kind can share a second),
    so a redelivered notification lands on its own event: overwriting it, or with `once`,
    leaving it and returning False. `touch` and `channel`, when known, name what drew it;
    `details` adds attributes (the time to reply, the template, a bounce type, a link...).
    """
    item: dict[str, Any] = {
        PARTITION_KEY: lead_pk(lead_id),
        SORT_KEY: f"EVENT#{iso(at)}#{kind}" + (f"#{event_id}" if event_id else ""),
        **by_day_keys(at, lead_id, "event"),
        "lead_id": lead_id,
        "type": kind,
        "at": iso(at),
    }
    extra = {"enrollment": enrollment, "touch": touch, "channel": channel, **(details or {})}
    item.update({name: value for name, value in extra.items() if value is not None and name not in item})
    if once:
        return _put_new(item)
    _table().put_item(Item=item)
    return True


def items_by_day(
    day: str, start: str, end: str, projection: Sequence[str], page_size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the items indexed on UTC day `day` (yyyy-mm-dd) at times in [start, end) (ISO, Z).

    A Query on the by_day index, following LastEvaluatedKey; `page_size` caps items per page
    (DynamoDB caps a page at 1 MB anyway).
    """
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    names = {f"#a{index}": name for index, name in enumerate(projection)}
    kwargs: dict[str, Any] = {
        "TableName": settings().table_name,
        "IndexName": BY_DAY_INDEX,
        # gsi1sk is "<iso time>#<lead id>": BETWEEN start AND end keeps [start, end).
        "KeyConditionExpression": "#day = :day AND #at BETWEEN :start AND :end",
        "ExpressionAttributeNames": {"#day": BY_DAY_PARTITION_KEY, "#at": BY_DAY_SORT_KEY, **names},
        "ExpressionAttributeValues": {
            ":day": {"S": f"DAY#{day}"},
            ":start": {"S": start},
            ":end": {"S": end},
        },
        "ProjectionExpression": ", ".join(names),
    }
    if page_size:
        kwargs["Limit"] = page_size
    client = aws.client("dynamodb")
    while True:
        page = client.query(**kwargs)
        yield [
            {name: deserializer.deserialize(value) for name, value in item.items()} for item in page["Items"]
        ]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_items(keys: Sequence[tuple[str, str]], projection: Sequence[str]) -> list[dict[str, Any]]:
    """Items by (pk, sk), 100 per BatchGetItem, retrying what DynamoDB leaves unprocessed."""
    import time

    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    names = {f"#a{index}": name for index, name in enumerate(projection)}
    client = aws.client("dynamodb")
    table_name = settings().table_name
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(keys))
    for offset in range(0, len(unique), 100):
        request: dict[str, Any] = {
            table_name: {
                "Keys": [
                    {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}}
                    for pk, sk in unique[offset : offset + 100]
                ],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        for attempt in range(8):
            response = client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table_name, []):
                found.append({name: deserializer.deserialize(value) for name, value in item.items()})
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after 8 attempts")
    return found


def claim_report(period: str, at: datetime) -> bool:
    """Record that the report for `period` is being sent; False if it already was (a retried run)."""
    try:
        _table().put_item(
            Item={PARTITION_KEY: f"REPORT#{period}", SORT_KEY: "REPORT", "claimed_at": iso(at)},
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def record_report_sent(period: str, message_id: str, archive_key: str, at: datetime) -> None:
    _table().update_item(
        Key={PARTITION_KEY: f"REPORT#{period}", SORT_KEY: "REPORT"},
        UpdateExpression="SET message_id = :id, archive_key = :key, sent_at = :at",
        ExpressionAttributeValues={":id": message_id, ":key": archive_key, ":at": iso(at)},
    )


# -- answers and engagement (inbound mail, SES events, SMS, meetings) -------------------------------


def events(lead_id: str) -> list[dict[str, Any]]:
    """The lead's event items (see record_event), oldest first."""
    return _query_prefix(lead_id, "EVENT#")


def count_on_touch(lead_id: str, enrollment: int, touch: int, kind: str, at: datetime) -> None:
    """On the touch item: when `kind` (delivery, open, click...) first happened, and how often."""
    try:
        _table().update_item(
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
        if not _is_condition_failure(error):
            raise


def first_time(lead_id: str, marker: str) -> bool:
    """True the first time a lead's marker is seen, False after: one alert per answer, per day..."""
    return _put_new({PARTITION_KEY: lead_pk(lead_id), SORT_KEY: f"ONCE#{marker}"})


def index_contact(kind: str, key: str, lead_id: str) -> None:
    """Index a lead under a keyed hash of a contact detail: kind DOMAIN (company) or PHONE."""
    _table().put_item(Item={PARTITION_KEY: f"{kind}#{key}", SORT_KEY: lead_pk(lead_id), "lead_id": lead_id})


def leads_by_contact(kind: str, key: str) -> list[str]:
    """Lead ids indexed under a contact detail's key, oldest index entry first."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key(PARTITION_KEY).eq(f"{kind}#{key}")}
    while True:
        page = _table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return [str(item["lead_id"]) for item in items]
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def move_schedule(lead_id: str, number: int, schedule: list[datetime], from_touch: int) -> bool:
    """Store a moved schedule, unless the enrollment stopped or touch `from_touch` was already claimed."""
    try:
        _table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: enrollment_sk(number)},
            UpdateExpression="SET #schedule = :schedule",
            ConditionExpression="run_status = :running AND last_touch < :touch",
            ExpressionAttributeNames={"#schedule": "schedule"},
            ExpressionAttributeValues={
                ":schedule": [iso(moment) for moment in schedule],
                ":running": RunStatus.RUNNING.value,
                ":touch": from_touch,
            },
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def suppress(email_key: str, reason: str, at: datetime) -> None:
    """Record that an address (by its HMAC key) must never be mailed again; the first reason stays."""
    _put_new(
        {
            PARTITION_KEY: f"SUPPRESS#{email_key}",
            SORT_KEY: "SUPPRESS",
            "reason": reason,
            "suppressed_at": iso(at),
        }
    )


def next_turn(rotation: str) -> int:
    """The next number (1, 2, ...) of a round-robin rotation: an atomic counter, safe under concurrency."""
    result = _table().update_item(
        Key={PARTITION_KEY: f"ROTATION#{rotation}", SORT_KEY: "COUNTER"},
        UpdateExpression="ADD turns :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    return int(result["Attributes"]["turns"])


def task_sk(enrollment: int, touch: int) -> str:
    return f"TASK#{enrollment:03d}#{touch:02d}"


def put_task(task: Task) -> None:
    """Store a rep task once; a retried step finds it there and leaves it as it is."""
    try:
        _table().put_item(
            Item={
                PARTITION_KEY: lead_pk(task.lead_id),
                SORT_KEY: task_sk(task.enrollment, task.touch),
                **by_day_keys(task.due_at, task.lead_id, "task"),
                **_serialize(task),
            },
            ConditionExpression="attribute_not_exists(#sk)",
            ExpressionAttributeNames={"#sk": SORT_KEY},
        )
    except ClientError as error:
        if not _is_condition_failure(error):
            raise


def suppression(email_key: str) -> dict[str, Any] | None:
    """The suppression entry of an address (by its HMAC key), if any."""
    item = _table().get_item(Key={PARTITION_KEY: f"SUPPRESS#{email_key}", SORT_KEY: "SUPPRESS"}).get("Item")
    return dict(item) if item else None


def get_task(lead_id: str, enrollment: int, touch: int) -> Task | None:
    item = _lead_item(lead_id, task_sk(enrollment, touch))
    return Task.model_validate(item) if item else None


def tasks(lead_id: str) -> list[Task]:
    return [Task.model_validate(item) for item in _query_prefix(lead_id, "TASK#")]


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
    try:
        result = _table().update_item(
            Key={PARTITION_KEY: lead_pk(task.lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
            UpdateExpression=expression,
            ConditionExpression="#status IN (" + ", ".join(f":s{i}" for i in range(len(_OUTCOME_OPEN))) + ")",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _is_condition_failure(error):
            return None
        raise
    return Task.model_validate(result["Attributes"])


def cancel_open_tasks(lead_id: str, at: datetime) -> int:
    """Close the lead's open tasks (it stopped: no rep should still call); returns how many."""
    cancelled = 0
    for task in tasks(lead_id):
        if task.status is not TaskStatus.OPEN:
            continue
        try:
            _table().update_item(
                Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: task_sk(task.enrollment, task.touch)},
                UpdateExpression="SET #status = :cancelled, outcome_at = :at",
                ConditionExpression="#status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": TaskStatus.CANCELLED.value,
                    ":open": TaskStatus.OPEN.value,
                    ":at": iso(at),
                },
            )
            cancelled += 1
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
    return cancelled
