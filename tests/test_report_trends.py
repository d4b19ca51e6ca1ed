"""Trends against the 4 previous periods, the "changed since" marker, and rep activity."""

from dataclasses import replace
from datetime import timedelta

import pytest

from leadflow.local.synthetic_report import Builder
from leadflow.report.build import build_report
from leadflow.report.records import EventKind, TouchRecord, TouchState
from leadflow.report.render import render_html, render_text, spark, spark_runs
from tests.report_data import PLANS, WEEK, at

LOCATION = "s3://leadflow-reports/reports/2026-11-16/report.html"


def weekly_population():
    """Five weeks of inbound leads, one more each week; every lead of week k replies when k is even.
    The cadence changes version in the last week."""
    b = Builder()
    for week in range(5):
        start = WEEK.start - timedelta(weeks=4 - week)
        for n in range(week + 1):
            lead = b.lead(f"w{week}-{n}", start + timedelta(days=1, hours=n), owner="alex")
            b.enroll(lead, "inbound")
            b.touch(lead, 1, "email", start + timedelta(days=1, hours=n, minutes=1))
            if week % 2 == 0:
                b.event(lead, EventKind.REPLY, start + timedelta(days=2, hours=n), touch=1)
    # Versions: v1 before the last week, v2 from its first lead on.
    b.dataset.enrollments[:] = [
        replace(e, version="v2" if e.started_at >= WEEK.start else "v1") for e in b.dataset.enrollments
    ]
    return b.dataset


def test_each_headline_against_the_four_periods_before_it():
    report = build_report(weekly_population(), WEEK, PLANS, company="Demo", timezone="UTC")
    trends = {trend.label: trend for trend in report.trends}
    assert trends["Leads"].values == (1, 2, 3, 4, 5)
    assert trends["Reply rate"].values == (1.0, 0.0, 1.0, 0.0, 1.0)
    assert trends["Leads"].previous_mean == pytest.approx(2.5)
    assert report.cadence_trends["inbound"] == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert spark(trends["Leads"].values) == [3, 6, 10, 13, 16]
    # The HTML line: block characters in runs of one colour (earlier grey, this period blue).
    assert spark_runs(trends["Leads"].values) == [("#9ca3af", "▂▃▅▇"), ("#2563eb", "█")]


def test_the_sparkline_marks_a_change_and_a_period_without_a_value():
    assert spark_runs((None, 1.0, 2.0, 2.0, 2.0), marks=(2,)) == [
        ("#e5e7eb", "▁"),
        ("#9ca3af", "▄"),
        ("#d97706", "█"),
        ("#9ca3af", "█"),
        ("#2563eb", "█"),
    ]


def test_a_new_cadence_version_is_marked_changed_since():
    report = build_report(weekly_population(), WEEK, PLANS, company="Demo", timezone="UTC")
    (change,) = report.changes
    assert (change.cadence, change.version, change.period) == ("inbound", "v2", 4)
    assert change.since == WEEK.start + timedelta(days=1)
    text, html = render_text(report, LOCATION), render_html(report, LOCATION)
    assert "inbound changed since Tue 17 Nov 2026 (version v2)" in text
    assert "Changed since Tue 17 Nov 2026:" in html


def test_rep_activity_counts_tasks_due_done_and_overdue():
    b = Builder()
    # alex: a lead this week, called after 3 minutes; a task due this week still open (overdue).
    b.lead("a1", at("2026-11-17T09:00"), owner="alex")
    b.enroll("a1", "inbound")
    b.touch("a1", 1, "email", at("2026-11-17T09:00:30"))
    b.touch("a1", 2, "call", at("2026-11-17T09:03"), outcome="connected")
    b.event("a1", EventKind.CONNECTED, at("2026-11-17T09:03"), touch=2, channel="call")
    b.lead("a2", at("2026-11-10T09:00"), owner="alex")  # last week's lead, its task due this week
    b.enroll("a2", "inbound")
    b.touch("a2", 1, "email", at("2026-11-10T09:01"))
    b.touch("a2", 4, "linkedin", at("2026-11-18T09:00"), state=TouchState.TASK_OPEN)
    # sam: a lead whose first call came after two hours.
    b.lead("s1", at("2026-11-18T09:00"), owner="sam")
    b.enroll("s1", "inbound")
    b.touch("s1", 1, "email", at("2026-11-18T09:00:10"))
    b.touch("s1", 2, "call", at("2026-11-18T11:00"), outcome="no_answer")
    report = build_report(
        b.dataset, WEEK, PLANS, company="Demo", timezone="UTC", owner_names={"sam": "Sam Lee"}
    )
    reps = {rep.owner: rep for rep in report.reps}
    alex, sam = reps["alex"], reps["sam"]
    assert (alex.due, alex.done, alex.overdue) == (2, 1, 1)
    assert (alex.first_human_touch.median, alex.within_target, alex.leads, alex.contact_rate) == (
        180,
        1,
        1,
        1.0,
    )
    assert (sam.due, sam.done, sam.overdue, sam.within_target, sam.contact_rate) == (1, 1, 0, 0, 0.0)
    assert sam.first_human_touch.median == 7200
    text = render_text(report, LOCATION)
    assert "REP ACTIVITY" in text and "Sam Lee (sam)" in text


def test_done_and_overdue_split_the_tasks_due_in_the_period_and_older_open_tasks_stand_apart():
    """Issue 27: "Sam 17 due, 13 done, 7 overdue": overdue counted earlier weeks' tasks, done counted
    outcomes of tasks that fell due before the week. Each now belongs to the tasks due in the week."""
    b = Builder()
    b.lead("s1", at("2026-11-09T09:00"), owner="sam")
    b.enroll("s1", "inbound")
    b.touch("s1", 1, "email", at("2026-11-09T09:00"))
    # Due last week, done this week: last week's work, not this week's.
    b.dataset.touches.append(
        TouchRecord(
            "s1", 1, 2, "call", TouchState.TASK_DONE, at("2026-11-16T10:00"), due=at("2026-11-13T09:00")
        )
    )
    # Due last week (one second before the week), still open: apart from this week's overdue.
    b.dataset.touches.append(
        TouchRecord("s1", 1, 4, "linkedin", TouchState.TASK_OPEN, None, due=at("2026-11-15T23:59:59"))
    )
    # Due at the week's first moment, still open: overdue; due this week and done: done.
    b.dataset.touches.append(TouchRecord("s1", 1, 5, "call", TouchState.TASK_OPEN, None, due=WEEK.start))
    b.dataset.touches.append(
        TouchRecord(
            "s1", 1, 6, "call", TouchState.TASK_DONE, at("2026-11-18T10:00"), due=at("2026-11-18T09:00")
        )
    )
    # Due at the week's end: next week's.
    b.dataset.touches.append(TouchRecord("s1", 1, 7, "call", TouchState.TASK_OPEN, None, due=WEEK.end))
    report = build_report(b.dataset, WEEK, PLANS, company="Demo", timezone="UTC")
    (sam,) = report.reps
    assert (sam.due, sam.done, sam.overdue, sam.earlier_open) == (2, 1, 1, 1)
    assert sam.done + sam.overdue == sam.due
    assert "open from earlier weeks" in render_text(report, LOCATION)
