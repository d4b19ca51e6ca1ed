"""The manager's daily list of leads never called (config speed_to_lead.manager).

On the sweep's hourly run: the first run inside the manager's working hours of a local day sends
one alert listing every speed-to-lead call task still without an outcome whose due time passed in
the last LOOKBACK_DAYS. A marker per manager-local day (a conditional put, before the publish)
makes it once a day: a failed publish loses that day's list, never sends two.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow import clock
from leadflow.config import operator_config
from leadflow.models import Lead, TaskStatus
from leadflow.observability import logger
from leadflow.send.alerts import MANAGER, AlertKind, local_time, publish_rep_alert, waited
from leadflow.store import event_items, lead_items
from leadflow.store.items import put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY

SPEED_TOUCH = 0  # speed.SPEED_TOUCH (that module imports the task links' signing key)
# Older uncalled leads have been on a week of lists already.
LOOKBACK_DAYS = 7
FIELDS = ("kind", "lead_id", "touch", "status", "due_at", "owner", "created_at")


def send_daily_list(now: datetime) -> int | None:
    """Send today's list if due; returns how many leads it named, None when nothing was due."""
    manager = operator_config().speed_to_lead.manager
    if manager is None or not manager.hours.working(now):
        return None
    day = now.astimezone(ZoneInfo(manager.hours.timezone)).date()
    uncalled = never_called(now)
    if not put_new(
        {PARTITION_KEY: f"NEVER_CALLED#{day.isoformat()}", SORT_KEY: "LIST", "at": clock.iso(now)}
    ):
        return None  # sent earlier today
    zone = manager.hours.timezone
    lines = [
        f"Leads who asked to talk to someone and were never called: {len(uncalled)} "
        f"(as of {local_time(now, zone)}).",
        "",
    ]
    for lead, due, posted in uncalled:
        lines.append(_line(lead, due, posted, now, zone))
    if not uncalled:
        lines.append("None: every speed-to-lead call has an outcome.")
    publish_rep_alert(MANAGER, AlertKind.NEVER_CALLED, "\n".join(lines), {"count": str(len(uncalled))})
    logger.info("never-called list sent", extra={"count": len(uncalled)})
    return len(uncalled)


def never_called(now: datetime) -> list[tuple[Lead, datetime, datetime]]:
    """(lead, due, posted) of every open speed-to-lead call due in the last LOOKBACK_DAYS, oldest first."""
    found: list[tuple[str, datetime, datetime]] = []
    start = now - timedelta(days=LOOKBACK_DAYS)
    for page in event_items.items_between(clock.iso(start), clock.iso(now), FIELDS):
        for item in page:
            if (
                item.get("kind") == "task"
                and int(item.get("touch", -1)) == SPEED_TOUCH
                and item.get("status") == TaskStatus.OPEN.value
            ):
                due = clock.parse_iso(item["due_at"])
                posted = clock.parse_iso(item.get("created_at") or item["due_at"])
                found.append((item["lead_id"], due, posted))
    leads = []
    for lead_id, due, posted in sorted(found, key=lambda entry: entry[1]):
        lead = lead_items.get_lead(lead_id)
        if lead is not None:
            leads.append((lead, due, posted))
    return leads


def _line(lead: Lead, due: datetime, posted: datetime, now: datetime, zone: str) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or lead.email
    owner = next((rep.name for rep in operator_config().reps if rep.id == lead.owner), "unassigned")
    return (
        f"- {name} ({lead.company or '-'}), {lead.phone or 'no phone'}, {lead.email}: owner {owner}, "
        f"posted {local_time(posted, zone)}, call due {local_time(due, zone)}, waiting {waited(posted, now)}"
    )
