"""Events and the by_day index: what the weekly report reads, by month partition, never by Scan; report
claims."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from leadflow import aws, clock
from leadflow.clock import iso
from leadflow.config import settings
from leadflow.observability import STORED_KINDS, publish_event
from leadflow.store.items import (
    by_day_keys,
    by_day_partition,
    dynamodb_table,
    is_condition_failure,
    lead_pk,
    put_new,
    query_prefix,
    ttl,
)
from leadflow.store.table import (
    BY_DAY_INDEX,
    BY_DAY_PARTITION_KEY,
    BY_DAY_SHARDS,
    BY_DAY_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
)


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
        **ttl("event", at),
    }
    extra = {"enrollment": enrollment, "touch": touch, "channel": channel, **(details or {})}
    item.update({name: value for name, value in extra.items() if value is not None and name not in item})
    if once:
        if not put_new(item):
            return False
    else:
        dynamodb_table().put_item(Item=item)
    _publish(kind, lead_id, at, enrollment, touch, channel)
    return True


def _publish(
    kind: str, lead_id: str, at: datetime, enrollment: int | None, touch: int | None, channel: str | None
) -> None:
    """The integration event of a stored event (stage_<name> -> stage_changed)."""
    if kind.startswith("stage_"):
        publish_event("stage_changed", lead_id, at, detail=kind.removeprefix("stage_"))
    elif kind in STORED_KINDS:
        published = STORED_KINDS[kind]
        publish_event(
            published, lead_id, at, enrollment=enrollment, touch=touch, channel=channel, detail=kind
        )


def plain(value: Mapping[str, Any]) -> Any:
    """A low-level attribute value as boto3's TypeDeserializer returns it (str, Decimal, bool, None,
    list, dict, set), without its per-value dispatch: the report reads a million of them."""
    text = value.get("S")
    if text is not None:
        return text
    ((tag, inner),) = value.items()
    if tag == "N":
        return Decimal(inner)
    if tag == "BOOL" or tag == "NULL":
        return inner if tag == "BOOL" else None
    if tag == "L":
        return [plain(element) for element in inner]
    if tag == "M":
        return {name: plain(element) for name, element in inner.items()}
    if tag == "SS":
        return set(inner)
    if tag == "NS":
        return {Decimal(number) for number in inner}
    # Binary (never in the report's projection): base64 text as sent, or bytes as botocore decodes it.
    from boto3.dynamodb.types import Binary

    if tag == "B":
        return Binary(_bytes(inner))
    if tag == "BS":
        return {Binary(_bytes(element)) for element in inner}
    raise ValueError(f"not a DynamoDB attribute value: {tag}")


def _bytes(value: str | bytes) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else value


# Set while the report's own Query runs: the before-parse hook below acts on that call only.
_lifting: ContextVar[bool] = ContextVar("lifting_items", default=False)


def _lift_items(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """botocore `before-parse` hook for the by_day Queries.

    botocore's parser walks every attribute value against the AttributeValue shape (ten members) to
    return the JSON it was given; for the million items of a large report that walk was most of the
    run. The page's Items are taken from the body as `json` decodes them (`plain` reads that form);
    botocore parses the rest (LastEvaluatedKey, counts), and error responses as always.
    """
    if not _lifting.get() or response_dict["status_code"] >= 300:
        return
    body = json.loads(response_dict["body"])
    if "Items" in body:
        customized_response_dict["Items"] = body.pop("Items")
        response_dict["body"] = json.dumps(body).encode()


def _query(client: Any, kwargs: dict[str, Any]) -> Any:
    client.meta.events.register("before-parse.dynamodb.Query", _lift_items, unique_id="leadflow-lift-items")
    token = _lifting.set(True)
    try:
        return client.query(**kwargs)
    finally:
        _lifting.reset(token)


def index_partitions(start: str, end: str) -> list[str]:
    """The by_day partitions holding index times in [start, end) (ISO, Z): every shard of each UTC
    month the range touches, month by month."""
    first = clock.parse_iso(start).astimezone(UTC)
    last = clock.parse_iso(end).astimezone(UTC) - timedelta(microseconds=1)  # `end` itself is outside
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [by_day_partition(month, shard) for month in months for shard in range(BY_DAY_SHARDS)]


def items_between(
    start: str, end: str, projection: Sequence[str], page_size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the items indexed at times in [start, end) (ISO, Z): one range Query per (month, shard)
    partition the range touches (index_partitions), in that order, each followed page by page."""
    for partition in index_partitions(start, end):
        yield from partition_pages(partition, start, end, projection, page_size)


