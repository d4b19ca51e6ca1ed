"""Verdicts first (issue 27 items 1, 4 and 7; issue 25 item 6): human speed to lead per rep with
never-called leads as misses, the post-meeting, rebook and re-engagement flows judged by their own
bands, findings ordered by what they cost, and the email as mail clients show it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.local.synthetic_report import Builder
from leadflow.report.build import build_report
from leadflow.report.metrics import (
    RECAP_WITHIN,
    Window,
    build_facts,
    human_speed,
    median_with_misses,
    meeting_flows,
)
from leadflow.report.records import CadencePlan, CadenceStep, EventKind, TouchState

END = datetime(2026, 12, 14, tzinfo=UTC)
WEEK = Window("week of 2026-12-07", END - timedelta(days=7), END)
MONDAY = END - timedelta(days=7)

PLANS = {
    "demo": CadencePlan("demo", (CadenceStep("email", 1, "intro"), CadenceStep("call", 3, "day-2-call"))),
    "post-meeting": CadencePlan(
        "post-meeting",
        (CadenceStep("email", 1, "recap"), CadenceStep("email", 1, "next-steps")),
        flow="post-meeting",
    ),
    "rebook": CadencePlan("rebook", (CadenceStep("email", 1, "new-time"),), flow="rebook"),
    "re-engagement": CadencePlan(
        "re-engagement",
        (CadenceStep("email", 1, "angle"), CadenceStep("email", 1, "break-up")),
        "re-engagement",
    ),
}


def speed_lead(b: Builder, lead_id: str, owner: str, arrived: datetime, called_after: float | None) -> None:
    """A demo request: the robot's email at once, a speed call (touch 0) done after `called_after`
    seconds, or left open (never called)."""
    b.lead(lead_id, arrived, owner=owner, form="demo-request")
    b.enroll(lead_id, "demo")
    b.touch(lead_id, 1, "email", arrived)
    due = arrived + timedelta(minutes=5)
    if called_after is None:
        b.touch(lead_id, 0, "call", due, state=TouchState.TASK_OPEN, due=due)
    else:
        b.touch(lead_id, 0, "call", arrived + timedelta(seconds=called_after), outcome="no_answer", due=due)


# -- human speed to lead ---------------------------------------------------------------------------


def test_never_called_leads_are_misses_inside_the_median():
    # The run: 20 leads owed a call, 6 called (the old median counted only those 6).
    b = Builder()
    for n in range(20):
        speed_lead(b, f"l{n}", "sam", MONDAY + timedelta(hours=n), 60.0 * (n + 1) if n < 6 else None)
    facts = build_facts(b.dataset, END)
    everyone, sam = human_speed(facts, WEEK, 300)
    assert (everyone.owner, sam.owner) == ("", "sam")
    assert (everyone.leads, everyone.called, everyone.within_target, everyone.misses) == (20, 6, 5, 15)
    assert everyone.never_called == 14
    assert everyone.median == math.inf  # 14 of 20 never called: the median lead was never reached


def test_the_median_counts_misses_as_slower_than_any_call():
    assert median_with_misses([60, 120, 180], 0) == 120
    assert median_with_misses([60, 120, 180], 1) == 150  # 60 120 | 180 inf
    assert median_with_misses([60, 120], 2) == math.inf
    assert median_with_misses([], 0) is None


def test_human_speed_is_per_rep_and_only_for_leads_owed_a_call():
    b = Builder()
    speed_lead(b, "a1", "alex", MONDAY + timedelta(hours=1), 240)
    speed_lead(b, "a2", "alex", MONDAY + timedelta(hours=2), 300)  # exactly at the band's edge
    speed_lead(b, "s1", "sam", MONDAY + timedelta(hours=3), 301)
    b.lead("c1", MONDAY, owner="sam")  # a content download: no speed call owed
    b.enroll("c1", "demo")
    b.touch("c1", 1, "email", MONDAY)
    speed_lead(b, "old", "sam", MONDAY - timedelta(days=3), None)  # an earlier week's lead
    rows = {row.owner: row for row in human_speed(build_facts(b.dataset, END), WEEK, 300)}
    assert (rows[""].leads, rows[""].within_target) == (3, 2)
    assert (rows["alex"].leads, rows["alex"].within_target, rows["alex"].median) == (2, 2, 270)
    assert (rows["sam"].leads, rows["sam"].within_target, rows["sam"].median) == (1, 0, 301)


# -- meetings ---------------------------------------------------------------------------------------


def booking(b: Builder, lead_id: str, booked: datetime, number: int = 2) -> None:
    b.enroll(lead_id, "post-meeting", number=number, started=booked)


def test_show_rate_counts_held_and_missed_meetings_and_waits_for_the_rest():
    b = Builder()
    for name in ("held", "noshow", "ahead"):
        b.lead(name, MONDAY - timedelta(days=2))
        b.enroll(name, "demo")
        b.touch(name, 1, "email", MONDAY - timedelta(days=2))
        b.event(name, EventKind.MEETING, MONDAY)
        booking(b, name, MONDAY)
    b.touch("held", 1, "email", MONDAY + timedelta(days=1), enrollment=2)  # the recap went out
    b.enroll("noshow", "rebook", number=3, started=MONDAY + timedelta(days=1))
    # "ahead": the meeting has not happened yet (no recap, no rebook).
    flows = meeting_flows(build_facts(b.dataset, END), WEEK, PLANS, END)
    flow = flows["post-meeting"]
    assert (flow.booked, flow.held, flow.missed) == (3, 1, 1)
    assert flow.show_rate == 0.5
    assert (flow.recaps_due, flow.recaps_in_time) == (1, 1)


def test_a_recap_is_in_time_up_to_exactly_24_hours_after_it_fell_due():
    b = Builder()
    due = MONDAY + timedelta(hours=1)
    for name, sent_after in (("edge", RECAP_WITHIN), ("late", RECAP_WITHIN + timedelta(seconds=1))):
        b.lead(name, MONDAY - timedelta(days=1))
        booking(b, name, MONDAY, number=1)
        b.touch(name, 1, "email", due + sent_after, state=TouchState.TASK_DONE, outcome="done", due=due)
    # A recap task still open: judged once its 24 hours have passed, not before.
    b.lead("open-late", MONDAY - timedelta(days=1))
    booking(b, "open-late", MONDAY, number=1)
    b.touch("open-late", 1, "email", due, state=TouchState.TASK_OPEN, due=due)
    b.lead("open-fresh", END - timedelta(hours=2))
    booking(b, "open-fresh", END - timedelta(hours=2), number=1)
    fresh_due = END - timedelta(hours=1)
    b.touch("open-fresh", 1, "email", fresh_due, state=TouchState.TASK_OPEN, due=fresh_due)
    flow = meeting_flows(build_facts(b.dataset, END), WEEK, PLANS, END)["post-meeting"]
    assert (flow.held, flow.recaps_due, flow.recaps_in_time) == (4, 3, 1)


def test_the_report_carries_both_numbers():
    b = Builder()
    speed_lead(b, "l1", "sam", MONDAY, None)
    report = build_report(b.dataset, WEEK, PLANS, company="Demo", timezone="UTC")
    assert [row.owner for row in report.human_speed] == ["", "sam"]
    assert set(report.meetings) == {"post-meeting"}


@pytest.mark.parametrize("flow", ["post-meeting", "rebook", "re-engagement", "not-now", ""])
def test_cadence_plans_carry_their_flow_from_the_config(flow, monkeypatch):
    from leadflow.config import settings
    from leadflow.report.weekly import cadence_plans

    monkeypatch.setenv("TABLE_NAME", "leadflow")
    monkeypatch.setenv("HMAC_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:hmac")
    settings.cache_clear()
    try:
        plans = cadence_plans()  # the shipped config/leadflow.yaml and cadences/
    finally:
        settings.cache_clear()
    by_flow = {plan.flow: name for name, plan in plans.items()}
    assert flow in by_flow
    if flow == "post-meeting":
        assert any(step.name == "recap" for step in plans[by_flow[flow]].steps)
