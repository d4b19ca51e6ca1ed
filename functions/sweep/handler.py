"""The sweep, on its EventBridge schedules: every few minutes start pending enrollments and retry
transient failures; every hour also run the audit. Every count goes out as a metric (the audit's
breach count has an alarm)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from leadflow.cadence.audit import audit
from leadflow.cadence.sweep import sweep
from leadflow.observability import logger, metrics


class SweepEvent(BaseModel):
    """The schedule's constant input: {"audit": true} on the hourly rule."""

    model_config = ConfigDict(extra="ignore")

    audit: bool = False


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SweepEvent.model_validate(event)
    report = sweep().model_dump()
    for name, value in report.items():
        metrics.add_metric(name=f"Sweep_{name}", unit=MetricUnit.Count, value=value)
    if not request.audit:
        return {"sweep": report}
    audited = audit()
    for name, value in audited.breach_counts().items():
        metrics.add_metric(name=f"Audit_{name}", unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="AuditBreaches", unit=MetricUnit.Count, value=len(audited.breaches))
    if audited.breaches:
        logger.error("audit breaches", extra={"breaches": audited.breach_counts()})
    return {"sweep": report, "audit": audited.counts, "breaches": audited.breach_counts()}