def partition_pages(
    partition: str,
    start: str,
    end: str,
    projection: Sequence[str],
    page_size: int | None = None,
    *,
    decoded: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of one by_day partition's items at times in [start, end), following LastEvaluatedKey;
    `page_size` caps items per page (DynamoDB caps a page at 1 MB anyway). `decoded=False` leaves the
    items in DynamoDB's JSON form ({"S": text}, {"N": digits}) for a reader that maps them itself."""
    names = {f"#a{index}": name for index, name in enumerate(projection)}
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": settings().table_name,
        "IndexName": BY_DAY_INDEX,
        # gsi1sk is "<iso time>#<lead id>": BETWEEN start AND end keeps [start, end).
        "KeyConditionExpression": "#part = :part AND #at BETWEEN :start AND :end",
        "ExpressionAttributeNames": {"#part": BY_DAY_PARTITION_KEY, "#at": BY_DAY_SORT_KEY, **names},
        "ExpressionAttributeValues": {
            ":part": {"S": partition},
            ":start": {"S": start},
            ":end": {"S": end},
        },
        "ProjectionExpression": ", ".join(names),
    }
    if page_size:
        kwargs["Limit"] = page_size
    while True:
        page = _query(client, kwargs)
        items = page["Items"]
        for item in items if decoded else ():  # decoded for this call alone: values replaced in place
            for name, value in item.items():
                text = value.get("S")  # strings inline: most of a million attribute values
                item[name] = text if text is not None else plain(value)
        yield items
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_items(keys: Sequence[tuple[str, str]], projection: Sequence[str]) -> list[dict[str, Any]]:
    """Items by (pk, sk), 100 per BatchGetItem, retrying what DynamoDB leaves unprocessed."""
    import time

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
                found.append({name: plain(value) for name, value in item.items()})
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after 8 attempts")
    return found


def claim_report(period: str, at: datetime) -> bool:
    """Record that the report for `period` is being sent; False if it already was (a retried run)."""
    return put_new({PARTITION_KEY: f"REPORT#{period}", SORT_KEY: "REPORT", "claimed_at": iso(at)})


def record_report_sent(period: str, message_id: str, archive_key: str, at: datetime) -> None:
    dynamodb_table().update_item(
        Key={PARTITION_KEY: f"REPORT#{period}", SORT_KEY: "REPORT"},
        UpdateExpression="SET message_id = :id, archive_key = :key, sent_at = :at",
        ExpressionAttributeValues={":id": message_id, ":key": archive_key, ":at": iso(at)},
    )


# -- answers and engagement (inbound mail, SES events, SMS, meetings) -------------------------------


def events(lead_id: str) -> list[dict[str, Any]]:
    """The lead's event items (see record_event), oldest first."""
    return query_prefix(lead_id, "EVENT#")


def first_time(lead_id: str, marker: str) -> bool:
    """True the first time a lead's marker is seen, False after: one alert per answer, per day..."""
    return put_new({PARTITION_KEY: lead_pk(lead_id), SORT_KEY: f"ONCE#{marker}", **ttl("lead", clock.now())})


def set_reply_intent(lead_id: str, replied_at: datetime, intent: str) -> bool:
    """A rep's correction of what a reply said: the reply event (or a written opt-out's) at that time
    takes the intent, marked as the rep's. False when no such event is stored."""
    for kind in ("reply", "unsubscribe"):
        try:
            dynamodb_table().update_item(
                Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: f"EVENT#{iso(replied_at)}#{kind}"},
                UpdateExpression="SET intent = :intent, intent_by = :rep",
                ConditionExpression="attribute_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
                ExpressionAttributeValues={":intent": intent, ":rep": "rep"},
            )
            return True
        except ClientError as error:
            if not is_condition_failure(error):
                raise
    return False


def set_snooze(lead_id: str, due: datetime | None, owner: str | None) -> None:
    """The lead's not-now snooze, indexed under the day it is due (the report's "due back this week");
    None removes it (a correction away from not_now)."""
    key = {PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "SNOOZE"}
    if due is None:
        dynamodb_table().delete_item(Key=key)
        return
    item = {
        **key,
        **by_day_keys(due, lead_id, "snooze"),
        "lead_id": lead_id,
        "at": iso(due),
        **ttl("event", due),
    }
    if owner:
        item["owner"] = owner
    dynamodb_table().put_item(Item=item)
