"""The weekly report, invoked by its EventBridge Scheduler schedule (or by hand, for chosen dates)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions import imported, uncollected_first_call
from leadflow.observability import logger, metrics
from leadflow.report.weekly import ReportRequest, run


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ReportRequest.model_validate(event)
    except ValidationError as error:
        # A malformed manual invocation: retrying the same event cannot help.
        problems = [{"field": ".".join(map(str, p["loc"])), "message": p["msg"]} for p in error.errors()]
        logger.warning("report request rejected", extra={"errors": problems})
        return {"status": "rejected", "errors": problems}
    result = run(request)
    metrics.add_metric(
        name="ReportsSent" if result.status == "sent" else "ReportsAlreadySent", unit="Count", value=1
    )
    return result.model_dump()


imported()  # last: see functions/__init__.py
