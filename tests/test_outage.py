"""Issue 22, item 3: an outage of the table longer than the retries. Ops hear of every failed
execution while the table refuses every write, and the sweep resumes each enrollment its dead
execution left `running` once the table takes writes again; the audit ends clean."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from faults import client_error, failing

from functions.events.handler import EveryRecordFailed
from leadflow import aws, clock
from leadflow.cadence import asl
from leadflow.config import settings
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

pytestmark = pytest.mark.email_cadence

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
OUTAGE = timedelta(minutes=15)
# The sweep's EventBridge rule delivers its constant input (infra/constructs/alarms.py).
SWEEP_RULE_INPUT = {"audit": False}


@contextlib.contextmanager
def table_outage(start: datetime, length: timedelta) -> Iterator[list[dict]]:
    """Every DynamoDB write, on both clients the code uses, refused as throttled while the
    simulated clock is in [start, start + length); reads still answer. Yields the refused calls."""
    throttled = lambda: client_error("ProvisionedThroughputExceededException", "Write", 400)  # noqa: E731
    during = lambda params: start <= clock.now() < start + length  # noqa: E731
    refused: list[dict] = []
    clients = (aws.table(settings().table_name).meta.client, aws.client("dynamodb"))
    with contextlib.ExitStack() as stack:
        for client in clients:
            for operation in WRITES:
                calls = stack.enter_context(
                    failing("dynamodb", operation, throttled, times=10**6, when=during, client=client)
                )
                refused.append(calls)  # type: ignore[arg-type]
        yield refused


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


def test_an_outage_longer_than_the_retries_alerts_ops_and_the_sweep_resumes_every_lead(sb):
    leads = [_post(sb, f"outage{number}@example.com") for number in range(3)]
    assert all(_sent(sb, lead_id) == [1] for lead_id in leads)
    # The outage begins as the first touch 2 falls due: the first writes after touch 1.
    due = sorted(enrollment_items.enrollments(lead_id)[0].schedule[1] for lead_id in leads)
    start = due[0]
    assert due[-1] - start < OUTAGE - timedelta(minutes=5)  # every touch 2 meets it with its retries
    with table_outage(start, OUTAGE) as refused:
        sb.advance_to(start + timedelta(minutes=5))
        sb.invoke("sweep", SWEEP_RULE_INPUT)  # on its schedule: it can fix nothing yet
        sb.advance_to(start + OUTAGE - timedelta(seconds=1))
        assert sum(len(calls) for calls in refused) > 0
        # Every execution gave up; its enrollment could not be marked failed, yet ops were told.
        for lead_id in leads:
            execution = sb.execution(lead_id)
            assert execution["status"] == "FAILED", lead_id
            assert execution["states"][-2:] == [asl.RECORD_FAILURE_STATE, asl.FAILED_STATE]
            (enrollment,) = enrollment_items.enrollments(lead_id)
            assert enrollment.run_status is RunStatus.RUNNING and enrollment.failure_error is None
        alerts = sb.ops_alerts()
        assert sorted(alert["lead_id"] for alert in alerts) == sorted(leads)  # one each, during it
        assert all(start <= clock.parse_iso(alert["at"]) < start + OUTAGE for alert in alerts)
        assert all("outage" not in alert["message"] for alert in alerts)  # ids only, no address
        # A re-post during the outage: the table refuses its first write (the per-IP count), so the
        # post is answered 503 with Retry-After before it reads or changes any enrollment.
        refused = sb.post("/leads", json={"email": "outage0@example.com", "first_name": "Ada"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert all(_sent(sb, lead_id) == [1] for lead_id in leads)
    assert not sb.audit().clean  # three enrollments running without their execution
    # After it, before the sweep: a re-post neither enrolls the lead again nor drops it.
    assert sb.post("/leads", json={"email": "outage1@example.com", "first_name": "Ada"}).status_code == 202
    assert [e.number for e in enrollment_items.enrollments(leads[1])] == [1]
    result = sb.invoke("sweep", SWEEP_RULE_INPUT)
    assert result["sweep"]["resumed"] == 3 and sb.metric_total("Sweep_resumed") == 3
    assert sb.invoke("sweep", SWEEP_RULE_INPUT)["sweep"]["resumed"] == 0  # each once
    sb.advance(30 * 86400)
    for lead_id in leads:
        assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6], lead_id
        assert [execution["status"] for execution in sb.executions(lead_id)] == ["FAILED", "SUCCEEDED"]
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.run_status is RunStatus.COMPLETED and enrollment.attempt == 2
    report = sb.audit()
    assert report.clean, report.lines()


def _stop_behind_its_back(sb, lead_id: str) -> str:
    """Abort the lead's execution as the console would: no stop recorded on the enrollment."""
    arn = sb.execution(lead_id)["arn"]
    aws.client("stepfunctions").stop_execution(executionArn=arn, cause="console")
    sb.clock.settle()
    return arn


