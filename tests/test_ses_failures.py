"""SES's other event types, in the shapes AWS documents (tests/fixtures/vendors/ses): a Rendering
Failure or a Reject is a touch that reached nobody (marked, ops alerted once, the audit flags it);
a DeliveryDelay is recorded and flagged when it lasts; a Subscription event is ignored on purpose."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from leadflow import clock
from leadflow.cadence.audit import DELAY_BOUND, audit
from leadflow.store import enrollment_items, event_items
from tests.helpers import to_lead

pytestmark = pytest.mark.email_cadence
SES = Path(__file__).parent / "fixtures" / "vendors" / "ses"


def documented(name: str, touch_message: dict, address: str, at) -> dict:
    """The AWS example, about our touch: its SES MessageId, its recipient, the Sandbox's time."""
    event = copy.deepcopy(json.loads((SES / name).read_text()))
    event["mail"]["messageId"] = touch_message["message_id"]
    event["mail"]["destination"] = [address]
    stamp = clock.iso(at).replace("Z", ".000Z")
    event["mail"]["timestamp"] = stamp
    if "deliveryDelay" in event:
        event["deliveryDelay"]["timestamp"] = stamp
        event["deliveryDelay"]["expirationTime"] = clock.iso(at + timedelta(hours=12))
        event["deliveryDelay"]["delayedRecipients"][0]["emailAddress"] = address
    return event


def _post(sb, email):
    sb.post("/leads", json={"email": email})
    lead = sb.find_lead(email)
    return lead, to_lead(sb, lead["id"])[0]


def _touch(lead_id, number=1):
    return next(touch for touch in enrollment_items.touches(lead_id) if touch.number == number)


@pytest.mark.parametrize(
    ("fixture", "why"),
    [
        ("rendering-failure.json", "Rendering Failure of template 'MyTemplate': Attribute 'attributeName'"),
        ("reject.json", "Reject: Bad content"),
    ],
)
def test_a_touch_ses_did_not_deliver_is_marked_alerted_once_and_flagged_by_the_audit(sb, fixture, why):
    lead, first = _post(sb, "failed@contoso.example")
    event = documented(fixture, first, "failed@contoso.example", sb.now())

    assert sb.deliver_ses_event(event) == {"batchItemFailures": []}
    sb.deliver_ses_event(event)  # SQS redelivers: still one alert

    assert _touch(lead["id"]).undelivered.startswith(why)
    alerts = [note for note in sb.ops_alerts() if "touch not delivered" in (note["subject"] or "")]
    assert len(alerts) == 1
    assert lead["id"] in alerts[0]["message"] and "failed@contoso.example" not in alerts[0]["message"]
    report = audit(now=sb.now())
    assert report.breach_counts()["touch_undelivered"] == 1
    assert report.breaches[0].detail.startswith(f"touch 1: {why}")
    # The cadence goes on: the next touch is still planned.
    assert sb.execution(lead["id"])["status"] == "RUNNING"


def test_a_reject_is_still_recorded_as_an_engagement_event(sb):
    lead, first = _post(sb, "rejected@contoso.example")
    sb.deliver_ses_event(documented("reject.json", first, "rejected@contoso.example", sb.now()))

    assert [item["type"] for item in event_items.events(lead["id"])] == ["reject"]


def test_a_failure_for_a_message_that_is_no_touch_alerts_nobody(sb):
    _post(sb, "other@contoso.example")
    event = documented("rendering-failure.json", {"message_id": "not-ours-000000"}, "x@y.example", sb.now())

    sb.deliver_ses_event(event)

    assert not [note for note in sb.ops_alerts() if "touch not delivered" in (note["subject"] or "")]
    assert audit(now=sb.now()).clean


def test_a_delivery_delay_is_recorded_and_flagged_one_second_past_the_bound(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # inside both reps' hours: each new lead's alert goes out at once
    lead, first = _post(sb, "slow@contoso.example")
    delayed_at = sb.now()
    sb.deliver_ses_event(documented("delivery-delay.json", first, "slow@contoso.example", delayed_at))
    sb.advance(3600)
    sb.deliver_ses_event(documented("delivery-delay.json", first, "slow@contoso.example", sb.now()))

    touch = _touch(lead["id"])
    assert (touch.delayed_since, touch.delay_type) == (delayed_at, "TransientCommunicationFailure")
    assert audit(now=delayed_at + DELAY_BOUND).clean
    late = audit(now=delayed_at + DELAY_BOUND + timedelta(seconds=1))
    assert late.breach_counts()["delivery_delayed"] == 1
    assert "TransientCommunicationFailure" in late.breaches[0].detail


@pytest.mark.parametrize("end", ["Delivery", "Bounce"])
def test_a_delay_that_ends_in_a_delivery_or_a_bounce_is_not_flagged(sb, end):
    from leadflow.local.events import ses_event

    _lead, first = _post(sb, "later@contoso.example")
    delayed_at = sb.now()
    sb.deliver_ses_event(documented("delivery-delay.json", first, "later@contoso.example", delayed_at))
    sb.advance(2 * 3600)
    sb.deliver_ses_event(
        ses_event(
            end,
            message_id=first["message_id"],
            recipients=["later@contoso.example"],
            sent_at=delayed_at,
            at=sb.now(),
            bounce_type="Transient",
        )
    )

    report = audit(now=delayed_at + DELAY_BOUND + timedelta(days=1))
    assert report.breach_counts()["delivery_delayed"] == 0
    assert report.breach_counts()["touch_undelivered"] == 0


def test_a_subscription_event_is_ignored_on_purpose(sb):
    lead, first = _post(sb, "list@contoso.example")
    result = sb.deliver_ses_event(documented("subscription.json", first, "list@contoso.example", sb.now()))

    assert result == {"batchItemFailures": []}
    assert sb.lead(lead["id"])["status"] == "active"
    assert event_items.events(lead["id"]) == []
