"""The sweep (issue 11): nothing waits forever. Every few minutes (EventBridge schedule, and
`leadflow sweep` locally) it

- starts every enrollment that has no execution: `pending` ones (StartExecution failed at
  intake) and running ones whose starter crashed before starting (start lease run out); named
  starts make a repeat harmless;
- retries `failed` enrollments whose error was transient (throttling, 5xx, a Lambda timeout)
  under a new execution name: touches already settled are skipped, the failed one runs again;
- reports what it did (the sweep function publishes the counts as metrics).

It reads a sparse index (store.table.ATTENTION_INDEX) holding only those enrollments, never the
whole table.
"""

from __future__ import annotations

from pydantic import BaseModel

from leadflow import clock
from leadflow.cadence import asl
from leadflow.models import Enrollment, RunStatus
from leadflow.observability import logger
from leadflow.store import enrollment_items, lead_items
from leadflow.store.enrollment_items import Attention

# A failed enrollment is retried this often at most; after that it waits for an operator.
MAX_ATTEMPTS = 5


class SweepReport(BaseModel):
    started: int = 0  # pending or never-started enrollments whose execution started now
    still_pending: int = 0  # StartExecution failed again: the next sweep tries again
    retried: int = 0  # failed enrollments running again
    left_failed: int = 0  # failed with an error retries cannot fix (ops were alerted), or too often


def sweep(*, retry_all_failed: bool = False) -> SweepReport:
    """Start what never started and retry transient failures; `retry_all_failed` retries every
    failed enrollment (after an operator fixed the cause)."""
    report = SweepReport()
    for lead_id, number in enrollment_items.needing_attention(Attention.START):
        enrollment = enrollment_items.get_enrollment(lead_id, number)
        if enrollment is None or enrollment.execution_arn:
            continue
        _start(enrollment, report)
    for lead_id, number in enrollment_items.needing_attention(Attention.FAILED):
        enrollment = enrollment_items.get_enrollment(lead_id, number)
        if enrollment is None or enrollment.run_status is not RunStatus.FAILED:
            continue
        if _superseded(enrollment) or not (retry_all_failed or _retryable(enrollment)):
            report.left_failed += 1
            continue
        retried = enrollment_items.take_failed(lead_id, number, enrollment.attempt + 1, clock.now())
        if retried is not None:
            from leadflow.cadence.enrollments import start

            report.retried += 1
            if not start(retried):
                report.still_pending += 1
    logger.info("sweep", extra=report.model_dump())
    return report


def _start(enrollment: Enrollment, report: SweepReport) -> None:
    # Imported with the first enrollment to start: most sweeps find none (the planner and the
    # cadence files stay out of their cold start).
    from leadflow.cadence.enrollments import START_LEASE, start

    now = clock.now()
    if lead_items.get_lead(enrollment.lead_id) is None:
        # The post that created it died before writing the lead item (written last, see
        # store.lead_items.create_lead); the next post of the address completes and starts it.
        logger.warning(
            "enrollment without its lead: left for the next post", extra={"lead_id": enrollment.lead_id}
        )
        return
    if not enrollment_items.claim_start(enrollment.lead_id, enrollment.number, now, now + START_LEASE):
        return  # running without an execution, but its starter's lease has not run out yet
    if start(enrollment):
        report.started += 1
    else:
        report.still_pending += 1


def _retryable(enrollment: Enrollment) -> bool:
    return enrollment.failure_error in asl.RETRYABLE_ERRORS and enrollment.attempt < MAX_ATTEMPTS


def _superseded(enrollment: Enrollment) -> bool:
    """The lead was enrolled again since (a re-post): the failed one is history."""
    return any(later.number > enrollment.number for later in enrollment_items.enrollments(enrollment.lead_id))
