"""Intake API (API Gateway REST proxy): the app, its routers, and the error mapping they share.

Routes live in functions/intake/routes/, one `Router` per concern.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.intake.errors import unprocessable
from functions.intake.routes import leads
from leadflow.observability import logger, metrics

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(leads.router)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[Any]:
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return Response(400, content_types.APPLICATION_JSON, {"message": "The body is not valid JSON."})
    if any(tuple(problem["loc"]) == ("body",) and problem["type"] == "missing" for problem in problems):
        return Response(400, content_types.APPLICATION_JSON, {"message": "A JSON body is required."})
    fields = [
        {
            "field": ".".join(str(part) for part in problem["loc"] if part != "body"),
            "message": problem["msg"],
            "type": problem["type"],
        }
        for problem in problems
    ]
    return unprocessable(fields)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
