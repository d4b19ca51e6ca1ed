"""Sending-domain items: the pause, the reputation window, daily send counts, reserved slots.

    SENDING / PAUSE                    the reputation guard's pause (why, when, the rates then)
    SENDING / SENDS                    every automated email ever sent: the send sequence
    SENDING / REP#<bucket, 10 digits>  sends, permanent bounces and complaints of a block of sends
    SENDING#<domain> / DAY#<date>      automated emails counted against that day's cap (UTC)
    SENDING / SEEN#<event id>          an SES bounce or complaint already counted (expires)
    LEAD#<id> / SLOT#<enr>#<touch>     a held first touch's reserved slot (domain, day)

No address in any of them. Moto has no SES account-level sending controls; real SES's are
account-wide, not per domain: the pause and the caps live here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, lead_pk, put_if, put_new, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

SENDING = "SENDING"
PAUSE = "PAUSE"
SENDS = "SENDS"


def pause() -> dict[str, Any] | None:
    """The active pause, or None."""
    item = dynamodb_table().get_item(Key={PARTITION_KEY: SENDING, SORT_KEY: PAUSE}, ConsistentRead=True)
    found = item.get("Item")
    return dict(found) if found and found.get("active") else None


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


def _bucket_sk(bucket: int) -> str:
    return f"REP#{bucket:010d}"


def count_send(bucket_size: int) -> int:
    """Count one automated email in the send sequence and its block; returns its sequence number."""
    result = dynamodb_table().update_item(
        Key={PARTITION_KEY: SENDING, SORT_KEY: SENDS},
        UpdateExpression="ADD sends :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    sequence = int(result["Attributes"]["sends"])
    _add(bucket(sequence, bucket_size), "sends")
    return sequence


def bucket(sequence: int, bucket_size: int) -> int:
    return (max(sequence, 1) - 1) // bucket_size


def sends() -> int:
    item = dynamodb_table().get_item(Key={PARTITION_KEY: SENDING, SORT_KEY: SENDS}, ConsistentRead=True)
    return int(item.get("Item", {}).get("sends", 0))


def count_outcome(kind: str, bucket_size: int) -> None:
    """Count a permanent bounce or complaint in the block of sends going out now."""
    _add(bucket(sends(), bucket_size), kind)


def _add(bucket_number: int, field: str) -> None:
    dynamodb_table().update_item(
        Key={PARTITION_KEY: SENDING, SORT_KEY: _bucket_sk(bucket_number)},
        UpdateExpression="ADD #field :one",
        ExpressionAttributeNames={"#field": field},
        ExpressionAttributeValues={":one": 1},
    )


def recent_buckets(count: int) -> list[dict[str, int]]:
    """The last `count` blocks of sends, newest first: sends, bounces, complaints."""
    page = dynamodb_table().query(
        KeyConditionExpression=Key(PARTITION_KEY).eq(SENDING) & Key(SORT_KEY).begins_with("REP#"),
        ScanIndexForward=False,
        Limit=count,
        ConsistentRead=True,
    )
    return [
        {name: int(item.get(name, 0)) for name in ("sends", "bounces", "complaints")}
        for item in page["Items"]
    ]


def take_slot(domain: str, day: date, cap: int) -> int | None:
    """Count one email against the domain's cap on `day`; its number that day, or None when full."""
    counted = update_if(
        Key={PARTITION_KEY: f"{SENDING}#{domain.lower()}", SORT_KEY: f"DAY#{day.isoformat()}"},
        UpdateExpression="ADD sent :one",
        ConditionExpression="attribute_not_exists(sent) OR sent < :cap",
        ExpressionAttributeValues={":one": 1, ":cap": cap},
        ReturnValues="UPDATED_NEW",
    )
    return None if counted is None else int(counted["sent"])


def sent_on(domain: str, day: date) -> int:
    item = dynamodb_table().get_item(
        Key={PARTITION_KEY: f"{SENDING}#{domain.lower()}", SORT_KEY: f"DAY#{day.isoformat()}"},
        ConsistentRead=True,
    )
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


def reservation(lead_id: str, enrollment: int, touch: int) -> tuple[str, date] | None:
    item = (
        dynamodb_table()
        .get_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: _slot_sk(enrollment, touch)}, ConsistentRead=True
        )
        .get("Item")
    )
    return (str(item["domain"]), date.fromisoformat(str(item["day"]))) if item else None
