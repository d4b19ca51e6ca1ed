"""Refusals shared by the intake API's routes, mapped to answers in one place (handler.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError


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
