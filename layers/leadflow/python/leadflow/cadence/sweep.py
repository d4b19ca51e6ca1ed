"""The sweep (issue 11): nothing waits forever. Every few minutes (EventBridge schedule, and
`leadflow sweep` locally) it

- starts every enrollment that has no execution: `pending` ones (StartExecution failed at
  intake) and running ones whose starter crashed before starting (start lease run out); named
  starts make a repeat harmless;
- hands a due touch 1 still unclaimed SWEEP_GRACE after its time to the step again (the first moment
  is sent outside the execution: cadence.first_moment): its hand-over was lost, or every attempt
  failed (a throttled SES, a crash before the claim); the claim makes a repeat harmless;
- retries `failed` enrollments whose error was transient (throttling, 5xx, a Lambda timeout)
  under a new execution name: touches already settled are skipped, the failed one runs again;
- resumes `running` enrollments whose execution ended early (FAILED, TIMED_OUT, or ABORTED
  without a stop) although the table never heard of it: an outage longer than the retries left
  the failure unrecorded (issue 22). It finds them in Step Functions' own record (ListExecutions
  by status, since the last stop time it reconciled), not in the table, and starts a new named
  execution: it skips the settled touches and runs the first one without an outcome;
- escalates open speed-to-lead call tasks whose escalation is overdue with no alert recorded (its
  one-shot schedule was never created or never fired: send.escalations), from the same index;
- reports what it did (the sweep function publishes the counts as metrics).

It reads a sparse index (store.table.ATTENTION_INDEX) holding only those enrollments, and the
list of executions that ended early, never the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from leadflow import aws, clock
from leadflow.aws import started_pool
from leadflow.cadence import asl, executions
from leadflow.config import settings
from leadflow.models import Enrollment, RunStatus, execution_enrollment
from leadflow.observability import logger
from leadflow.store import enrollment_items, lead_items
from leadflow.store.enrollment_items import Attention

# How many days of first-touch buckets (store.enrollment_items.first_touch_bucket) the sweep reads: a
# touch 1 moved later (the sending guard, an out-of-office) stays in its first day's bucket; past
# this, its own schedule and the second moment's Task still send it, and the audit flags it.
FIRST_TOUCH_LOOKBACK = 7

# A failed enrollment is retried this often at most; after that it waits for an operator.
MAX_ATTEMPTS = 5
# Executions that ended this long before the cursor are listed again: Step Functions lists an
# execution once it ended, not necessarily in the order of their stop times.
CURSOR_OVERLAP = timedelta(minutes=15)
# The sweep's reads (ListExecutions per state machine, a Query per index key) wait on AWS one
# round trip each; this many run at once.
READERS = 8

_Key = TypeVar("_Key")
_Read = TypeVar("_Read")


class SweepReport(BaseModel):
    started: int = 0  # pending or never-started enrollments whose execution started now
    still_pending: int = 0  # StartExecution failed again: the next sweep tries again
    retried: int = 0  # failed enrollments running again
    resumed: int = 0  # running enrollments whose execution ended early, running again
    left_failed: int = 0  # failed with an error retries cannot fix (ops were alerted), or too often
    escalated: int = 0  # speed-to-lead escalations whose schedule never fired (send.escalations)
    first_touches: int = 0  # due touches 1 unclaimed past the grace, handed to the step again


def sweep(*, retry_all_failed: bool = False) -> SweepReport:
    """Start what never started and retry transient failures; `retry_all_failed` retries every
    failed enrollment (after an operator fixed the cause)."""
    report = SweepReport()
    # Both groups of reads below share one pool, its threads started before either (aws.started_pool).
    with started_pool(READERS) as readers:
        # First: an enrollment whose execution ended before its ARN was stored is in the START index
        # too, and starting it under the dead execution's name would fail.
        _resume_ended(report, readers)
        # The index keys are read together, once the ended executions are handled (their table client
        # exists then: the cursor's read); each enrollment listed is read again before anything is done.
        today = clock.now().date()
        buckets = [
            enrollment_items.first_touch_bucket(today - timedelta(days=days_back))
            for days_back in range(FIRST_TOUCH_LOOKBACK)
        ]
        keys = [Attention.START, *buckets, Attention.FAILED]
        listed = _read_all(readers, enrollment_items.needing_attention, keys)
    for lead_id, number in listed[Attention.START]:
        enrollment = enrollment_items.get_enrollment(lead_id, number)
        if enrollment is None:
            continue
        if enrollment.execution_arn:
            _first_touch(enrollment, report)
            continue
        unrecorded = _unrecorded_execution(enrollment)
        if unrecorded is None:
            _start(enrollment, report)
        elif unrecorded == "RUNNING":
            _first_touch(enrollment, report)
        # Else it ended under its name unrecorded: never started again under a taken name (the
        # ended executions' pass above resumes it under a new one; the audit flags what it cannot).
    for bucket in buckets:
        for lead_id, number in listed[bucket]:
            enrollment = enrollment_items.get_enrollment(lead_id, number)
            if enrollment is not None:
                _first_touch(enrollment, report)
    for lead_id, number in listed[Attention.FAILED]:
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


def _unrecorded_execution(enrollment: Enrollment) -> str | None:
    """The status of a running enrollment's execution whose ARN is not stored, once its starter's
    lease ran out; None when no execution has its name (or it is pending, or the lease still runs:
    `_start` decides). A start leaves the ARN to touch 1's claim (enrollments.started); that touch
    still unclaimed, Step Functions tells whether the execution started. A running one's ARN is
    stored now: the next sweep reads it, and hands over touch 1 after its grace, as for any other."""
    now = clock.now()
    if enrollment.run_status is not RunStatus.RUNNING or (enrollment.start_lease_until or now) > now:
        return None
    execution = executions.arn_of(enrollment)
    status = executions.status(execution) if execution else None
    if execution and status == "RUNNING":
        from leadflow.cadence import first_moment, versions

        try:
            watch = first_moment.attention(enrollment, versions.cadence_of(enrollment), now)
        except LookupError:
            watch = Attention.START.value  # a cadence no longer deployed: left where it is
        enrollment_items.set_execution_arn(enrollment.lead_id, enrollment.number, execution, watch)
    return status


def _first_touch(enrollment: Enrollment, report: SweepReport) -> None:
    """Hand a due touch 1, unclaimed past the grace, to the step again (cadence.first_moment)."""
    if enrollment.run_status is not RunStatus.RUNNING:
        return
    from leadflow.cadence import first_moment, versions

    try:
        cadence = versions.cadence_of(enrollment)
    except LookupError:
        return  # a cadence no longer deployed: its execution runs on the version it stored
    overdue = first_moment.overdue(enrollment, cadence, clock.now(), first_moment.SWEEP_GRACE)
    if overdue and first_moment.hand_over(enrollment):
        report.first_touches += 1
        logger.warning(
            "touch 1 overdue: the sweep handed it to the step again",
            extra={"lead_id": enrollment.lead_id, "enrollment": enrollment.number},
        )


def _resume_ended(report: SweepReport, readers: Executor) -> None:
    """Resume every `running` enrollment whose execution ended early, from Step Functions' record.

    The cursor moves only once every one listed was handled: a write refused by a table still
    throttled leaves it where it was, and the next sweep lists them again.
    """
    cursor = enrollment_items.ended_cursor()
    since = cursor - CURSOR_OVERLAP if cursor else None
    latest, complete = cursor, True
    machines = settings().state_machine_arns
    aws.client("stepfunctions")  # created before the threads share it: creation is not thread-safe
    listed = _read_all(readers, lambda cadence: executions.ended_early(machines[cadence], since), machines)
    for cadence in machines:
        for ended in listed[cadence]:
            try:
                _resume(cadence, ended, report)
            except Exception as error:
                if aws.transient(error) is None:
                    raise
                complete = False
                logger.warning(
                    "ended execution not reconciled yet: the next sweep tries again",
                    extra={"execution": ended.name, "error": str(aws.transient(error))},
                )
            if ended.stopped_at and (latest is None or ended.stopped_at > latest):
                latest = ended.stopped_at
    if complete and latest is not None and latest != cursor:
        enrollment_items.move_ended_cursor(latest)


def _read_all(readers: Executor, read: Callable[[_Key], _Read], keys: Iterable[_Key]) -> dict[_Key, _Read]:
    """`read(key)` for every key, on the readers' threads (READERS at a time): what each read found, by
    key. A read that raises raises here, as the first of a sequential loop would."""
    keys = list(keys)
    return dict(zip(keys, readers.map(read, keys), strict=True))


def _resume(cadence: str, ended: executions.EndedExecution, report: SweepReport) -> None:
    ids = execution_enrollment(ended.name, cadence)
    # The claim's state as stored (no read of its touch's record): only a failed one's needs settling.
    enrollment = enrollment_items.get_enrollment(*ids, settled=False) if ids else None
    if enrollment is None or enrollment.run_status is not RunStatus.RUNNING:
        return  # stopped (our stops abort executions), finished, or recorded as failed
    if enrollment.execution_arn is None and enrollment.execution_name != ended.name:
        return  # its ARN never stored: only its own name is its execution
    now = clock.now()
    if enrollment.attempt >= MAX_ATTEMPTS:
        # Ended early again and again: failed, for an operator (`leadflow sweep --retry-failed`);
        # the failed enrollments' pass below counts it.
        enrollment = enrollment_items.resolve_claim(enrollment)
        touch = enrollment.last_touch + (1 if enrollment.touch_state in (None, "sent") else 0)
        error = "Execution" + ended.status.title().replace("_", "")
        enrollment_items.mark_failed(enrollment.lead_id, enrollment.number, error, max(touch, 1), now)
        return
    taken = enrollment_items.take_ended(
        enrollment.lead_id, enrollment.number, ended.arn, enrollment.attempt, now
    )
    if taken is None:
        return  # it runs on a later execution (an operator's resume, another sweep), or stopped
    from leadflow.cadence.enrollments import start

    logger.warning(
        "execution ended early: enrollment resumed",
        extra={"lead_id": taken.lead_id, "enrollment": taken.number, "status": ended.status},
    )
    report.resumed += 1
    if not start(taken):
        report.still_pending += 1


def _retryable(enrollment: Enrollment) -> bool:
    return enrollment.failure_error in asl.RETRYABLE_ERRORS and enrollment.attempt < MAX_ATTEMPTS


def _superseded(enrollment: Enrollment) -> bool:
    """The lead was enrolled again since (a re-post): the failed one is history."""
    return any(later.number > enrollment.number for later in enrollment_items.enrollments(enrollment.lead_id))
