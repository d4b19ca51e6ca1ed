"""Delivering the rep alerts held while their recipient was off (send.alerts, issue 25).

On every sweep (every 5 minutes): for each rep and the manager at work, the held alerts due by
now go out as one message (split only past SNS's size limit), each with the time it came in, on
the recipient's clock. Each alert is claimed under a lease before the publish and deleted after
it: a crash before the publish leaves it for the next sweep once the lease passes (never lost), a
crash between publish and delete sends it again (at least once). The audit flags any held alert
still undelivered HELD_ALERT_BOUND after it was due (cadence.audit).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadflow import clock
from leadflow.config import alert_hours
from leadflow.observability import logger
from leadflow.store import alert_items

if TYPE_CHECKING:
    from leadflow.cadence.hours import BusinessHours

# send.alerts (and the operator configuration's models it imports) comes with the first alert to
# deliver: most sweeps find none, and read only the hours of who is at work (config.alert_hours).

LEASE = timedelta(minutes=10)
# SNS takes 256 KB per message: a batch above this is split (alerts are about 1 KB each).
BATCH_BYTES = 200_000


def deliver_held(now: datetime) -> int:
    """Deliver every held alert due by `now` to its recipient at work; returns how many went out."""
    return sum(_deliver_to(person, hours, now) for person, hours in alert_hours().items())


def _deliver_to(person: str, hours: BusinessHours, now: datetime) -> int:
    if not hours.working(now):
        return 0
    claimed = [item for item in alert_items.due(person, now) if alert_items.claim(item, now, now + LEASE)]
    if not claimed:
        return 0
    from leadflow.send.alerts import SUBJECTS, AlertKind, publish_alert

    for batch in _batches(claimed):
        publish_alert(
            AlertKind.HELD_ALERTS,
            SUBJECTS[AlertKind.HELD_ALERTS],
            _message(batch, now, hours.timezone),
            {"rep": person, "count": str(len(batch))},
        )
        for item in batch:
            alert_items.delivered(item)
    logger.info("held alerts delivered", extra={"rep": person, "count": len(claimed)})
    return len(claimed)


def _batches(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    size = BATCH_BYTES
    for item in items:
        length = len(str(item["message"]).encode()) + 200
        if size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += length
    return batches


def _message(items: list[dict[str, Any]], now: datetime, zone: str) -> str:
    from leadflow.send.alerts import local_time

    count = f"{len(items)} alert{'s' if len(items) != 1 else ''}"
    lines = [f"{count} came in while you were off; your hours began, it is {local_time(now, zone)}.", ""]
    for item in items:
        held_at = clock.parse_iso(str(item["held_at"]))
        lines += [f"=== {item['subject']} (came in {local_time(held_at, zone)}) ===", str(item["message"])]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
