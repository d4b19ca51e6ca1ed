"""Issue 11: faults injected at the adapters never lose a lead or a touch, never send twice or
after a stop; each case ends with the audit clean."""

from __future__ import annotations

import pytest
from faults import client_error, crash, failing

from leadflow.cadence import asl
from leadflow.cadence.model import DEFAULT_CADENCE_DIR, load_cadences
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

STEP = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-step"


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent_touches(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


def _assert_clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


def _table_client():
    from leadflow import aws
    from leadflow.config import settings

    return aws.table(settings().table_name).meta.client


def test_every_task_retries_transient_errors_and_catches_everything_else():
    for cadence in load_cadences(DEFAULT_CADENCE_DIR, DEFAULT_CADENCE_DIR.parent / "templates").values():
        states = asl.build_definition(cadence, STEP)["States"]
        tasks = {name: state for name, state in states.items() if state["Type"] == "Task"}
        assert asl.RECORD_FAILURE_STATE in tasks
        for name, task in tasks.items():
            retry = task["Retry"][0]
            expected = {"Throttled", "ServiceUnavailable", "Lambda.TooManyRequestsException"}
            expected |= {"Sandbox.Timedout", "Runtime.ExitError"}
            assert set(retry["ErrorEquals"]) >= expected
            assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] > 1, name
            catch_all = task["Catch"][-1]
            assert catch_all["ErrorEquals"] == ["States.ALL"], name
        # The first moment is sent outside the execution (issue 28: send.first_moment retries and
        # records its failures as these do; tests/test_first_moment.py).
        assert asl.task_state_name(cadence, 1) not in tasks
        for number, *_ in asl.moments(cadence)[1:]:
            task = tasks[asl.task_state_name(cadence, number)]
            caught = [catch["ErrorEquals"] for catch in task["Catch"]]
            assert caught == [[asl.ENROLLMENT_STOPPED], [asl.NOT_DUE_YET], ["States.ALL"]]
            assert states[task["Catch"][-1]["Next"]]["Next"] == asl.RECORD_FAILURE_STATE
        assert states[asl.FAILED_STATE]["Type"] == "Fail"


