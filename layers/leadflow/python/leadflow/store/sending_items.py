"""Sending-domain items: the pause, daily send counts (the caps and the reputation window), reserved slots.

    SENDING / PAUSE                    the reputation guard's pause (why, when, the rates then)
    SENDING#<domain> / DAY#<date>      automated emails of that domain that UTC day (`sent`: one
                                       write per email, conditional on the cap when there is one),
                                       and the permanent bounces and complaints that arrived while
                                       block k of those sends went out (`b<k>`, `c<k>`)
    SENDING / SEEN#<event id>          an SES bounce or complaint already counted (expires)
    LEAD#<id> / SLOT#<enr>#<touch>     a held first touch's reserved slot (domain, day)

The reputation window reads the day items newest first, block by block. Earlier versions counted
sends in a global sequence (SENDING / SENDS, one hot item written by every email) and blocks
SENDING / REP#<bucket>; those blocks are read after the day items, until their window is full.

No address in any of them. Moto has no SES account-level sending controls; real SES's are
account-wide, not per domain: the pause and the caps live here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, get_consistently, lead_pk, put_if, put_new, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

SENDING = "SENDING"
PAUSE = "PAUSE"


def pause() -> dict[str, Any] | None:
    """The active pause, or None."""
    item = dynamodb_table().get_item(Key={PARTITION_KEY: SENDING, SORT_KEY: PAUSE}, ConsistentRead=True)
    return _active(item.get("Item"))


def _active(pause_item: dict[str, Any] | None) -> dict[str, Any] | None:
    return dict(pause_item) if pause_item and pause_item.get("active") else None


def pause_and_reservation(
    lead_id: str, enrollment: int, touch: int
) -> tuple[dict[str, Any] | None, tuple[str, date] | None]:
    """`pause()`, and the touch's reserved slot (domain, day) if it has one, read consistently in one
    round trip (BatchGetItem): an email's guard reads both."""
    pause_item, slot_item = get_consistently(
        [(SENDING, PAUSE), (lead_pk(lead_id), _slot_sk(enrollment, touch))]
    )
    return _active(pause_item), _reserved(slot_item)


def set_pause(at: datetime, reason: str, details: dict[str, str]) -> bool:
    """Pause automated email; False when it already was (one alert per pause)."""
    return put_if(
        Item={PARTITION_KEY: SENDING, SORT_KEY: PAUSE, "active": True, "at": iso(at), "reason": reason}
        | details,
        ConditionExpression="attribute_not_exists(active) OR active = :no",
        ExpressionAttributeValues={":no": False},
    )


def lift_pause(at: datetime, by: str) -> dict[str, Any] | None:
    """Lift the pause; the pause that was lifted, or None when there was none."""
    return update_if(
        Key={PARTITION_KEY: SENDING, SORT_KEY: PAUSE},
        UpdateExpression="SET active = :no, lifted_at = :at, lifted_by = :by",
        ConditionExpression="active = :yes",
        ExpressionAttributeValues={":no": False, ":yes": True, ":at": iso(at), ":by": by},
        ReturnValues="ALL_OLD",
    )


@dataclass(frozen=True)
class Block:
    """A block of sends of the reputation window, with the outcomes counted against it."""

    sends: int
    bounces: int
    complaints: int


def _day_blocks(item: dict[str, Any], size: int) -> list[Block]:
    """The blocks of `size` sends of one day item, newest first (the newest may be partial)."""
    sent = int(item.get("sent", 0))
    newest = max(sent - 1, 0) // size
    return [
        Block(
            sends=max(0, min(size, sent - block * size)),
            bounces=int(item.get(f"b{block}", 0)),
            complaints=int(item.get(f"c{block}", 0)),
        )
        for block in range(newest, -1, -1)
    ]


