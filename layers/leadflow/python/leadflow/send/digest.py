"""Each rep's morning digest: on their working days, between 07:00 and 09:30 their time, one email
(SES, from the product's sender to the rep's alert address) with the day's open tasks, overdue on
top, and their signed queue link. Sent by the sweep's hourly run.

Once per rep and local day: a conditional claim (DIGEST#<rep>#<day>) under a lease before the send,
marked sent after it. A run that failed before SES accepted the mail leaves the claim to lapse and
the next hourly run in the window sends it; one that crashed between SES's answer and the mark can
send it twice (SES sends are not idempotent), never zero times while the window lasts.
"""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow import clock
from leadflow.config import operator_config, settings
from leadflow.models import Lead, Task
from leadflow.operator_config import Rep
from leadflow.send import mail
from leadflow.send.alerts import local_time
from leadflow.send.queue import open_tasks, queue_link
from leadflow.store import lead_items
from leadflow.store.items import put_if, update_if
from leadflow.store.table import PARTITION_KEY, SORT_KEY

WINDOW = (time(7, 0), time(9, 30))
LEASE = timedelta(minutes=15)


def send_digests(now: datetime) -> int:
    """Send the digest of every rep whose morning it is and who has not had today's; returns how many."""
    return sum(1 for rep in operator_config().reps if _send(rep, now))


def _send(rep: Rep, now: datetime) -> bool:
    zone = ZoneInfo(rep.hours.timezone)
    local = now.astimezone(zone)
    if not (WINDOW[0] <= local.time() < WINDOW[1]) or not rep.hours.working_day(local.date()):
        return False
    key = {PARTITION_KEY: f"DIGEST#{rep.id}#{local.date().isoformat()}", SORT_KEY: "DIGEST"}
    if not _claim(key, now):
        return False
    day_end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    today = [task for task in open_tasks(rep.id, now) if task.due_at < day_end]
    overdue = sum(1 for task in today if task.due_at <= now)
    rows = [(task, lead_items.get_lead(task.lead_id)) for task in today]
    subject = f"Your tasks for today: {len(today)} ({overdue} overdue)"
    message = mail.build_message(
        sender=settings().sender,
        to=str(rep.alert_email or rep.email),
        subject=subject,
        text=_text(rep, rows, now, overdue),
        html=_html(rep, rows, now, overdue),
    )
    mail.send(message, tags={"kind": "digest", "rep": rep.id})
    update_if(
        Key=key, UpdateExpression="SET sent_at = :at", ExpressionAttributeValues={":at": clock.iso(now)}
    )
    return True


def _claim(key: dict[str, str], now: datetime) -> bool:
    """Today's digest is this run's: never claimed, or claimed by a run that did not send in its lease."""
    return put_if(
        Item={**key, "lease_until": clock.iso(now + LEASE)},
        ConditionExpression="attribute_not_exists(#pk) "
        "OR (attribute_not_exists(sent_at) AND lease_until <= :now)",
        ExpressionAttributeNames={"#pk": PARTITION_KEY},
        ExpressionAttributeValues={":now": clock.iso(now)},
    )


def _name(task: Task, lead: Lead | None) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) if lead else ""
    return name or (lead.email if lead else task.lead_id)


def _greeting(rep: Rep, count: int, overdue: int, now: datetime) -> str:
    return (
        f"Good morning {rep.name.split()[0]}: {count} open task{'s' if count != 1 else ''} for today "
        f"({overdue} overdue), as of {local_time(now, rep.hours.timezone)}."
    )


def _text(rep: Rep, rows: list[tuple[Task, Lead | None]], now: datetime, overdue: int) -> str:
    lines = [_greeting(rep, len(rows), overdue, now), f"Your queue: {queue_link(rep.id)}", ""]
    for task, lead in rows:
        company = f" ({lead.company})" if lead and lead.company else ""
        phone = f", {lead.phone}" if lead and lead.phone else ""
        late = "OVERDUE " if task.due_at <= now else ""
        due = local_time(task.due_at, rep.hours.timezone)
        lines.append(f"- {late}{due}: {task.channel} {_name(task, lead)}{company}{phone}")
    return "\n".join(lines) + "\n"


def _html(rep: Rep, rows: list[tuple[Task, Lead | None]], now: datetime, overdue: int) -> str:
    items = []
    for task, lead in rows:
        phone = ""
        if lead and lead.phone:
            phone = f' · <a href="tel:{html.escape(lead.phone)}">{html.escape(lead.phone)}</a>'
        company = f" ({html.escape(lead.company)})" if lead and lead.company else ""
        late = "<b>overdue</b> " if task.due_at <= now else ""
        due = html.escape(local_time(task.due_at, rep.hours.timezone))
        who = html.escape(_name(task, lead))
        items.append(f"<li>{late}{due}: {html.escape(task.channel)} {who}{company}{phone}</li>")
    link = html.escape(queue_link(rep.id))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='font-family:sans-serif;max-width:40em;overflow-wrap:anywhere'>"
        f"<p>{html.escape(_greeting(rep, len(rows), overdue, now))}</p>"
        f'<p><a href="{link}">Open your queue</a></p>'
        + (f"<ul>{''.join(items)}</ul>" if items else "<p>Nothing due today.</p>")
        + "</body></html>"
    )
