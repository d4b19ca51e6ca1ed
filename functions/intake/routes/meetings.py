"""POST /webhooks/meeting: a scheduling tool (Calendly, Cal.com, or anything signing the generic
shape) tells us about a lead's meeting. Unsigned, wrongly signed or stale deliveries get 401 and
change nothing; an authentic delivery that changes nothing (a repeat, another event) gets 200."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadflow.observability import count, logger, metrics

router = Router()


def _raw_body() -> bytes:
    event = router.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


@router.post(
    "/webhooks/meeting",
    responses={
        200: {"description": "Booking handled, or an authenticated delivery that needs nothing"},
        400: {"description": "Signed, but not JSON"},
        401: {"description": "Missing, wrong or stale signature"},
    },
)
def meeting_booked() -> Response[Any]:
    from leadflow.answers import meetings  # on this route's first call: other cold starts skip it

    raw = _raw_body()
    try:
        meetings.verify(raw, dict(router.current_event.headers or {}))
    except meetings.Unauthenticated as error:
        logger.warning("meeting webhook refused", extra={"why": str(error)})
        metrics.add_metric(name="MeetingWebhookRefused", unit="Count", value=1)
        return Response(401, content_types.APPLICATION_JSON, {"message": "Invalid or missing signature."})
    outcome = meetings.handle(raw, dict(router.current_event.headers or {}))
    count("MeetingWebhooks", outcome=outcome)
    if outcome == "not_json":
        return Response(400, content_types.APPLICATION_JSON, {"message": "The body is not valid JSON."})
    return Response(200, content_types.APPLICATION_JSON, {"status": outcome})
