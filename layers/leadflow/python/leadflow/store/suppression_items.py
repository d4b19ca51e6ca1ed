"""The suppression list: keyed hashes of addresses never to be mailed again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY


def suppression_key(email_key: str) -> tuple[str, str]:
    """The (partition, sort) key of an address's suppression entry."""
    return f"SUPPRESS#{email_key}", "SUPPRESS"


def suppress(email_key: str, reason: str, at: datetime) -> None:
    """Record that an address (by its HMAC key) must never be mailed again; the first reason stays."""
    put_new(
        {
            PARTITION_KEY: f"SUPPRESS#{email_key}",
            SORT_KEY: "SUPPRESS",
            "reason": reason,
            "suppressed_at": iso(at),
        }
    )


def suppression(email_key: str) -> dict[str, Any] | None:
    """The suppression entry of an address (by its HMAC key), if any."""
    item = (
        dynamodb_table()
        .get_item(Key={PARTITION_KEY: f"SUPPRESS#{email_key}", SORT_KEY: "SUPPRESS"})
        .get("Item")
    )
    return dict(item) if item else None


def unsuppress(email_key: str) -> bool:
    """Remove an address (by its key) from the list; True if it was there. An operator's correction."""
    response = dynamodb_table().delete_item(
        Key={PARTITION_KEY: f"SUPPRESS#{email_key}", SORT_KEY: "SUPPRESS"}, ReturnValues="ALL_OLD"
    )
    return "Attributes" in response


def listed() -> list[dict[str, Any]]:
    """Every suppression entry, as hashes (an operator's listing: a filtered Scan, rarely run)."""
    from boto3.dynamodb.conditions import Attr

    entries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"FilterExpression": Attr(PARTITION_KEY).begins_with("SUPPRESS#")}
    while True:
        page = dynamodb_table().scan(**kwargs)
        entries.extend(
            {
                "hash": str(item[PARTITION_KEY]).removeprefix("SUPPRESS#"),
                "reason": item.get("reason"),
                "suppressed_at": item.get("suppressed_at"),
            }
            for item in page["Items"]
        )
        if "LastEvaluatedKey" not in page:
            return sorted(entries, key=lambda entry: str(entry["suppressed_at"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
