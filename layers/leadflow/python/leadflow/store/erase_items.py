"""Erasure (GDPR art. 17): every item of a lead's partition, and deleting items by key.

Only `intake.erase` deletes: no other code path removes a lead's data.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from leadflow.store.items import dynamodb_table, lead_pk, query_all
from leadflow.store.table import PARTITION_KEY, SORT_KEY


def partition(lead_id: str) -> list[dict[str, Any]]:
    """Every item of the lead's partition (lead, submissions, enrollments, touches, tasks, events...)."""
    return query_all(KeyConditionExpression=Key(PARTITION_KEY).eq(lead_pk(lead_id)), ConsistentRead=True)


def delete(pk: str, sk: str) -> bool:
    """Delete one item; True when it existed."""
    result = dynamodb_table().delete_item(Key={PARTITION_KEY: pk, SORT_KEY: sk}, ReturnValues="ALL_OLD")
    return bool(result.get("Attributes"))


def remove_attributes(pk: str, sk: str, names: list[str]) -> None:
    """Drop attributes from an item that stays (an event kept for the aggregates)."""
    if not names:
        return
    placeholders = {f"#a{index}": name for index, name in enumerate(names)}
    dynamodb_table().update_item(
        Key={PARTITION_KEY: pk, SORT_KEY: sk},
        UpdateExpression="REMOVE " + ", ".join(placeholders),
        ExpressionAttributeNames=placeholders,
    )
