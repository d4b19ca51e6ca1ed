"""The state machine's catch-all for a touch that failed (cadence.asl's record-failure state, and a
first moment's own failure): alert ops, then mark the enrollment failed. Apart from send.touches:
an email touch's cold start compiles none of it."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from leadflow import aws, clock
from leadflow.cadence import asl
from leadflow.models import FailureReport, RunStatus, Touch
from leadflow.observability import logger, metrics
from leadflow.store import enrollment_items


def record_failure(report: FailureReport) -> dict[str, object]:
    """The state machine's catch-all: alert ops, then mark the enrollment failed with the error and
    touch (issue 22: alert first, so an outage of the table cannot silence the alert).

    A touch the provider accepted before the failure is stored first (it went out). Nothing is
    alerted or recorded when a stop or the end won the race. When the table refuses the record (the
    outage that failed the touch may still be on), the error is not raised: a retry of this task
    would alert again, and the sweep finds the execution in Step Functions' record and resumes it.
    """
    now = clock.now()
    try:
        enrollment = enrollment_items.get_enrollment(report.lead_id, report.enrollment)
    except Exception as error:
        if aws.transient(error) is None:
            raise
        enrollment = None  # unknown: alert anyway
    if enrollment is not None and enrollment.run_status is not RunStatus.RUNNING:
        logger.info("failure not recorded: the enrollment no longer runs", extra=_failure_ids(report))
        return {"recorded": False, "alerted": False}
    _alert_failure(report)
    metrics.add_metric(name="EnrollmentFailed", unit=MetricUnit.Count, value=1)
    logger.error("enrollment failed", extra={**_failure_ids(report), "error": report.failure.error})
    try:
        if (
            enrollment is not None
            and enrollment.last_touch == report.touch
            and enrollment.touch_state == enrollment_items.TouchState.ACCEPTED
            and enrollment.pending_touch is not None
        ):
            enrollment_items.record_touch(
                Touch.model_validate(enrollment.pending_touch), complete=False, accepted=True
            )
        failed = enrollment_items.mark_failed(
            report.lead_id, report.enrollment, report.failure.error, report.touch, now
        )
    except Exception as error:
        if aws.transient(error) is None:
            raise
        logger.error(
            "failure not recorded: the table refused it; the sweep resumes the enrollment",
            extra={**_failure_ids(report), "error": str(aws.transient(error))},
        )
        return {"recorded": False, "alerted": True}
    return {"recorded": failed is not None, "alerted": True}


def _alert_failure(report: FailureReport) -> None:
    retried = report.failure.error in asl.RETRYABLE_ERRORS
    region = report.execution.split(":")[3] if report.execution.count(":") >= 3 else "us-east-1"
    from leadflow.send import alerts

    alerts.alert_ops(
        f"leadflow: an enrollment failed at touch {report.touch} ({report.failure.error})",
        "\n".join(
            [
                f"Cadence {report.cadence}, touch {report.touch}: {report.failure.error}.",
                "The sweep retries it within minutes (the error is transient)."
                if retried
                else "Not retried automatically: fix the cause, then run `leadflow sweep --retry-failed`.",
                "",
                f"Lead id: {report.lead_id} (enrollment {report.enrollment})",
                f"Execution: https://{region}.console.aws.amazon.com/states/home?region={region}"
                f"#/v2/executions/details/{report.execution}",
            ]
        ),
        {"kind": "enrollment_failed", "lead_id": report.lead_id, "error": report.failure.error},
    )


def _failure_ids(report: FailureReport) -> dict[str, object]:
    return {"lead_id": report.lead_id, "enrollment": report.enrollment, "touch": report.touch}
