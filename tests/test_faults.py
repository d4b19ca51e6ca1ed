"""Issue 11: faults injected at the adapters never lose a lead or a touch, never send twice or
after a stop; each case ends with the audit clean."""

from __future__ import annotations

import pytest
from faults import client_error, crash, failing

from leadflow.cadence import asl
from leadflow.cadence.model import DEFAULT_CADENCE_DIR, load_cadences
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

pytestmark = pytest.mark.email_cadence
STEP = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-step"


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent_touches(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


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
        for number in range(1, len(cadence.touches) + 1):
            task = tasks[cadence.state_name(number)]
            caught = [catch["ErrorEquals"] for catch in task["Catch"]]
            assert caught == [[asl.ENROLLMENT_STOPPED], [asl.NOT_DUE_YET], ["States.ALL"]]
            assert states[task["Catch"][-1]["Next"]]["Next"] == asl.RECORD_FAILURE_STATE
        assert states[asl.FAILED_STATE]["Type"] == "Fail"


def test_ses_throttling_once_is_retried_and_the_touch_goes_out_once(sb):
    throttled = client_error("TooManyRequestsException", "SendEmail", 429, "Maximum sending rate exceeded.")
    with failing("sesv2", "SendEmail", throttled) as failed:
        lead_id = _post(sb, "throttled@example.com")
        assert len(failed) == 1 and _sent_touches(sb, lead_id) == []
        sb.advance(5)  # the retry's backoff: at most 2 s with full jitter
    assert _sent_touches(sb, lead_id) == [1]
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.run_status is RunStatus.RUNNING and enrollment.touch_state == "sent"
    sb.advance(30 * 86400)
    assert _sent_touches(sb, lead_id) == [1, 2, 3, 4, 5, 6]


def test_an_error_retries_cannot_fix_marks_the_enrollment_failed_and_alerts_ops(sb):
    rejected = client_error("MessageRejected", "SendEmail", 400, "Email address is not verified.")
    with failing("sesv2", "SendEmail", rejected, times=99):
        lead_id = _post(sb, "rejected@example.com")
        sb.advance(60)
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.run_status is RunStatus.FAILED
    assert (enrollment.failure_error, enrollment.failed_touch) == ("ClientError", 1)
    assert enrollment.touch_state == "released"  # nothing went out: the sweep may send it later
    execution = sb.execution(lead_id)
    assert execution["status"] == "FAILED"
    assert execution["states"][-2:] == [asl.RECORD_FAILURE_STATE, asl.FAILED_STATE]
    (alert,) = sb.ops_alerts()
    assert alert["lead_id"] == lead_id and "ClientError" in alert["subject"]
    assert "rejected@example.com" not in alert["message"]  # ids only


@pytest.fixture
def sbe(tmp_path):
    """The email cadence Sandbox, publishing SES Send events as the configuration set does."""
    from conftest import plain_email_setup

    from leadflow.local import Sandbox

    with Sandbox(ses_send_events=True, **plain_email_setup(tmp_path / "setup")) as sandbox:
        yield sandbox


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


def test_a_lambda_timeout_before_ses_was_called_is_released_after_the_grace_and_sent_once(sbe, monkeypatch):
    from leadflow.send import mail, touches

    original_build, original_release = mail.build_message, enrollment_items.release_touch
    calls = []

    def killed_release(*args):  # Lambda killed the process: no cleanup ran, the claim stays
        monkeypatch.setattr(enrollment_items, "release_touch", original_release)
        return False

    def timing_out(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            monkeypatch.setattr(enrollment_items, "release_touch", killed_release)
            raise crash("Sandbox.Timedout")("Task timed out after 30.00 seconds")
        return original_build(*args, **kwargs)

    monkeypatch.setattr(mail, "build_message", timing_out)
    lead_id = _post(sbe, "timeout@example.com")
    sbe.advance(60)
    enrollment = enrollment_items.enrollments(lead_id)[0]
    assert enrollment.touch_state == "claimed" and _sent_touches(sbe, lead_id) == []
    sbe.advance(touches.SETTLE_GRACE.total_seconds() + 120)  # no Send event: nothing went out
    assert _sent_touches(sbe, lead_id) == [1]
    sbe.advance(30 * 86400)
    assert _sent_touches(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
