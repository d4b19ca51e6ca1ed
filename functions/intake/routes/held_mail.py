"""The owner's decision on held mail (leadflow.answers.held), through the signed links of its alert.

    GET  /held-mail/{held_id}?token=…&decision=confirm   the mail and one button for that decision
    POST /held-mail/{held_id}?token=…                    decision=confirm|dismiss (form post or JSON)

GET changes nothing: mail security scanners fetch every link of an alert, and both links of
one alert would then decide. One click on the page's button decides; the first decision wins,
later ones answer "already decided" and change nothing. A missing or wrong token gets 403.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.intake.routes.pages import HTML, PAGE_HEADERS
from leadflow.answers import held
from leadflow.models import HeldMail
from leadflow.observability import count

router = Router()
LABELS = {
    held.Decision.CONFIRM: "It is genuine: act on it",
    held.Decision.DISMISS: "It is not: resume the cadence",
}
DONE = {
    held.Outcome.CONFIRMED: "Confirmed: it counts as their answer. Their cadence is stopped.",
    held.Outcome.DISMISSED: "Dismissed: their cadence resumes from now.",
}


def _html(status: int, title: str, body: str) -> Response[Any]:
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='robots' content='noindex'></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:2em auto'>"
        f"<h1>{title}</h1>{body}</body></html>"
    )
    return Response(status, HTML, page, headers=PAGE_HEADERS)


def _found(held_id: str) -> HeldMail | None:
    return held.find(held_id, router.current_event.get_query_string_value("token"))


def _decision(raw: str | None) -> held.Decision | None:
    try:
        return held.Decision(raw or "")
    except ValueError:
        return None


def _posted_decision() -> held.Decision | None:
    body = router.current_event.decoded_body or ""
    content_type = router.current_event.get_header_value("content-type", default_value="") or ""
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return _decision(parsed.get("decision") if isinstance(parsed, dict) else None)
    return _decision((parse_qs(body).get("decision") or [""])[-1])


@router.get("/held-mail/<held_id>")
def show(held_id: str) -> Response[Any]:
    found = _found(held_id)
    if found is None:
        return _html(403, "Invalid link", "<p>This link is invalid. Nothing was changed.</p>")
    token = html.escape(router.current_event.get_query_string_value("token") or "")
    chosen = _decision(router.current_event.get_query_string_value("decision"))
    decisions = [chosen] if chosen else list(held.Decision)
    buttons = " ".join(
        f'<button name="decision" value="{decision.value}">{LABELS[decision]}</button>'
        for decision in decisions
    )
    what = "an unsubscribe request" if found.answer == "unsubscribe" else "a reply"
    body = (
        f"<p>Mail that reads as {what} from your lead, held because it proves nothing "
        f"({html.escape(found.why)}). Status: <b>{found.status.value}</b>.</p>"
        f"<p><b>Subject:</b> {html.escape(found.subject or '(none)')}</p>"
        f"<blockquote>{html.escape(found.text or '(no text of their own)')}</blockquote>"
        # Relative to this page: it posts back to the same stage path wherever the API is served.
        f'<form method="post" action="{html.escape(held_id)}?token={token}"><p>{buttons}</p></form>'
    )
    return _html(200, "Held mail", body)


@router.post("/held-mail/<held_id>")
def decide(held_id: str) -> Response[Any]:
    found = _found(held_id)
    if found is None:
        return _html(403, "Invalid link", "<p>This link is invalid. Nothing was changed.</p>")
    decision = _posted_decision()
    if decision is None:
        return _html(422, "Choose", "<p>Post decision=confirm or decision=dismiss.</p>")
    outcome = held.decide(found, decision)
    count("HeldMailDecisions", outcome=outcome.value)
    if outcome is held.Outcome.ALREADY:
        current = held.find(held_id, router.current_event.get_query_string_value("token")) or found
        text = f"Already decided ({current.status.value}): nothing was changed."
    else:
        text = DONE[outcome]
    return _html(200, "Held mail", f"<p>{html.escape(text)}</p>")
