"""Every way a lead answers stops the cadence, sets the right status, and nothing goes out after.

Acceptance: a permanent bounce, a complaint, an SMS "stop", a one-line "unsubscribe" email, a
signed meeting webhook and a reply each stop the cadence with the right status; advancing 30
days afterwards sends nothing.
"""

from __future__ import annotations

import json

import pytest

from leadflow import keys
from leadflow.local.events import ses_event
from leadflow.store import suppression_items
from tests.helpers import fixture_mail, reply_mime, to_lead

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence

THIRTY_DAYS = 30 * 86400


def _lead_after_touch_two(sb, email, **fields):
    sb.post("/leads", json={"email": email, "first_name": "Ada", "last_name": "Byron", **fields})
    lead = sb.find_lead(email)
    sb.advance_to("2026-11-24T12:00:00Z")  # touch 2 went out at 09:00 (day 2)
    assert [message["touch"] for message in to_lead(sb, lead["id"])] == [1, 2]
    return lead


def _assert_stopped(sb, lead_id, status, reason, stop_reason):
    lead = sb.lead(lead_id)
    assert (lead["status"], lead["status_reason"]) == (status, reason)
    enrollment = lead["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", stop_reason)
    assert sb.executions(lead_id)[0]["status"] == "ABORTED"
    sent = len(to_lead(sb, lead_id))
    sb.advance(THIRTY_DAYS)
    later = [message for message in to_lead(sb, lead_id) if message["enrollment"] == 1]
    assert len(later) == sent == 2, "nothing more of the stopped cadence"
    return sb.lead(lead_id)


def _suppressed(email):
    return suppression_items.suppression(keys.email_key(email))


def test_a_reply_stops_and_sets_replied(sb):
    lead = _lead_after_touch_two(sb, "ada@analytical.example")
    sb.deliver_email(
        reply_mime("Ada <ADA@analytical.example>", body="Sounds good, Tuesday works.", at=sb.now())
    )
    _assert_stopped(sb, lead["id"], "replied", "reply", "reply")
    assert _suppressed("ada@analytical.example") is None, "a reply suppresses nothing"


def test_a_one_line_unsubscribe_email_opts_out(sb):
    lead = _lead_after_touch_two(sb, "ada@analytical.example")
    sb.deliver_email(reply_mime("ada@analytical.example", body="unsubscribe", at=sb.now()))
    _assert_stopped(sb, lead["id"], "opted_out", "unsubscribe", "unsubscribe")
    assert _suppressed("ada@analytical.example")["reason"] == "unsubscribe"


def test_a_permanent_bounce_event_sets_bounced(sb):
    lead = _lead_after_touch_two(sb, "gone@analytical.example")
    second = to_lead(sb, lead["id"])[1]
    result = sb.deliver_ses_event(
        ses_event(
            "Bounce",
            message_id=second["message_id"],
            recipients=["gone@analytical.example"],
            sent_at=sb.now(),
            at=sb.now(),
            tags={"cadence": "inbound-demo-request", "touch": "2"},
        )
    )
    assert result == {"batchItemFailures": []}
    _assert_stopped(sb, lead["id"], "bounced", "bounce", "bounce")
    assert _suppressed("gone@analytical.example")["reason"] == "bounce"


def test_a_complaint_event_opts_out(sb):
    lead = _lead_after_touch_two(sb, "angry@analytical.example")
    second = to_lead(sb, lead["id"])[1]
    sb.deliver_ses_event(
        ses_event(
            "Complaint",
            message_id=second["message_id"],
            recipients=["angry@analytical.example"],
            sent_at=sb.now(),
            at=sb.now(),
        )
    )
    _assert_stopped(sb, lead["id"], "opted_out", "complaint", "complaint")
    assert _suppressed("angry@analytical.example")["reason"] == "complaint"


def test_an_arf_complaint_by_mail_opts_out(sb):
    lead = _lead_after_touch_two(sb, "pat.jones@comcast.net")
    # The ARF returns the headers of our touch 2 (its SES Message-ID): the proof it is about our mail.
    second = to_lead(sb, lead["id"])[1]["message_id"]
    raw = fixture_mail(
        "complaint",
        "comcast-arf-rfc822-headers.eml",
        {"0100019a7a55bb08-5d4e3f2a-1b0c-4d9e-8f7a-6b5c4d3e2f1a-000000": second},
    )
    sb.deliver_email(raw, recipients=["fbl@reply.leadflow.example"])
    _assert_stopped(sb, lead["id"], "opted_out", "complaint", "complaint")


def test_a_bounce_by_mail_sets_bounced(sb):
    lead = _lead_after_touch_two(sb, "jordan.lee@northwind-traders.example")
    # The DSN returns our touch 2 (its SES Message-ID): the proof it is about our mail.
    second = to_lead(sb, lead["id"])[1]["message_id"]
    raw = fixture_mail(
        "bounce",
        "amazon-ses-dsn.eml",
        {"0100019a5e2c0f11-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-000000": second},
    )
    sb.deliver_email(raw, recipients=["bounces@reply.leadflow.example"])
    _assert_stopped(sb, lead["id"], "bounced", "bounce", "bounce")


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "  Stop  ", "STOPALL", "unsubscribe", "Cancel", "END", "quit"]
)
def test_an_sms_stop_opts_out_of_everything(sb, word):
    lead = _lead_after_touch_two(sb, "texter@analytical.example", phone="+1 206 555 0143", sms_consent=True)
    result = sb.deliver_sms("+12065550143", word)
    assert result == {"outcomes": ["sms_opt_out"]}
    _assert_stopped(sb, lead["id"], "opted_out", "unsubscribe", "unsubscribe")
    assert _suppressed("texter@analytical.example")
    assert suppression_items.suppression(keys.email_key("+12065550143")), "the number is suppressed too"


def _calendly_booking(email):
    return json.dumps(
        {
            "event": "invitee.created",
            "created_at": "2026-11-24T12:00:00.000000Z",
            "payload": {
                "email": email,
                "name": "Ada Byron",
                "uri": "https://api.calendly.com/scheduled_events/ABC/invitees/DEF",
                "created_at": "2026-11-24T12:00:00.000000Z",
                "scheduled_event": {"start_time": "2026-11-26T15:00:00.000000Z", "name": "Demo"},
            },
        }
    )


def test_a_signed_meeting_webhook_books_and_stops(sb):
    lead = _lead_after_touch_two(sb, "booker@analytical.example")
    body = _calendly_booking("Booker@analytical.example")
    response = sb.post("/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body))
    assert (response.status_code, response.json()) == (200, {"status": "meeting_booked"})
    _assert_stopped(sb, lead["id"], "meeting_booked", "meeting_booked", "meeting_booked")


def test_a_booking_enrolls_the_lead_in_the_post_meeting_cadence(sb):
    pytest.importorskip("leadflow.cadence.enrollments", reason="enroll() comes with the cadence engine")
    lead = _lead_after_touch_two(sb, "booker@analytical.example")
    body = _calendly_booking("booker@analytical.example")
    sb.post("/webhooks/meeting", data=body, headers=sb.sign_meeting_webhook(body))
    post_meeting = sb.lead(lead["id"])["enrollments_detail"][1]
    assert (post_meeting["cadence"], post_meeting["run_status"]) == ("post-meeting", "running")
