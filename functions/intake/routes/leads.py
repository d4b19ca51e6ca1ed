"""POST /leads: web forms post leads here."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from functions.intake.errors import unprocessable
from leadflow import intake
from leadflow.models import LeadSubmission
from leadflow.observability import metrics

router = Router()


class Received(BaseModel):
    status: str = "received"
    submission_id: str


@router.post("/leads", responses={202: {"description": "Lead received"}})
def post_lead(submission: Annotated[LeadSubmission, Body()]) -> Response[Any]:
    if not isinstance(router.current_event.json_body, dict):
        # Powertools would validate the first element of an array: one lead per post, never a silent drop.
        return unprocessable(
            [{"field": "body", "message": "Send one lead as a JSON object.", "type": "dict_type"}]
        )
    submission_id = intake.accept(submission)
    metrics.add_metric(name="LeadsReceived", unit="Count", value=1)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=Received(submission_id=submission_id),
    )
