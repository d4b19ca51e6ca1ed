"""Sales stages from the CRM: POST /leads/stage (server-to-server, X-Api-Key) and POST /webhooks/crm
(HubSpot, Salesforce outbound messages, or the generic signed shape). See leadflow.answers.stages."""

from __future__ import annotations

import base64
from typing import Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from functions.intake.errors import field_errors
from leadflow import keys
from leadflow.answers import stages
from leadflow.config import settings
from leadflow.fields import organization_ids
from leadflow.observability import count as count_metric
from leadflow.observability import logger, metrics

router = Router()

UNKNOWN_LEAD = "No lead with this email or id."


@router.post(
    "/leads/stage",
    summary="Set a lead's sales stage (server-to-server)",
    tags=["leads"],
    responses={
        200: {"description": "Stage set, or already recorded"},
        401: {"description": "Missing or unknown X-Api-Key"},
        404: {"description": "No such lead"},
        422: {"description": "Field-level errors"},
    },
)
def post_stage(change: stages.StageChange) -> Response[Any]:
    presented = router.current_event.get_header_value("x-api-key", case_sensitive=False)
    if keys.api_client(presented) is None:
        return Response(401, content_types.APPLICATION_JSON, {"message": "Missing or unknown API key."})
    outcome = stages.set_stage(change)
    count_metric("StageChanges", outcome=outcome)
    if outcome == "unknown_lead":
        return Response(404, content_types.APPLICATION_JSON, {"message": UNKNOWN_LEAD})
    return Response(200, content_types.APPLICATION_JSON, {"status": outcome})


@router.post(
    "/webhooks/crm",
    responses={
        200: {"description": "Handled: counts of stage_set, unchanged, unknown_lead or ignored"},
        401: {
            "description": "Missing, wrong or stale signature (or Salesforce token, source address or "
            "organization)"
        },
        422: {"description": "Authenticated, but not JSON/XML or with invalid fields"},
    },
)
def crm_webhook() -> Response[Any]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    body = event.body or ""
    raw = base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")
    headers = dict(event.headers or {})
    # The URL the CRM called (HubSpot signs it): the API's domain (or custom domain) and stage path.
    context = event.request_context
    base = f"https://{context.domain_name}{context.path or event.path}"
    urls = stages.signed_uris(base, event.multi_value_query_string_parameters)
    query = dict(event.query_string_parameters or {})
    organizations = frozenset(organization_ids(settings().salesforce_org_ids))
    provider = stages.provider_of(headers, raw)
    try:
        outcomes = stages.handle_webhook(
            raw,
            headers,
            method=event.http_method,
            url=urls,
            query=query,
            organizations=organizations,
            source_ip=context.identity.source_ip,  # the connection's address, not a header
        )
    except stages.Unauthenticated as error:
        logger.warning("CRM webhook refused", extra={"why": str(error)})
        metrics.add_metric(name="CrmWebhookRefused", unit="Count", value=1)
        return Response(401, content_types.APPLICATION_JSON, {"message": "Invalid or missing signature."})
    except stages.InvalidChange as error:
        errors = field_errors(error.errors)
        return Response(
            422, content_types.APPLICATION_JSON, {"message": "Invalid stage change.", "errors": errors}
        )
    for outcome, count in outcomes.items():
        count_metric("CrmWebhooks", value=count, outcome=outcome)
    if provider == "salesforce":  # Salesforce retries until it gets its SOAP acknowledgement
        return Response(200, "text/xml", stages.SALESFORCE_ACK)
    return Response(200, content_types.APPLICATION_JSON, {"status": outcomes})
