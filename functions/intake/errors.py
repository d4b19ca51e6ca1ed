"""Refusals shared by the intake API's routes, mapped to answers in one place (handler.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from leadflow.cadence.enrollments import START_LEASE

# A post cut off between its writes is completed by a retry once its creator's lease has run out
# (`_creation_abandoned`; a pending enrollment's start lease is taken strictly after it ends): an
# earlier retry would only wait and be told to retry again.
RETRY_AFTER_SECONDS = int(START_LEASE.total_seconds()) + 1
UNAVAILABLE = (
    "The service is briefly unavailable: send the same request again shortly (sending it twice is safe)."
)
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Please send the form again</title>"
    "<h1>Your form was not sent</h1><p>We could not save it just now. "
    "Go back and send the form again in a minute; sending it twice is safe.</p></html>"
)


class Refusal(Exception):
    """A request refused before validation: `status` and a message saying what to send instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidFormPost(RequestValidationError):
    """Field errors in an HTML form post: the browser goes back to the form, not to a JSON answer."""

    def __init__(self, errors: Sequence[Any], fields: dict[str, Any]) -> None:
        super().__init__(errors)
        self.fields = fields


def field_errors(problems: Sequence[Any]) -> list[dict[str, str]]:
    """pydantic's errors as `{field, message, type}`, the field as a dotted path without `body`."""
    return [
        {
            "field": ".".join(str(part) for part in problem["loc"] if part != "body") or "body",
            "message": str(problem["msg"]).removeprefix("Value error, "),
            "type": str(problem["type"]),
        }
        for problem in problems
    ]


def unprocessable(fields: list[dict[str, str]]) -> Response[Any]:
    return Response(422, content_types.APPLICATION_JSON, {"message": "Invalid lead.", "errors": fields})


def unavailable_answer(content_type: str | None) -> Response[Any]:
    """503 with Retry-After: JSON for API clients, a page saying to send again for an HTML form."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return Response(503, content_types.TEXT_HTML, UNAVAILABLE_PAGE, headers=headers)
    return Response(503, content_types.APPLICATION_JSON, {"message": UNAVAILABLE}, headers=headers)
