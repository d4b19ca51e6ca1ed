"""The claim and the stop are conditional writes on one item: DynamoDB orders them.

Both orders are driven deterministically by hooking the step between its steps.
"""

import pytest

from leadflow import clock
from leadflow.cadence import stops
from leadflow.models import ContactStatus, StopReason
from leadflow.send import mail
from leadflow.store import enrollment_items, lead_items, suppression_items

# The demo-request cadence: touch 2 is a call task and 3 an SMS on day 2; touch 4, its second email,
# falls on 2026-11-27 14:00 UTC (day 4 is Thanksgiving in the lead's default zone, New York).
FOURTH_TOUCH = "2026-11-27T14:20:00Z"  # 09:00 New York plus the lead's offset (under 20 minutes)


def _post(sb, email):
    sb.post("/leads", json={"email": email, "form": "demo-request"})
    return sb.find_lead(email)["id"]


def test_stop_recorded_before_the_claim_means_the_touch_is_never_sent(sb, monkeypatch):
    lead_id = _post(sb, "stop.first@example.com")
    original_claim = enrollment_items.claim_touch

    def stop_then_claim(lead, number, touch, at, **kwargs):
        if touch == 4:  # the reply lands after the step woke up but before its claim
            enrollment_items.stop_enrollment(lead, number, StopReason.REPLY, clock.now())
        return original_claim(lead, number, touch, at, **kwargs)

    monkeypatch.setattr(enrollment_items, "claim_touch", stop_then_claim)
    sb.advance_to(FOURTH_TOUCH)

    assert [message["touch"] for message in sb.outbox()] == [1]  # touch 3, the SMS, had no consent
    execution = sb.execution(lead_id)
    # The step raised EnrollmentStopped and the state machine ended in its Stopped state.
    assert execution["status"] == "SUCCEEDED"
    assert execution["states"][-1].startswith("Stopped")
    monkeypatch.undo()
    sb.advance(30 * 86400)
    assert len(sb.outbox()) == 1


def test_claim_recorded_before_the_stop_may_still_go_out_but_nothing_after(sb, monkeypatch):
    lead_id = _post(sb, "claim.first@example.com")
    original_send = mail.send
    stopped = []

    def stop_then_send(message, tags):
        if not stopped:
            # The reply lands between the claim and the SES call of touch 4.
            stopped.extend(stops.stop_lead(lead_id, ContactStatus.REPLIED, StopReason.REPLY))
        return original_send(message, tags)

    monkeypatch.setattr(mail, "send", stop_then_send)
    sb.advance_to(FOURTH_TOUCH)

    assert [message["touch"] for message in sb.outbox()] == [1, 4]
    assert stopped[0].stopped_after_touch == 4
    sb.advance(30 * 86400)
    assert [message["touch"] for message in sb.outbox()] == [1, 4]
    assert sb.execution(lead_id)["status"] == "ABORTED"


def test_a_claim_after_a_stop_is_rejected_by_dynamodb(sb):
    lead_id = _post(sb, "direct@example.com")
    assert enrollment_items.stop_enrollment(lead_id, 1, StopReason.REPLY, clock.now()) is not None

    with pytest.raises(enrollment_items.ClaimRejected):
        enrollment_items.claim_touch(lead_id, 1, 2, clock.now())
    # A second stop finds nothing running.
    assert enrollment_items.stop_enrollment(lead_id, 1, StopReason.REPLY, clock.now()) is None


def test_the_same_touch_cannot_be_claimed_twice(sb):
    lead_id = _post(sb, "twice@example.com")
    enrollment_items.claim_touch(lead_id, 1, 2, clock.now())
    with pytest.raises(enrollment_items.ClaimRejected):
        enrollment_items.claim_touch(lead_id, 1, 2, clock.now())


def test_an_uncontactable_lead_gets_nothing_even_while_its_enrollment_runs(sb):
    lead_id = _post(sb, "optout@example.com")
    lead_items.set_contact_status(lead_id, ContactStatus.OPTED_OUT, "unsubscribe", clock.now())

    sb.advance_to("2026-11-25T09:00:00Z")

    assert [message["touch"] for message in sb.outbox()] == [1]
    assert sb.execution(lead_id)["states"][-1].startswith("Stopped")


@pytest.mark.email_cadence
def test_a_suppression_landing_after_the_wake_stops_the_touch(sb, monkeypatch):
    from leadflow import keys

    sb.post("/leads", json={"email": "suppressed.late@example.com"})
    lead_id = sb.find_lead("suppressed.late@example.com")["id"]
    original_suppression = suppression_items.suppression

    def suppress_then_check(email_key):
        # A complaint for the address arrives from another path while the step is running.
        suppression_items.suppress(email_key, "complaint", clock.now())
        return original_suppression(email_key)

    monkeypatch.setattr(suppression_items, "suppression", suppress_then_check)
    sb.advance_to("2026-11-24T09:00:00Z")
    monkeypatch.undo()

    assert [message["touch"] for message in sb.outbox()] == [1]
    assert (
        suppression_items.suppression(keys.email_key("suppressed.late@example.com"))["reason"] == "complaint"
    )
    assert sb.execution(lead_id)["states"][-1].startswith("Stopped")


@pytest.mark.email_cadence
def test_a_stop_while_a_moved_touch_waits_sends_nothing(sb):
    from datetime import timedelta

    sb.post("/leads", json={"email": "moved.then.stopped@example.com"})
    lead_id = sb.find_lead("moved.then.stopped@example.com")["id"]
    enrollment = enrollment_items.get_enrollment(lead_id, 1)
    later = [moment + timedelta(days=10) for moment in enrollment.schedule]
    assert enrollment_items.move_schedule(lead_id, 1, enrollment.schedule[:1] + later[1:], 2)
    sb.advance_to("2026-11-24T09:00:00Z")  # touch 2 wakes early and waits again
    assert sb.execution(lead_id)["states"][-1].startswith("Until moved")

    stops.stop_lead(lead_id, ContactStatus.REPLIED, StopReason.REPLY)
    sb.advance(40 * 86400)

    assert [message["touch"] for message in sb.outbox()] == [1]
    assert sb.execution(lead_id)["status"] == "ABORTED"


def test_a_moved_schedule_is_refused_once_the_touch_is_claimed(sb):
    lead_id = _post(sb, "claimed@example.com")
    enrollment = enrollment_items.get_enrollment(lead_id, 1)
    enrollment_items.claim_touch(lead_id, 1, 2, clock.now())
    assert not enrollment_items.move_schedule(lead_id, 1, enrollment.schedule, 2)
    enrollment_items.stop_enrollment(lead_id, 1, StopReason.REPLY, clock.now())
    assert not enrollment_items.move_schedule(lead_id, 1, enrollment.schedule, 3)
