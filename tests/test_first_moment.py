"""Issue 28: a cadence's first moment is sent outside its execution (cadence.first_moment). The execution
starts at the Wait before the second moment; whoever starts it hands touch 1 to the step with an
asynchronous invoke (a one-shot schedule when it is not due yet). Touch 1 still goes out at once,
exactly once, never after a stop, never after touch 2; the sweep sends one that was lost and the
audit flags one overdue. Each story ends with `leadflow audit` clean."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from faults import client_error, crash, failing

from leadflow import clock
from leadflow.cadence import asl, first_moment
from leadflow.clock import iso, parse_iso
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

pytestmark = pytest.mark.email_cadence


def _post(sb, email: str, **fields) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada", **fields}).status_code == 202
    return sb.find_lead(email)["id"]


def _sends(sb, lead_id: str, enrollment: int = 1) -> list[tuple[int, str]]:
    return [
        (m["touch"], m["at"])
        for m in sb.outbox()
        if m["lead_id"] == lead_id and m["enrollment"] == enrollment
    ]


def _clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


def _step_runs(sb) -> list[dict]:
    """The step's first-moment runs, as its metric counts them (outcome per run)."""
    return [doc for doc in sb.emitted_metrics if "FirstMoments" in doc]


def test_a_post_sends_touch_1_once_before_it_returns_and_the_execution_waits_for_touch_2(sb):
    lead_id = _post(sb, "ada@example.com")
    # Sent by the step, beside the post (an async invoke), at the post's own moment.
    assert _sends(sb, lead_id) == [(1, "2026-11-23T09:00:00Z")]
    assert [doc["outcome"] for doc in _step_runs(sb)] == ["sent"]
    execution = sb.execution(lead_id)
    cadence = sb.cadences["inbound-demo-request"]
    assert execution["status"] == "RUNNING"
    assert execution["states"] == [asl.wait_state_name(cadence, 2)]  # no Task for touch 1: one transition
    enrollment = enrollment_items.get_enrollment(lead_id, 1)
    assert execution["input"]["schedule"] == {"next_at": iso(enrollment.schedule[1])}
    assert set(execution["input"]) == {"lead_id", "cadence", "enrollment", "version", "schedule"}
    sb.advance(30 * 86400)
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1, 2, 3, 4, 5, 6]
    execution = sb.execution(lead_id)
    assert execution["status"] == "SUCCEEDED" and execution["transitions"] == 10
    _clean(sb)


def test_the_hand_over_carries_ids_only(sb):
    sent = []
    with failing("lambda", "Invoke", client_error("TooManyRequestsException", "Invoke", 429)) as failed:
        _post(sb, "private.person@example.com", company="Secret Co")
        sent.extend(failed)
    (params,) = sent
    assert params["InvocationType"] == "Event"
    payload = json.loads(params["Payload"])
    assert set(payload) == {first_moment.EVENT_KEY}
    assert set(payload[first_moment.EVENT_KEY]) <= {
        "lead_id",
        "cadence",
        "enrollment",
        "version",
        "touch",
        "through",
        "escalate",
    }
    assert "private" not in params["Payload"].decode() and "Secret" not in params["Payload"].decode()


def test_a_hand_over_refused_is_sent_by_the_sweep_after_its_grace_once_and_the_post_still_succeeds(sb):
    throttled = client_error("TooManyRequestsException", "Invoke", 429, "Rate exceeded.")
    with failing("lambda", "Invoke", throttled):
        lead_id = _post(sb, "refused@example.com")
    assert _sends(sb, lead_id) == []
    assert sb.execution(lead_id)["status"] == "RUNNING"
    # Within the grace: Lambda could still be retrying, the sweep leaves it.
    sb.advance(first_moment.SWEEP_GRACE.total_seconds())
    assert sb.sweep()["first_touches"] == 0 and _sends(sb, lead_id) == []
    sb.advance(1)
    assert sb.sweep()["first_touches"] == 1
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1]
    assert sb.sweep()["first_touches"] == 0  # claimed: out of the sweep's index
    _clean(sb)
    sb.advance(30 * 86400)
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1, 2, 3, 4, 5, 6]
    _clean(sb)


