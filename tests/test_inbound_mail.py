"""Inbound mail end to end: matching the lead, what a reply does, and what is ignored."""

from __future__ import annotations

import json
import os

import pytest

from leadflow import aws, clock, keys
from leadflow.answers import outcomes
from leadflow.local import events
from leadflow.local.sandbox import REPLY_DOMAIN, Sandbox
from leadflow.store import event_items, lead_items, suppression_items
from tests.helpers import rep_alerts, reply_mime, to_lead

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence


def _post(sb, email, **fields):
    sb.post("/leads", json={"email": email, **fields})
    return sb.find_lead(email)


def raw_message_id(raw):
    return next(line.split(": ", 1)[1] for line in raw.decode().splitlines() if line.startswith("Message-ID"))


# -- what a reply does --------------------------------------------------------------------------------


def test_a_reply_is_forwarded_to_the_owner_and_alerted_with_its_own_text(sb):
    lead = _post(sb, "ada@analytical.example", first_name="Ada", last_name="Byron", company="Engines")
    sb.advance_to("2026-11-24T12:00:00Z")
    second = to_lead(sb, lead["id"])[1]
    raw = reply_mime(
        "Ada Byron <ada@analytical.example>",
        to="alex@mail.leadflow.example",
        subject="Re: " + second["subject"],
        body="Tuesday at 2pm works.\n\nOn Tue, Alex wrote:\n> Hi Ada\n> unsubscribe: https://x.example/u",
        headers={"In-Reply-To": f"<{second['message_id']}@email.amazonses.com>"},
        at=sb.now(),
    )

    assert sb.deliver_email(raw) == {"outcomes": ["reply"]}

    forwards = [message for message in sb.outbox() if message["tags"].get("kind") == "reply-forward"]
    assert len(forwards) == 1
    forward = forwards[0]
    owner = outcomes.owner_rep(lead_items.get_lead(lead["id"]))
    assert forward["to"] == f"{owner.name} <{owner.email}>"
    assert forward["headers"]["Reply-To"] == "Ada Byron <ada@analytical.example>"
    assert forward["headers"]["In-Reply-To"] == raw_message_id(raw)
    assert forward["subject"] == "Re: " + second["subject"]
    assert forward["attachments"][0]["content_type"] == "message/rfc822"
    alerts = [alert for alert in rep_alerts(sb) if alert["kind"] in ("replied", "hot_reply")]
    assert len(alerts) == 1
    assert "Tuesday at 2pm works." in alerts[0]["message"]
    assert "unsubscribe" not in alerts[0]["message"], "the alert quotes the reply's own text only"
    assert alerts[0]["lead_id"] == lead["id"]


def test_the_reply_records_the_touch_that_drew_it_and_the_time_to_reply(sb):
    lead = _post(sb, "ada@analytical.example")
    sb.advance_to("2026-11-24T10:30:00Z")  # touch 2 at 09:00; the reply 90 minutes later
    second = to_lead(sb, lead["id"])[1]
    sb.deliver_email(
        reply_mime(
            "ada@analytical.example",
            headers={"In-Reply-To": f"<{second['message_id']}@email.amazonses.com>"},
            at=sb.now(),
        )
    )

    (reply,) = [event for event in event_items.events(lead["id"]) if event["type"] == "reply"]
    assert (reply["enrollment"], reply["touch"], reply["channel"]) == (1, 2, "email")
    assert reply["seconds_after_touch"] == 90 * 60
    assert reply["via"] == "email"
    assert reply["at"] == "2026-11-24T10:30:00Z"


def test_a_redelivered_notification_changes_nothing_more(sb):
    lead = _post(sb, "ada@analytical.example")
    raw = reply_mime("ada@analytical.example", at=sb.now())
    sb.deliver_email(raw)
    sb.deliver_email(raw)
    assert len([m for m in sb.outbox() if m["tags"].get("kind") == "reply-forward"]) == 1
    assert len([e for e in event_items.events(lead["id"]) if e["type"] == "reply"]) == 1


