"""Abuse limits: counters per key and time window, each one conditional write, expired by TTL.

- limit: pk=LIMIT#<kind>#<hmac> sk=<window>  (count, or the set of holders; for the per-IP limit
  also the set of members, keyed hashes of the posts' email domains; expires_at a day after the
  window closes)
"""

from __future__ import annotations

from datetime import datetime

from leadflow.store.items import expires_at, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE


def take(
    kind: str, key: str, window: str, limit: int, window_ends: datetime, member: str | None = None
) -> bool:
    """Count one against `limit` for (kind, key) in `window`; False, counting nothing, when it is reached.

    One UpdateItem with ADD under a condition: concurrent posts cannot both take the last slot.
    `member` (a keyed hash) joins the window's set of members in the same write (`take_new_member`).
    """
    values: dict[str, object] = {":one": 1, ":limit": limit, ":ttl": expires_at(window_ends, 1)}
    if member:
        values[":member"] = {member}
    taken = update_if(
        Key={PARTITION_KEY: f"LIMIT#{kind}#{key}", SORT_KEY: window},
        UpdateExpression="ADD #count :one" + (", members :member" if member else "") + " SET #ttl = :ttl",
        ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
        ExpressionAttributeNames={"#count": "count", "#ttl": TTL_ATTRIBUTE},
        ExpressionAttributeValues=values,
    )
    return taken is not None


def take_new_member(kind: str, key: str, window: str, member: str, most: int, window_ends: datetime) -> bool:
    """Add `member` to the window's set of (kind, key); False when it is already there or the set
    already has `most` members. One conditional UpdateItem: of concurrent posts with one new
    member, exactly one gets True."""
    taken = update_if(
        Key={PARTITION_KEY: f"LIMIT#{kind}#{key}", SORT_KEY: window},
        UpdateExpression="ADD members :member SET #ttl = :ttl",
        ConditionExpression="attribute_not_exists(members) OR "
        "(NOT contains(members, :member_value) AND size(members) < :most)",
        ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
        ExpressionAttributeValues={
            ":member": {member},
            ":member_value": member,
            ":most": most,
            ":ttl": expires_at(window_ends, 1),
        },
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
