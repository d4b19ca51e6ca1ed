"""Each rep's morning digest: on their working days, between 07:00 and 09:30 their time, one
alert (their alert subscriptions: email, SMS if given) with the day's open tasks and their queue
link. Sent by the sweep's hourly run; a marker per rep and local day makes it once a day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.config import operator_config
from leadflow.operator_config import Rep
from leadflow.send.alerts import AlertKind, local_time, publish_rep_alert
from leadflow.send.queue import open_tasks, queue_link
from leadflow.store import lead_items
from leadflow.store.items import put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY

WINDOW = (time(7, 0), time(9, 30))


def send_digests(now: datetime) -> int:
    """Send the digest of every rep whose morning it is and who has not had today's; returns how many."""
    return sum(1 for rep in operator_config().reps if _send(rep, now))


def _send(rep: Rep, now: datetime) -> bool:
    zone = ZoneInfo(rep.hours.timezone)
    local = now.astimezone(zone)
    if not (WINDOW[0] <= local.time() < WINDOW[1]) or not rep.hours.working_day(local.date()):
        return False
    if not put_new({PARTITION_KEY: f"DIGEST#{rep.id}#{local.date().isoformat()}", SORT_KEY: "DIGEST"}):
        return False
    day_end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    today = [task for task in open_tasks(rep.id, now) if task.due_at < day_end]
    overdue = sum(1 for task in today if task.due_at <= now)
    lines = [
        f"Good morning {rep.name.split()[0]}: {len(today)} open task{'s' if len(today) != 1 else ''} "
        f"for today ({overdue} overdue), as of {local_time(now, rep.hours.timezone)}.",
        f"Your queue: {queue_link(rep.id)}",
        "",
    ]
    for task in today:
        lead = lead_items.get_lead(task.lead_id)
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) if lead else ""
        company = f" ({lead.company})" if lead and lead.company else ""
        phone = f", {lead.phone}" if lead and lead.phone else ""
        due = local_time(task.due_at, rep.hours.timezone)
        lines.append(f"- {due}: {task.channel} {name or task.lead_id}{company}{phone}")
    publish_rep_alert(rep.id, AlertKind.MORNING_DIGEST, "\n".join(lines), {"count": str(len(today))})
    return True