def recent_blocks(domains: list[str], size: int, wanted: int) -> Iterator[Block]:
    """Blocks of sends of the given domains, newest first, until `wanted` sends were given (the
    caller stops earlier when it has enough): the day items, then an earlier version's blocks."""
    pages: list[dict[str, Any]] = []
    for domain in domains:
        page = dynamodb_table().query(
            KeyConditionExpression=Key(PARTITION_KEY).eq(_domain_pk(domain))
            & Key(SORT_KEY).begins_with("DAY#"),
            ScanIndexForward=False,
            Limit=wanted // size + 2,  # a day has at least one block
            ConsistentRead=True,
        )
        pages.extend(page["Items"])
    given = 0
    for item in sorted(
        pages, key=lambda found: (str(found[SORT_KEY]), str(found[PARTITION_KEY])), reverse=True
    ):
        for block in _day_blocks(item, size):
            yield block
            given += block.sends
            if given >= wanted:
                return
    legacy = dynamodb_table().query(
        KeyConditionExpression=Key(PARTITION_KEY).eq(SENDING) & Key(SORT_KEY).begins_with("REP#"),
        ScanIndexForward=False,
        Limit=wanted // size + 1,
        ConsistentRead=True,
    )
    for item in legacy["Items"]:
        yield Block(*(int(item.get(name, 0)) for name in ("sends", "bounces", "complaints")))


def count_outcome(kind: str, domain: str, day: date, size: int) -> None:
    """Count a permanent bounce (`bounces`) or complaint (`complaints`) against the block of the
    domain's sends going out now (the day's latest block)."""
    block = max(sent_on(domain, day) - 1, 0) // size
    dynamodb_table().update_item(
        Key=_day_key(domain, day),
        UpdateExpression="ADD #field :one",
        ExpressionAttributeNames={"#field": f"{kind[0]}{block}"},
        ExpressionAttributeValues={":one": 1},
    )


def _domain_pk(domain: str) -> str:
    return f"{SENDING}#{domain.lower()}"


def _day_key(domain: str, day: date) -> dict[str, str]:
    return {PARTITION_KEY: _domain_pk(domain), SORT_KEY: f"DAY#{day.isoformat()}"}


def take_slot(domain: str, day: date, cap: int | None) -> int | None:
    """Count one email of the domain on `day` (under its cap, if any); its number that day, or None
    when the day is full. The one counter write of an email: the cap's and the reputation window's."""
    capped: dict[str, Any] = {}
    if cap is not None:
        capped = {"ConditionExpression": "attribute_not_exists(sent) OR sent < :cap"}
    counted = update_if(
        Key=_day_key(domain, day),
        UpdateExpression="ADD sent :one",
        ExpressionAttributeValues={":one": 1, **({":cap": cap} if cap is not None else {})},
        ReturnValues="UPDATED_NEW",
        **capped,
    )
    return None if counted is None else int(counted["sent"])


def sent_on(domain: str, day: date) -> int:
    item = dynamodb_table().get_item(Key=_day_key(domain, day), ConsistentRead=True)
    return int(item.get("Item", {}).get("sent", 0))


def first_sighting(event_id: str, at: datetime) -> bool:
    """True the first time an SES event id is counted (SQS delivers at least once)."""
    return put_new(
        {
            PARTITION_KEY: SENDING,
            SORT_KEY: f"SEEN#{event_id}",
            TTL_ATTRIBUTE: int(at.timestamp()) + 30 * 86400,
        }
    )


def _slot_sk(enrollment: int, touch: int) -> str:
    return f"SLOT#{enrollment:03d}#{touch:02d}"


def reserve(lead_id: str, enrollment: int, touch: int, domain: str, day: date) -> None:
    """Remember that this touch's slot on `day` is already counted against the domain's cap."""
    dynamodb_table().put_item(
        Item={
            PARTITION_KEY: lead_pk(lead_id),
            SORT_KEY: _slot_sk(enrollment, touch),
            "domain": domain.lower(),
            "day": day.isoformat(),
        }
    )


def _reserved(slot_item: dict[str, Any] | None) -> tuple[str, date] | None:
    return (str(slot_item["domain"]), date.fromisoformat(str(slot_item["day"]))) if slot_item else None