# -- matching order -----------------------------------------------------------------------------------


def test_in_reply_to_matches_the_stored_ses_message_id(sb):
    lead = _post(sb, "ada@analytical.example")
    first = to_lead(sb, lead["id"])[0]
    raw = reply_mime(
        "someone.else@elsewhere.example",
        to="alex@mail.leadflow.example",
        headers={"In-Reply-To": f"<{first['message_id']}@email.amazonses.com>"},
    )
    assert sb.deliver_email(raw, recipients=[f"alex@{REPLY_DOMAIN}"]) == {"outcomes": ["reply"]}
    assert sb.lead(lead["id"])["status"] == "replied"


# -- ignored, logged, and the handler returns normally ------------------------------------------------


@pytest.fixture
def sb_info(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    with Sandbox(start="2026-11-23T09:00:00Z") as sandbox:
        yield sandbox


def _logged(caplog):
    return [record.getMessage() for record in caplog.records]


def _nothing_changed(sb, lead):
    current = sb.lead(lead["id"])
    assert current["status"] == "active"
    assert current["enrollments_detail"][0]["run_status"] == "running"
    assert [event["type"] for event in event_items.events(lead["id"])] == []


@pytest.mark.parametrize(
    ("raw", "outcome", "log"),
    [
        (reply_mime("stranger@elsewhere.example"), "unknown_sender", "ignored mail from an unknown sender"),
        (b"\x00\x01\x02 this is not mail\r\n\r\n\xff\xfe", "malformed", "ignored malformed mail"),
        (b"", "malformed", "ignored malformed mail"),
        (
            b'From: x@y.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Typ',
            "unknown_sender",
            "ignored mail from an unknown sender",
        ),
    ],
    ids=["unknown sender", "malformed MIME", "empty bytes", "truncated multipart"],
)
def test_mail_that_cannot_be_acted_on_is_logged_and_ignored(sb_info, caplog, raw, outcome, log):
    lead = _post(sb_info, "known@analytical.example")
    caplog.clear()

    assert sb_info.deliver_email(raw) == {"outcomes": [outcome]}

    assert log in _logged(caplog)
    _nothing_changed(sb_info, lead)


def test_an_sns_message_for_another_topic_is_logged_and_ignored(sb_info, caplog):
    lead = _post(sb_info, "known@analytical.example")
    raw = reply_mime("known@analytical.example")
    notification = events.ses_receipt_notification(
        raw,
        bucket="leadflow-inbound",
        key="inbound/x",
        topic_arn="arn:aws:sns:us-east-1:123456789012:other",
        recipients=[],
        at=sb_info.now(),
    )
    envelope = events.sns_envelope(
        "arn:aws:sns:us-east-1:123456789012:other", events.dumps(notification), at=sb_info.now()
    )
    caplog.clear()

    assert sb_info.invoke("inbound", envelope) == {"outcomes": ["other_topic"]}

    assert "ignored SNS message from a topic this function does not handle" in _logged(caplog)
    _nothing_changed(sb_info, lead)


@pytest.mark.parametrize(
    "message",
    [
        {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have successfully subscribed"},
        {"notificationType": "Bounce", "bounce": {}, "mail": {}},
    ],
    ids=["subscription notice", "identity bounce notification"],
)
def test_an_unhandled_notification_type_is_logged_and_ignored(sb_info, caplog, message):
    lead = _post(sb_info, "known@analytical.example")
    envelope = events.sns_envelope(sb_info.inbound_topic_arn, json.dumps(message), at=sb_info.now())
    caplog.clear()

    assert sb_info.invoke("inbound", envelope) == {"outcomes": ["unhandled_notification"]}

    assert "ignored unhandled notification type" in _logged(caplog)
    _nothing_changed(sb_info, lead)


def test_an_event_that_is_not_sns_is_ignored(sb):
    assert sb.invoke("inbound", {"hello": "world"}) == {"outcomes": ["not_sns"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [("EventSource", "aws:sqs"), ("Type", "SubscriptionConfirmation"), ("Message", None), ("TopicArn", 7)],
)
def test_an_envelope_with_one_wrong_field_is_not_sns(field, value):
    """The handler reads the SNS envelope as plain JSON (no Powertools parser on its cold start): each
    field it relies on is checked, and the real envelope itself passes."""
    from functions.inbound.handler import sns_notifications

    topic = "arn:aws:sns:us-east-1:123456789012:leadflow-inbound-mail"
    envelope = events.sns_envelope(topic, '{"notificationType": "Received"}', at=clock.now())
    assert sns_notifications(envelope) == [(topic, '{"notificationType": "Received"}')]
    (record,) = envelope["Records"]
    (record if field == "EventSource" else record["Sns"])[field] = value

    assert sns_notifications(envelope) is None


def test_no_address_or_text_reaches_the_logs(sb_info, caplog):
    _post(sb_info, "private.person@analytical.example", first_name="Private")
    caplog.clear()
    sb_info.deliver_email(reply_mime("Private <private.person@analytical.example>", body="My secret answer"))
    sb_info.deliver_email(reply_mime("stranger@elsewhere.example", body="Another secret"))
    output = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in ("private.person", "analytical.example", "stranger@", "secret answer", "Another secret"):
        assert secret not in output


# -- suppression ----------------------------------------------------------------------------------


def test_a_suppressed_address_posted_again_gets_202_and_is_never_contacted(sb):
    lead = _post(sb, "leaver@analytical.example")
    sb.deliver_email(reply_mime("leaver@analytical.example", body="Please remove me from your list."))
    assert sb.lead(lead["id"])["status"] == "opted_out"
    sent = len(sb.outbox())

    again = sb.post("/leads", json={"email": "LEAVER@analytical.example", "first_name": "Back"})

    assert again.status_code == 202
    assert again.json()["status"] == "received"
    sb.advance(30 * 86400)
    assert len(sb.outbox()) == sent
    assert sb.lead(lead["id"])["enrollments"] == 1


def test_a_suppressed_address_without_a_lead_is_never_enrolled(sb):
    suppression_items.suppress(keys.email_key("bounced.elsewhere@analytical.example"), "bounce", clock.now())
    response = sb.post("/leads", json={"email": "bounced.elsewhere@analytical.example"})
    assert response.status_code == 202
    assert sb.find_lead("bounced.elsewhere@analytical.example") is None
    assert sb.outbox() == []


def test_suppression_is_checked_before_every_send(sb):
    lead = _post(sb, "later@analytical.example")
    # Suppressed by some other path (an operator import, another system) while the cadence runs.
    suppression_items.suppress(keys.email_key("later@analytical.example"), "operator", clock.now())
    sb.advance(30 * 86400)
    assert [message["touch"] for message in to_lead(sb, lead["id"])] == [1]
    assert sb.execution(lead["id"])["states"][-1].startswith("Stopped")


def test_the_inbound_mail_object_expiring_is_ignored(sb):
    lead = _post(sb, "known@analytical.example")
    raw = reply_mime("known@analytical.example")
    notification = events.ses_receipt_notification(
        raw,
        bucket=sb.inbound_bucket,
        key="inbound/expired",
        topic_arn=sb.inbound_topic_arn,
        recipients=[],
        at=sb.now(),
    )
    envelope = events.sns_envelope(sb.inbound_topic_arn, events.dumps(notification), at=sb.now())
    assert sb.invoke("inbound", envelope) == {"outcomes": ["missing_mail"]}
    assert sb.lead(lead["id"])["status"] == "active"
    assert aws.client("s3").list_objects_v2(Bucket=sb.inbound_bucket).get("KeyCount") == 0
    assert os.environ["INBOUND_BUCKET"] == sb.inbound_bucket
