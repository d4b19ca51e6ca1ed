"""The sweep, on its EventBridge schedules: every few minutes start pending enrollments, retry
transient failures and deliver the rep alerts held for their recipient's hours; every hour also
send the morning digests and the manager's never-called list, and run the audit. Every count goes
out as a metric (the audit's breach count has an alarm)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from functions import imported, uncollected_first_call
from leadflow import clock
from leadflow.observability import logger, metrics
from leadflow.send.escalations import sweep_all


class SweepEvent(BaseModel):
    """The schedule's constant input: {"audit": true} on the hourly rule."""

    model_config = ConfigDict(extra="ignore")

    audit: bool = False
    # The quarterly re-engagement schedule's input (config/leadflow.yaml: reengagement).
    reengage: bool = False


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SweepEvent.model_validate(event)
    if request.reengage:
        return _reengage()
    report = sweep_all().model_dump()
    for name, value in report.items():
        metrics.add_metric(name=f"Sweep_{name}", unit=MetricUnit.Count, value=value)
    from leadflow.send.held_alerts import deliver_held

    metrics.add_metric(name="HeldAlertsDelivered", unit=MetricUnit.Count, value=deliver_held(clock.now()))
    if not request.audit:
        return {"sweep": report}
    from leadflow.send.digest import send_digests  # the hourly rule's calls only
    from leadflow.send.never_called import send_daily_list

    listed = send_daily_list(clock.now())
    if listed is not None:
        metrics.add_metric(name="NeverCalledListed", unit=MetricUnit.Count, value=listed)
    metrics.add_metric(name="MorningDigests", unit=MetricUnit.Count, value=send_digests(clock.now()))
    from leadflow.cadence.audit import audit  # the hourly rule's call only

    audited = audit()
    for name, value in audited.breach_counts().items():
        metrics.add_metric(name=f"Audit_{name}", unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="AuditBreaches", unit=MetricUnit.Count, value=len(audited.breaches))
    if audited.breaches:
        logger.error("audit breaches", extra={"breaches": audited.breach_counts()})
    return {"sweep": report, "audit": audited.counts, "breaches": audited.breach_counts()}


def _reengage() -> dict[str, Any]:
    from leadflow.cadence.reengage import reengage
    from leadflow.config import operator_config

    run = reengage(operator_config().reengagement, dry_run=False)
    metrics.add_metric(name="ReengagementEligible", unit=MetricUnit.Count, value=len(run.eligible))
    metrics.add_metric(name="ReengagementEnrolled", unit=MetricUnit.Count, value=len(run.enrolled))
    return {"eligible": len(run.eligible), "enrolled": len(run.enrolled), "skipped": dict(run.skipped)}


imported()  # last: see functions/__init__.py