def test_a_step_that_crashes_on_touch_1_every_time_is_sent_by_the_sweep_once_and_audit_flags_it_until_then(
    sb,
):
    sb.async_fault, crashes = _crash_first_moments(3)
    lead_id = _post(sb, "crashing@example.com")
    sb.advance(4 * 60)  # Lambda's two retries, 1 and 2 minutes later, crash too
    assert len(crashes) == 3 and _sends(sb, lead_id) == []
    due = enrollment_items.get_enrollment(lead_id, 1).schedule[0]
    # No sweep ran: at the bound the audit says so; a second before, it does not.
    sb.advance_to(due + first_moment.FIRST_TOUCH_BOUND)
    assert sb.audit().clean
    sb.advance(1)
    breaches = sb.audit().breaches
    assert [(b.invariant, b.lead_id) for b in breaches] == [("first_touch_overdue", lead_id)]
    assert sb.sweep()["first_touches"] == 1
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1]
    _clean(sb)
    sb.advance(30 * 86400)
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1, 2, 3, 4, 5, 6]
    _clean(sb)


def test_ses_throttling_touch_1_every_attempt_releases_it_and_the_sweep_sends_it_once(sb):
    throttled = client_error("TooManyRequestsException", "SendEmail", 429, "Maximum sending rate exceeded.")
    with failing("sesv2", "SendEmail", throttled, times=3) as failed:
        lead_id = _post(sb, "throttled@example.com")
        sb.advance(4 * 60)
    assert len(failed) == 3 and _sends(sb, lead_id) == []
    enrollment = enrollment_items.get_enrollment(lead_id, 1)
    assert (enrollment.last_touch, enrollment.touch_state) == (1, "released")  # nothing went out
    sb.advance(first_moment.SWEEP_GRACE.total_seconds())
    assert sb.sweep()["first_touches"] == 1
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1]
    _clean(sb)


def test_a_stop_recorded_before_touch_1_runs_sends_nothing_ever(sb):
    from leadflow.models import StopReason

    def stop_first(function: str, event: dict) -> None:
        # The stop's record lands before the step runs (its StopExecution reaches the execution later).
        if first_moment.EVENT_KEY in event:
            ids = event[first_moment.EVENT_KEY]
            enrollment_items.stop_enrollment(ids["lead_id"], ids["enrollment"], StopReason.REPLY, clock.now())

    sb.async_fault = stop_first
    lead_id = _post(sb, "stopped.first@example.com")
    sb.async_fault = None
    assert _sends(sb, lead_id) == []
    assert [doc["outcome"] for doc in _step_runs(sb)] == ["stopped"]
    sb.advance(first_moment.SWEEP_GRACE.total_seconds() + 60)
    assert sb.sweep()["first_touches"] == 0  # a stopped enrollment is out of the sweep's index
    sb.advance(30 * 86400)
    assert _sends(sb, lead_id) == []
    execution = sb.execution(lead_id)  # ended quietly at the second moment
    assert execution["status"] == "SUCCEEDED" and execution["states"][-1] == asl.STOPPED_STATE
    _clean(sb)


def test_a_stop_stored_while_touch_1_renders_wins_over_its_send(sb, monkeypatch):
    from leadflow.cadence import stops
    from leadflow.models import ContactStatus, StopReason
    from leadflow.send import messages
    from leadflow.store import lead_items

    # The stop's StopExecution would reach an execution that may still be starting (moto cannot stop
    # one mid-start); the step must not send either way, and the execution ends at its next Task.
    monkeypatch.setattr("leadflow.cadence.executions.stop", lambda arn, cause: None)
    original = messages.compose
    stopped = []

    def reply_while_rendering(*args, **kwargs):
        if not stopped:  # the reply is stored while touch 1 renders, before its claim
            lead_id = sb.find_lead("race@example.com")["id"]
            lead_items.set_contact_status(lead_id, ContactStatus.REPLIED, "reply", clock.now())
            stopped.extend(stops.stop_enrollments(lead_id, StopReason.REPLY))
        return original(*args, **kwargs)

    monkeypatch.setattr(messages, "compose", reply_while_rendering)
    lead_id = _post(sb, "race@example.com")
    assert stopped and _sends(sb, lead_id) == []
    enrollment = enrollment_items.get_enrollment(lead_id, 1)
    assert enrollment.run_status is RunStatus.STOPPED
    # An email is claimed with its provider call, after rendering: touch 1 was never claimed.
    assert (enrollment.last_touch, enrollment.stopped_after_touch) == (0, 0)
    sb.advance(30 * 86400)
    assert _sends(sb, lead_id) == []
    _clean(sb)


