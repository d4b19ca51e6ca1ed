"""A rep corrects what a reply said, through the signed link of the reply's alert (issue 24).

    GET  /replies/{lead_id}?token=…   the reply's intent and deciding line, one button per intent
    POST /replies/{lead_id}?token=…   intent=not_interested (a form post, or JSON {"intent": …})

GET changes nothing (link scanners follow links). The token is a task-link token for
`reply-{lead_id}` (same key, same expiry); a wrong one gets 403, an old one 410. The correction is
what the report counts; an opt-out stays final.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ValidationError

from functions.intake.routes.pages import HTML, PAGE_HEADERS
from leadflow import clock, keys
from leadflow.answers import reply_actions
from leadflow.answers.intent import Intent
from leadflow.observability import count
from leadflow.store import lead_items

router = Router()


class Correction(BaseModel):
    intent: Intent


def _respond(status: int, message: str, page: bool) -> Response[Any]:
    if page:
        body = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Reply</title>"
            "<meta name='robots' content='noindex'></head><body style='font-family:sans-serif;max-width:40em;"
            f"margin:2em auto'>{message}</body></html>"
        )
        return Response(status, HTML, body, headers=PAGE_HEADERS)
    return Response(status, content_types.APPLICATION_JSON, {"message": message}, headers=PAGE_HEADERS)


def _is_form() -> bool:
    content_type = router.current_event.get_header_value(
        "content-type", default_value="", case_sensitive=False
    )
    return (content_type or "").startswith("application/x-www-form-urlencoded")


def _refused(lead_id: str, page: bool) -> Response[Any] | None:
    token = (router.current_event.query_string_parameters or {}).get("token")
    status = reply_actions.correction_link_status(lead_id, token)
    if status is keys.TaskLink.VALID:
        return None
    if status is keys.TaskLink.EXPIRED:
        return _respond(410, "This link has expired. Nothing was changed.", page)
    return _respond(403, "Invalid or missing token.", page)


@router.get("/replies/<lead_id>")
def show_reply(lead_id: str) -> Response[Any]:
    refused = _refused(lead_id, page=True)
    if refused:
        return refused
    lead = lead_items.get_lead(lead_id)
    if lead is None or lead.reply_intent is None:
        return _respond(404, "<p>No reply of this lead is on record.</p>", page=True)
    token = html.escape((router.current_event.query_string_parameters or {}).get("token") or "")
    buttons = "".join(
        f'<button name="intent" value="{intent.value}">{intent.value.replace("_", " ")}</button> '
        for intent in Intent
        if intent.value != lead.reply_intent
    )
    line = f"<p><q>{html.escape(lead.reply_intent_line)}</q></p>" if lead.reply_intent_line else ""
    snooze = f"<p>Snoozed until {lead.snoozed_until.isoformat()}.</p>" if lead.snoozed_until else ""
    return _respond(
        200,
        f"<h1>What did the reply mean?</h1><p>Read as <b>{html.escape(lead.reply_intent)}</b> "
        f"(by {html.escape(lead.reply_intent_by or '-')}).</p>{line}{snooze}"
        f'<form method="post" action="{html.escape(lead_id)}?token={token}">'
        f"<p>It meant: {buttons}</p></form>",
        page=True,
    )


@router.post("/replies/<lead_id>")
def correct_reply(lead_id: str) -> Response[Any]:
    page = _is_form()
    refused = _refused(lead_id, page)
    if refused:
        return refused
    body = router.current_event.decoded_body or ""
    try:
        raw = (
            {name: values[-1] for name, values in parse_qs(body).items()}
            if page
            else json.loads(body or "{}")
        )
        correction = Correction.model_validate(raw)
    except (ValueError, ValidationError):
        names = ", ".join(intent.value for intent in Intent)
        return _respond(422, html.escape(f"Send intent, one of: {names}."), page)
    lead = lead_items.get_lead(lead_id)
    if lead is None:
        return _respond(404, "No such lead.", page)
    try:
        done = reply_actions.correct(lead, correction.intent, clock.now())
    except reply_actions.NoReply:
        return _respond(404, "No reply of this lead is on record.", page)
    count("ReplyIntentCorrected", intent=correction.intent.value)
    if page:
        return _respond(200, f"<p>Recorded: {html.escape('; '.join(done))}.</p>", page)
    return Response(
        200,
        content_types.APPLICATION_JSON,
        {"lead_id": lead_id, "intent": correction.intent.value, "done": done},
        headers=PAGE_HEADERS,
    )
