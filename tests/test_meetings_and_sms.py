"""Meeting-booked webhooks (signed, replay-proof) and two-way SMS replies."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from leadflow import clock
from leadflow.answers import meetings
from leadflow.answers.sms_inbound import Intent, intent
from leadflow.local.sandbox import MEETING_WEBHOOK_KEY, SMS_NUMBER
from leadflow.store import event_items
from tests.helpers import rep_alerts, to_lead


def _post(sb, email, **fields):
    sb.post("/leads", json={"email": email, "first_name": "Casey", **fields})
    return sb.find_lead(email)


def _unchanged(sb, lead):
    current = sb.lead(lead["id"])
    assert (current["status"], current["enrollments_detail"][0]["run_status"]) == ("active", "running")
    assert event_items.events(lead["id"]) == []


# -- meetings ---------------------------------------------------------------------------------------


def _calendly(email):
    return json.dumps(
        {
            "created_at": "2026-11-23T10:00:00.000000Z",
            "event": "invitee.created",
            "payload": {
                "email": email,
                "name": "Casey Jones",
                "uri": "https://api.calendly.com/scheduled_events/GBGB/invitees/AAAA",
                "created_at": "2026-11-23T10:00:00.000000Z",
                "status": "active",
                "timezone": "America/New_York",
                "scheduled_event": {"start_time": "2026-11-25T15:00:00.000000Z", "name": "30 Minute Demo"},
            },
        }
    )


def _calcom(email, created_at):
    return json.dumps(
        {
            "triggerEvent": "BOOKING_CREATED",
            "createdAt": created_at,
            "payload": {
                "type": "30min",
                "title": "Demo between Alex Rivera and Casey Jones",
                "startTime": "2026-11-25T15:00:00Z",
                "endTime": "2026-11-25T15:30:00Z",
                "organizer": {"email": "alex@mail.leadflow.example", "name": "Alex Rivera"},
                "attendees": [{"email": email, "name": "Casey Jones", "timeZone": "America/New_York"}],
                "uid": "bFJeNb2uX8ANpT3JL5EfXw",
                "bookingId": 91,
            },
        }
    )


def _calcom_headers(body):
    signature = hmac.new(MEETING_WEBHOOK_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Cal-Signature-256": signature}


def test_calendly_invitee_created_books_the_meeting(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    lead = _post(sb, "casey@contoso.example")
    sb.advance(3600)
    body = _calendly("casey@contoso.example")
    response = sb.post("/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body))
    assert (response.status_code, response.json()) == (200, {"status": "meeting_booked"})
    assert sb.lead(lead["id"])["status"] == "meeting_booked"
    (event,) = [item for item in event_items.events(lead["id"]) if item["type"] == "meeting_booked"]
    assert (event["provider"], event["touch"], event["at"]) == ("calendly", 1, "2026-11-23T10:00:00Z")
    assert [alert["kind"] for alert in rep_alerts(sb)][-1:] == ["meeting_booked"]


def test_cal_com_booking_created_books_the_meeting(sb):
    lead = _post(sb, "casey@contoso.example")
    body = _calcom("casey@contoso.example", clock.iso(sb.now()))
    response = sb.post("/webhooks/meeting", data=body, headers=_calcom_headers(body))
    assert response.json() == {"status": "meeting_booked"}
    assert sb.lead(lead["id"])["status"] == "meeting_booked"


def test_the_generic_shape_books_the_meeting(sb):
    lead = _post(sb, "casey@contoso.example")
    body = json.dumps(
        {"event": "meeting.booked", "id": "mtg-42", "email": "casey@contoso.example", "provider": "hubspot"}
    )
    response = sb.post(
        "/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body) | {"X-Other": "1"}
    )
    assert response.json() == {"status": "meeting_booked"}
    assert sb.lead(lead["id"])["status"] == "meeting_booked"


def _tampered(sb, body):
    headers = sb.sign_meeting_webhook(body)
    return body.replace("casey@", "eve@"), headers


@pytest.mark.parametrize(
    "make",
    [
        lambda sb, body: (body, {"Content-Type": "application/json"}),
        lambda sb, body: (body, {"Calendly-Webhook-Signature": "t=abc,v1=00"}),
        lambda sb, body: (body, {"Calendly-Webhook-Signature": "garbage"}),
        _tampered,
        lambda sb, body: (body, sb.sign_meeting_webhook(body, at=sb.now() - timedelta(minutes=10))),
        lambda sb, body: (body, sb.sign_meeting_webhook(body, at=sb.now() + timedelta(minutes=10))),
        lambda sb, body: (body, {"X-Cal-Signature-256": "0" * 64}),
    ],
    ids=[
        "missing",
        "malformed",
        "no fields",
        "tampered body",
        "replayed (old)",
        "from the future",
        "wrong cal.com",
    ],
)
def test_a_bad_or_missing_signature_gets_401_and_changes_nothing(sb, make):
    lead = _post(sb, "casey@contoso.example")
    body, headers = make(sb, _calendly("casey@contoso.example"))
    response = sb.post("/webhooks/meeting", data=body, headers=headers)
    assert response.status_code == 401
    assert "signature" in response.json()["message"].lower()
    _unchanged(sb, lead)


def test_a_replayed_delivery_inside_the_window_changes_nothing_more(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    lead = _post(sb, "casey@contoso.example")
    body = _calendly("casey@contoso.example")
    headers = sb.sign_meeting_webhook(body)
    sb.post("/webhooks/meeting", data=body, headers=headers)
    again = sb.post("/webhooks/meeting", data=body, headers=headers)
    assert again.status_code == 200
    assert len([a for a in rep_alerts(sb) if a["kind"] == "meeting_booked"]) == 1
    assert len([e for e in event_items.events(lead["id"]) if e["type"] == "meeting_booked"]) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (json.dumps({"event": "invitee.canceled", "payload": {"email": "casey@contoso.example"}}), "ignored"),
        (json.dumps({"event": "invitee.created", "payload": {}}), "ignored"),
        (_calendly("stranger@elsewhere.example"), "unknown_lead"),
    ],
    ids=["cancellation", "incomplete", "not a lead"],
)
def test_authenticated_deliveries_that_book_nothing(sb, body, status):
    lead = _post(sb, "casey@contoso.example")
    response = sb.post("/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body))
    assert (response.status_code, response.json()) == (200, {"status": status})
    _unchanged(sb, lead)


def test_signed_garbage_gets_400(sb):
    body = "{not json"
    response = sb.post("/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body))
    assert response.status_code == 400


def test_rotated_keys_all_verify(monkeypatch):
    monkeypatch.setattr(meetings, "webhook_keys", lambda: (b"new-key", b"old-key"))
    body = b'{"event": "meeting.booked"}'
    now = clock.now()
    for key in (b"new-key", b"old-key"):
        t = str(int(now.timestamp()))
        signature = hmac.new(key, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        meetings.verify(body, {"X-Leadflow-Signature": f"t={t},v1={signature}"}, now=now)
    with pytest.raises(meetings.Unauthenticated):
        meetings.verify(body, {"X-Leadflow-Signature": f"t={t},v1={'0' * 64}"}, now=now)


# -- SMS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Intent.OPT_OUT),
        (" stop ", Intent.OPT_OUT),
        ("Stop.", Intent.OPT_OUT),
        ("StopAll", Intent.OPT_OUT),
        ("UNSUBSCRIBE", Intent.OPT_OUT),
        ("cancel", Intent.OPT_OUT),
        ("End", Intent.OPT_OUT),
        ("QUIT", Intent.OPT_OUT),
        ("help", Intent.HELP),
        (" HELP ", Intent.HELP),
        ("stop by tomorrow?", Intent.REPLY),
        ("Yes, call me at 3", Intent.REPLY),
        ("", Intent.REPLY),
    ],
)
def test_sms_intent(text, expected):
    assert intent(text) is expected


def test_sms_help_gets_the_help_reply_and_changes_nothing(sb):
    lead = _post(sb, "texter@contoso.example", phone="+1 206 555 0143", sms_consent=True)
    assert sb.deliver_sms("+12065550143", "HELP") == {"outcomes": ["sms_help"]}
    from moto.sns.models import sns_backends

    from leadflow.local.events import ACCOUNT_ID, REGION

    sent = list(sns_backends[ACCOUNT_ID][REGION].sms_messages.values())
    assert sent[-1][0] == "+12065550143"
    assert "STOP" in sent[-1][1]
    _unchanged(sb, lead)


def test_any_other_sms_is_a_reply(sb):
    lead = _post(sb, "texter@contoso.example", phone="+1 206 555 0143", sms_consent=True)
    sb.advance(7200)
    assert sb.deliver_sms("+12065550143", "Sure, call me after 3") == {"outcomes": ["sms_reply"]}
    current = sb.lead(lead["id"])
    assert (current["status"], current["enrollments_detail"][0]["stop_reason"]) == ("replied", "reply")
    (reply,) = [item for item in event_items.events(lead["id"]) if item["type"] == "reply"]
    assert (reply["via"], reply["touch"], reply["seconds_after_touch"]) == ("sms", 1, 7200)
    alert = [a for a in rep_alerts(sb) if a["kind"] in ("replied", "hot_reply")][-1]
    assert "Sure, call me after 3" in alert["message"]
    sb.advance(30 * 86400)
    assert len(to_lead(sb, lead["id"])) == 1


def test_an_sms_from_an_unknown_number_is_ignored(sb):
    lead = _post(sb, "texter@contoso.example", phone="+1 206 555 0143", sms_consent=True)
    assert sb.deliver_sms("+12065550199", "STOP") == {"outcomes": ["unknown_sender"]}
    _unchanged(sb, lead)
    assert SMS_NUMBER.startswith("+1")
