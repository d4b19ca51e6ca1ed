"""Error answers shared by the intake API's routes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def unprocessable(fields: list[dict[str, str]]) -> Response[Any]:
    return Response(422, content_types.APPLICATION_JSON, {"message": "Invalid lead.", "errors": fields})
