"""Keys and low-level helpers shared by every item type: the table handle, key builders, serialization,
conditional-write failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from leadflow import aws
from leadflow.clock import iso
from leadflow.config import retention, settings
from leadflow.store.table import (
    BY_DAY_PARTITION_KEY,
    BY_DAY_SHARDS,
    BY_DAY_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)

if TYPE_CHECKING:
    from leadflow.models import SubmissionRecord  # an annotation: the report reads items, not models


def dynamodb_table() -> Any:
    return aws.table(settings().table_name)


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def enrollment_sk(number: int) -> str:
    return f"ENROLLMENT#{number:03d}"


def touch_sk(enrollment: int, touch: int) -> str:
    return f"TOUCH#{enrollment:03d}#{touch:02d}"


def serialize(model: Any) -> dict[str, Any]:
    return {key: value for key, value in model.model_dump(mode="json").items() if value is not None}


def expires_at(moment: datetime, days: int) -> int:
    """The TTL value (`expires_at`, epoch seconds): DynamoDB deletes the item some time after it."""
    return int(moment.timestamp()) + days * 86_400


def ttl(kind: Literal["lead", "submission", "event"], at: datetime) -> dict[str, int]:
    """The `expires_at` attribute of an item kept for its kind's retention (config: retention) after `at`.

    lead: the lead and what hangs off it; submission: a post's consent record (IP, user agent);
    event: what a lead did. Items without it (suppression, rotation, report claims) are kept.
    """
    kept = retention()
    days = {"lead": kept.leads_days, "submission": kept.submissions_days, "event": kept.events_days}[kind]
    return {TTL_ATTRIBUTE: expires_at(at, days)}


def is_condition_failure(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return False


def put_new(item: dict[str, Any]) -> bool:
    """Put an item only if its key is free; False (writing nothing) when it already exists."""
    return put_if(
        Item=item,
        ConditionExpression="attribute_not_exists(#pk)",
        ExpressionAttributeNames={"#pk": PARTITION_KEY},
    )


def put_if(**put: Any) -> bool:
    """A conditional PutItem; False (writing nothing) when its condition fails."""
    try:
        dynamodb_table().put_item(**put)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def by_day_shard(lead_id: str) -> int:
    """The lead's shard of the by_day index: stable, and spread evenly over random lead ids."""
    return int.from_bytes(hashlib.sha256(lead_id.encode()).digest()[:4], "big") % BY_DAY_SHARDS


def by_day_partition(month: str, shard: int) -> str:
    """The by_day index partition of a UTC month (yyyy-mm) and a shard."""
    return f"MONTH#{month}#{shard}"


def by_day_keys(moment: datetime, lead_id: str, kind: str) -> dict[str, str]:
    """Index an item at the UTC time it happened (leads, enrollments, touches, events), in its month's
    partition of its lead's shard: the report reads a period with one range Query per (month, shard)
    it touches, never by Scan. The sort key starts with the time, so a day is a range of its month."""
    stamp = iso(moment)
    return {
        BY_DAY_PARTITION_KEY: by_day_partition(stamp[:7], by_day_shard(lead_id)),
        BY_DAY_SORT_KEY: f"{stamp}#{lead_id}",
        "kind": kind,
    }


def submission_sk(record: SubmissionRecord) -> str:
    return f"SUBMISSION#{iso(record.received_at)}#{record.submission_id}"


def query_all(**kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Query finds, following LastEvaluatedKey page by page."""
    items: list[dict[str, Any]] = []
    while True:
        page = dynamodb_table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_prefix(lead_id: str, prefix: str) -> list[dict[str, Any]]:
    return query_all(
        KeyConditionExpression=Key(PARTITION_KEY).eq(lead_pk(lead_id)) & Key(SORT_KEY).begins_with(prefix),
        ConsistentRead=True,
    )


def lead_item(lead_id: str, sort_key: str) -> dict[str, Any] | None:
    """One item of the lead's partition, read consistently."""
    key = {PARTITION_KEY: lead_pk(lead_id), SORT_KEY: sort_key}
    item = dynamodb_table().get_item(Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def get_consistently(keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
    """Items by distinct (partition, sort) keys, read consistently in one BatchGetItem (100 keys at
    most): what a consistent GetItem of each returns, in one round trip. A key DynamoDB leaves
    unprocessed (throttled) is read on its own."""
    table = dynamodb_table()
    response = table.meta.client.batch_get_item(
        RequestItems={
            table.name: {
                "Keys": [{PARTITION_KEY: partition, SORT_KEY: sort} for partition, sort in keys],
                "ConsistentRead": True,
            }
        }
    )
    found = {
        (item[PARTITION_KEY], item[SORT_KEY]): dict(item)
        for item in response["Responses"].get(table.name, [])
    }
    for key in response.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", []):
        item = table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item:
            found[(key[PARTITION_KEY], key[SORT_KEY])] = dict(item)
    return [found.get(key) for key in keys]


def task_sk(enrollment: int, touch: int) -> str:
    return f"TASK#{enrollment:03d}#{touch:02d}"


def update_if(**update: Any) -> dict[str, Any] | None:
    """A conditional UpdateItem; the item as written (or as `ReturnValues` asks), or None when its
    condition fails."""
    try:
        result = dynamodb_table().update_item(**{"ReturnValues": "ALL_NEW", **update})
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise
    return dict(result["Attributes"])


def take_lease(key: dict[str, Any], attribute: str, now: datetime, lease_until: datetime) -> bool:
    """Lease the item's work to one caller until `lease_until` (stored in `attribute`): False when the
    item is gone or another caller holds a live lease (one that crashed lets go when its lease passes)."""
    return (
        update_if(
            Key=key,
            UpdateExpression="SET #lease = :until",
            ConditionExpression="attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease <= :now)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#lease": attribute},
            ExpressionAttributeValues={":until": iso(lease_until), ":now": iso(now)},
        )
        is not None
    )
