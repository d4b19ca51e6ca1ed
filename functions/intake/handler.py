"""Intake API (API Gateway REST proxy): the app, its routers, and the error mapping they share.

Routes live in functions/intake/routes/, one `Router` per concern. No input causes a 5xx:
refusals and validation errors are mapped here, each to its status and a message.
"""

from __future__ import annotations

import importlib
import json
import threading
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import CORSConfig
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from functions import imported, uncollected_first_call
from functions.intake.errors import InvalidFormPost, Refusal, field_errors, unavailable_answer, unprocessable
from leadflow import aws
from leadflow.config import allowed_origins
from leadflow.intake.submission import IdempotencyConflict, LeadBeingWritten
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
        super().__init__(allow_headers=["Idempotency-Key"], expose_headers=["Retry-After"], max_age=600)

    def allowed_origin(self, extracted_origin: str) -> str | None:
        return extracted_origin if extracted_origin in allowed_origins() else None


app = APIGatewayRestResolver(enable_validation=True, cors=ConfiguredCors())
# The route modules (functions/intake/routes) serving the paths under each key: its first segment, or
# its first two where those have their own (the longest key that starts the path wins). A cold start
# imports and includes only those its request needs: a form post does not import the stage updates,
# rep pages, drafts, replies or erasures (~0.3 s). A path no module serves stays a 404; OPTIONS is CORS's.
ROUTE_MODULES = {
    "leads": ("leads",),
    "leads/stage": ("stages",),
    "webhooks": ("meetings", "stages"),
    "unsubscribe": ("unsubscribe",),
    "tasks": ("tasks", "drafts"),
    "queue": ("queue",),
    "replies": ("replies",),
    "erasures": ("erasures",),
    "held-mail": ("held_mail",),
}
_included: set[str] = set()
_including = threading.Lock()  # the Sandbox and the load test call the handler from threads


def route_modules(path: str) -> list[str]:
    """The route modules serving `path` (every one for the OpenAPI document)."""
    segments = path.strip("/").split("/")
    if segments[0] == "openapi.json":
        return sorted({name for names in ROUTE_MODULES.values() for name in names})
    return list(ROUTE_MODULES.get("/".join(segments[:2]), ROUTE_MODULES.get(segments[0], ())))


def include_routes(path: str) -> None:
    """Include the routers serving `path`, once each."""
    modules = route_modules(path)
    if _included.issuperset(modules):
        return
    with _including:
        for name in modules:
            if name not in _included:
                app.include_router(importlib.import_module(f"functions.intake.routes.{name}").router)
                _included.add(name)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, _openapi_document())


@cache
def _openapi_document() -> str:
    from functions.intake.routes import leads

    include_routes("/openapi.json")
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


@app.exception_handler([ClientError, HTTPClientError, BotocoreConnectionError, LeadBeingWritten])
def unavailable(error: Exception) -> Response[Any]:
    """The table (or another AWS service) is throttling, failing or unreachable beyond botocore's
    retries: 503 with Retry-After, never API Gateway's 502. Any other AWS error stays a fault."""
    if not isinstance(error, LeadBeingWritten) and aws.transient(error) is None:
        raise error
    logger.warning("request answered 503: AWS unavailable", extra={"error": type(error).__name__})
    metrics.add_metric(name="IntakeUnavailable", unit="Count", value=1)  # alarmed (infra alarms.py)
    return unavailable_answer(app.current_event.headers.get("content-type"))


@app.exception_handler(InvalidFormPost)
def invalid_form_post(error: InvalidFormPost) -> Response[Any]:
    from functions.intake.routes import leads

    return leads.form_errors_answer(error, app.current_event.headers.get("referer"))


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[Any]:
    return unprocessable(field_errors(error.errors()))


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    include_routes(str(event.get("path") or ""))
    return app.resolve(event, context)


imported()  # last: see functions/__init__.py
