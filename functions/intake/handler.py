"""Intake API (API Gateway REST proxy): the app, its routers, and the error mapping they share.

Routes live in functions/intake/routes/, one `Router` per concern. No input causes a 5xx:
refusals and validation errors are mapped here, each to its status and a message.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import CORSConfig
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.intake.errors import InvalidFormPost, Refusal, field_errors, unprocessable
from functions.intake.routes import (
    drafts,
    erasures,
    held_mail,
    leads,
    meetings,
    queue,
    replies,
    stages,
    tasks,
    unsubscribe,
)
from leadflow.config import allowed_origins
from leadflow.intake.submission import IdempotencyConflict
from leadflow.observability import logger, metrics

API_TITLE = "leadflow intake API"
API_VERSION = "1.0.0"
IN_PROGRESS = "A request with this Idempotency-Key is still being processed; retry in a moment."
KEY_REUSED = "This Idempotency-Key was used for a different lead; use a new key for a new post."


class ConfiguredCors(CORSConfig):
    """CORS for the configured origins: an allowed origin gets itself back (never `*`), others nothing.

    The allowlist is read per request, not at import: the handler module imports without its
    environment (cold start, tests), and configuration stays the only source.
    """

    def __init__(self) -> None:
        super().__init__(allow_headers=["Idempotency-Key"], max_age=600)

    def allowed_origin(self, extracted_origin: str) -> str | None:
        return extracted_origin if extracted_origin in allowed_origins() else None


app = APIGatewayRestResolver(enable_validation=True, cors=ConfiguredCors())
app.include_router(leads.router)
app.include_router(meetings.router)
app.include_router(unsubscribe.router)
app.include_router(tasks.router)
app.include_router(drafts.router)
app.include_router(queue.router)
app.include_router(replies.router)
app.include_router(stages.router)
app.include_router(erasures.router)
app.include_router(held_mail.router)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, _openapi_document())


@cache
def _openapi_document() -> str:
    spec = json.loads(app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION))
    return json.dumps(leads.document(spec))


@app.exception_handler(Refusal)
def refused(error: Refusal) -> Response[Any]:
    return Response(error.status, content_types.APPLICATION_JSON, {"message": error.message})


@app.exception_handler(IdempotencyConflict)
def idempotency_conflict(error: IdempotencyConflict) -> Response[Any]:
    if error.in_progress:
        return Response(409, content_types.APPLICATION_JSON, {"message": IN_PROGRESS})
    return Response(422, content_types.APPLICATION_JSON, {"message": KEY_REUSED, "errors": []})


@app.exception_handler(InvalidFormPost)
def invalid_form_post(error: InvalidFormPost) -> Response[Any]:
    return leads.form_errors_answer(error, app.current_event.headers.get("referer"))


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[Any]:
    return unprocessable(field_errors(error.errors()))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