def _crash_first_moments(times: int):
    crashes: list[dict] = []

    def fault(function: str, event: dict) -> None:
        if first_moment.EVENT_KEY in event and len(crashes) < times:
            crashes.append(event)
            raise crash()()

    return fault, crashes


def test_touch_2_never_goes_before_touch_1_the_execution_sends_it_first_and_keeps_the_spacing(sb):
    """Every hand-over attempt lost and no sweep running: at touch 2's time its Task sends touch 1
    first, and the later touches keep their spacing from it (touch 2 a day after touch 1)."""
    sb.async_fault, crashes = _crash_first_moments(3)
    lead_id = _post(sb, "lost@example.com")
    sb.advance(4 * 60)
    assert len(crashes) == 3 and _sends(sb, lead_id) == []
    second = enrollment_items.get_enrollment(lead_id, 1).schedule[1]
    sb.advance_to(second + timedelta(hours=1))
    assert [touch for touch, _ in _sends(sb, lead_id)] == [1]  # touch 1, late, and alone
    sb.advance(30 * 86400)
    sends = _sends(sb, lead_id)
    assert [touch for touch, _ in sends] == [1, 2, 3, 4, 5, 6]
    assert parse_iso(sends[1][1]) - parse_iso(sends[0][1]) >= timedelta(days=1)
    _clean(sb)


def test_a_first_touch_planned_later_goes_out_at_its_time_once_by_schedule(sb):
    """A not-now reply's enrollment (touch 1 at the window's opening on the day asked for): the step
    schedules itself for that moment; nothing goes out before it, touch 1 once at it."""
    from leadflow.cadence.enrollments import enroll

    lead_id = _post(sb, "later@example.com")
    sb.advance(30 * 86400)  # the first cadence is over
    start_at = parse_iso("2027-01-11T14:00:00Z")
    with sb._handler_lock:
        enrollment = enroll(lead_id, "re-engagement", "not now", start_at=start_at)
    sb.clock.settle()
    due = enrollment.schedule[0]
    assert due >= start_at
    assert [doc["outcome"] for doc in _step_runs(sb)][-1] == "scheduled"
    execution = sb.executions(lead_id)[-1]
    assert execution["states"] == [asl.wait_state_name(sb.cadences["re-engagement"], 2)]
    # Its bucket in the sweep's index: the due day's, not read by the sweep before that day.
    assert enrollment_items.needing_attention(
        enrollment_items.first_touch_bucket(due.astimezone(UTC).date())
    ) == [(lead_id, enrollment.number)]
    sb.advance_to(due - timedelta(seconds=1))
    assert sb.sweep()["first_touches"] == 0
    assert _sends(sb, lead_id, enrollment.number) == []
    sb.advance_to(due)
    assert _sends(sb, lead_id, enrollment.number) == [(1, iso(due))]
    sb.advance_to(due + timedelta(hours=1))
    assert sb.sweep()["first_touches"] == 0
    assert len(_sends(sb, lead_id, enrollment.number)) == 1
    _clean(sb)


def test_a_lost_schedule_for_a_later_first_touch_is_sent_by_the_sweep_once(sb):
    from leadflow.cadence.enrollments import enroll

    lead_id = _post(sb, "lost.schedule@example.com")
    sb.advance(30 * 86400)
    refused = client_error("ServiceQuotaExceededException", "CreateSchedule", 402)
    with failing("scheduler", "CreateSchedule", refused):
        with sb._handler_lock:
            enrollment = enroll(
                lead_id, "re-engagement", "not now", start_at=parse_iso("2027-01-11T14:00:00Z")
            )
        sb.clock.settle()
    due = enrollment.schedule[0]
    sb.advance_to(due + first_moment.SWEEP_GRACE + timedelta(seconds=1))
    assert _sends(sb, lead_id, enrollment.number) == []
    assert sb.sweep()["first_touches"] == 1
    assert [touch for touch, _ in _sends(sb, lead_id, enrollment.number)] == [1]
    _clean(sb)


