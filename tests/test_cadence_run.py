"""A lead's cadence end to end on the Sandbox: intake, waits, sends, tasks, completion."""

from datetime import timedelta

import pytest

from leadflow.cadence import asl
from leadflow.cadence.schedule import opening_offset
from leadflow.clock import iso, parse_iso
from leadflow.config import cadences
from tests.helpers import DEMO_REQUEST


def test_first_touch_is_in_the_outbox_when_the_post_returns(sb):
    sb.advance_to("2026-11-23T10:17:42Z")
    response = sb.post("/leads", json={"email": "ada@example.com", "first_name": "Ada"})

    assert response.status_code == 202
    outbox = sb.outbox()
    assert len(outbox) == 1
    first = outbox[0]
    assert (first["to"], first["touch"], first["channel"]) == ("ada@example.com", 1, "email")
    assert first["at"] == "2026-11-23T10:17:42Z"  # 05:17 in New York: the first touch ignores the window
    assert first["message_id"]
    assert first["lead_id"] == sb.find_lead("ada@example.com")["id"]


def test_without_a_reply_every_touch_runs_on_its_local_business_day_and_the_execution_succeeds(sb):
    sb.post("/leads", json=DEMO_REQUEST)  # Monday 2026-11-23 09:00 UTC = 04:00 in New York
    lead = sb.find_lead(DEMO_REQUEST["email"])
    sb.advance_to("2026-12-31T00:00:00Z")

    sent = [(message["at"], message["touch"], message["channel"]) for message in sb.outbox()]
    tasks = [(task["at"], task["touch"], task["channel"]) for task in sb.tasks()]
    # At the window's opening (09:00 New York) plus the lead's own offset in its first minutes.
    offset = opening_offset(lead["id"])

    def opening(day: str) -> str:
        return iso(parse_iso(f"{day}T14:00:00Z") + offset)

    assert sorted(sent + tasks) == [
        ("2026-11-23T09:00:00Z", 1, "email"),  # at once
        ("2026-11-23T14:00:00Z", 0, "call"),  # speed to lead: posted at 04:00, due when the rep starts
        (opening("2026-11-24"), 2, "call"),  # day 2
        (opening("2026-11-24"), 3, "sms"),  # the same moment: one Task for both
        (opening("2026-11-27"), 4, "email"),  # day 4 is Thanksgiving: pushed a day...
        (opening("2026-11-30"), 5, "linkedin"),  # ...and so is everything after it
        (opening("2026-12-07"), 6, "email"),
        (opening("2026-12-14"), 7, "email"),
    ]
    # Follow-ups reply in the first email's thread; the day-14 new angle starts its own.
    subjects = [message["subject"] for message in sb.outbox() if message["channel"] == "email"]
    assert len(subjects) == 4 and subjects[1] == subjects[3] == f"Re: {subjects[0]}" != subjects[2]
    execution = sb.execution(lead["id"])
    assert execution["status"] == "SUCCEEDED"
    # Two transitions per send moment (Wait + Task) after the first, which is sent outside the
    # execution (issue 28: an async invoke of the step): no polling anywhere, 10 transitions.
    # Seven touches at six moments (the day-2 call and text share one Task).
    # Speed to lead's chain runs on one-shot schedules outside the execution (issue 28): its four
    # alerts here (posted at 04:00 New York, the owner's first alert waits for 09:00; then the owner
    # again, the next rep, the manager) cost the execution no transition.
    assert execution["transitions"] == 2 * (6 - 1)
    speed = [n["kind"] for n in sb.rep_alerts() if n["lead_id"] == lead["id"] and "speed" in n["kind"]]
    assert speed == ["speed_to_lead"] + ["speed_to_lead_escalated"] * 3
    assert sb.lead(lead["id"])["enrollments_detail"][0]["run_status"] == "completed"


