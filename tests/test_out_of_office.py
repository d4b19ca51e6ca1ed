"""Out-of-office replies: the cadence goes on, moved past a stated return date; bounces told apart.

Acceptance: an out-of-office with a return date moves the next touch past that date. A
transient bounce changes nothing.
"""

from __future__ import annotations

from datetime import date

import pytest

from leadflow import keys
from leadflow.answers.classify import Kind, classify
from leadflow.cadence import asl
from leadflow.local.events import ses_event
from leadflow.store import event_items, suppression_items
from tests.helpers import fixture_mail, reply_mime, to_lead

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence

OOO_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}


def _post(sb, email):
    sb.post("/leads", json={"email": email, "first_name": "Jordan"})
    return sb.find_lead(email)


def test_an_out_of_office_with_a_return_date_moves_the_next_touch_and_shifts_the_rest(sb):
    lead = _post(sb, "jordan@northwind.example")  # Mon 23 Nov 09:00: touches on days 1, 2, 4, 7, 14, 21
    sb.advance_to("2026-11-24T09:05:00Z")  # touch 2 went out; touch 3 is due Thu 26 Nov
    raw = reply_mime(
        "Jordan <jordan@northwind.example>",
        subject="Automatic reply: Quick question",
        body="I am out of the office and will be back on December 7.",
        headers=OOO_HEADERS,
        at=sb.now(),
    )
    assert classify(raw).return_date == date(2026, 12, 7)

    assert sb.deliver_email(raw) == {"outcomes": ["auto_reply"]}

    current = sb.lead(lead["id"])
    assert current["status"] == "active", "an out-of-office stops nothing"
    assert current["enrollments_detail"][0]["run_status"] == "running"
    sb.advance_to("2027-01-10T00:00:00Z")
    sent = {message["touch"]: message["at"] for message in to_lead(sb, lead["id"])}
    # Back Mon 7 Dec: the next touch on the first business day after it, the rest keep their spacing
    # (days 4, 7, 14, 21 -> 8 Dec, then +3, +10, +17 days).
    assert sent == {
        1: "2026-11-23T09:00:00Z",
        2: "2026-11-24T09:00:00Z",
        3: "2026-12-08T09:00:00Z",
        4: "2026-12-11T09:00:00Z",
        5: "2026-12-18T09:00:00Z",
        6: "2026-12-25T09:00:00Z",
    }
    execution = sb.execution(lead["id"])
    assert execution["status"] == "SUCCEEDED"
    moved = asl.moved_state_names(sb.cadences["inbound-demo-request"], 3)
    assert list(moved) == execution["states"][4:6], "woken early once, it waited again"
    # Normal path 2 transitions per moment after the first, which is sent outside the execution (10,
    # issue 28), plus the one detour: task, read, wait.
    assert execution["transitions"] == 10 + 3
    (event,) = [item for item in event_items.events(lead["id"]) if item["type"] == "auto_reply"]
    assert (event["touch"], event["return_date"]) == (2, "2026-12-07")


def test_a_return_date_before_the_next_touch_moves_nothing(sb):
    lead = _post(sb, "soon@northwind.example")
    sb.advance_to("2026-11-24T09:05:00Z")
    raw = reply_mime(
        "soon@northwind.example", subject="Out of Office", body="Back on November 25.", at=sb.now()
    )
    sb.deliver_email(raw)
    sb.advance_to("2026-12-15T00:00:00Z")
    assert [message["at"][:10] for message in to_lead(sb, lead["id"])] == [
        "2026-11-23",
        "2026-11-24",
        "2026-11-26",
        "2026-11-29",
        "2026-12-06",
        "2026-12-13",
    ]
    assert sb.execution(lead["id"])["transitions"] == 10


def test_an_out_of_office_without_a_date_changes_nothing(sb):
    lead = _post(sb, "vague@northwind.example")
    raw = reply_mime(
        "vague@northwind.example", subject="Out of Office", body="I'm away this week.", at=sb.now()
    )
    assert sb.deliver_email(raw) == {"outcomes": ["auto_reply"]}
    sb.advance_to("2026-11-24T09:00:00Z")
    assert [message["touch"] for message in to_lead(sb, lead["id"])] == [1, 2]


