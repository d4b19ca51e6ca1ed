"""Every documented Calendly and Cal.com webhook event, in the vendors' own payload shapes
(tests/fixtures/vendors/calendly, tests/fixtures/vendors/calcom), through POST /webhooks/meeting."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import pytest

from leadflow import clock
from leadflow.answers.meetings import CALCOM_MAX_AGE
from leadflow.local.sandbox import MEETING_WEBHOOK_KEY
from leadflow.store import event_items
from tests.helpers import rep_alerts

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
EMAIL = "casey@contoso.example"
START, END = "2026-11-26T15:00:00.000000Z", "2026-11-26T15:30:00.000000Z"


def example(
    vendor: str, name: str, *, email: str = EMAIL, start: str = START, end: str = END, now=None
) -> str:
    text = (VENDORS / vendor / "events.json").read_text()
    document = json.loads(text)[name]
    filled = json.dumps(document)
    for placeholder, value in {
        "{{EMAIL}}": email,
        "{{NOW}}": clock.iso(now or clock.now()),
        "{{START}}": start,
        "{{END}}": end,
    }.items():
        filled = filled.replace(placeholder, value)
    return filled


def calcom_headers(body: str) -> dict[str, str]:
    signature = hmac.new(MEETING_WEBHOOK_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Cal-Signature-256": signature}


def deliver(sb, body: str, *, calcom: bool = False) -> str:
    headers = calcom_headers(body) if calcom else sb.sign_meeting_webhook(body)
    response = sb.post("/webhooks/meeting", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["status"]


@pytest.fixture
def lead_id(sb) -> str:
    sb.post("/leads", json={"email": EMAIL, "first_name": "Casey", "form": "demo-request"})
    return sb.find_lead(EMAIL)["id"]


def cadences(sb, lead_id):
    return [(run["cadence"], run["run_status"]) for run in sb.lead(lead_id)["enrollments_detail"]]


# -- Calendly -----------------------------------------------------------------------------------------


def test_calendly_no_show_in_its_documented_shape_starts_rebook_and_its_deletion_stops_it(sb, lead_id):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    assert deliver(sb, example("calendly", "invitee.created")) == "meeting_booked"

    # The no-show payload is the invitee resource (another address than the lead's): found by its URI.
    assert deliver(sb, example("calendly", "invitee_no_show.created")) == "no_show"
    assert ("rebook", "running") in cadences(sb, lead_id)
    assert sb.lead(lead_id)["status"] == "active"

    assert deliver(sb, example("calendly", "invitee_no_show.deleted")) == "no_show_cleared"
    assert ("rebook", "running") not in cadences(sb, lead_id)
    assert sb.lead(lead_id)["status"] == "meeting_booked"
    assert "unmarked" in rep_alerts(sb)[-1]["message"]
    assert deliver(sb, example("calendly", "invitee_no_show.deleted")) == "no_meeting"  # redelivered
    assert sb.audit().clean


def test_a_calendly_reschedule_pair_moves_the_meeting_even_under_a_new_address(sb, lead_id):
    deliver(sb, example("calendly", "invitee.created"))

    assert deliver(sb, example("calendly", "invitee.canceled (rescheduled)")) == "reschedule_started"
    moved = example(
        "calendly",
        "invitee.created (rescheduled)",
        email="casey.jones@personal.example",  # typed another address when rescheduling
        start="2026-11-27T16:00:00.000000Z",
        end="2026-11-27T16:30:00.000000Z",
    )
    assert deliver(sb, moved) == "meeting_moved"

    post_meeting = [run for run in sb.lead(lead_id)["enrollments_detail"] if run["cadence"] == "post-meeting"]
    assert [run["run_status"] for run in post_meeting] == ["stopped", "running"]
    assert post_meeting[-1]["meeting"]["starts_at"] == "2026-11-27T16:00:00Z"
    assert sb.audit().clean


def test_a_calendly_cancellation_stops_the_recap_and_starts_rebook(sb, lead_id):
    deliver(sb, example("calendly", "invitee.created"))

    assert deliver(sb, example("calendly", "invitee.canceled")) == "meeting_canceled"
    assert ("rebook", "running") in cadences(sb, lead_id)


def test_a_calendly_routing_form_submission_is_recorded_on_the_lead_once(sb, lead_id):
    body = example("calendly", "routing_form_submission.created")

    assert deliver(sb, body) == "routing_form"
    deliver(sb, body)

    assert [item["type"] for item in event_items.events(lead_id)].count("routing_form") == 1
    assert sb.lead(lead_id)["status"] == "active"  # intent, not a booking: the cadence goes on


def test_a_routing_form_from_someone_who_is_not_a_lead_changes_nothing(sb, lead_id):
    assert deliver(sb, example("calendly", "routing_form_submission.created", email="x@y.example")) == (
        "unknown_lead"
    )


# -- Cal.com ------------------------------------------------------------------------------------------


def test_cal_com_booking_no_show_marked_and_cleared(sb, lead_id):
    assert deliver(sb, example("calcom", "BOOKING_CREATED"), calcom=True) == "meeting_booked"
    assert deliver(sb, example("calcom", "BOOKING_NO_SHOW_UPDATED"), calcom=True) == "no_show"
    assert ("rebook", "running") in cadences(sb, lead_id)

    sb.advance(60)
    cleared = example("calcom", "BOOKING_NO_SHOW_UPDATED").replace('"noShow": true', '"noShow": false')
    assert deliver(sb, cleared, calcom=True) == "no_show_cleared"
    assert ("rebook", "running") not in cadences(sb, lead_id)


def test_cal_com_reschedule_cancel_and_meeting_ended(sb, lead_id):
    assert deliver(sb, example("calcom", "BOOKING_CREATED"), calcom=True) == "meeting_booked"
    moved = example("calcom", "BOOKING_RESCHEDULED", start="2026-11-27T16:00:00Z", end="2026-11-27T16:30:00Z")
    assert deliver(sb, moved, calcom=True) == "meeting_moved"
    assert deliver(sb, example("calcom", "MEETING_ENDED"), calcom=True) == "meeting_ended"
    cancelled = example("calcom", "BOOKING_CANCELLED").replace(
        "bFJeNb2uX8ANpT3JL5EfXw", "n4wZKX8TqYhBGfP3JmRHcE"
    )
    assert deliver(sb, cancelled, calcom=True) == "meeting_canceled"
    assert ("rebook", "running") in cadences(sb, lead_id)


def test_a_cal_com_retry_hours_later_is_applied_and_a_repeat_is_acknowledged_and_ignored(sb, lead_id):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    body = example("calcom", "BOOKING_CREATED", now=sb.now() - timedelta(hours=1))

    assert deliver(sb, body, calcom=True) == "meeting_booked"  # was 401 under a 5-minute clock
    assert deliver(sb, body, calcom=True) == "repeat"
    assert len([alert for alert in rep_alerts(sb) if alert["kind"] == "meeting_booked"]) == 1


def test_a_cal_com_delivery_is_applied_up_to_its_age_bound_and_not_a_second_later(sb, lead_id):
    too_old = example("calcom", "BOOKING_CREATED", now=sb.now() - CALCOM_MAX_AGE - timedelta(seconds=1))
    assert deliver(sb, too_old, calcom=True) == "too_old"
    assert sb.lead(lead_id)["status"] == "active"

    at_bound = example("calcom", "BOOKING_CREATED", now=sb.now() - CALCOM_MAX_AGE)
    assert deliver(sb, at_bound, calcom=True) == "meeting_booked"


def test_a_wrongly_signed_cal_com_delivery_is_still_refused(sb, lead_id):
    body = example("calcom", "BOOKING_CREATED")
    response = sb.post("/webhooks/meeting", data=body, headers=calcom_headers(body + " "))

    assert response.status_code == 401
    assert sb.lead(lead_id)["status"] == "active"
