"""Posts held by an abuse limit (issue 22), and the marker that makes their ops alert one per burst.

- held post: pk=HELD#<hmac of the address> sk=HELD#<received_at>#<submission_id>  (the validated
  post and its origin: personal data, kept like a lead's: `expires_at` the lead retention after the
  post; erased with the person)
- alert marker: pk=HELDALERT#<limit> sk=<hour>  (expires a day after the hour)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from leadflow.clock import iso
from leadflow.models import HeldPost
from leadflow.store.items import dynamodb_table, expires_at, put_new, query_all, serialize, take_lease, ttl
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

PREFIX = "HELD#"


def _key(email_key: str, post: HeldPost) -> dict[str, str]:
    return {
        PARTITION_KEY: f"{PREFIX}{email_key}",
        SORT_KEY: f"{PREFIX}{iso(post.received_at)}#{post.submission_id}",
    }


def hold(email_key: str, post: HeldPost) -> None:
    dynamodb_table().put_item(
        Item={**_key(email_key, post), "kind": "held", **serialize(post), **ttl("lead", post.received_at)}
    )


def held_posts() -> list[tuple[str, HeldPost]]:
    """Every held post with its address key, oldest first (an operator's listing: a filtered Scan,
    rarely run, like `suppress list`; no index write on the public post's path)."""
    found: list[tuple[str, HeldPost]] = []
    kwargs: dict[str, Any] = {"FilterExpression": Attr("kind").eq("held"), "ConsistentRead": True}
    while True:
        page = dynamodb_table().scan(**kwargs)
        found += [(_email_key(item), HeldPost.model_validate(item)) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return sorted(found, key=lambda pair: (pair[1].received_at, pair[1].submission_id))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def held_for(email_key: str) -> list[dict[str, Any]]:
    """The keys of the address's held posts (erasure)."""
    items = query_all(
        KeyConditionExpression=Key(PARTITION_KEY).eq(f"{PREFIX}{email_key}"), ConsistentRead=True
    )
    return [{PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]} for item in items]


def claim_release(email_key: str, post: HeldPost, now: datetime, lease_until: datetime) -> bool:
    """Take the post's release for one caller: it is still held, and no other release runs (or the
    one that ran crashed and its lease passed)."""
    return take_lease(_key(email_key, post), "release_lease_until", now, lease_until)


def remove(email_key: str, post: HeldPost) -> None:
    """Delete a held post once released (the lead keeps the post's record) or dismissed."""
    dynamodb_table().delete_item(Key=_key(email_key, post))


def claim_alert(limit: str, window: str, window_ends: datetime) -> bool:
    """True for the first held post of `limit` in `window`: the one that alerts ops."""
    return put_new(
        {
            PARTITION_KEY: f"HELDALERT#{limit}",
            SORT_KEY: window,
            "at": iso(window_ends),
            TTL_ATTRIBUTE: expires_at(window_ends, 1),
        }
    )


def give_back_alert(limit: str, window: str) -> None:
    """The hour's alert failed to publish: the next held post of the hour claims it again."""
    dynamodb_table().delete_item(Key={PARTITION_KEY: f"HELDALERT#{limit}", SORT_KEY: window})


def _email_key(item: dict[str, Any]) -> str:
    return str(item[PARTITION_KEY]).removeprefix(PREFIX)
