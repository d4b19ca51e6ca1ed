"""Human speed to lead (issue 14), on the Sandbox with the real state machine.

A demo request at 10:00 local on a workday gets a call task due by 10:05 and the owner's alert at
once; left unworked, the owner is alerted again after 10 minutes and the next rep in rotation
10 minutes later. Outside business hours the task is due when they start.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
        assert "Call due by Mon 23 Nov 10:05 EST (America/New_York)" in next(
            n["message"] for n in sb.rep_alerts() if n["kind"] == "speed_to_lead"
        )

        sb.advance_to("2026-11-23T15:09:00Z")
        assert len(_speed_alerts(sb, lead["id"])) == 1
        sb.advance_to("2026-11-23T15:10:00Z")  # 10 minutes unworked: the owner again
        sb.advance_to("2026-11-23T15:20:00Z")  # 10 more: the next rep in rotation
        sb.advance_to("2026-11-23T16:00:00Z")  # 10 more: the manager, last
        assert _speed_alerts(sb, lead["id"]) == [
            ("2026-11-23T15:00:00Z", "speed_to_lead", "alex"),
            ("2026-11-23T15:10:00Z", "speed_to_lead_escalated", "alex"),
            ("2026-11-23T15:20:00Z", "speed_to_lead_escalated", "sam"),
            ("2026-11-23T15:30:00Z", "speed_to_lead_escalated", "_manager"),
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
        # Nobody is paged at 18:00 New York: Alex's first alert comes when he starts.
        assert _speed_alerts(sb, lead["id"]) == [
            ("2026-11-24T14:00:00Z", "speed_to_lead", "alex"),
            ("2026-11-24T14:10:00Z", "speed_to_lead_escalated", "alex"),
        ]


def test_a_newsletter_lead_gets_no_speed_call_even_in_the_demo_cadence():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        # A high fit score takes a newsletter lead to the demo cadence; it asked for no call.
        sb.post("/leads", json={**DEMO, "form": "newsletter", "title": "VP Sales", "country": "US"})
        lead = sb.find_lead(DEMO["email"])
        assert lead["cadence"] == "inbound-demo-request"
        assert [t for t in sb.tasks() if t["touch"] == 0] == []
        assert _speed_alerts(sb, lead["id"]) == []


# -- issue 25: the rep's day, measured as the issue measured it -------------------------------------

BARE_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?(Z|\+00:00)")
WAITED = re.compile(r"has waited (?:(\d+) days? )?(?:(\d+) h )?(\d+) min")


def _hours_of(config, person):
    return config.speed_to_lead.manager.hours if person == "_manager" else config.rep(person).hours


def test_48_demo_requests_around_the_clock_nobody_acts_alerts_in_hours_ending_at_the_manager():
    """48 demo requests, one an hour over Monday and Tuesday; nobody works any task (issue 25).

    The sweep's hourly run (digests, the manager's list, the audit) runs every hour through
    Thanksgiving; its 5-minute runs deliver held alerts (the Sandbox plays them)."""
    from leadflow.config import operator_config

    with Sandbox(start="2026-11-22T23:59:00Z") as sb:
        config = operator_config()
        posted: dict[str, datetime] = {}
        for hour in range(4 * 24):  # Monday 00:00 UTC to Thursday 23:00 UTC
            at = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(hours=hour)
            sb.advance_to(at)
            if hour < 48:
                email = f"lead{hour}@bigco{hour}.example"
                sb.post("/leads", json={**DEMO, "email": email, "first_name": f"Lead{hour}"})
                posted[sb.find_lead(email)["id"]] = at
            sb.invoke("sweep", {"audit": True})
        sb.advance_to("2026-11-27T00:00:00Z")

        speed = [n for n in sb.rep_alerts() if n["kind"].startswith("speed_to_lead")]
        # The lead-accepted alert would repeat the speed alert, at any hour: these leads get none.
        assert [n for n in sb.rep_alerts() if n["kind"] == "lead_accepted"] == []
        outside = [
            (n["at"], n["rep"], n["kind"])
            for n in sb.rep_alerts()
            if not _hours_of(config, n["rep"]).working(_at(n["at"]))
        ]
        assert outside == []  # speed alerts and task alerts alike (off: the task waits in the queue)
        assert [n["message"] for n in sb.rep_alerts() if BARE_UTC.search(n["message"])] == []
        managed = {n["lead_id"] for n in speed if n["rep"] == "_manager"}
        assert managed == set(posted)  # every uncalled lead reaches the manager
        for note in speed:
            if note["kind"] == "speed_to_lead_escalated":
                days, hours, minutes = WAITED.search(note["message"]).groups()
                stated = int(days or 0) * 1440 + int(hours or 0) * 60 + int(minutes)
                true = (_at(note["at"]) - posted[note["lead_id"]]).total_seconds() / 60
                assert abs(stated - true) <= true / 4, (note["message"], true)
        calls: dict[str, list[datetime]] = {}
        for task in sb.tasks():
            if task["channel"] == "call":
                calls.setdefault(task["lead_id"], []).append(_at(task["at"]))
        assert len(calls) == 48  # every lead's speed call, at least: the check below is not empty
        close = {
            lead
            for lead, dues in calls.items()
            for a, b in zip(sorted(dues), sorted(dues)[1:], strict=False)
            if b - a < timedelta(hours=2)
        }
        assert close == set()
        # The cadence never waits on the chain: every touch so far ran at its planned time.
        late = []
        for lead_id in posted:
            detail = sb.lead(lead_id)
            (plan,) = detail["enrollments_detail"]
            for touch in detail["touches"]:
                planned = _at(plan["schedule"][touch["number"] - 1])
                if _at(touch["sent_at"]) - planned > timedelta(minutes=1):
                    late.append((lead_id, touch["number"]))
        assert late == []
        # Each rep's morning digest, an email on each working day between 07:00 and 09:30 their
        # time (none for Alex on Thanksgiving), whose link opens their queue with their tasks.
        digests = [m for m in sb.outbox() if m["tags"].get("kind") == "digest"]
        local = [
            (m["tags"]["rep"], _at(m["at"]).astimezone(ZoneInfo(config.rep(m["tags"]["rep"]).hours.timezone)))
            for m in digests
        ]
        assert sorted((rep, f"{when:%a}") for rep, when in local) == sorted(
            [("alex", day) for day in ("Mon", "Tue", "Wed")]
            + [("sam", day) for day in ("Mon", "Tue", "Wed", "Thu")]
        )
        assert all(time(7) <= when.time() < time(9, 30) for _, when in local)
        for digest in digests:
            rep = digest["tags"]["rep"]
            link = re.search(r"Your queue: \S+(/queue/" + rep + r"\?token=\S+)", digest["text"]).group(1)
            page = sb.get(link)
            named = re.findall(r"(Lead\d+) \(BigCo\)", digest["text"])
            assert page.status_code == 200 and named and all(name in page.text for name in named), rep
        assert sb.audit().clean


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_working_hours_at_their_boundaries_and_on_a_public_holiday():
    from leadflow.operator_config import BusinessHours

    new_york = BusinessHours.model_validate({"timezone": "America/New_York", "start": "09:00"})
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # EST: 09:00 local is 14:00 UTC
    assert not new_york.working(monday + timedelta(hours=13, minutes=59))
    assert new_york.working(monday + timedelta(hours=14))
    assert new_york.working(monday + timedelta(hours=21, minutes=59))
    assert not new_york.working(monday + timedelta(hours=22))
    thanksgiving = datetime(2026, 11, 26, 15, tzinfo=UTC)  # Thursday 10:00 New York, a US holiday
    assert not new_york.working(thanksgiving)
    assert new_york.opening(thanksgiving) == datetime(2026, 11, 27, 14, tzinfo=UTC)
    # The holidays are those of `country` when given: German holidays in New York work Thanksgiving.
    german = BusinessHours.model_validate({"timezone": "America/New_York", "country": "DE"})
    assert german.working(thanksgiving)


def test_the_manager_gets_one_list_a_day_of_the_leads_never_called_inside_their_hours():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York
        sb.post("/leads", json=DEMO)
        sb.post("/leads", json={**DEMO, "email": "worked@acme.example", "first_name": "Wes"})
        worked = next(
            t for t in sb.tasks() if t["touch"] == 0 and t["lead_id"] != sb.find_lead(DEMO["email"])["id"]
        )
        assert (
            sb.post(
                f"/tasks/{worked['id']}?token={worked['token']}", json={"outcome": "connected"}
            ).status_code
            == 200
        )

        def hourly_run(at):
            sb.advance_to(at)
            sb.invoke("sweep", {"audit": True})
            return [n for n in sb.rep_alerts() if n["kind"] == "never_called"]

        # The manager works 08:00-18:00 New York: 12:59 UTC is 07:59 there.
        assert hourly_run("2026-11-24T12:59:00Z") == []
        (daily,) = hourly_run("2026-11-24T13:00:00Z")
        assert (daily["rep"], daily["at"]) == ("_manager", "2026-11-24T13:00:00Z")
        assert "never called: 1 (as of Tue 24 Nov 08:00 EST (America/New_York))" in daily["message"]
        assert "- Dana (BigCo)" in daily["message"] and "Wes" not in daily["message"]
        assert "posted Mon 23 Nov 10:00 EST (America/New_York)" in daily["message"]
        assert "waiting 22 h 00 min" in daily["message"]
        assert len(hourly_run("2026-11-24T14:00:00Z")) == 1  # once a day
        assert len(hourly_run("2026-11-25T13:00:00Z")) == 2  # the next working day again


def test_a_call_due_within_the_gap_of_an_open_call_moves_to_the_gaps_end_at_the_boundary():
    """Item 4: `speed_to_lead.call_gap_hours` (4 by default) of an open call task of the lead, on
    either side, moves a new call to the gap's end (the owner's next start if off then); at exactly
    the gap, or once the other call is worked, it stays."""
    from leadflow.send.tasks import spaced_call
    from leadflow.store import lead_items

    with Sandbox(start="2026-11-23T20:00:00Z") as sb:  # Monday 15:00 New York; Alex ends at 17:00
        sb.post("/leads", json=DEMO)
        lead = lead_items.get_lead(sb.find_lead(DEMO["email"])["id"])
        (speed,) = [t for t in sb.tasks() if t["touch"] == 0]
        assert speed["at"] == "2026-11-23T20:05:00Z"
        # 4 h after 20:05 UTC is 19:05 New York, after hours: Tuesday 09:00 New York (14:00 UTC).
        tuesday_start = _at("2026-11-24T14:00:00Z")
        assert spaced_call(lead, _at("2026-11-24T00:04:59Z")) == tuesday_start
        assert spaced_call(lead, _at("2026-11-23T16:05:01Z")) == tuesday_start  # before it, too
        assert spaced_call(lead, _at("2026-11-24T00:05:00Z")) == _at("2026-11-24T00:05:00Z")
        assert spaced_call(lead, _at("2026-11-23T16:05:00Z")) == _at("2026-11-23T16:05:00Z")
        worked = sb.post(f"/tasks/{speed['id']}?token={speed['token']}", json={"outcome": "no_answer"})
        assert worked.status_code == 200
        assert spaced_call(lead, _at("2026-11-23T21:00:00Z")) == _at("2026-11-23T21:00:00Z")
