"""A rep's queue page: GET /queue/{rep_id}?token=… (issue 25).

Open tasks in due order, overdue on top, each with the lead's context (as on the task page), the
booked meeting's time and the notes left on the lead's earlier tasks, and its outcome buttons (with
a note), which post to the task's own signed link. A wrong or old token (the rep's
`queue_link_version` raised) gets 403 and shows nothing.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.intake.routes.tasks import _html, _json, lead_context
from leadflow import clock, keys
from leadflow.cadence.terms import Channel
from leadflow.config import operator_config
from leadflow.models import MeetingStatus, TaskOutcome
from leadflow.send.alerts import local_time
from leadflow.send.queue import open_tasks
from leadflow.store import enrollment_items, lead_items, task_items

router = Router()


@router.get("/queue/<rep_id>")
def show_queue(rep_id: str) -> Response[Any]:
    token = (router.current_event.query_string_parameters or {}).get("token")
    rep = next((rep for rep in operator_config().reps if rep.id == rep_id), None)
    if rep is None or not keys.valid_queue_token(rep_id, rep.queue_link_version, token):
        return _json(403, {"message": "Invalid or missing token."})
    now = clock.now()
    zone = rep.hours.timezone
    tasks = open_tasks(rep_id, now)
    overdue = [task for task in tasks if task.due_at <= now]
    upcoming = [task for task in tasks if task.due_at > now]
    sections = [
        f"<p>{len(tasks)} open · {len(overdue)} overdue · as of {html.escape(local_time(now, zone))}</p>"
    ]
    for title, group in (("Overdue", overdue), ("Coming up", upcoming)):
        if group:
            sections.append(f"<h2>{title}</h2>")
            sections.extend(_row(task, zone) for task in group)
    if not tasks:
        sections.append("<p>Nothing open.</p>")
    return _html(200, f"{html.escape(rep.name)}: tasks", "".join(sections))


def _row(task: Any, zone: str) -> str:
    if task.channel == Channel.MANUAL_EMAIL.value:
        return _draft_row(task, zone)
    lead = lead_items.get_lead(task.lead_id)
    context = ""
    if lead:
        context = lead_context(lead, enrollment_items.touches(lead.id), zone) + _history(lead.id, zone)
    buttons = "".join(
        f'<button name="outcome" value="{outcome.value}">{outcome.value.replace("_", " ")}</button> '
        for outcome in TaskOutcome
    )
    action = f"../tasks/{quote(task.id)}?token={quote(keys.task_token(task.id))}"
    return (
        f"<section><h3>{html.escape(task.channel)} · due {html.escape(local_time(task.due_at, zone))}</h3>"
        f"<p>{html.escape(task.instruction)}</p>{context}"
        f'<form method="post" action="{html.escape(action)}">'
        '<p><label>Note <input name="note" maxlength="1000"></label></p>'
        f"<p>{buttons}</p></form></section><hr>"
    )


def _draft_row(task: Any, zone: str) -> str:
    """An email draft the rep writes (manual_email): its subject and a link to edit, send or skip it
    on its own page (sending takes the whole text; the list stays short)."""
    lead = lead_items.get_lead(task.lead_id)
    context = (
        lead_context(lead, enrollment_items.touches(lead.id), zone) + _history(lead.id, zone) if lead else ""
    )
    link = f"../tasks/{quote(task.id)}?token={quote(keys.task_token(task.id))}"
    return (
        f"<section><h3>email draft · due {html.escape(local_time(task.due_at, zone))}</h3>"
        f"<p>“{html.escape(task.subject or '')}”</p><p>{html.escape(task.instruction)}</p>"
        f'<p><a href="{html.escape(link)}">Edit and send, or skip</a></p>{context}</section><hr>'
    )


def _history(lead_id: str, zone: str) -> str:
    """The lead's meeting, if one is booked, and the notes reps left on its earlier tasks."""
    meetings = [
        enrollment.meeting
        for enrollment in enrollment_items.enrollments(lead_id)
        if enrollment.meeting is not None and enrollment.meeting.status is MeetingStatus.BOOKED
    ]
    notes = sorted(
        (task for task in task_items.tasks(lead_id) if task.note and task.outcome_at),
        key=lambda task: task.outcome_at or task.due_at,
    )
    facts = [("Meeting", html.escape(local_time(meetings[-1].starts_at, zone)))] if meetings else []
    facts += [
        (
            "Note",
            f"{html.escape(local_time(task.outcome_at or task.due_at, zone))} "
            f"({html.escape(task.status.value)}): {html.escape(task.note or '')}",
        )
        for task in notes
    ]
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return f"<dl>{rows}</dl>" if facts else ""