def test_an_execution_aborted_without_a_stop_is_resumed_and_one_aborted_by_a_stop_is_not(sb):
    from leadflow.cadence import stops
    from leadflow.models import StopReason

    aborted, stopped = _post(sb, "aborted@example.com"), _post(sb, "stopped@example.com")
    _stop_behind_its_back(sb, aborted)
    stops.stop_enrollments(stopped, StopReason.REPLY)  # recorded, then StopExecution: ABORTED too
    sb.clock.settle()
    assert {sb.execution(lead_id)["status"] for lead_id in (aborted, stopped)} == {"ABORTED"}
    assert sb.sweep()["resumed"] == 1
    assert [e["status"] for e in sb.executions(aborted)] == ["ABORTED", "RUNNING"]
    assert [e["status"] for e in sb.executions(stopped)] == ["ABORTED"]
    sb.advance(30 * 86400)
    assert _sent(sb, aborted) == [1, 2, 3, 4, 5, 6] and _sent(sb, stopped) == [1]
    report = sb.audit()
    assert report.clean, report.lines()


def test_an_enrollment_running_on_a_later_execution_is_left_alone(sb):
    lead_id = _post(sb, "restarted@example.com")
    _stop_behind_its_back(sb, lead_id)
    # An operator's resume started another execution and stored its ARN.
    later = "arn:aws:states:us-east-1:123456789012:execution:other:later"
    enrollment_items.set_execution_arn(lead_id, 1, later)
    assert sb.sweep()["resumed"] == 0
    assert enrollment_items.enrollments(lead_id)[0].execution_arn == later
    # Started as attempt 2 whose ARN the table never took: the ended attempt-1 execution is not its.
    aws.table(settings().table_name).update_item(
        Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"},
        UpdateExpression="SET attempt = :two REMOVE execution_arn",
        ExpressionAttributeValues={":two": 2},
    )
    assert sb.sweep()["resumed"] == 0