def test_nothing_is_sent_before_its_time(sb):
    sb.post("/leads", json=DEMO_REQUEST)
    due = parse_iso("2026-11-24T14:00:00Z") + opening_offset(sb.find_lead(DEMO_REQUEST["email"])["id"])
    sb.advance_to(due - timedelta(seconds=1))
    assert len(sb.outbox()) == 1
    assert [task["touch"] for task in sb.tasks()] == [0]  # the speed-to-lead call, due at 14:00
    sb.advance(1)
    assert [message["channel"] for message in sb.outbox()] == ["email", "sms"]
    assert [(task["touch"], task["channel"]) for task in sb.tasks()] == [(0, "call"), (2, "call")]


def test_execution_input_has_ids_only_and_a_readable_name_and_states(sb):
    sb.post(
        "/leads",
        json={"email": "private.person@example.com", "first_name": "Private", "company": "Secret Co"},
    )
    lead = sb.find_lead("private.person@example.com")
    execution = sb.execution(lead["id"])

    version = sb.cadences["content-download"].version
    second = iso(parse_iso(sb.lead(lead["id"])["enrollments_detail"][0]["schedule"][1]))
    assert execution["input"] == {
        "lead_id": lead["id"],
        "cadence": "content-download",
        "enrollment": 1,
        "version": version,
        # The second moment's due time, which the execution starts by waiting for (issue 28: the first
        # moment is sent outside it): a time, no personal data.
        "schedule": {"next_at": second},
    }
    assert execution["name"] == f"{lead['id']}-content-download-1"
    assert "private" not in lead["id"] and "example" not in lead["id"]
    assert execution["states"] == ["Until Day 03 · linkedin · connect"]
    assert [m["touch"] for m in sb.outbox()] == [1]


def test_lead_ids_are_random_not_derived_from_the_address():
    from leadflow.keys import new_lead_id

    ids = {new_lead_id() for _ in range(1000)}
    assert len(ids) == 1000


@pytest.mark.parametrize(
    "name", ["inbound-demo-request", "content-download", "re-engagement", "post-meeting"]
)
def test_every_default_cadence_runs_to_completion_on_its_own_state_machine(sb, name):
    cadence = cadences()[name]
    assert sb.state_machine_arns[name].endswith(f":leadflow-{name}")
    # Enter every cadence the same way, whatever its match rules: a lead, then enroll() once its
    # intake cadence (the nurture, 14 days) is over, so no day is taken and touch 1 goes at once.
    sb.post("/leads", json={**DEMO_REQUEST, "form": "newsletter"})
    lead_id = sb.find_lead(DEMO_REQUEST["email"])["id"]
    number = 1
    if name != "content-download":
        sb.advance_to("2026-12-15T15:00:00Z")
        # A cadence on a meeting's clock is entered with a meeting (one that ended at 10:00 New York).
        meeting = {"starts_at": "2026-12-15T14:30:00Z", "ends_at": "2026-12-15T15:00:00Z"}
        number = sb.enroll(lead_id, name, reason="test", meeting=meeting if cadence.meeting else None)[
            "number"
        ]
    sb.advance_to("2027-02-01T00:00:00Z")

    execution = next(e for e in sb.executions(lead_id) if e["name"] == f"{lead_id}-{name}-{number}")
    assert execution["status"] == "SUCCEEDED"
    # Two transitions per send moment (Wait, Task) after the first, which is sent outside the execution
    # (a one-shot schedule on a meeting's clock); speed to lead too (issue 28).
    assert execution["transitions"] == 2 * (len(asl.moments(cadence)) - 1)
    enrollment = next(e for e in sb.lead(lead_id)["enrollments_detail"] if e["cadence"] == name)
    assert enrollment["run_status"] == "completed"
    done = [t for t in sb.lead(lead_id)["touches"] if t["enrollment"] == enrollment["number"]]
    assert [t["number"] for t in done] == list(range(1, len(cadence.touches) + 1))
