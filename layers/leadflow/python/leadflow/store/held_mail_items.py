"""Held mail: unproven inbound mail waiting for the lead's owner to confirm or dismiss it.

(Not held posts, store.held_items: form posts over an abuse limit.)
"""

from __future__ import annotations

from datetime import datetime

from leadflow.clock import iso
from leadflow.models import HeldMail, HeldMailStatus
from leadflow.store.items import lead_item, lead_pk, put_new, serialize, ttl, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY


def _sk(mail_id: str) -> str:
    return f"HELDMAIL#{mail_id}"


def put_held(held: HeldMail) -> bool:
    """Store held mail once; False when the same mail is already held (a redelivered notification)."""
    return put_new(
        {
            PARTITION_KEY: lead_pk(held.lead_id),
            SORT_KEY: _sk(held.mail_id),
            **serialize(held),
            **ttl("lead", held.held_at),
        }
    )


def get_held(lead_id: str, mail_id: str) -> HeldMail | None:
    item = lead_item(lead_id, _sk(mail_id))
    return HeldMail.model_validate(item) if item else None


def decide(lead_id: str, mail_id: str, status: HeldMailStatus, at: datetime) -> HeldMail | None:
    """Move held mail to confirmed or dismissed; None when it was decided already (the first click wins)."""
    item = update_if(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: _sk(mail_id)},
        UpdateExpression="SET #status = :new, decided_at = :at",
        ConditionExpression="#status = :held",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":new": status.value, ":at": iso(at), ":held": HeldMailStatus.HELD.value},
    )
    return HeldMail.model_validate(item) if item else None
