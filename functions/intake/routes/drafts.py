"""A draft the rep writes (manual_email), sent or skipped from its task page (issue 25, item 5).

    POST /tasks/{task_id}/draft?token=…   action=send|skip, subject, body (form post or JSON)

The task's signed link is the credential (403 when forged, 410 when expired; never 5xx). POST
only: the page's GET shows the form, and a mail scanner opening the link sends nothing. A body
that fails validation gets 422 with a message per field; a draft already sent, skipped, expired,
or whose lead stopped gets 409 and a page saying so. The sending itself is leadflow.send.drafts.
"""

from __future__ import annotations

import html
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError

from functions.intake.routes.tasks import _field_errors, _html, _is_form, _json, _signed_body
from leadflow.answers import task_outcomes
from leadflow.observability import count
from leadflow.send import drafts

router = Router()


@router.post("/tasks/<task_id>/draft")
def post_draft(task_id: str) -> Response[Any]:
    raw = _signed_body(task_id, 'Send {"action": "send", "subject": "...", "body": "..."} or a form post.')
    if isinstance(raw, Response):
        return raw
    try:
        post = drafts.DraftPost.model_validate(raw)
        subject, body = post.to_send() if post.action == "send" else ("", "")
    except ValidationError as error:
        return _invalid(_field_errors(error))
    except ValueError as empty:
        return _invalid([{"field": str(empty), "message": f"the {empty} may not be empty"}])
    try:
        task = task_outcomes.find_task(task_id)
        done = drafts.send_draft(task, subject, body) if post.action == "send" else drafts.skip_draft(task)
    except task_outcomes.TaskNotFound:
        return _json(404, {"message": "No such task."})
    except drafts.Refused as refused:
        if _is_form():
            return _html(refused.status, "Not sent", f"<p>{html.escape(refused.message)}</p>")
        return _json(refused.status, {"message": refused.message})
    count("Drafts", outcome=done.status.value)
    if _is_form():
        text = (
            f"Sent: “{done.subject}” went to the lead in their thread."
            if post.action == "send"
            else "Skipped: nothing was sent; the touch counts as skipped."
        )
        return _html(200, "Draft " + done.status.value, f"<p>{html.escape(text)}</p>")
    return _json(200, {"task_id": done.id, "status": done.status.value})


def _invalid(errors: list[dict[str, str]]) -> Response[Any]:
    if _is_form():
        items = "".join(f"<li>{html.escape(e['field'])}: {html.escape(e['message'])}</li>" for e in errors)
        return _html(422, "Not sent", f"<p>Nothing was sent. Go back and fix:</p><ul>{items}</ul>")
    return _json(422, {"message": "Invalid draft.", "errors": errors})
