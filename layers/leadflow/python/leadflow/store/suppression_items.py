"""The suppression list: keyed hashes of addresses never to be mailed again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY


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
