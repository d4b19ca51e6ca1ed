"""A rep's queue: their open tasks, overdue first, read through the by_day index (no Scan).

The page (GET /queue/{rep}?token=...) is signed per rep (keys.queue_token); no login system of
our own: the link is the credential, rotated by the rep's `queue_link_version`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from leadflow import clock, keys
from leadflow.config import operator_config, settings
from leadflow.models import Task, TaskStatus
from leadflow.store import event_items, task_items

# Tasks due this long ago still show (older ones are on the manager's list, or in the CRM) ...
LOOKBACK_DAYS = 14
# ... and those due up to this far ahead.
AHEAD_DAYS = 2
FIELDS = ("kind", "lead_id", "enrollment", "touch", "owner", "status")


def queue_link(rep_id: str) -> str:
    version = operator_config().rep(rep_id).queue_link_version
    token = keys.queue_token(rep_id, version)
    return f"{settings().public_url.rstrip('/')}/queue/{rep_id}?token={quote(token)}"


def open_tasks(rep_id: str, now: datetime) -> list[Task]:
    """The rep's open tasks due in [now - LOOKBACK_DAYS, now + AHEAD_DAYS), by due time."""
    start, end = now - timedelta(days=LOOKBACK_DAYS), now + timedelta(days=AHEAD_DAYS)
    keys_found: list[tuple[str, int, int]] = []
    for page in event_items.items_between(clock.iso(start), clock.iso(end), FIELDS):
        for item in page:
            if (
                item.get("kind") == "task"
                and item.get("owner") == rep_id
                and item.get("status") == TaskStatus.OPEN.value
            ):
                keys_found.append((item["lead_id"], int(item["enrollment"]), int(item["touch"])))
    found = [task_items.get_task(*key) for key in keys_found]
    return sorted((task for task in found if task is not None), key=lambda task: task.due_at)
