"""Rep task outcomes through the signed link of the task alert.

    GET  /tasks/{task_id}?token=…   a small page with the task and one button per outcome
    POST /tasks/{task_id}?token=…   {"outcome": "connected", "note": "…"} (JSON or a form post)

A missing or wrong token gets 403 and changes nothing; a link older than the configured days
(operator config `tasks.link_expiry_days`, default 30) gets 410 and a page saying so. The token is
in the URL: every answer is `no-store` and `no-referrer`.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from functions.intake.routes.pages import HTML, PAGE_HEADERS
from leadflow import keys
from leadflow.answers import task_outcomes
from leadflow.cadence.terms import Channel
from leadflow.config import operator_config
from leadflow.models import Lead, Task, TaskOutcome, TaskStatus, Touch
from leadflow.observability import count, metrics
from leadflow.send.alerts import local_time
from leadflow.store import enrollment_items, lead_items

router = Router()


class OutcomePost(BaseModel):
    outcome: TaskOutcome
    note: str | None = Field(None, max_length=2000)
    # meeting_booked: when the meeting starts. Without an offset (the page's date-time field) it is
    # the lead's local time. Post-meeting follow-up runs on the meeting's clock.
    meeting_at: datetime | None = None
    meeting_minutes: int = Field(30, ge=5, le=480)

    @field_validator("meeting_at", "note", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _meeting_only_when_booked(self) -> OutcomePost:
        if self.meeting_at is not None and self.outcome is not TaskOutcome.MEETING_BOOKED:
            raise ValueError("meeting_at goes with the outcome meeting_booked")
        return self


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, body, headers=PAGE_HEADERS)


def _html(status: int, title: str, body: str) -> Response[Any]:
    return Response(status, HTML, _page(title, body), headers=PAGE_HEADERS)


def _forbidden(task_id: str, page: bool = False) -> Response[Any] | None:
    token = (router.current_event.query_string_parameters or {}).get("token")
    status = keys.task_link_status(task_id, token)
    if status is keys.TaskLink.VALID:
        return None
    if status is keys.TaskLink.EXPIRED:
        metrics.add_metric(name="TaskLinkExpired", unit="Count", value=1)
        days = operator_config().tasks.link_expiry_days
        message = (
            f"This task link has expired: links work for {days} days after the task was created. "
            "Nothing was changed. Record the outcome in your CRM, or ask your admin for the task."
        )
        if page or _is_form():
            return _html(410, "Task link expired", f"<p>{html.escape(message)}</p>")
        return _json(410, {"message": message})
    metrics.add_metric(name="TaskLinkForbidden", unit="Count", value=1)
    return _json(403, {"message": "Invalid or missing token."})


def _is_form() -> bool:
    content_type = router.current_event.get_header_value(
        "content-type", default_value="", case_sensitive=False
    )
    return (content_type or "").startswith("application/x-www-form-urlencoded")


def _parse_body() -> dict[str, Any] | None:
    body = router.current_event.decoded_body or ""
    if _is_form():
        return {name: values[-1] for name, values in parse_qs(body).items()}
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _signed_body(task_id: str, usage: str) -> dict[str, Any] | Response[Any]:
    """What was posted to the task's signed link, or the answer refusing it: 403 or 410 for a forged
    or expired link, 400 (`usage` says what to send) for neither a form post nor a JSON object."""
    forbidden = _forbidden(task_id)
    if forbidden:
        return forbidden
    raw = _parse_body()
    if raw is None:
        return _json(400, {"message": usage})
    return raw


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    """One {field, message} per problem, the field as a dotted path."""
    return [
        {"field": ".".join(str(part) for part in problem["loc"]), "message": problem["msg"]}
        for problem in error.errors()
    ]


@router.post("/tasks/<task_id>")
def post_outcome(task_id: str) -> Response[Any]:
    raw = _signed_body(task_id, 'Send {"outcome": "..."} as JSON or a form post.')
    if isinstance(raw, Response):
        return raw
    try:
        post = OutcomePost.model_validate(raw)
    except ValidationError as error:
        return _json(422, {"message": "Invalid outcome.", "errors": _field_errors(error)})
    try:
        task, stopped = task_outcomes.record_outcome(
            task_id, post.outcome, post.note, post.meeting_at, post.meeting_minutes
        )
    except task_outcomes.TaskNotFound:
        return _json(404, {"message": "No such task."})
    except task_outcomes.TaskClosed as closed:
        return _json(409, {"message": f"The task is already {closed.task.status.value}."})
    except task_outcomes.DraftTask:
        return _json(409, {"message": "An email draft is sent or skipped on its page, not given an outcome."})
    count("TaskOutcomes", outcome=post.outcome.value)
    if _is_form():
        text = f"Recorded: {post.outcome.value}." + (" The cadence is stopped." if stopped else "")
        if post.outcome is TaskOutcome.MEETING_BOOKED and post.meeting_at is None:
            text += " Add the meeting's time (same page) so the post-meeting follow-up can start after it."
        return _html(200, "Task updated", f"<p>{html.escape(text)}</p>")
    return _json(200, {"task_id": task.id, "status": task.status.value, "stopped": stopped})


@router.get("/tasks/<task_id>")
def show_task(task_id: str) -> Response[Any]:
    forbidden = _forbidden(task_id, page=True)
    if forbidden:
        return forbidden
    try:
        task = task_outcomes.find_task(task_id)
    except task_outcomes.TaskNotFound:
        return _json(404, {"message": "No such task."})
    token = html.escape((router.current_event.query_string_parameters or {}).get("token") or "")
    zone = task_outcomes.task_zone(task)
    buttons = "".join(
        f'<button name="outcome" value="{outcome.value}">{outcome.value.replace("_", " ")}</button> '
        for outcome in TaskOutcome
    )
    lead = lead_items.get_lead(task.lead_id)
    rep_zone = _rep_zone(task.owner)
    if task.channel == Channel.MANUAL_EMAIL.value:
        return _html(200, "Email draft", draft_page(task, token, lead, rep_zone))
    body = (
        f"<p><b>{html.escape(task.channel)}</b> · {html.escape(task.cadence)} · touch {task.touch}"
        f" · status <b>{html.escape(task.status.value)}</b>"
        f" · due {html.escape(local_time(task.due_at, rep_zone))}</p>"
        f"<p>{html.escape(task.instruction)}</p>"
        + (lead_context(lead, enrollment_items.touches(lead.id), rep_zone) if lead else "")
        # Relative to this page: it posts back to the same stage path wherever the API is served.
        + f'<form method="post" action="{html.escape(task_id)}?token={token}">'
        '<p><textarea name="note" rows="3" placeholder="Note (optional)"></textarea></p>'
        f"<p><label>Meeting booked? Its start, the lead's time ({html.escape(zone)}): "
        '<input type="datetime-local" name="meeting_at"></label> '
        '<label>minutes <input type="number" name="meeting_minutes" value="30" min="5" max="480">'
        "</label></p>"
        f"<p>{buttons}</p></form>"
    )
    return _html(200, "Task", body)


def draft_page(task: Task, token: str, lead: Lead | None, zone: str) -> str:
    """A draft the rep writes (manual_email): edit subject and body, then send or skip (POST only:
    mail scanners open links, and a GET must never send). Once worked, the text as it went."""
    head = (
        f"<p><b>email draft</b> · {html.escape(task.cadence)} · touch {task.touch}"
        f" · status <b>{html.escape(task.status.value)}</b>"
        f" · due {html.escape(local_time(task.due_at, zone))}</p><p>{html.escape(task.instruction)}</p>"
    )
    context = lead_context(lead, enrollment_items.touches(lead.id), zone) if lead else ""
    if task.status is not TaskStatus.OPEN:
        sent = (
            f"<h2>{html.escape(task.subject or '')}</h2><pre style='white-space:pre-wrap'>"
            f"{html.escape(task.body or '')}</pre>"
        )
        return head + sent + context
    form = (
        f'<form method="post" action="{html.escape(task.id)}/draft?token={token}">'
        '<p><label>Subject<br><input name="subject" maxlength="200" style="width:100%" '
        f'value="{html.escape(task.subject or "", quote=True)}"></label></p>'
        '<p><label>Message<br><textarea name="body" rows="18">'
        f"{html.escape(task.body or '')}</textarea></label></p>"
        "<p>Sent from you, in the lead's thread. The footer (why they get it, one-click unsubscribe, "
        "the postal address) is added when it goes. Nothing is sent until you press send.</p>"
        '<p><button name="action" value="send">send</button> '
        '<button name="action" value="skip">skip</button></p></form>'
    )
    return head + form + context


def _rep_zone(rep_id: str | None) -> str:
    config = operator_config()
    rep = next((rep for rep in config.reps if rep.id == rep_id), config.reps[0])
    return rep.hours.timezone


def lead_context(lead: Lead, touches: list[Touch], zone: str) -> str:
    """What a rep needs before calling: who, how to reach them, what they asked, what they got."""
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or "(no name given)"
    company = lead.company or "-"
    if lead.title:
        company += f" ({lead.title})"
    phone = (
        f'<a href="tel:{html.escape(lead.phone)}">{html.escape(lead.phone)}</a>'
        if lead.phone
        else "no phone given"
    )
    facts = [
        ("Lead", f"<b>{html.escape(name)}</b> · {html.escape(company)}"),
        ("Phone", phone),
        ("Email", f'<a href="mailto:{html.escape(lead.email)}">{html.escape(lead.email)}</a>'),
        ("Form", html.escape(_form_label(lead.form) or lead.source or "-")),
        ("Message", html.escape(lead.message or "-")),
        ("Fit", f"{lead.score} ({html.escape(lead.band.value)})"),
    ]
    if lead.reply_intent:
        when = local_time(lead.reply_at, zone) if lead.reply_at else ""
        line = f" · “{html.escape(lead.reply_intent_line)}”" if lead.reply_intent_line else ""
        facts.append(("Last answer", f"{html.escape(lead.reply_intent)} {html.escape(when)}{line}"))
    else:
        facts.append(("Last answer", "none yet"))
    sent = "".join(
        f"<li>{html.escape(local_time(touch.sent_at, zone))}: {html.escape(touch.channel)} "
        f"{html.escape(touch.status.value)}"
        + (f" · “{html.escape(touch.subject)}”" if touch.subject else "")
        + "</li>"
        for touch in sorted(touches, key=lambda touch: touch.sent_at)
    )
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return f"<dl>{rows}</dl><h2>Sent so far</h2>" + (f"<ul>{sent}</ul>" if sent else "<p>Nothing yet.</p>")


def _form_label(form: str | None) -> str | None:
    entry = operator_config().form(form)
    return f"{entry.label} ({form})" if entry else form


# Phone-first: a 375-px screen shows everything without sideways scrolling (tests/test_tasks_page.py).
STYLE = (
    "body{font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em;overflow-wrap:anywhere}"
    "dt{font-weight:bold;margin-top:.5em}dd{margin:0}textarea,input{max-width:100%;box-sizing:border-box}"
    "textarea{width:100%}button{margin:.2em .2em 0 0;padding:.6em}ul{padding-left:1.2em}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='robots' content='noindex'><style>{STYLE}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )
