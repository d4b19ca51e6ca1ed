"""POST /leads: web forms post leads here, as JSON or as a plain HTML form.

Order of checks: media type (415), size (413), parse (400), fields (422, or 303 back to the form),
honeypot and the optional captcha (answered like a success, nothing stored), then the lead is
accepted (202, or 303 to the form's thank-you page on an allowed origin); a post over a post limit
gets the same answer and is held (leadflow.intake.held).
"""

from __future__ import annotations

import hashlib
from html import escape
from typing import Annotated, Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.intake.errors import InvalidFormPost, field_errors
from functions.intake.forms import (
    FORM,
    JSON,
    MULTIPART,
    Posted,
    honeypot_hit,
    read_post,
    request_origin,
    safe_redirect,
)
from leadflow import keys
from leadflow.config import allowed_origins, operator_config
from leadflow.intake import captcha
from leadflow.intake.submission import SubmissionRejected, accept_once
from leadflow.models import LeadSubmission, SubmissionOutcome, submission_schemas
from leadflow.observability import count, metrics

router = Router()


class Received(BaseModel):
    """The answer to every valid post: new, known, suppressed or honeypot alike."""

    status: str = Field(default="received", description="Always `received`.")
    submission_id: str = Field(description="Random id of this post; says nothing about the lead.")


# The refusals' bodies, for the OpenAPI document only (the answers are plain dicts): built when the
# document is, not on every cold start.
class Refused(BaseModel):
    model_config = ConfigDict(defer_build=True)

    message: str


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str
    type: str


class Invalid(BaseModel):
    model_config = ConfigDict(defer_build=True)

    message: str
    errors: list[FieldError]


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": model}}}


RESPONSES: dict[int, Any] = {
    202: _json(Received, "Lead received (every valid post, whatever the address)."),
    303: {
        "description": "HTML form posts: to the form's `redirect` (allowed origins only), or back to "
        "`error_redirect` with `errors` and `error_<field>` in the query string.",
        "headers": {
            "Location": {"description": "Where the browser goes next.", "schema": {"type": "string"}}
        },
        "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
    },
    400: _json(Refused, "The body is not valid JSON (or form encoding)."),
    401: _json(Refused, "An X-Api-Key header that matches no server-to-server client."),
    409: _json(Refused, "A request with this Idempotency-Key is still being processed."),
    413: _json(Refused, "The body is over 16 KiB."),
    415: _json(Refused, "Not application/json, application/x-www-form-urlencoded or multipart/form-data."),
    422: {
        "description": "Field-level errors: JSON for JSON clients (also for an Idempotency-Key reused for "
        "another lead); a plain page for an HTML form with no allowed page to go back to.",
        "content": {JSON: {"model": Invalid}, "text/html": {"schema": {"type": "string"}}},
    },
    503: {
        "description": "The table is unavailable: nothing was enrolled; send the same post again after "
        "Retry-After (a page saying so for an HTML form).",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
        "content": {JSON: {"model": Refused}, "text/html": {"schema": {"type": "string"}}},
    },
}


@router.post("/leads", summary="Post a lead from a web form", responses=RESPONSES, tags=["leads"])
def post_lead(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Retries with the same key and body get the same answer (kept 24 hours).",
        ),
    ] = None,
) -> Response[Any]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    posted = read_post(event)
    presented = event.get_header_value("x-api-key", case_sensitive=False)
    client = keys.api_client(presented)
    if presented and client is None:
        # A server-to-server caller with a wrong key: say so rather than treat it as a public post.
        return Response(401, content_types.APPLICATION_JSON, {"message": "Unknown API key."})
    token = captcha.take_token(posted.fields) if isinstance(posted.fields, dict) else None
    submission = _validate(posted)
    if honeypot_hit(posted.fields):
        # After validation: a bot gets exactly the answer a person would, so probing reveals nothing.
        metrics.add_metric(name="HoneypotHits", unit="Count", value=1)
        return _received(posted, keys.new_submission_id())
    checked = captcha.check(token, request_origin(event).source_ip) if client is None else None
    if checked is captcha.Check.FAILED:
        count("Posts", outcome=SubmissionOutcome.CAPTCHA_FAILED.value)
        return _received(posted, keys.new_submission_id())
    fingerprint = hashlib.sha256(submission.model_dump_json().encode()).hexdigest()
    try:
        accepted = accept_once(
            submission,
            request_origin(event),
            idempotency_key,
            fingerprint,
            router.lambda_context,
            client,
            human=checked is captcha.Check.VERIFIED,
        )
    except SubmissionRejected as rejected:
        raise RequestValidationError(
            [{"loc": ("body", rejected.field), "msg": rejected.message, "type": "value_error"}]
        ) from None
    metrics.add_metric(name="LeadsReceived", unit="Count", value=1)
    count("Posts", outcome=accepted.outcome.value)
    return _received(posted, accepted.submission_id)


def _validate(posted: Posted) -> LeadSubmission:
    if not isinstance(posted.fields, dict):
        # One lead per post: never validate the first element of an array and drop the rest.
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Send one lead as a JSON object.", "type": "dict_type"}]
        )
    if posted.files:
        # A lead is text: an attachment would be PII stored nowhere we can erase; say which input to clear.
        raise InvalidFormPost(
            [
                {
                    "loc": ("body", name),
                    "msg": "Files are not accepted: remove the file from this field and send the form again.",
                    "type": "file_not_accepted",
                }
                for name in posted.files
            ],
            posted.fields,
        )
    context = {"default_phone_region": operator_config().intake.default_phone_region, "form": posted.form}
    try:
        return LeadSubmission.model_validate(posted.fields, context=context)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        if posted.form:
            raise InvalidFormPost(problems, posted.fields) from None
        raise RequestValidationError(problems) from None


def _received(posted: Posted, submission_id: str) -> Response[Any]:
    if posted.form:
        target = safe_redirect(posted.fields.get("redirect"), allowed_origins())
        if target:
            return Response(303, content_types.TEXT_PLAIN, "", headers={"Location": target})
    return Response(202, content_types.APPLICATION_JSON, Received(submission_id=submission_id))


def form_errors_answer(error: InvalidFormPost, referer: str | None) -> Response[Any]:
    """Back to the form with the errors in the query string, or a plain page saying what to fix."""
    errors = field_errors(error.errors())
    back = safe_redirect(error.fields.get("error_redirect"), allowed_origins()) or safe_redirect(
        referer, allowed_origins()
    )
    if back:
        parts = urlsplit(back)
        query = [("errors", ",".join(item["field"] for item in errors))]
        query += [(f"error_{item['field']}", item["message"]) for item in errors]
        location = urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, urlencode(query)]))))
        return Response(303, content_types.TEXT_PLAIN, "", headers={"Location": location})
    return Response(422, content_types.TEXT_HTML, _error_page(errors))


def _error_page(errors: list[dict[str, str]]) -> str:
    items = "".join(f"<li><b>{escape(item['field'])}</b>: {escape(item['message'])}</li>" for item in errors)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Please check the form</title>"
        f"<h1>Please check the form</h1><ul>{items}</ul>"
        "<p>Go back, correct these fields and send the form again.</p></html>"
    )


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the request body (JSON and HTML form, both from LeadSubmission) to the generated spec.

    The route reads the body itself (so size, media type and the honeypot come before validation),
    so Powertools cannot see the body model in its signature.
    """
    as_json, as_form = submission_schemas()
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(as_json.pop("$defs", {}))
    as_form.pop("$defs", None)
    schemas["LeadSubmission"] = as_json
    schemas["LeadSubmissionForm"] = as_form
    spec["paths"]["/leads"]["post"]["requestBody"] = {
        "required": True,
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/LeadSubmission"}},
            FORM: {"schema": {"$ref": "#/components/schemas/LeadSubmissionForm"}},
            MULTIPART: {"schema": {"$ref": "#/components/schemas/LeadSubmissionForm"}},
        },
    }
    return spec