@pytest.mark.email_cadence
def test_ses_throttling_once_is_retried_and_the_touch_goes_out_once(sb):
    throttled = client_error("TooManyRequestsException", "SendEmail", 429, "Maximum sending rate exceeded.")
    with failing("sesv2", "SendEmail", throttled) as failed:
        lead_id = _post(sb, "throttled@example.com")
        assert len(failed) == 1 and _sent_touches(sb, lead_id) == []
        # Touch 1 is an async invoke of the step (issue 28): Lambda retries it a minute later.
        sb.advance(59)
        assert _sent_touches(sb, lead_id) == []
        sb.advance(1)
    assert _sent_touches(sb, lead_id) == [1]
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.run_status is RunStatus.RUNNING and enrollment.touch_state == "sent"
    sb.advance(30 * 86400)
    assert _sent_touches(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_an_error_retries_cannot_fix_marks_the_enrollment_failed_and_alerts_ops(sb):
    rejected = client_error("MessageRejected", "SendEmail", 400, "Email address is not verified.")
    with failing("sesv2", "SendEmail", rejected, times=99):
        lead_id = _post(sb, "rejected@example.com")
        sb.advance(60)
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.run_status is RunStatus.FAILED
    assert (enrollment.failure_error, enrollment.failed_touch) == ("ClientError", 1)
    assert enrollment.touch_state == "released"  # nothing went out: the sweep may send it later
    # Touch 1 is sent outside the execution (issue 28): its failure is recorded as the Task's
    # catch-all records one, and the execution waiting for the second moment is stopped.
    execution = sb.execution(lead_id)
    assert execution["status"] == "ABORTED"
    (alert,) = sb.ops_alerts()
    assert alert["lead_id"] == lead_id and "ClientError" in alert["subject"]
    assert "rejected@example.com" not in alert["message"]  # ids only
    # A refusal is not transient: the sweep leaves it to an operator, who retries it once fixed.
    assert sb.sweep() == {
        "started": 0,
        "still_pending": 0,
        "retried": 0,
        "resumed": 0,
        "left_failed": 1,
        "escalated": 0,
        "first_touches": 0,
    }
    _assert_clean(sb)
    assert sb.sweep(retry_all_failed=True)["retried"] == 1
    sb.advance(60)
    assert _sent_touches(sb, lead_id) == [1]
    sb.advance(30 * 86400)
    assert _sent_touches(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    assert [execution["status"] for execution in sb.executions(lead_id)] == ["ABORTED", "SUCCEEDED"]
    _assert_clean(sb)


def test_a_crash_after_ses_accepted_settles_from_the_send_event_and_never_sends_again(sbe):
    with failing("sesv2", "SendEmail", crash(), after=True) as failed:
        lead_id = _post(sbe, "crash.after@example.com")
        assert len(failed) == 1
        sbe.advance(120)
    assert _sent_touches(sbe, lead_id) == [1]
    (touch,) = enrollment_items.touches(lead_id)
    assert touch.message_id == sbe.outbox()[0]["message_id"]
    sbe.advance(30 * 86400)
    assert _sent_touches(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)


@pytest.mark.email_cadence
def test_dynamodb_throttling_inside_the_step_is_retried(sb):
    throttled = client_error("ProvisionedThroughputExceededException", "UpdateItem", 400)
    claims = lambda params: "touch_state = :claimed" in params.get("UpdateExpression", "")  # noqa: E731
    with failing("dynamodb", "UpdateItem", throttled, times=2, when=claims, client=_table_client()) as failed:
        lead_id = _post(sb, "dynamo.throttled@example.com")
        assert len(failed) == 1
        # Lambda's retries of the async invoke (issue 28): one minute, then two more.
        sb.advance(60)
        assert len(failed) == 2 and _sent_touches(sb, lead_id) == []
        sb.advance(120)
    assert len(failed) == 2 and _sent_touches(sb, lead_id) == [1]
    sb.advance(30 * 86400)
    assert _sent_touches(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_step_functions_unavailable_at_intake_stores_a_pending_enrollment_the_sweep_starts(sb):
    unavailable = client_error("ServiceUnavailable", "StartExecution", 503)
    with failing("stepfunctions", "StartExecution", unavailable, times=99):
        answer = sb.post("/leads", json={"email": "pending@example.com"})
        assert answer.status_code == 202
        lead_id = sb.find_lead("pending@example.com")["id"]
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.run_status is RunStatus.PENDING and enrollment.execution_arn is None
        assert sb.sweep()["still_pending"] == 1  # still down: the next sweep tries again
        # A retry of the same post is not "a known lead, nothing to do": it is still pending.
        assert sb.post("/leads", json={"email": "pending@example.com"}).status_code == 202
    assert _sent_touches(sb, lead_id) == []
    report = sb.audit()
    assert report.clean and report.counts["enrollments.pending"] == 1
    assert sb.sweep() == {
        "started": 1,
        "still_pending": 0,
        "retried": 0,
        "resumed": 0,
        "left_failed": 0,
        "escalated": 0,
        "first_touches": 0,
    }
    assert _sent_touches(sb, lead_id) == [1]
    assert sb.sweep()["started"] == 0  # nothing left to start
    sb.advance(30 * 86400)
    assert _sent_touches(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_re_post_starts_a_pending_enrollment(sb):
    unavailable = client_error("ThrottlingException", "StartExecution", 400)
    with failing("stepfunctions", "StartExecution", unavailable):
        sb.post("/leads", json={"email": "repost.pending@example.com"})
    lead_id = sb.find_lead("repost.pending@example.com")["id"]
    assert sb.post("/leads", json={"email": "repost.pending@example.com"}).status_code == 202
    assert _sent_touches(sb, lead_id) == [1]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_reply_stored_while_the_touch_renders_stops_it_before_its_claim(sb, monkeypatch):
    from leadflow import clock
    from leadflow.cadence import stops
    from leadflow.models import ContactStatus, StopReason
    from leadflow.send import messages
    from leadflow.store import lead_items

    # The reply's StopExecution reaches the execution once its step returned (moto cannot abort a
    # Task mid-call: it corrupts the execution); the step must not send either way.
    monkeypatch.setattr("leadflow.cadence.executions.stop", lambda arn, cause: None)

    lead_id = _post(sb, "reply.window@example.com")
    original = messages.compose
    replied = []

    def reply_while_rendering(*args, **kwargs):
        if not replied:  # the reply is stored while touch 2 renders, before its claim
            lead_items.set_contact_status(lead_id, ContactStatus.REPLIED, "reply", clock.now())
            replied.extend(stops.stop_enrollments(lead_id, StopReason.REPLY))
        return original(*args, **kwargs)

    monkeypatch.setattr(messages, "compose", reply_while_rendering)
    sb.advance(2 * 86400)
    assert replied and _sent_touches(sb, lead_id) == [1]
    execution = sb.execution(lead_id)
    assert execution["status"] == "SUCCEEDED" and execution["states"][-1] == asl.STOPPED_STATE
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.run_status is RunStatus.STOPPED
    # An email is claimed with its provider call, after rendering: touch 2 was never claimed.
    assert (enrollment.last_touch, enrollment.stopped_after_touch) == (1, 1)
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_stop_between_the_pre_checks_and_the_claim_of_touch_1_ends_through_the_stopped_state(
    sb, monkeypatch
):
    from leadflow import clock
    from leadflow.models import StopReason

    original = enrollment_items.claim_touch

    def stop_then_claim(lead, number, touch, at, **kwargs):
        enrollment_items.stop_enrollment(lead, number, StopReason.REPLY, clock.now())
        return original(lead, number, touch, at, **kwargs)

    monkeypatch.setattr(enrollment_items, "claim_touch", stop_then_claim)
    lead_id = _post(sb, "stop.before.claim@example.com")
    assert _sent_touches(sb, lead_id) == []
    # Touch 1 went outside the execution (issue 28): its run ended quietly; the execution, which
    # the stop's own StopExecution did not reach here, ends through the Stopped state at touch 2.
    sb.advance(2 * 86400)
    assert _sent_touches(sb, lead_id) == []
    execution = sb.execution(lead_id)
    assert execution["status"] == "SUCCEEDED" and execution["states"][-1] == asl.STOPPED_STATE
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_lead_whose_enrollment_failed_is_enrolled_again_when_it_posts_60_days_later(sb):
    rejected = client_error("MessageRejected", "SendEmail", 400)
    with failing("sesv2", "SendEmail", rejected, times=99):
        lead_id = _post(sb, "failed.then.back@example.com")
        sb.advance(60)
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.FAILED
    sb.advance(60 * 86400)
    assert sb.post("/leads", json={"email": "failed.then.back@example.com"}).status_code == 202
    _first, second = enrollment_items.enrollments(lead_id)
    assert second.run_status is RunStatus.RUNNING and second.reason == "posted again"
    assert [(message["enrollment"], message["touch"]) for message in sb.outbox()] == [(2, 1)]
    assert sb.sweep(retry_all_failed=True)["retried"] == 0  # superseded by the new enrollment
    _assert_clean(sb)


def test_not_due_yet_on_touch_1_waits_for_the_moved_time(sb, monkeypatch):
    from datetime import timedelta

    from leadflow.cadence import enrollments
    from leadflow.clock import parse_iso

    lead_id = _post(sb, "moved.first@example.com")
    original = enrollments.plan_for

    def first_touch_tomorrow(lead, cadence, start, **options):
        schedule, zone = original(lead, cadence, start, **options)
        return [moment + timedelta(days=1) for moment in schedule], zone

    monkeypatch.setattr(enrollments, "plan_for", first_touch_tomorrow)
    enrollment = sb.enroll(lead_id, "re-engagement", "re-engagement")
    due = enrollment["schedule"][0]
    assert [m for m in sb.outbox() if m["enrollment"] == 2] == []
    # Touch 1 is sent outside the execution (issue 28): a one-shot schedule at its moved time; the
    # execution waits for the second moment meanwhile.
    execution = sb.executions(lead_id)[-1]
    assert execution["status"] == "RUNNING" and execution["states"] == [
        asl.wait_state_name(sb.cadences["re-engagement"], 2)
    ]
    sb.advance_to(parse_iso(due) - timedelta(seconds=1))
    assert [m for m in sb.outbox() if m["enrollment"] == 2] == []
    sb.advance_to(due)
    sent = [message for message in sb.outbox() if message["enrollment"] == 2]
    assert [message["touch"] for message in sent][:1] == [1]
    _assert_clean(sb)


def test_sns_sms_throttling_is_retried_and_the_text_goes_out_once(sb):
    body = {
        "email": "texter@example.com",
        "phone": "+14155550123",
        "sms_consent": True,
        "form": "demo-request",
    }
    assert sb.post("/leads", json=body).status_code == 202
    lead_id = sb.find_lead("texter@example.com")["id"]
    throttled = client_error("Throttling", "Publish", 400, "Rate exceeded")
    to_phone = lambda params: "PhoneNumber" in params  # noqa: E731
    with failing("sns", "Publish", throttled, when=to_phone) as failed:
        sb.advance(3 * 86400)
        assert len(failed) == 1
    texts = [
        message for message in sb.outbox() if message["channel"] == "sms" and message["lead_id"] == lead_id
    ]
    assert len(texts) == 1
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_leadflow_audit_reads_a_running_sandbox_and_exits_1_on_a_breach(sb):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from leadflow import aws
    from leadflow.local.serve import start_aws_endpoint

    # Inside the owners' hours: the audit acts on the present, long past any alert held for them.
    sb.advance_to("2026-11-23T15:00:00Z")
    lead_ids = [_post(sb, f"audited{number}@example.com") for number in range(3)]
    endpoint = start_aws_endpoint()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    command = [str(Path(sys.executable).parent / "leadflow"), "audit", "--endpoint-url", endpoint.url]
    try:
        clean = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
        # An execution stopped behind the enrollment's back: the enrollment still says running.
        execution = sb.execution(lead_ids[0])["arn"]
        aws.client("stepfunctions").stop_execution(executionArn=execution, cause="test")
        sb.clock.settle()
        broken = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    finally:
        endpoint.stop()
    assert clean.returncode == 0, clean.stderr
    assert "leads: 3" in clean.stdout and "breaches.sent_twice: 0" in clean.stdout
    assert broken.returncode == 1
    assert "breaches.running_without_execution: 1" in broken.stdout
    assert f"BREACH running_without_execution: lead {lead_ids[0]} enrollment 1" in broken.stdout
    assert broken.stderr.strip() == "leadflow audit: 1 breaches"


@pytest.mark.email_cadence
def test_the_sweep_function_on_its_schedule_starts_pending_enrollments_and_publishes_the_audit(sb):
    from leadflow.local.events import scheduler_event

    unavailable = client_error("ServiceUnavailable", "StartExecution", 503)
    with failing("stepfunctions", "StartExecution", unavailable):
        lead_id = _post(sb, "scheduled.sweep@example.com")
    event = {**scheduler_event(sb.now(), "arn:aws:events:us-east-1:123456789012:rule/sweep"), "audit": True}
    result = sb.invoke("sweep", event)
    assert result["sweep"]["started"] == 1 and _sent_touches(sb, lead_id) == [1]
    assert set(result["breaches"].values()) == {0}
    assert sb.metric_total("Sweep_started") == 1 and sb.metric_total("AuditBreaches") == 0


@pytest.mark.email_cadence
def test_the_audit_finds_every_kind_of_breach(sb):
    from datetime import timedelta

    from leadflow import aws, clock
    from leadflow.config import settings
    from leadflow.models import StopReason
    from leadflow.send import mail

    ids = [_post(sb, f"breach{number}@example.com") for number in range(5)]
    assert sb.audit().clean
    table = aws.table(settings().table_name)
    key = {"pk": f"LEAD#{ids[0]}", "sk": "ENROLLMENT#001"}
    # 0: a second SES send of touch 1 (tags name it); 1: a stop recorded before touch 1 was sent,
    # its execution left running; 2: the enrollment item gone; 3: a claim without an outcome.
    message = mail.build_message(
        sender="Alex <alex@mail.leadflow.example>",
        to="breach0@example.com",
        subject="again",
        text="again",
        html="<p>again</p>",
    )
    mail.send(message, {"cadence": "inbound-demo-request", "touch": "1", "lead": ids[0], "enrollment": "1"})
    enrollment_items.stop_enrollment(ids[1], 1, StopReason.REPLY, clock.now() - timedelta(minutes=1))
    table.delete_item(Key={"pk": f"LEAD#{ids[2]}", "sk": "ENROLLMENT#001"})
    table.update_item(
        Key={**key, "pk": f"LEAD#{ids[3]}"},
        UpdateExpression="SET touch_state = :claimed, claimed_at = :at",
        ExpressionAttributeValues={":claimed": "claimed", ":at": clock.iso(clock.now() - timedelta(hours=8))},
    )
    report = sb.audit()
    breaches = {(breach.invariant, breach.lead_id) for breach in report.breaches}
    assert breaches == {
        ("sent_twice", ids[0]),
        ("sent_after_stop", ids[1]),
        ("execution_without_running_enrollment", ids[1]),
        ("lead_without_enrollment", ids[2]),
        ("execution_without_running_enrollment", ids[2]),
        ("claim_without_outcome", ids[3]),
    }
    assert report.breach_counts()["running_without_execution"] == 0
