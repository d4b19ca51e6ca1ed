"""CRM notifications already applied, so that a repeat is refused (answers.stages):

    CRMNOTE#salesforce#<organization id, 15 chars>#<notification Id> / CRMNOTE   (expires)

Ids only, no address. The item expires (TTL) once a repeat would be refused by its age anyway.
"""

from __future__ import annotations

from datetime import datetime

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

NOTE = "CRMNOTE"


def _key(source: str, notification_id: str) -> dict[str, str]:
    return {PARTITION_KEY: f"{NOTE}#{source}#{notification_id}", SORT_KEY: NOTE}


def seen(source: str, notification_id: str) -> bool:
    """True when this notification was applied before (consistent read)."""
    found = dynamodb_table().get_item(Key=_key(source, notification_id), ConsistentRead=True)
    return "Item" in found


def remember(source: str, notification_id: str, at: datetime, until: datetime) -> bool:
    """Remember an applied notification until `until` (one conditional write); False when it was
    already remembered (a concurrent delivery of the same notification)."""
    return put_new({**_key(source, notification_id), "at": iso(at), TTL_ATTRIBUTE: int(until.timestamp())})
