"""Intake API: web forms post leads here (API Gateway REST proxy)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from leadflow import intake
from leadflow.models import LeadSubmission
from leadflow.observability import logger, metrics

app = APIGatewayRestResolver(enable_validation=True)


class Received(BaseModel):
    status: str = "received"
    submission_id: str


@app.post("/leads", responses={202: {"description": "Lead received"}})
def post_lead(submission: Annotated[LeadSubmission, Body()]) -> Response[Any]:
    if not isinstance(app.current_event.json_body, dict):
        # Powertools would validate the first element of an array: one lead per post, never a silent drop.
        return _unprocessable(
            [{"field": "body", "message": "Send one lead as a JSON object.", "type": "dict_type"}]
        )
    submission_id = intake.accept(submission)
    metrics.add_metric(name="LeadsReceived", unit="Count", value=1)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=Received(submission_id=submission_id),
    )


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
    return _unprocessable(fields)


def _unprocessable(fields: list[dict[str, str]]) -> Response[Any]:
    return Response(422, content_types.APPLICATION_JSON, {"message": "Invalid lead.", "errors": fields})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
