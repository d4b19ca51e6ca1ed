"""The local console of `leadflow serve`: find a lead, then read its page.

    GET /_sandbox/console?q=ada&tz=Europe/Berlin     leads (search by name, address or company), the
                                                      clock, held posts, rep tasks, alerts
    GET /_sandbox/console/lead/<id>?tz=...            one lead: facts, answers, touches, tasks, timeline

Leads and reps are named (a lead's name, else its address; a rep's name), ids only in links. Every
time is shown in the zone the page asks for (`tz`, default UTC). Plain HTML and lists, no tables:
nothing scrolls sideways on a 375-px phone (tests/test_console.py measures it in Chromium).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadflow import clock
from leadflow.config import operator_config
from leadflow.local.sandbox import Sandbox
from leadflow.models import Lead
from leadflow.store import lead_items

CONSOLE = "/_sandbox/console"
ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
)
STYLE = (
    "<style>body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;padding:.75rem;max-width:64rem;"
    "overflow-wrap:anywhere}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}"
    "ul,ol{padding-left:1.2rem}li{margin:.25rem 0}input,select,button{font:inherit;max-width:100%}"
    "form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}small{color:#555}"
    ".facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem}</style>"
)
e = html.escape


def zone_of(name: str | None) -> ZoneInfo:
    """The page's zone; an unknown name falls back to UTC (the page says which zone it shows)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(value: Any, zone: ZoneInfo) -> str:
    """An ISO time (or datetime) as `Mon 23 Nov 09:00` in the page's zone; '' for none."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else clock.parse_iso(str(value))
    return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M")


def lead_name(lead: Lead | dict[str, Any]) -> str:
    fields = lead if isinstance(lead, dict) else lead.model_dump()
    name = " ".join(part for part in (fields.get("first_name"), fields.get("last_name")) if part)
    return name or str(fields.get("email") or fields.get("id"))


def rep_name(rep_id: str | None) -> str:
    names = {rep.id: rep.name for rep in operator_config().reps}
    return names.get(rep_id or "", rep_id or "-")


def _page(title: str, body: str, zone: ZoneInfo) -> str:
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(title)}</title>'
        f'{STYLE}{body}<p><small>Times in {e(str(zone))}.</small> <a href="/">lead form</a> · '
        f'<a href="/_sandbox/outbox">outbox (JSON)</a></p></html>'
    )


def _zone_picker(zone: ZoneInfo) -> str:
    options = "".join(
        f"<option{' selected' if name == str(zone) else ''}>{e(name)}</option>"
        for name in dict.fromkeys((str(zone), *ZONES))
    )
    return f'<label>times in <select name="tz">{options}</select></label>'


def reply_intent(lead: dict[str, Any]) -> str:
    """What the lead's latest reply said: intent, its line, snooze, referral."""
    if not lead.get("reply_intent"):
        return ""
    shown = f"<br>reply: <b>{e(lead['reply_intent'])}</b> ({e(lead.get('reply_intent_by') or '')})"
    if lead.get("reply_intent_line"):
        shown += f"<br><q>{e(lead['reply_intent_line'])}</q>"
    if lead.get("snoozed_until"):
        shown += f"<br>snoozed until {e(lead['snoozed_until'])}"
    if lead.get("referral"):
        shown += "<br>referral: " + e(" ".join(str(value) for value in lead["referral"].values()))
    return shown


def matches(lead: dict[str, Any], query: str) -> bool:
    wanted = query.strip().lower()
    fields = (lead_name(lead), lead.get("email"), lead.get("company"), lead.get("id"))
    return not wanted or any(wanted in str(value or "").lower() for value in fields)


def index_page(sb: Sandbox, query: str = "", zone_name: str = "UTC") -> str:
    zone = zone_of(zone_name)
    tz = quote(str(zone))
    leads = sorted(
        (
            lead
            for lead in (sb.lead(item["id"]["S"]) for item in sb._scan() if item["sk"]["S"] == "LEAD")
            if lead
        ),
        key=lambda lead: lead["created_at"],
    )
    names = {lead["id"]: lead_name(lead) for lead in leads}
    found = [lead for lead in leads if matches(lead, query)]
    rows = "".join(
        f'<li><a href="{CONSOLE}/lead/{e(lead["id"])}?tz={tz}"><b>{e(lead_name(lead))}</b></a>'
        f"{' · ' + e(lead['company']) if lead.get('company') else ''} · {e(lead['status'])}"
        f" · {e(lead.get('cadence') or 'no cadence')} · owner {e(rep_name(lead.get('owner')))}"
        f"<br><small>{e(lead.get('email') or '')} · arrived {when(lead['created_at'], zone)}</small>"
        f"{reply_intent(lead)}</li>"
        for lead in found
    )
    tasks = "".join(
        f"<li>{when(task['at'], zone)} · {e(task['channel'])} for "
        f"<b>{e(names.get(task['lead_id'], task['lead_id']))}</b> ({e(rep_name(task.get('owner')))}) · "
        f"{e(task['cadence'])} touch {task['touch']} · <b>{e(task['status'])}</b> · "
        f'<a href="{e(task["link"])}">open</a></li>'
        for task in sb.tasks()
    )
    alerts = "".join(
        f"<li>{when(note['at'], zone)} · {e(rep_name(note['rep']))} · "
        f"<b>{e(names.get(note['lead_id'] or '', ''))}</b> "
        f"{e((note['subject'] or note['message'] or '')[:120])}</li>"
        for note in sb.rep_alerts()
    )
    held = "".join(
        f"<li>{when(post['received_at'], zone)} · {e(post['limit'])} · {e(post['burst'])} · "
        f"{e(post['submission']['email'])} · {e(post['submission'].get('form') or '-')} · "
        f"<small>{e(post['id'])}</small></li>"
        for post in sb.held_posts()
    )
    ops = "".join(
        f"<li>{when(note['at'], zone)} · {e(note['subject'] or '')}</li>" for note in sb.ops_alerts()
    )
    buttons = "".join(
        f'<button name="advance" value="{seconds}">+{label}</button>'
        for seconds, label in ((3600, "1 hour"), (86400, "1 day"), (7 * 86400, "1 week"))
    )
    body = (
        f"<h1>leadflow console</h1><p>Simulated time <b>{when(sb.now(), zone)}</b></p>"
        f'<form method="post" action="/_sandbox/clock">{buttons}</form>'
        f'<h2>Leads ({len(found)} of {len(leads)})</h2><form method="get" action="{CONSOLE}">'
        f'<input type="search" name="q" value="{e(query)}" placeholder="name, address or company">'
        f"{_zone_picker(zone)}<button>Search</button></form><ul>{rows or '<li>none</li>'}</ul>"
        "<h2>Held posts</h2><p>Over a post limit: stored, not enrolled, flagged by <code>leadflow audit"
        "</code>. Enroll them as posted with <code>leadflow held release --all --endpoint-url ...</code>, "
        f"or discard with <code>leadflow held dismiss ID</code>.</p><ul>{held or '<li>none</li>'}</ul>"
        f"<h2>Rep tasks</h2><ul>{tasks or '<li>none</li>'}</ul>"
        f"<h2>Rep alerts</h2><ul>{alerts or '<li>none</li>'}</ul>"
        f"<h2>Ops alerts</h2><ul>{ops or '<li>none</li>'}</ul>"
    )
    return _page("leadflow console", body, zone)


