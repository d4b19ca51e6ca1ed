"""One touch of a cadence, invoked by the state machine's Task states; or, from its catch-all,
the record of a touch that failed; or a cadence's first moment, sent outside its execution
(cadence.first_moment); or a service text the inbound or intake function asks for (the
step alone may text any number); or a speed-to-lead escalation its schedule fires (send.escalations)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import imported, uncollected_first_call
from leadflow.cadence.asl import FAILURE_KEY
from leadflow.models import (
    FIRST_MOMENT_EVENT_KEY,
    EscalationRequest,
    FailureReport,
    FirstMomentRequest,
    ServiceTextRequest,
    TouchRequest,
)
from leadflow.observability import count, logger, metrics
from leadflow.send.touches import run_moment


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "service_text" in event:
        from leadflow.send.sms import send_service_text

        return send_service_text(ServiceTextRequest.model_validate(event))
    if FAILURE_KEY in event:
        from leadflow.send.failures import record_failure

        return record_failure(FailureReport.model_validate(event))
    if FIRST_MOMENT_EVENT_KEY in event:
        # Touch 1 outside the execution: an async invoke from whoever started it, or its schedule.
        from leadflow.send import first_moment

        outcome = first_moment.run(
            FirstMomentRequest.model_validate(event[FIRST_MOMENT_EVENT_KEY]), context.invoked_function_arn
        )
        count("FirstMoments", outcome=outcome)
        return {"outcome": outcome}
    if "escalation" in event:
        from leadflow.send import escalations

        request = EscalationRequest.model_validate(event["escalation"])
        outcome = escalations.run(request, context.invoked_function_arn)
        count("Escalations", outcome=outcome)
        return {"outcome": outcome}
    # The schedules speed to lead creates invoke this function again (its ARN: see send.escalations).
    results = run_moment(TouchRequest.model_validate(event), context.invoked_function_arn)
    for result in results:
        count("Touches", outcome=str(result.outcome))
    return results[-1].model_dump()


imported()  # last: see functions/__init__.py