def test_a_touch_1_in_doubt_is_retried_by_schedule_until_its_send_event_settles_it_once(sbe):
    """The step dies right after SES accepted touch 1 and SES's Send event comes half an hour later:
    Lambda's retry finds the claim in doubt; the step retries by schedule (the Task's delays) until
    the event settles it. Sent once; touch 2 at its time."""
    sbe.send_event_delay = timedelta(minutes=30)
    with failing("sesv2", "SendEmail", crash(), after=True) as failed:
        lead_id = _post(sbe, "in.doubt@example.com")
        assert len(failed) == 1
    sbe.advance(20 * 60)
    assert enrollment_items.get_enrollment(lead_id, 1).touch_state == "claimed"  # in doubt
    assert "scheduled" in [doc["outcome"] for doc in _step_runs(sbe)]
    sbe.advance(60 * 60)
    assert enrollment_items.get_enrollment(lead_id, 1).touch_state == "sent"
    assert [doc["outcome"] for doc in _step_runs(sbe)][-1] == "settled"
    (touch,) = enrollment_items.touches(lead_id)
    assert touch.number == 1 and touch.message_id == sbe.outbox()[0]["message_id"]
    sbe.advance(30 * 86400)
    assert [touch for touch, _ in _sends(sbe, lead_id)] == [1, 2, 3, 4, 5, 6]
    _clean(sbe)


def _touch_1_sends(sb, lead_id: str) -> dict[int, int]:
    """Touch 1 sends per enrollment of the lead."""
    counts: dict[int, int] = {}
    for message in sb.outbox():
        if message["lead_id"] == lead_id and message["touch"] == 1:
            counts[message["enrollment"]] = counts.get(message["enrollment"], 0) + 1
    return counts


def test_every_enrollment_path_sends_touch_1_exactly_once(sb, tmp_path):
    """A CRM's post, a CSV import (new and known leads), re-engagement and an operator's resume of a
    paused not-now enrollment: each hands touch 1 to the step once, and it goes out once."""
    from leadflow.cadence import lead_actions, reengage
    from leadflow.cadence.enrollments import enroll
    from leadflow.config import operator_config
    from leadflow.intake import bulk
    from leadflow.store import lead_items

    assert (
        sb.post("/leads", json={"email": "crm@example.com"}, headers={"X-Api-Key": sb.api_key}).status_code
        == 202
    )
    crm = sb.find_lead("crm@example.com")["id"]
    assert _touch_1_sends(sb, crm) == {1: 1}

    rows = tmp_path / "rows.csv"
    rows.write_text("email,first_name\nnew.row@example.com,Nia\ncrm@example.com,Cy\n")
    with sb._handler_lock:
        imported = bulk.import_csv(rows, "re-engagement", sleep=lambda seconds: None)
    sb.clock.settle()
    assert len(imported.enrolled) == 2
    assert _touch_1_sends(sb, sb.find_lead("new.row@example.com")["id"]) == {1: 1}
    # The known lead's import is its second enrollment; its day already had an email: a later day.
    sb.advance(3 * 86400)
    assert _touch_1_sends(sb, crm) == {1: 1, 2: 1}

    sb.advance(200 * 86400)  # everything ended long ago: dormant
    settings = operator_config().reengagement
    with sb._handler_lock:
        run = reengage.reengage(settings, dry_run=False, sleep=lambda seconds: None)
    sb.clock.settle()
    assert crm in run.enrolled
    assert _touch_1_sends(sb, crm) == {1: 1, 2: 1, 3: 1}

    sb.advance(60 * 86400)
    lead = lead_items.get_lead(crm)
    with sb._handler_lock:
        later = enroll(crm, "re-engagement", "not now", start_at=sb.now() + timedelta(days=14))
        lead_actions.pause(lead, (sb.now() + timedelta(days=30)).date())
    sb.clock.settle()
    sb.advance(2 * 86400)
    with sb._handler_lock:
        assert lead_actions.resume(lead_items.get_lead(crm)) == 1
    sb.clock.settle()
    sb.advance(40 * 86400)
    assert _touch_1_sends(sb, crm) == {1: 1, 2: 1, 3: 1, later.number: 1}
    _clean(sb)