def test_an_execution_that_ended_before_the_table_took_its_arn_is_resumed_under_a_new_name(sb):
    """A start leaves its ARN to touch 1's claim (enrollments.started). Touch 1's hand-over refused,
    the execution runs with no ARN stored; aborted behind its back, the sweep resumes the enrollment
    under a new name (the taken one would fail) and never starts the dead name again."""
    throttled = client_error("TooManyRequestsException", "Invoke", 429, "Rate exceeded.")
    with failing("lambda", "Invoke", throttled):
        lead_id = _post(sb, "no.arn@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.execution_arn is None and _sent(sb, lead_id) == []
    _stop_behind_its_back(sb, lead_id)
    sb.advance(60)  # the start lease ran out: the START index would start the taken name again
    assert sb.sweep() == {
        "started": 0,
        "still_pending": 0,
        "retried": 0,
        "resumed": 1,
        "left_failed": 0,
        "escalated": 0,
        "first_touches": 0,
    }
    (enrollment,) = enrollment_items.enrollments(lead_id)
    # Touch 1 went out from the new start; its claim stored the new execution's ARN.
    assert enrollment.attempt == 2 and enrollment.execution_arn == sb.execution(lead_id)["arn"]
    assert _sent(sb, lead_id) == [1]
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    report = sb.audit()
    assert report.clean, report.lines()


def test_an_execution_that_ended_before_the_table_took_its_arn_write_is_resumed_under_a_new_name(sb):
    """A start that writes its ARN (a not-now enrollment: touch 1 weeks ahead, in its day's bucket)
    and the table refuses that write: the caller fails, the execution runs; aborted behind its back,
    the sweep resumes the enrollment under a new name."""
    from leadflow.cadence.enrollments import enroll

    stores_arn = lambda params: "SET execution_arn = :arn" in params.get("UpdateExpression", "")  # noqa: E731
    lead_id = _post(sb, "no.arn@example.com")
    sb.advance(30 * 86400)  # the first cadence is over
    table_client = aws.table(settings().table_name).meta.client
    throttled = client_error("ProvisionedThroughputExceededException", "UpdateItem", 400)
    with (
        failing("dynamodb", "UpdateItem", throttled, when=stores_arn, client=table_client) as refused,
        sb._handler_lock,
        pytest.raises(Exception, match="ProvisionedThroughputExceeded"),
    ):
        enroll(lead_id, "re-engagement", "not now", start_at=datetime(2027, 1, 11, 14, tzinfo=UTC))
    sb.clock.settle()
    assert len(refused) == 1
    enrollment = enrollment_items.enrollments(lead_id)[-1]
    assert enrollment.execution_arn is None and enrollment.schedule[0] > clock.now()
    latest = sb.executions(lead_id)[-1]["arn"]
    aws.client("stepfunctions").stop_execution(executionArn=latest, cause="console")  # behind its back
    sb.clock.settle()
    sb.advance(60)
    assert sb.sweep()["resumed"] == 1 and sb.sweep()["started"] == 0
    enrollment = enrollment_items.enrollments(lead_id)[-1]
    assert enrollment.attempt == 2 and enrollment.execution_arn == sb.executions(lead_id)[-1]["arn"]
    assert sb.executions(lead_id)[-1]["status"] == "RUNNING"
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.mark.parametrize(("attempt", "resumed"), [(4, True), (5, False)])
def test_an_enrollment_that_keeps_dying_is_left_failed_after_max_attempts(sb, attempt, resumed):
    from leadflow.cadence import sweep

    assert sweep.MAX_ATTEMPTS == 5
    lead_id = _post(sb, "dying@example.com")
    aws.table(settings().table_name).update_item(
        Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"},
        UpdateExpression="SET attempt = :attempt",
        ExpressionAttributeValues={":attempt": attempt},
    )
    _stop_behind_its_back(sb, lead_id)
    report = sb.sweep()
    (enrollment,) = enrollment_items.enrollments(lead_id)
    if resumed:
        assert (report["resumed"], report["left_failed"]) == (1, 0)
        assert enrollment.run_status is RunStatus.RUNNING and enrollment.attempt == attempt + 1
    else:
        assert (report["resumed"], report["left_failed"]) == (0, 1)
        assert enrollment.run_status is RunStatus.FAILED
        assert (enrollment.failure_error, enrollment.failed_touch) == ("ExecutionAborted", 2)
        assert sb.sweep()["resumed"] == 0  # an operator's `leadflow sweep --retry-failed` now


def test_the_cursor_moves_only_once_every_ended_execution_was_reconciled(sb, monkeypatch):
    from leadflow.cadence import sweep

    # Step Functions' clock is the wall clock in moto: without the overlap, the cursor alone decides.
    monkeypatch.setattr(sweep, "CURSOR_OVERLAP", timedelta(0))
    lead_id = _post(sb, "cursor@example.com")
    _stop_behind_its_back(sb, lead_id)
    takes = lambda params: "attempt = :next" in params.get("UpdateExpression", "")  # noqa: E731
    throttled = client_error("ProvisionedThroughputExceededException", "UpdateItem", 400)
    table_client = aws.table(settings().table_name).meta.client
    with failing("dynamodb", "UpdateItem", throttled, when=takes, client=table_client) as refused:
        assert sb.sweep()["resumed"] == 0 and len(refused) == 1
    assert enrollment_items.ended_cursor() is None
    assert sb.sweep()["resumed"] == 1
    stopped_at = sb.executions(lead_id)[0]
    cursor = enrollment_items.ended_cursor()
    assert cursor is not None and stopped_at["status"] == "ABORTED"
    assert sb.sweep()["resumed"] == 0


def test_a_failure_is_alerted_when_the_table_can_neither_be_read_nor_written(sb):
    from leadflow.models import FailureReport
    from leadflow.send.failures import record_failure

    lead_id = _post(sb, "dark.table@example.com")
    report = FailureReport.model_validate(
        {
            "lead_id": lead_id,
            "cadence": "inbound-demo-request",
            "enrollment": 1,
            "touch": 2,
            "execution": sb.execution(lead_id)["arn"],
            "failure": {"error": "Throttled"},
        }
    )
    throttled = lambda: client_error("ThrottlingException", "GetItem", 400)  # noqa: E731
    table_client = aws.table(settings().table_name).meta.client
    with contextlib.ExitStack() as stack:
        for operation in ("GetItem", "UpdateItem", "PutItem"):
            stack.enter_context(failing("dynamodb", operation, throttled, times=99, client=table_client))
        assert record_failure(report) == {"recorded": False, "alerted": True}
    (alert,) = sb.ops_alerts()
    assert alert["lead_id"] == lead_id and "Throttled" in alert["subject"]
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.RUNNING


def test_a_failure_of_an_enrollment_a_stop_ended_alerts_nobody(sb):
    from leadflow.cadence import stops
    from leadflow.models import FailureReport, StopReason
    from leadflow.send.failures import record_failure

    lead_id = _post(sb, "stopped.first@example.com")
    stops.stop_enrollments(lead_id, StopReason.REPLY)
    sb.clock.settle()
    report = FailureReport.model_validate(
        {
            "lead_id": lead_id,
            "cadence": "inbound-demo-request",
            "enrollment": 1,
            "touch": 2,
            "execution": "arn:aws:states:us-east-1:123456789012:execution:x:y",
            "failure": {"error": "Throttled"},
        }
    )
    assert record_failure(report) == {"recorded": False, "alerted": False}
    assert sb.ops_alerts() == []


def test_the_take_of_an_ended_execution_is_refused_after_a_stop_or_another_take(sb):
    from leadflow.cadence import stops
    from leadflow.models import StopReason

    lead_id = _post(sb, "take.once@example.com")
    arn = _stop_behind_its_back(sb, lead_id)
    now = clock.now()
    assert enrollment_items.take_ended(lead_id, 1, "arn:other", 1, now) is None  # not its execution
    assert enrollment_items.take_ended(lead_id, 1, arn, 2, now) is None  # not its attempt
    taken = enrollment_items.take_ended(lead_id, 1, arn, 1, now)
    assert taken is not None and taken.attempt == 2 and taken.execution_arn is None
    assert enrollment_items.take_ended(lead_id, 1, arn, 1, now) is None  # taken once
    stops.stop_enrollments(lead_id, StopReason.REPLY)
    assert enrollment_items.take_ended(lead_id, 1, arn, 2, now) is None  # stopped


# The events queue as deployed (infra/constructs/answers.py): a failed message is received again
# once its visibility timeout (6 x the events function's 60 s) ran out, at most 5 times.
EVENTS_VISIBILITY = timedelta(minutes=6)
EVENTS_MAX_RECEIVES = 5


def _redeliver_failed_send_events(sb, monkeypatch) -> list[datetime]:
    """Give the Sandbox's SES Send events SQS's redelivery: an event the events function failed
    on (the table refused its record) comes back after the visibility timeout. Returns the times
    of the failed receives."""
    deliver = sb.deliver_ses_event
    failed: list[datetime] = []

    def delivered(notification: dict, receives: int = 1) -> dict:
        try:
            answer = deliver(notification)
        except EveryRecordFailed:  # every record of the batch failed: Lambda reports an error
            answer = {"batchItemFailures": [{"itemIdentifier": "all"}]}
        if answer.get("batchItemFailures"):
            failed.append(clock.now())
            if receives < EVENTS_MAX_RECEIVES:
                again = lambda: delivered(notification, receives + 1)  # noqa: E731
                sb.clock.call_at(clock.now() + EVENTS_VISIBILITY, again)
        return answer

    monkeypatch.setattr(sb, "deliver_ses_event", delivered)
    return failed


def test_an_outage_from_the_moment_ses_accepted_touch_1_loses_nothing_and_sends_nothing_twice(
    sbe, monkeypatch
):
    """The issue's timing: every write refused from right after SES accepted a touch 1. That lead's
    touch 1 is in doubt (item 4) and held until its Send event, redelivered by SQS after the outage,
    settles it (the step retries it by schedule, issue 28); the leads whose touch 1 the table refused
    outright wait in the sweep's index, and the sweep hands them to the step again after it."""
    redelivered = _redeliver_failed_send_events(sbe, monkeypatch)
    ses_throttled = client_error(
        "TooManyRequestsException", "SendEmail", 429, "Maximum sending rate exceeded."
    )
    # Touch 1 of each lead waits for Lambda's retry of its async invoke (a minute): they go out together.
    with failing("sesv2", "SendEmail", ses_throttled, times=3):
        leads = [_post(sbe, f"accepted{number}@example.com") for number in range(3)]
    outage: dict[str, datetime] = {}

    def accepted(**_: object) -> None:
        outage.setdefault("start", clock.now())

    ses = aws.client("sesv2")
    ses.meta.events.register("after-call.sesv2.SendEmail", accepted)
    try:
        during = lambda params: "start" in outage and clock.now() < outage["start"] + OUTAGE  # noqa: E731
        throttled = lambda: client_error("ProvisionedThroughputExceededException", "Write", 400)  # noqa: E731
        with contextlib.ExitStack() as stack:
            for client in (aws.table(settings().table_name).meta.client, aws.client("dynamodb")):
                for operation in WRITES:
                    stack.enter_context(
                        failing("dynamodb", operation, throttled, times=10**6, when=during, client=client)
                    )
            sbe.advance(60)
            assert "start" in outage
            start = outage["start"]
            sbe.advance_to(start + OUTAGE - timedelta(seconds=1))
            (first,) = [lead_id for lead_id in leads if _sent(sbe, lead_id) == [] and _accepted(sbe, lead_id)]
            refused = [lead_id for lead_id in leads if lead_id != first]
            assert [_accepted(sbe, lead_id) for lead_id in refused] == [[], []]
            # Every execution waits for its second moment; touch 1 went outside them (issue 28).
            assert [sbe.execution(lead_id)["status"] for lead_id in leads] == ["RUNNING"] * 3
            assert enrollment_items.get_enrollment(first, 1).touch_state == "claimed"  # in doubt
            assert [enrollment_items.get_enrollment(lead_id, 1).touch_state for lead_id in refused] == [
                "released",  # SES's throttle released them; the table refused their retries' claims
                "released",
            ]
    finally:
        ses.meta.events.unregister("after-call.sesv2.SendEmail", accepted)
    assert redelivered and all(start <= moment < start + OUTAGE for moment in redelivered)
    # The Send event's next receive after the outage records it; the in-doubt retry (hourly at
    # most, item 4) finds it and settles touch 1 without sending it again.
    sbe.advance(65 * 60)
    assert _sent(sbe, first) == [1] and len(_accepted(sbe, first)) == 1
    assert sbe.invoke("sweep", SWEEP_RULE_INPUT)["sweep"]["first_touches"] == 2
    assert [_sent(sbe, lead_id) for lead_id in refused] == [[1], [1]]
    sbe.advance(30 * 86400)
    for lead_id in leads:
        assert [int(m["tags"]["touch"]) for m in _accepted(sbe, lead_id)] == [1, 2, 3, 4, 5, 6], lead_id
    report = sbe.audit()
    assert report.clean, report.lines()


def _accepted(sb, lead_id: str) -> list[dict]:
    """Every email SES accepted for the lead, by the send's own tags (recorded or not)."""
    return [message for message in sb.outbox() if message["tags"].get("lead") == lead_id]


def test_the_listing_keeps_executions_stopped_after_the_cursor_and_stops_at_the_longest_run():
    from leadflow.cadence import executions

    cursor = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def listed(name: str, started: datetime, stopped: datetime | None) -> dict:
        execution = {"executionArn": f"arn:{name}", "name": name, "status": "FAILED", "startDate": started}
        return execution if stopped is None else {**execution, "stopDate": stopped}

    second = timedelta(seconds=1)
    page = [
        listed("after", cursor - timedelta(days=1), cursor + second),
        listed("at", cursor - timedelta(days=1), cursor),  # reconciled by the sweep that set it
        listed("timed-out", cursor - timedelta(days=2), None),  # no stop time listed: kept
        listed("oldest-kept", cursor - executions.LONGEST_RUN, cursor + second),
        listed("too-old", cursor - executions.LONGEST_RUN - second, cursor + second),
        listed("never-read", cursor - executions.LONGEST_RUN - timedelta(days=1), cursor + second),
    ]
    found: list[executions.EndedExecution] = []
    assert executions._collect(page, cursor, found) is False  # the next page is not fetched
    assert [ended.name for ended in found] == ["after", "timed-out", "oldest-kept"]
    everything: list[executions.EndedExecution] = []
    assert executions._collect(page, None, everything) is True  # no cursor yet: all of them
    assert len(everything) == len(page)
