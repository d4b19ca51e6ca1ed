"""Rep alerts held while their recipient is off (issue 25): delivered at the start of their hours.

- held alert: pk=ALERTHOLD#<rep id or _manager> sk=<deliver_at iso>#<alert id>  (kind "held_alert":
  the alert's subject, text and attributes; the text names the lead, so it expires with the lead's
  retention at the latest and is erased with the lead)

The alert id is a hash of the alert itself: a retried handler holds the same alert once. The sweep
claims due alerts under a lease (a crashed delivery is retried after it), publishes, then deletes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, put_new, query_all, take_lease, ttl
from leadflow.store.table import PARTITION_KEY, SORT_KEY

PREFIX = "ALERTHOLD#"
KIND = "held_alert"


def partition(recipient: str) -> str:
    return f"{PREFIX}{recipient}"


def hold(
    recipient: str,
    *,
    kind: str,
    subject: str,
    message: str,
    attributes: dict[str, str],
    held_at: datetime,
    deliver_at: datetime,
) -> bool:
    """Keep the alert until `deliver_at`; False when this very alert is held already (a retry)."""
    alert_id = hashlib.sha256(f"{recipient}\n{kind}\n{subject}\n{message}".encode()).hexdigest()[:20]
    return put_new(
        {
            PARTITION_KEY: partition(recipient),
            SORT_KEY: f"{iso(deliver_at)}#{alert_id}",
            "kind": KIND,
            "recipient": recipient,
            "alert_kind": kind,
            "subject": subject,
            "message": message,
            "attributes": attributes,
            "held_at": iso(held_at),
            "deliver_at": iso(deliver_at),
            **({"lead_id": attributes["lead_id"]} if "lead_id" in attributes else {}),
            **ttl("lead", held_at),
        }
    )


def due(recipient: str, now: datetime) -> list[dict[str, Any]]:
    """The recipient's held alerts due at `now` (deliver_at <= now), oldest first, claimed or not."""
    return query_all(
        KeyConditionExpression=Key(PARTITION_KEY).eq(partition(recipient))
        & Key(SORT_KEY).lte(f"{iso(now)}#~"),
        ConsistentRead=True,
    )


def held_for_lead(recipient: str, lead_id: str) -> list[dict[str, Any]]:
    """The keys of the recipient's held alerts about one lead (erasure)."""
    items = query_all(
        KeyConditionExpression=Key(PARTITION_KEY).eq(partition(recipient)),
        FilterExpression=Attr("lead_id").eq(lead_id),
        ConsistentRead=True,
    )
    return [{PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]} for item in items]


def claim(item: dict[str, Any], now: datetime, lease_until: datetime) -> bool:
    """Take one held alert's delivery: still held, and no other delivery holds a live lease on it."""
    return take_lease(
        {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}, "lease_until", now, lease_until
    )


def delivered(item: dict[str, Any]) -> None:
    """Delete a held alert once published."""
    dynamodb_table().delete_item(Key={PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]})
