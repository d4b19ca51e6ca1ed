"""Human speed to lead (issue 14), on the Sandbox with the real state machine.

A demo request at 10:00 local on a workday gets a call task due by 10:05 and the owner's alert at
once; left unworked, the owner is alerted again after 10 minutes and the next rep in rotation
10 minutes later. Outside business hours the task is due when they start.
"""

from __future__ import annotations

from leadflow.local.sandbox import Sandbox

DEMO = {"email": "dana@bigco.example", "first_name": "Dana", "company": "BigCo", "form": "demo-request"}


def _speed_alerts(sb, lead_id):
    return [
        (note["at"], note["kind"], note["rep"])
        for note in sb.rep_alerts()
        if note["lead_id"] == lead_id and note["kind"].startswith("speed_to_lead")
    ]


def test_a_demo_request_at_10_local_gets_a_call_due_by_10_05_and_escalates_to_the_next_rep_on_time():
    with Sandbox(start="2026-11-23T14:59:00Z") as sb:
        sb.advance_to("2026-11-23T15:00:00Z")  # Monday 10:00 in New York
        sb.post("/leads", json=DEMO)
        lead = sb.find_lead(DEMO["email"])
        assert lead["owner"] == "alex"  # round robin, first turn; business hours 09:00-17:00 New York

        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        assert (task["channel"], task["status"], task["at"]) == ("call", "open", "2026-11-23T15:05:00Z")
        assert _speed_alerts(sb, lead["id"]) == [("2026-11-23T15:00:00Z", "speed_to_lead", "alex")]
        assert "Call due by 2026-11-23T15:05:00Z" in next(
            n["message"] for n in sb.rep_alerts() if n["kind"] == "speed_to_lead"
        )

        sb.advance_to("2026-11-23T15:09:00Z")
        assert len(_speed_alerts(sb, lead["id"])) == 1
        sb.advance_to("2026-11-23T15:10:00Z")  # 10 minutes unworked: the owner again
        sb.advance_to("2026-11-23T15:20:00Z")  # 10 more: the next rep in rotation
        sb.advance_to("2026-11-23T16:00:00Z")
        assert _speed_alerts(sb, lead["id"]) == [
            ("2026-11-23T15:00:00Z", "speed_to_lead", "alex"),
            ("2026-11-23T15:10:00Z", "speed_to_lead_escalated", "alex"),
            ("2026-11-23T15:20:00Z", "speed_to_lead_escalated", "sam"),
        ]
        escalations = sb.task(task["id"])
        assert escalations["status"] == "open"
        # The cadence goes on as planned: touch 2 on day 2.
        assert sb.execution(lead["id"])["status"] == "RUNNING"
        sb.advance_to("2026-11-25T00:00:00Z")
        assert [t["touch"] for t in sb.tasks()] == [0, 2]
        audit = sb.audit()
        assert audit.clean, audit.lines()


def test_a_worked_call_task_is_not_escalated():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        sb.post("/leads", json={**DEMO, "form": "pricing"})
        lead = sb.find_lead(DEMO["email"])
        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        sb.advance_to("2026-11-23T15:03:00Z")
        answer = sb.post(f"/tasks/{task['id']}?token={task['token']}", json={"outcome": "no_answer"})
        assert answer.status_code == 200
        sb.advance_to("2026-11-23T16:00:00Z")
        assert _speed_alerts(sb, lead["id"]) == [("2026-11-23T15:00:00Z", "speed_to_lead", "alex")]
        assert sb.task(task["id"])["status"] == "no_answer"
        audit = sb.audit()
        assert audit.clean, audit.lines()


def test_outside_business_hours_the_call_is_due_when_they_start():
    with Sandbox(start="2026-11-23T23:00:00Z") as sb:  # Monday 18:00 in New York
        sb.post("/leads", json=DEMO)
        lead = sb.find_lead(DEMO["email"])
        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        assert task["at"] == "2026-11-24T14:00:00Z"  # Tuesday 09:00 New York
        sb.advance_to("2026-11-24T14:15:00Z")
        assert [kind for _, kind, _ in _speed_alerts(sb, lead["id"])] == [
            "speed_to_lead",
            "speed_to_lead_escalated",
        ]
        assert _speed_alerts(sb, lead["id"])[1][0] == "2026-11-24T14:10:00Z"


def test_a_newsletter_lead_gets_no_speed_call_even_in_the_demo_cadence():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        # A high fit score takes a newsletter lead to the demo cadence; it asked for no call.
        sb.post("/leads", json={**DEMO, "form": "newsletter", "title": "VP Sales", "country": "US"})
        lead = sb.find_lead(DEMO["email"])
        assert lead["cadence"] == "inbound-demo-request"
        assert [t for t in sb.tasks() if t["touch"] == 0] == []
        assert _speed_alerts(sb, lead["id"]) == []
