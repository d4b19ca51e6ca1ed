"""Issue 22 item 6: `leadflow audit` finds what is stuck, and counts each breach once.

Each scenario of the issue's table, told through the Sandbox: an enrollment `pending` for three
days (the sweep not running), one `completed` with fewer touches than planned, one held back by
the sending guard, and a duplicate that used to be counted twice. Each bound is tested exactly at
the bound and one second past it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from faults import client_error, failing

from leadflow import aws, clock
from leadflow.cadence.audit import HELD_BOUND, PENDING_BOUND
from leadflow.cli import main
from leadflow.config import settings
from leadflow.models import RunStatus, StopReason, TouchStatus
from leadflow.store import enrollment_items
from tests.test_sending_guard import _bounce, _emails, _sandbox


def _post(sb, email: str, **fields) -> str:
    answer = sb.post("/leads", json={"email": email, "first_name": "Ada", **fields})
    assert answer.status_code == 202
    return sb.find_lead(email)["id"]


def _breaches(sb, invariant: str) -> list:
    return [breach for breach in sb.audit().breaches if breach.invariant == invariant]


@pytest.mark.email_cadence
def test_an_enrollment_pending_past_the_bound_is_flagged_and_the_cli_exits_1(sb, capsys):
    unavailable = client_error("ServiceUnavailable", "StartExecution", 503)
    with failing("stepfunctions", "StartExecution", unavailable, times=99):
        lead_id = _post(sb, "stuck.pending@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.run_status is RunStatus.PENDING
    # The sweep is not running. Exactly at the bound the enrollment is still only waiting...
    sb.advance_to(enrollment.started_at + PENDING_BOUND)
    assert sb.audit().clean
    assert main(["audit"]) == 0
    # ...one second later it is stuck, and stays flagged for the three days nobody sweeps.
    sb.advance(1)
    (breach,) = _breaches(sb, "pending_too_long")
    assert (breach.lead_id, breach.enrollment) == (lead_id, 1)
    sb.advance(3 * 86400)
    assert [breach.lead_id for breach in sb.audit().breaches] == [lead_id]
    capsys.readouterr()
    assert main(["audit"]) == 1
    captured = capsys.readouterr()
    assert "breaches.pending_too_long: 1" in captured.out
    assert f"BREACH pending_too_long: lead {lead_id} enrollment 1: pending since" in captured.out
    assert captured.err.strip() == "leadflow audit: 1 breaches"
    # The sweep runs again: the enrollment starts, its touches go out (once each), nothing is stuck.
    assert sb.sweep()["started"] == 1
    sent = [entry["touch"] for entry in sb.outbox() if entry["lead_id"] == lead_id]
    assert sent == [1]  # touch 1 now; the others keep their gaps from it (test_late_start)
    assert sb.audit().clean
    assert main(["audit"]) == 0


@pytest.mark.email_cadence
def test_a_failed_enrollment_retried_into_pending_counts_from_its_retry(sb):
    rejected = client_error("MessageRejected", "SendEmail", 400, "Email address is not verified.")
    with failing("sesv2", "SendEmail", rejected, times=99):
        lead_id = _post(sb, "retried.pending@example.com")
        sb.advance(60)
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.FAILED
    sb.advance(10 * 86400)  # an operator fixes the cause ten days later and retries
    unavailable = client_error("ServiceUnavailable", "StartExecution", 503)
    with failing("stepfunctions", "StartExecution", unavailable, times=99):
        assert sb.sweep(retry_all_failed=True)["still_pending"] == 1
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.run_status is RunStatus.PENDING and enrollment.retried_at == sb.now()
    # Pending since the retry, not since the enrollment began ten days ago.
    sb.advance_to(enrollment.retried_at + PENDING_BOUND)
    assert sb.audit().clean
    sb.advance(1)
    assert [breach.lead_id for breach in _breaches(sb, "pending_too_long")] == [lead_id]


def test_a_completed_enrollment_needs_a_record_of_every_planned_touch(sb):
    """The shipped demo-request cadence: emails, a call and a LinkedIn task for the rep, and a text
    that a lead without SMS consent skips with its reason. All seven accounted for: clean."""
    lead_id = _post(sb, "complete@example.com", phone="+14155550123", form="demo-request")
    sb.advance(35 * 86400)
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.run_status is RunStatus.COMPLETED and len(enrollment.schedule) == 7
    touches = {touch.number: touch for touch in enrollment_items.touches(lead_id)}
    assert len(touches) == 7
    skipped = [touch for touch in touches.values() if touch.status is TouchStatus.SKIPPED]
    assert [touch.channel for touch in skipped] == ["sms"] and skipped[0].skip_reason
    assert sb.audit().clean

    table = aws.table(settings().table_name)
    # A skip whose reason was not recorded is not explained: the touch counts as missing.
    sms_key = {"pk": f"LEAD#{lead_id}", "sk": f"TOUCH#001#{skipped[0].number:02d}"}
    assert table.get_item(Key=sms_key).get("Item"), sms_key
    table.update_item(Key=sms_key, UpdateExpression="REMOVE skip_reason")
    (breach,) = _breaches(sb, "completed_short")
    assert breach.lead_id == lead_id
    assert breach.detail == f"1 of 7 planned touches without a record: {skipped[0].number}"
    why = {":why": skipped[0].skip_reason}
    table.update_item(Key=sms_key, UpdateExpression="SET skip_reason = :why", ExpressionAttributeValues=why)
    assert sb.audit().clean
    # A touch lost from the record (the value-add email, touch 4): completed with 6 of 7.
    table.delete_item(Key={"pk": f"LEAD#{lead_id}", "sk": "TOUCH#001#04"})
    (breach,) = _breaches(sb, "completed_short")
    assert breach.detail == "1 of 7 planned touches without a record: 4"
    assert main(["audit"]) == 1


def test_an_email_touch_held_by_the_sending_guard_past_the_bound_is_flagged(tmp_path):
    """The reputation guard pauses email after a bounce; a lead arriving meanwhile has its first
    email held, moved day after day. Held since its first move: exactly HELD_BOUND later the audit is
    clean, one second later it flags the touch; once an operator resumes, it goes out: clean."""
    guard = {"reputation": {"window_sends": 10, "min_sends": 1, "max_bounce_rate": 0.05}}
    with _sandbox(tmp_path, guard) as sb:
        _post(sb, "bounces@guard.example")
        (first,) = _emails(sb)
        _bounce(sb, first)  # 1 of 1 sends bounced: paused
        assert "paused" in sb.ops_alerts()[0]["subject"]
        sb.advance(3600)
        lead_id = _post(sb, "waiting@guard.example")
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.held is not None
        assert (enrollment.held.touch, enrollment.held.why, enrollment.held.since) == (1, "paused", sb.now())
        since = enrollment.held.since
        sb.advance(30 * 3600)  # the touch's next slot came and went: held again, still since the first
        held = enrollment_items.enrollments(lead_id)[0].held
        assert held is not None and held.since == since
        assert enrollment_items.enrollments(lead_id)[0].schedule[0] > sb.now()
        sb.advance_to(since + HELD_BOUND)
        assert sb.audit().clean
        sb.advance(1)
        (breach,) = _breaches(sb, "held_too_long")
        assert (breach.lead_id, breach.enrollment) == (lead_id, 1)
        assert breach.detail == f"touch 1 held (paused) since {clock.iso(since)}"
        assert main(["sending", "resume"]) == 0
        sb.advance(86400)
        assert [entry["to"] for entry in _emails(sb) if entry["touch"] == 1] == [
            "bounces@guard.example",
            "waiting@guard.example",
        ]
        report = sb.audit()
        assert report.clean, report.lines()


@pytest.fixture
def sbe(tmp_path):
    """The email cadence Sandbox, publishing SES Send events as the configuration set does."""
    from conftest import plain_email_setup

    from leadflow.local import Sandbox

    with Sandbox(ses_send_events=True, **plain_email_setup(tmp_path / "setup")) as sandbox:
        yield sandbox


def test_a_touch_sent_twice_is_one_breach_whatever_shows_it(sbe):
    """Touch 1 of one lead goes out twice: SES's own record and the SES Send events both show it
    (two pieces of evidence, one duplicate). Another lead's touch is sent after its stop: one breach
    although the touch record and the provider both show it."""
    from leadflow.send import mail

    twice, late = _post(sbe, "twice@example.com"), _post(sbe, "late@example.com")
    sbe.advance(60)
    assert sbe.audit().clean
    message = mail.build_message(
        sender="Alex <alex@mail.leadflow.example>",
        to="twice@example.com",
        subject="again",
        text="again",
        html="<p>again</p>",
    )
    mail.send(message, {"cadence": "inbound-demo-request", "touch": "1", "lead": twice, "enrollment": "1"})
    sbe.deliver_send_events()  # SES publishes a Send event for it, as for the first
    assert len(enrollment_items.send_events(twice, 1, 1)) == 2
    enrollment_items.stop_enrollment(late, 1, StopReason.REPLY, clock.now() - timedelta(minutes=5))
    report = sbe.audit()
    assert report.breach_counts()["sent_twice"] == 1
    (duplicate,) = [breach for breach in report.breaches if breach.invariant == "sent_twice"]
    assert duplicate.lead_id == twice
    assert duplicate.detail == "touch 1: 2 SES Send events, 2 provider sends"
    assert report.breach_counts()["sent_after_stop"] == 1
    (after_stop,) = [breach for breach in report.breaches if breach.invariant == "sent_after_stop"]
    assert after_stop.lead_id == late and after_stop.detail.startswith("touch 1 sent at ")
    assert after_stop.detail.endswith("; accepted by the provider after the stop")