def lead_page(sb: Sandbox, lead_id: str, zone_name: str = "UTC") -> str | None:
    """One lead's page, or None for an unknown id."""
    from leadflow.report.timeline import timeline

    zone = zone_of(zone_name)
    lead = lead_items.get_lead(lead_id)
    if lead is None:
        return None
    shown = timeline(lead)
    facts = {
        "address": lead.email,
        "company": lead.company,
        "title": lead.title,
        "status": f"{lead.status.value}" + (f" ({lead.status_reason})" if lead.status_reason else ""),
        "owner": rep_name(lead.owner),
        "source": lead.source,
        "fit": f"{lead.band.value} ({lead.score})",
        "lead's zone": lead.timezone,
        "arrived": when(lead.created_at, zone),
    }
    rows = "".join(f"<dt>{e(name)}</dt><dd>{e(str(value))}</dd>" for name, value in facts.items() if value)
    runs = "".join(
        f"<li>{e(run.cadence)} #{run.number} · <b>{e(run.status)}</b>"
        f"{' (' + e(run.reason) + ')' if run.reason else ''} · started {when(run.started_at, zone)}"
        f"{' · ended ' + when(run.ended_at, zone) if run.ended_at else ''}</li>"
        for run in shown.enrollments
    )
    touches = "".join(
        f"<li>{when(touch.at, zone)} · {e(touch.channel)} · {e(touch.template.rpartition('/')[2])} · "
        f"<b>{e(touch.status)}</b>{' · ' + e(touch.outcome) if touch.outcome else ''}"
        + "".join(f" · {e(kind)} {count}" for kind, count in touch.engagement.items())
        + "</li>"
        for touch in shown.touches
    )
    tasks = "".join(
        f"<li>{when(task['at'], zone)} · {e(task['channel'])} · {e(task['cadence'])} touch {task['touch']} · "
        f'<b>{e(task["status"])}</b> · <a href="{e(task["link"])}">open</a></li>'
        for task in sb.tasks()
        if task["lead_id"] == lead_id
    )
    answers = [event for event in shown.events if event.get("type") in ANSWERS]
    answered = "".join(
        f"<li>{when(event.get('at'), zone)} · {e(str(event.get('type')))}</li>" for event in answers
    )
    events = "".join(
        f"<li>{when(event.get('at'), zone)} · {e(str(event.get('type')))}"
        f"{' · touch ' + str(event['touch']) if event.get('touch') is not None else ''}</li>"
        for event in shown.events
    )
    tz = quote(str(zone))
    body = (
        f'<p><a href="{CONSOLE}?tz={tz}">← all leads</a></p><h1>{e(lead_name(lead))}</h1>'
        f'<form method="get">{_zone_picker(zone)}<button>Show</button></form>'
        f"<dl class=facts>{rows}</dl>"
        f"<h2>Answers</h2><p>{reply_intent(shown.lead)[4:] or 'No reply yet.'}</p>"
        f"<ul>{answered or '<li>none</li>'}</ul>"
        f"<h2>Cadences</h2><ul>{runs or '<li>none</li>'}</ul>"
        f"<h2>Touches</h2><ol>{touches or '<li>none yet</li>'}</ol>"
        f"<h2>Rep tasks</h2><ul>{tasks or '<li>none</li>'}</ul>"
        f"<h2>Timeline</h2><ol>{events or '<li>nothing yet</li>'}</ol>"
    )
    return _page(f"{lead_name(lead)} · leadflow console", body, zone)


# Event types that are the lead's (or its calendar's) answer, for the Answers section.
ANSWERS = frozenset(
    {
        "reply",
        "replied",
        "connected",
        "unsubscribe",
        "complaint",
        "consent_withdrawn",
        "bounce",
        "bounced",
        "auto_reply",
        "out_of_office",
        "meeting_booked",
        "meeting",
        "meeting_canceled",
        "meeting_cancelled",
        "no_show",
        "untrusted_mail",
        "stage_sql",
        "stage_opportunity",
        "stage_won",
        "stage_lost",
    }
)
