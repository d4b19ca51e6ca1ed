"""SES event publishing: configuration set -> SNS -> SQS -> events function (BatchProcessor)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadflow.answers.ses_events import SCANNER_WINDOW, Click, parse, scanner_click
from leadflow.local import events
from leadflow.local.events import ses_event
from leadflow.store import enrollment_items, event_items
from tests.helpers import rep_alerts, to_lead

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence


def _post(sb, email):
    sb.post("/leads", json={"email": email})
    lead = sb.find_lead(email)
    return lead, to_lead(sb, lead["id"])[0]


def _event(sb, kind, touch_message, recipients, *, at=None, **details):
    return ses_event(
        kind,
        message_id=touch_message["message_id"],
        recipients=recipients,
        sent_at=sb.now(),
        at=at or sb.now(),
        tags={"cadence": "inbound-demo-request", "touch": str(touch_message["touch"])},
        **details,
    )


def _types(lead_id):
    return [item["type"] for item in event_items.events(lead_id)]


def test_every_outbox_entry_carries_its_tags(sb):
    _lead, first = _post(sb, "tagged@contoso.example")
    # Touch 1 of the demo cadence is an A/B test: its tags name the lead's variant too; lead and
    # enrollment let SES's Send event settle a touch whose step died (issue 11).
    assert first["tags"] == {
        "cadence": "inbound-demo-request",
        "touch": "1",
        "lead": first["lead_id"],
        "enrollment": "1",
        "variant": first["tags"]["variant"],
    }
    assert first["tags"]["variant"] in {"a", "b"}


def test_delivery_open_and_click_update_the_engagement_record(sb):
    lead, first = _post(sb, "reader@contoso.example")
    sb.deliver_ses_event(_event(sb, "Delivery", first, ["reader@contoso.example"]))
    sb.advance(3600)
    sb.deliver_ses_event(_event(sb, "Open", first, ["reader@contoso.example"]))
    sb.advance(60)
    result = sb.deliver_ses_event(
        _event(sb, "Click", first, ["reader@contoso.example"], link="https://x.example/a")
    )

    assert result == {"batchItemFailures": []}
    assert _types(lead["id"]) == ["delivery", "open", "click"]
    click = event_items.events(lead["id"])[-1]
    assert (click["enrollment"], click["touch"], click["channel"], click["link"]) == (
        1,
        1,
        "email",
        "https://x.example/a",
    )
    assert click["seconds_after_touch"] == 3660
    touch = next(t for t in enrollment_items.touches(lead["id"]) if t.number == 1)
    item = event_items.get_items(
        [(f"LEAD#{lead['id']}", "TOUCH#001#01")],
        ["delivery_count", "open_count", "click_count", "first_click_at"],
    )[0]
    assert (item["delivery_count"], item["open_count"], item["click_count"]) == (1, 1, 1)
    assert item["first_click_at"] == "2026-11-23T10:01:00Z"
    assert touch.number == 1
    assert sb.lead(lead["id"])["status"] == "active"


def test_a_redelivered_event_counts_once(sb):
    lead, first = _post(sb, "twice@contoso.example")
    notification = _event(sb, "Open", first, ["twice@contoso.example"])
    sb.deliver_ses_event(notification)
    sb.deliver_ses_event(notification)
    assert _types(lead["id"]) == ["open"]


def test_one_notification_with_several_recipients_reaches_each_lead(sb):
    one, first = _post(sb, "one@contoso.example")
    two, _ = _post(sb, "two@fabrikam.example")
    sb.deliver_ses_event(
        _event(sb, "Delivery", first, ["one@contoso.example", "two@fabrikam.example", "nobody@x.example"])
    )
    assert _types(one["id"]) == ["delivery"]
    assert _types(two["id"]) == ["delivery"]


def test_a_bounce_for_several_recipients_bounces_each(sb):
    one, first = _post(sb, "one@contoso.example")
    two, _ = _post(sb, "two@fabrikam.example")
    sb.deliver_ses_event(_event(sb, "Bounce", first, ["one@contoso.example", "two@fabrikam.example"]))
    assert sb.lead(one["id"])["status"] == "bounced"
    assert sb.lead(two["id"])["status"] == "bounced"


def test_a_reject_is_recorded(sb):
    lead, first = _post(sb, "rejected@contoso.example")
    sb.deliver_ses_event(_event(sb, "Reject", first, ["rejected@contoso.example"]))
    assert _types(lead["id"]) == ["reject"]
    assert sb.lead(lead["id"])["status"] == "active"


def test_a_click_alerts_the_owner_at_most_once_a_day(sb):
    lead, first = _post(sb, "hot@contoso.example")
    sb.deliver_ses_event(_event(sb, "Delivery", first, ["hot@contoso.example"]))
    for minutes in (30, 45, 50):
        sb.advance_to(sb.now().replace(hour=15, minute=minutes))  # 10:30 New York: the owner at work
        sb.deliver_ses_event(
            _event(sb, "Click", first, ["hot@contoso.example"], link=f"https://x.example/{minutes}")
        )
    assert len([alert for alert in rep_alerts(sb) if alert["kind"] == "hot_lead"]) == 1
    sb.advance(86400)
    sb.deliver_ses_event(_event(sb, "Click", first, ["hot@contoso.example"]))
    hot = [alert for alert in rep_alerts(sb) if alert["kind"] == "hot_lead"]
    assert len(hot) == 2
    assert hot[0]["lead_id"] == lead["id"]
    assert "https://x.example/30" in hot[0]["message"]
    assert _types(lead["id"]).count("click") == 4


@pytest.mark.parametrize(
    ("seconds_after_delivery", "user_agent"),
    [
        (3, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"),
        (3600, "Mozilla/5.0 (compatible; Barracuda Sentinel; +https://barracuda.com)"),
        (3600, "Mimecast-URL-Protect/2.0"),
        (3600, "python-requests/2.31.0"),
        (3600, ""),
    ],
    ids=["seconds after delivery", "barracuda", "mimecast", "script", "no user agent"],
)
def test_link_scanner_clicks_are_ignored(sb, seconds_after_delivery, user_agent):
    lead, first = _post(sb, "scanned@contoso.example")
    sb.deliver_ses_event(_event(sb, "Delivery", first, ["scanned@contoso.example"]))
    clicked_at = sb.now() + timedelta(seconds=seconds_after_delivery)
    sb.deliver_ses_event(
        _event(sb, "Click", first, ["scanned@contoso.example"], at=clicked_at, user_agent=user_agent)
    )
    assert _types(lead["id"]) == ["delivery"]
    assert [alert for alert in rep_alerts(sb) if alert["kind"] == "hot_lead"] == []


def test_a_person_clicking_a_minute_after_delivery_counts():
    event = parse(
        ses_event(
            "Click",
            message_id="m",
            recipients=["a@b.example"],
            sent_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
            at=datetime(2026, 11, 23, 9, 1, tzinfo=UTC),
        )
    )
    assert isinstance(event.click, Click)
    assert scanner_click(event.click, event.mail.timestamp) is None
    assert scanner_click(event.click, event.click.timestamp - SCANNER_WINDOW / 2) == "seconds after delivery"


def test_one_failing_record_is_reported_and_the_others_are_handled(sb, monkeypatch):
    good, first = _post(sb, "good@contoso.example")
    bad, bad_first = _post(sb, "bad@contoso.example")
    original = event_items.record_event

    def flaky(lead_id, *args, **kwargs):
        if lead_id == bad["id"]:
            raise ConnectionError("DynamoDB throttled")
        return original(lead_id, *args, **kwargs)

    monkeypatch.setattr(event_items, "record_event", flaky)
    bodies = [
        events.dumps(
            events.sns_notification(sb.ses_events_topic_arn, events.dumps(notification), at=sb.now())
        )
        for notification in (
            _event(sb, "Open", first, ["good@contoso.example"]),
            _event(sb, "Open", bad_first, ["bad@contoso.example"]),
        )
    ]
    batch = events.sqs_event(bodies, sb.ses_events_queue_arn)

    result = sb.invoke("events", batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert _types(good["id"]) == ["open"]


def test_a_batch_whose_every_record_fails_is_raised_for_sqs_to_retry_whole(sb, monkeypatch):
    """As Powertools' batch processor did: one record handled keeps the partial response (above)."""
    from functions.events.handler import EveryRecordFailed

    _, bad_first = _post(sb, "bad@contoso.example")

    def throttled(*args, **kwargs):
        raise ConnectionError("DynamoDB throttled")

    monkeypatch.setattr(event_items, "record_event", throttled)
    body = events.dumps(
        events.sns_notification(
            sb.ses_events_topic_arn,
            events.dumps(_event(sb, "Open", bad_first, ["bad@contoso.example"])),
            at=sb.now(),
        )
    )
    batch = events.sqs_event([body, body], sb.ses_events_queue_arn)

    with pytest.raises(EveryRecordFailed, match="all 2 records"):
        sb.invoke("events", batch)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:123456789012:leadflow-ses"}',
        '{"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:123456789012:other", "Message": "{}"}',
        '{"eventType": "Send", "mail": {"messageId": "x", "timestamp": "2026-11-23T09:00:00Z"}, "send": {}}',
        '{"eventType": "Rendering Failure", "mail": {"messageId": "x", "timestamp": "2026-11-23T09:00:00Z"}}',
    ],
    ids=["not json", "subscription confirmation", "other topic", "send event", "rendering failure"],
)
def test_what_is_not_a_handled_ses_event_is_ignored_without_failing(sb, body):
    result = sb.invoke("events", events.sqs_event([body], sb.ses_events_queue_arn))
    assert result == {"batchItemFailures": []}
