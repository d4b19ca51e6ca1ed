"""Abuse limits: counters per key and time window, each one conditional write, expired by TTL.

- limit: pk=LIMIT#<kind>#<hmac> sk=<window>  (count, or the set of holders; expires_at a day after
  the window closes)
"""

from __future__ import annotations

from datetime import datetime

from leadflow.store.items import expires_at, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE


def take(kind: str, key: str, window: str, limit: int, window_ends: datetime) -> bool:
    """Count one against `limit` for (kind, key) in `window`; False, counting nothing, when it is reached.

    One UpdateItem with ADD under a condition: concurrent posts cannot both take the last slot.
    """
    taken = update_if(
        Key={PARTITION_KEY: f"LIMIT#{kind}#{key}", SORT_KEY: window},
        UpdateExpression="ADD #count :one SET #ttl = :ttl",
        ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
        ExpressionAttributeNames={"#count": "count", "#ttl": TTL_ATTRIBUTE},
        ExpressionAttributeValues={":one": 1, ":limit": limit, ":ttl": expires_at(window_ends, 1)},
    )
    return taken is not None


def take_for(kind: str, key: str, window: str, limit: int, window_ends: datetime, holder: str) -> bool:
    """Like `take`, but a slot belongs to `holder`: taking it again is free and always succeeds.

    Concurrent posts of one address (one holder) share its slot, so whichever of them creates the
    lead finds the slot taken for it.
    """
    taken = update_if(
        Key={PARTITION_KEY: f"LIMIT#{kind}#{key}", SORT_KEY: window},
        UpdateExpression="ADD holders :holder SET #ttl = :ttl",
        ConditionExpression="attribute_not_exists(holders) OR size(holders) < :limit "
        "OR contains(holders, :holder_value)",
        ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
        ExpressionAttributeValues={
            ":holder": {holder},
            ":holder_value": holder,
            ":limit": limit,
            ":ttl": expires_at(window_ends, 1),
        },
    )
    return taken is not None
