"""Meetings on the meeting's clock (issue 14), on the Sandbox with the real state machines.

A booking's start and end drive post-meeting: nothing before the meeting ends, the recap's draft
within 24 hours after it, the rest spaced from it. A reschedule moves everything; a cancellation or a
no-show sends no recap and starts the rebook cadence. Calendly, Cal.com and the generic shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from leadflow import clock
from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import locale_for, plan
from leadflow.local.sandbox import MEETING_WEBHOOK_KEY
from tests.helpers import rep_alerts, to_lead

EMAIL = "casey@contoso.example"
INVITEE = "https://api.calendly.com/scheduled_events/GBGB/invitees/AAAA"


def _lead(sb):
    sb.post("/leads", json={"email": EMAIL, "first_name": "Casey", "form": "demo-request"})
    return sb.find_lead(EMAIL)["id"]


def _deliver(sb, document, *, calcom=False):
    body = json.dumps(document)
    if calcom:
        signature = hmac.new(MEETING_WEBHOOK_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Cal-Signature-256": signature}
    else:
        headers = sb.sign_meeting_webhook(body)
    response = sb.post("/webhooks/meeting", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def _calendly(event, start, end, *, uri=INVITEE, **payload):
    return {
        "created_at": clock.iso(clock.now()),
        "event": event,
        "payload": {
            "email": EMAIL,
            "uri": uri,
            "created_at": clock.iso(clock.now()),
            "scheduled_event": {"start_time": start, "end_time": end, "name": "30 Minute Demo"},
            **payload,
        },
    }


def _calcom(trigger, start, end, uid="bFJeNb2uX8ANpT3JL5EfXw", **payload):
    return {
        "triggerEvent": trigger,
        "createdAt": clock.iso(clock.now()),
        "payload": {
            "uid": uid,
            "startTime": start,
            "endTime": end,
            "attendees": [{"email": EMAIL, "name": "Casey Jones", "timeZone": "America/New_York"}],
            **payload,
        },
    }


def _post_meeting(sb, lead_id):
    """What post-meeting produced for the lead, in time order: its emails, and the recap, which is
    a draft in the owner's queue (manual_email, issue 25) at its moment (tests/test_rep_drafts.py
    follows it to the lead)."""
    sent = [m for m in to_lead(sb, lead_id) if m["tags"].get("cadence") == "post-meeting"]
    drafts = [
        {
            "at": task["at"],
            "text": task["body"],
            "tags": {"cadence": task["cadence"], "touch": str(task["touch"])},
        }
        for task in sb.tasks()
        if task["lead_id"] == lead_id
        and task["cadence"] == "post-meeting"
        and task["channel"] == "manual_email"
    ]
    return sorted(sent + drafts, key=lambda message: message["at"])


def _rebook(sb, lead_id):
    return [m for m in to_lead(sb, lead_id) if m["tags"].get("cadence") == "rebook"]


def test_a_booking_a_week_ahead_sends_nothing_before_the_meeting_ends_and_the_recap_within_24_hours(sb):
    lead_id = _lead(sb)
    sb.advance_to("2026-11-24T16:00:00Z")  # booked on day 2 (an automated touch went out that day)
    status = _deliver(sb, _calendly("invitee.created", "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z"))
    assert status == "meeting_booked"
    assert "Tue 01 Dec 10:00 EST (America/New_York)" in rep_alerts(sb)[-1]["message"]  # the owner's clock

    sb.advance_to("2026-12-01T15:30:00Z")  # the meeting ends
    assert _post_meeting(sb, lead_id) == []
    sb.advance_to("2026-12-02T15:30:00Z")  # 24 hours later
    (recap,) = _post_meeting(sb, lead_id)
    sent = clock.parse_iso(recap["at"])
    assert clock.parse_iso("2026-12-01T15:30:00Z") < sent <= clock.parse_iso("2026-12-02T15:30:00Z")
    assert "Thank you for the meeting on Tuesday" in recap["text"]

    # The rest is spaced from the meeting: the cadence planned from the recap's time, in the lead's zone.
    enrollment = sb.lead(lead_id)["enrollments_detail"][-1]
    cadence = load_cadences()["post-meeting"]
    expected = plan(cadence, sent, locale_for(None, None, cadence.window))
    assert [clock.parse_iso(moment) for moment in enrollment["schedule"]] == expected
    sb.advance_to("2026-12-20T00:00:00Z")
    assert [m["tags"]["touch"] for m in _post_meeting(sb, lead_id)] == ["1", "2", "5"]
    assert sb.execution(lead_id)["status"] == "SUCCEEDED"
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_a_same_day_booking_still_gets_its_recap(sb):
    """Booked an hour after the first email went out, for that afternoon: the recap is not pushed."""
    lead_id = _lead(sb)
    sb.advance(3600)
    _deliver(sb, _calcom("BOOKING_CREATED", "2026-11-23T18:00:00Z", "2026-11-23T18:30:00Z"), calcom=True)
    sb.advance_to("2026-11-23T19:31:00Z")
    (recap,) = _post_meeting(sb, lead_id)
    assert recap["at"] == "2026-11-23T19:30:00Z"
    assert "Thank you for the meeting on Monday" in recap["text"]


def test_a_calendly_reschedule_moves_everything(sb):
    lead_id = _lead(sb)
    _deliver(sb, _calendly("invitee.created", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"))
    sb.advance_to("2026-11-25T12:00:00Z")
    # Calendly reschedules as a cancellation marked rescheduled, then a new invitee naming the old one.
    first_half = _calendly(
        "invitee.canceled", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z", rescheduled=True
    )
    assert _deliver(sb, first_half) == "reschedule_started"  # nothing moves until the new invitee
    moved = _calendly(
        "invitee.created",
        "2026-12-03T20:00:00Z",
        "2026-12-03T21:00:00Z",
        uri=INVITEE.replace("AAAA", "BBBB"),
        old_invitee=INVITEE,
    )
    assert _deliver(sb, moved) == "meeting_moved"

    enrollments = sb.lead(lead_id)["enrollments_detail"]
    assert [(e["cadence"], e["run_status"], e["stop_reason"]) for e in enrollments] == [
        ("inbound-demo-request", "stopped", "meeting_booked"),
        ("post-meeting", "stopped", "rescheduled"),
        ("post-meeting", "running", None),
    ]
    sb.advance_to("2026-12-03T21:00:00Z")
    assert _post_meeting(sb, lead_id) == []  # nothing at the old time, nothing before the new end
    sb.advance_to("2026-12-04T21:00:00Z")
    (recap,) = _post_meeting(sb, lead_id)
    assert recap["at"] == "2026-12-03T22:00:00Z"
    assert "Thank you for the meeting on Thursday" in recap["text"]
    assert clock.parse_iso(enrollments[-1]["schedule"][0]) == clock.parse_iso("2026-12-03T22:00:00Z")


def test_a_cal_com_reschedule_moves_it_and_a_redelivery_changes_nothing(sb):
    lead_id = _lead(sb)
    _deliver(sb, _calcom("BOOKING_CREATED", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"), calcom=True)
    rescheduled = _calcom(
        "BOOKING_RESCHEDULED", "2026-11-30T15:00:00Z", "2026-11-30T15:30:00Z", uid="new", rescheduleUid="old"
    )
    assert _deliver(sb, rescheduled, calcom=True) == "meeting_moved"
    assert _deliver(sb, rescheduled, calcom=True) == "repeat"  # the same delivery: known by its body
    running = [e for e in sb.lead(lead_id)["enrollments_detail"] if e["run_status"] == "running"]
    assert [(e["cadence"], e["meeting"]["starts_at"]) for e in running] == [
        ("post-meeting", "2026-11-30T15:00:00Z")
    ]
    sb.advance_to("2026-12-01T16:00:00Z")
    assert [m["at"] for m in _post_meeting(sb, lead_id)] == ["2026-11-30T16:30:00Z"]


def test_a_cancellation_sends_no_recap_and_starts_the_rebook_cadence(sb):
    lead_id = _lead(sb)
    _deliver(sb, _calcom("BOOKING_CREATED", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"), calcom=True)
    sb.advance_to("2026-11-25T14:00:00Z")
    status = _deliver(
        sb, _calcom("BOOKING_CANCELLED", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"), calcom=True
    )
    assert status == "meeting_canceled"

    lead = sb.lead(lead_id)
    assert (lead["status"], lead["status_reason"]) == ("active", "meeting_canceled")
    assert [(e["cadence"], e["run_status"], e["stop_reason"]) for e in lead["enrollments_detail"]] == [
        ("inbound-demo-request", "stopped", "meeting_booked"),
        ("post-meeting", "stopped", "meeting_canceled"),
        ("rebook", "running", None),
    ]
    assert rep_alerts(sb)[-1]["kind"] == "meeting_missed"
    sb.advance_to("2026-12-10T00:00:00Z")
    assert _post_meeting(sb, lead_id) == []
    new_time, last_note = _rebook(sb, lead_id)
    assert new_time["at"] == "2026-11-25T14:00:00Z"  # at once
    # Cancelled on Wednesday for Thursday: the lead's tomorrow (issue 27: relative day words).
    assert "set for tomorrow was cancelled" in new_time["text"]
    assert "missed" not in new_time["text"] and "thanks for your time" not in new_time["text"].lower()
    assert "https://cal.leadflow.example/alex/20min" in new_time["text"]  # the owner's booking page
    assert "cancelled" in last_note["text"]
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_a_no_show_before_the_recap_sends_none_and_starts_rebook(sb):
    lead_id = _lead(sb)
    _deliver(sb, _calendly("invitee.created", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"))
    sb.advance_to("2026-11-26T15:45:00Z")  # the host marks the no-show 15 minutes after the end
    no_show = {
        "created_at": clock.iso(clock.now()),
        "event": "invitee_no_show.created",
        "payload": {"uri": "https://api.calendly.com/invitee_no_shows/X", "invitee": INVITEE},
    }
    assert _deliver(sb, no_show) == "no_show"
    assert _deliver(sb, no_show) == "no_meeting"  # redelivered: nothing more
    sb.advance_to("2026-12-10T00:00:00Z")
    assert _post_meeting(sb, lead_id) == []
    first = _rebook(sb, lead_id)[0]
    assert "missed each other today" in first["text"] and "cancel" not in first["text"]
    enrollments = sb.lead(lead_id)["enrollments_detail"]
    assert [(e["cadence"], e["stop_reason"]) for e in enrollments][1:] == [
        ("post-meeting", "no_show"),
        ("rebook", None),
    ]
    assert enrollments[-1]["meeting"]["status"] == "no_show"
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_the_generic_shape_books_moves_and_cancels(sb):
    lead_id = _lead(sb)

    def generic(event, **fields):
        return {"event": event, "id": "mtg-42", "email": EMAIL, "provider": "hubspot", **fields}

    times = {"start_time": "2026-11-27T15:00:00Z", "end_time": "2026-11-27T15:30:00Z"}
    assert _deliver(sb, generic("meeting.booked", **times)) == "meeting_booked"
    later = {"start_time": "2026-11-30T15:00:00Z", "end_time": "2026-11-30T16:00:00Z"}
    assert _deliver(sb, generic("meeting.rescheduled", **later)) == "meeting_moved"
    assert _deliver(sb, generic("meeting.canceled")) == "meeting_canceled"
    sb.advance_to("2026-12-05T00:00:00Z")
    assert _post_meeting(sb, lead_id) == []
    assert _rebook(sb, lead_id)[0]["subject"] == "A new time to talk"