def test_the_move_lands_on_the_first_allowed_day_of_the_send_window(monkeypatch):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from leadflow.cadence import reschedule
    from leadflow.cadence.model import DEFAULT_CADENCE_DIR, load_cadence
    from leadflow.models import Enrollment, Lead

    cadence = load_cadence(DEFAULT_CADENCE_DIR / "inbound-demo-request.yaml")  # Mon-Fri, 09:00-17:00
    monkeypatch.setattr(reschedule, "busy_days", lambda lead_id, locale: frozenset())
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 23, 10, 0, tzinfo=new_york)
    schedule = [start + timedelta(days=touch.day - 1) for touch in cadence.touches]
    lead = Lead(id="a" * 20, email="x@y.example", created_at=start, timezone="America/New_York", country="US")
    enrollment = Enrollment(
        lead_id=lead.id, number=1, cadence=cadence.name, schedule=schedule, started_at=start, last_touch=2
    )

    moved = reschedule.moved_schedule(lead, enrollment, cadence, date(2026, 12, 4))  # back on a Friday

    assert moved[:2] == schedule[:2], "what was sent stays"
    assert moved[2].astimezone(new_york) == datetime(2026, 12, 7, 10, 0, tzinfo=new_york)  # Monday
    assert moved[2:] == sorted(moved[2:]), "the later touches keep their order"
    assert all(m.astimezone(new_york).weekday() < 5 for m in moved[2:])
    assert moved[2] > datetime(2026, 12, 4, 23, tzinfo=UTC)


def test_a_transient_bounce_changes_nothing(sb):
    lead = _post(sb, "full@northwind.example")
    first = to_lead(sb, lead["id"])[0]
    result = sb.deliver_ses_event(
        ses_event(
            "Bounce",
            message_id=first["message_id"],
            recipients=["full@northwind.example"],
            sent_at=sb.now(),
            at=sb.now(),
            bounce_type="Transient",
            bounce_sub_type="MailboxFull",
        )
    )
    assert result == {"batchItemFailures": []}
    raw = fixture_mail(
        "bounce",
        "zimbra-delay.eml",
        {
            "rob.v@tailspin.example": "full@northwind.example",
            # It returns our first touch: the proof a report is about our mail.
            "0100019a6391ee05-2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c9d-000000": first["message_id"],
        },
    )
    assert classify(raw).kind is Kind.BOUNCE
    assert sb.deliver_email(raw, recipients=["bounces@reply.leadflow.example"]) == {"outcomes": ["bounce"]}

    current = sb.lead(lead["id"])
    assert (current["status"], current["enrollments_detail"][0]["run_status"]) == ("active", "running")
    assert suppression_items.suppression(keys.email_key("full@northwind.example")) is None
    assert [item["type"] for item in event_items.events(lead["id"])] == [
        "transient_bounce",
        "transient_bounce",
    ]
    sb.advance_to("2026-11-29T10:00:00Z")
    assert [message["touch"] for message in to_lead(sb, lead["id"])] == [1, 2, 3, 4]


def test_every_touch_has_a_moved_path_back_to_itself():
    from leadflow.cadence.model import DEFAULT_CADENCE_DIR, load_cadence

    cadence = load_cadence(DEFAULT_CADENCE_DIR / "inbound-demo-request.yaml")
    states = asl.build_definition(cadence, "arn:aws:lambda:us-east-1:123456789012:function:step")["States"]
    # Every moment the execution runs; the first is sent outside it (issue 28), and a move of touch 1
    # becomes a one-shot schedule at the new time (tests/test_first_moment.py).
    assert asl.first_moment_outside(cadence)
    for number, *_ in asl.moments(cadence)[1:]:
        task = states[asl.task_state_name(cadence, number)]
        read, wait = asl.moved_state_names(cadence, number)
        assert {"ErrorEquals": [asl.NOT_DUE_YET], "ResultPath": "$.deferral", "Next": read} in task["Catch"]
        assert states[read]["Parameters"] == {"error.$": "States.StringToJson($.deferral.Cause)"}
        assert states[wait] == {
            "Type": "Wait",
            "TimestampPath": "$.deferral.error.errorMessage",
            "Next": asl.task_state_name(cadence, number),
        }
        assert all(len(name) <= 80 for name in (read, wait)), "Step Functions state names: 80 characters"
