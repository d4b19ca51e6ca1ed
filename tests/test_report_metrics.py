"""Every report metric against figures computed by hand from tests/report_data.py.

The week holds nine enrollments of eight leads (l1-l7, l10, and l5's post-meeting
enrollment: leads are people, so l5 counts once); the trailing 90 days add l8.
l9 started before the 90 days, and what l10 did after the week's end happened
too late: neither counts.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.local.synthetic_report import Builder
from leadflow.report.build import build_report, trailing_window
from leadflow.report.metrics import (
    Summary,
    add_business_days,
    build_facts,
    outcome_window,
    percentile,
    window_metrics,
)
from leadflow.report.records import EventKind, TouchState
from tests.report_data import PLANS, WEEK, at, known_dataset

HOUR = 3600.0


@pytest.fixture(scope="module")
def week():
    return window_metrics(build_facts(known_dataset(), WEEK.end), WEEK, PLANS)


@pytest.fixture(scope="module")
def trailing():
    return window_metrics(build_facts(known_dataset(), WEEK.end), trailing_window(WEEK.end), PLANS)


def counts(stats):
    return (
        stats.leads,
        stats.responded,
        stats.replied,
        stats.connected,
        stats.meetings,
        stats.unsubscribes,
        stats.complaints,
        stats.bounces,
    )


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91)


def test_week_overall(week):
    o = week.overall
    #        leads responded replied connected meetings unsub complaints bounces
    assert counts(o) == (8, 3, 2, 1, 1, 1, 1, 1)
    assert (o.enrollments, o.contacted) == (9, 8)
    assert o.contact_rate == pytest.approx(3 / 8)
    assert o.reply_rate == pytest.approx(2 / 8)
    assert o.meeting_rate == pytest.approx(1 / 8)
    assert o.opt_outs == 2
    assert (o.emailed, o.opened, o.clicked) == (8, 1, 1)
    assert week.engagement_tracked
    # Speed to lead over the eight arrivals: 5, 10, 20, 30, 60, 60, 120, 300 seconds.
    assert o.speed_to_lead == Summary(8, 605 / 8, 45.0, pytest.approx(174.0))
    # First human touch: l1's call after 23 h, l7's after 25 h (l3's task is open, l10's too late).
    assert o.first_human_touch == Summary(2, 24 * HOUR, 24 * HOUR, pytest.approx(24.8 * HOUR))
    # Touches to first response: l2 1, l1 2, l5 2.
    assert o.touches_to_response == Summary(3, pytest.approx(5 / 3), 2.0, pytest.approx(2.0))
    assert week.touches_histogram == {1: 1, 2: 2}


def test_trailing_overall(trailing):
    o = trailing.overall
    assert counts(o) == (9, 4, 3, 2, 1, 1, 1, 1)
    assert o.enrollments == 10
    # l8 adds 40 s: 5, 10, 20, 30, 40, 60, 60, 120, 300.
    assert (o.speed_to_lead.count, o.speed_to_lead.median) == (9, 40.0)
    assert o.speed_to_lead.p90 == pytest.approx(156.0)
    assert o.first_human_touch == Summary(3, 24 * HOUR, 24 * HOUR, pytest.approx(24.8 * HOUR))
    assert o.touches_to_response == Summary(4, 2.25, 2.0, pytest.approx(3.4))
    assert trailing.touches_histogram == {1: 1, 2: 2, 4: 1}


def test_week_breakdowns_by_lead(week):
    b = week.breakdowns
    assert {name: counts(stats) for name, stats in b["cadence"].items()} == {
        "inbound": (6, 2, 1, 1, 0, 1, 0, 1),
        "nurture": (2, 1, 1, 0, 1, 0, 1, 0),
        "post-meeting": (1, 0, 0, 0, 0, 0, 0, 0),
    }
    assert {name: counts(stats) for name, stats in b["source"].items()} == {
        "ads": (4, 0, 0, 0, 0, 1, 0, 1),
        "web": (4, 3, 2, 1, 1, 0, 1, 0),
    }
    assert {name: counts(stats) for name, stats in b["fit_band"].items()} == {
        "A": (5, 2, 1, 1, 0, 0, 1, 0),
        "B": (3, 1, 1, 0, 1, 1, 0, 1),
    }
    assert {name: counts(stats) for name, stats in b["owner"].items()} == {
        "alex": (4, 2, 1, 1, 1, 1, 0, 0),
        "sam": (4, 1, 1, 0, 0, 0, 1, 1),
    }
    assert b["owner"]["alex"].contact_rate == pytest.approx(0.5)
    assert b["owner"]["alex"].enrollments == 5
    assert b["cadence"]["inbound"].speed_to_lead.median == pytest.approx(45.0)  # 5, 20, 30, 60, 120, 300


def test_week_breakdowns_by_touch(week):
    b = week.breakdowns
    # A lead counts for a channel it received; an outcome, for the channel whose touch drew it.
    assert {name: counts(stats) for name, stats in b["channel"].items()} == {
        "call": (2, 1, 0, 1, 0, 0, 0, 0),
        "email": (8, 2, 2, 0, 1, 1, 1, 1),
    }
    assert (b["channel"]["email"].opened, b["channel"]["email"].clicked) == (1, 1)
    assert b["channel"]["call"].emailed == 0
    assert {name: counts(stats) for name, stats in b["variant"].items()} == {
        "inbound · touch 1 · a": (3, 0, 0, 0, 0, 0, 0, 0),
        "inbound · touch 1 · b": (2, 1, 1, 0, 0, 0, 0, 1),
    }


def test_trailing_breakdowns_add_the_older_lead(trailing):
    b = trailing.breakdowns
    assert counts(b["cadence"]["inbound"]) == (7, 3, 2, 2, 0, 1, 0, 1)
    assert counts(b["channel"]["linkedin"]) == (1, 1, 1, 1, 0, 0, 0, 0)
    assert counts(b["channel"]["call"]) == (3, 1, 0, 1, 0, 0, 0, 0)
    assert counts(b["variant"]["inbound · touch 1 · a"]) == (4, 0, 0, 0, 0, 0, 0, 0)
    assert counts(b["owner"]["sam"]) == (5, 2, 2, 1, 0, 0, 1, 1)


def rows(table):
    return [
        (
            r.step,
            r.channel,
            r.due,
            r.reached,
            r.responded,
            r.opted_out,
            r.bounced,
            r.other_stops,
            r.open_tasks,
        )
        for r in table
    ]


def test_dropoff_by_step(week, trailing):
    #       step channel due reached responded opted_out bounced other open_tasks
    assert rows(week.dropoff["inbound"]) == [
        (1, "email", 6, 6, 1, 0, 1, 0, 0),
        # l3's call task is still open: the step came due for 3 leads and reached 2.
        (2, "call", 3, 2, 1, 0, 0, 0, 1),
        (3, "email", 1, 1, 0, 1, 0, 0, 0),
        (4, "linkedin", 0, 0, 0, 0, 0, 0, 0),
    ]
    assert rows(week.dropoff["nurture"]) == [
        (1, "email", 2, 2, 0, 0, 0, 0, 0),
        (2, "email", 2, 2, 1, 1, 0, 0, 0),
    ]
    assert rows(week.dropoff["post-meeting"]) == [(1, "email", 1, 1, 0, 0, 0, 0, 0)]
    step1 = week.dropoff["inbound"][0]
    # l10's second step falls after the week: it is waiting at step 1.
    assert (step1.left, step1.waiting, step1.continued, step1.drop_rate) == (1, 1, 3, pytest.approx(1 / 6))
    assert rows(trailing.dropoff["inbound"])[3] == (4, "linkedin", 1, 1, 1, 0, 0, 0, 0)
    # Which step earns the replies: l2 answered touch 1, l8 (before the week) touch 4.
    assert [(r.replies, r.reply_share) for r in trailing.dropoff["inbound"]] == [
        (1, 0.5),
        (0, 0.0),
        (0, 0.0),
        (1, 0.5),
    ]


def test_a_skipped_touch_is_due_but_not_reached_and_tasks_around_the_cadence_are_no_steps():
    """The SMS step "reached" 20 leads while 9 SMS went out (issue 27): skipped touches are not reached.
    A reply's answer task (touch 99) and the speed-to-lead call (touch 0) are no steps of the cadence."""
    b = Builder()
    for number, sms in enumerate((TouchState.SENT, TouchState.SKIPPED, TouchState.SKIPPED)):
        lead = b.lead(f"s{number}", at("2026-11-16T09:00"))
        b.enroll(lead, "nurture")
        b.touch(lead, 0, "call", at("2026-11-16T09:03"), outcome="no_answer")
        b.touch(lead, 1, "email", at("2026-11-16T09:00"))
        b.touch(lead, 2, "sms", at("2026-11-17T09:00"), state=sms)
    b.event("s0", EventKind.REPLY, at("2026-11-17T10:00"), touch=2, channel="sms")
    b.touch("s0", 99, "email", at("2026-11-17T10:04"), outcome="done")
    metrics = window_metrics(build_facts(b.dataset, WEEK.end), WEEK, PLANS)
    _, step2 = metrics.dropoff["nurture"]
    assert (step2.due, step2.reached, step2.skipped, step2.replies, step2.reply_share) == (3, 1, 2, 1, 1.0)
    assert len(metrics.dropoff["nurture"]) == 2
    sms = next(row for row in metrics.channel_mix if row.channel == "sms")
    assert (sms.touches, sms.skipped) == (1, 2)


def test_channel_mix(week):
    mix = {
        r.channel: (r.touches, r.responses, r.open_tasks, r.touch_share, r.response_share)
        for r in week.channel_mix
    }
    assert mix == {
        "call": (2, 1, 1, pytest.approx(2 / 14), pytest.approx(1 / 3)),
        "email": (12, 2, 0, pytest.approx(12 / 14), pytest.approx(2 / 3)),
    }


def test_the_report_assembles_both_windows():
    report = build_report(known_dataset(), WEEK, PLANS, company="Demo", timezone="UTC")
    assert (report.period.overall.leads, report.trailing.overall.leads) == (8, 9)
    assert report.archive_key == "reports/2026-11-16/report.html"
    assert report.trailing.window.start.isoformat() == "2026-08-25T00:00:00+00:00"


def test_a_colleagues_answer_is_neither_a_response_nor_a_loss():
    b = Builder()
    for lead_id, stop in (("c1", None), ("c2", EventKind.ACCOUNT), ("c3", EventKind.UNSUBSCRIBE)):
        b.lead(lead_id, at("2026-11-16T09:00"))
        b.enroll(lead_id, "inbound")
        b.touch(lead_id, 1, "email", at("2026-11-16T09:00"))
        b.touch(lead_id, 2, "call", at("2026-11-17T09:00"), outcome="no_answer")
        if stop is not None:
            b.event(lead_id, stop, at("2026-11-17T12:00"), enrollment=1, touch=2)
    b.touch("c1", 3, "email", at("2026-11-19T09:00"))
    b.touch("c1", 4, "linkedin", at("2026-11-20T09:00"), outcome="done")
    metrics = window_metrics(build_facts(b.dataset, WEEK.end), WEEK, PLANS)
    step2 = metrics.dropoff["inbound"][1]
    assert (step2.due, step2.responded, step2.left, step2.account_stops, step2.continued) == (
        3,
        0,
        1,
        1,
        1,
    )
    assert metrics.overall.responded == 0
    # Judged once their outcome window has passed: c1 ran the whole cadence, c3 left; c2 was stopped
    # for its colleague and is not judged.
    assert "inbound" not in metrics.settled["cadence"]  # a week in: nobody's window has passed
    later = WEEK.end + timedelta(days=60)
    window = trailing_window(later)
    metrics = window_metrics(build_facts(b.dataset, later), window, PLANS)
    assert metrics.settled["cadence"]["inbound"].leads == 2


def test_the_bands_judge_a_complete_cohort_counted_at_one_point():
    """Issue 27: "contact 100%, reply 67%" on the scorecard against 33% and 22% in the funnel row: the
    scorecard counted a responder at once and a non-responder only at the last step. Now both count
    only once the lead's outcome window (its cadence's days and a week's grace) has passed."""
    plans = {"inbound": replace(PLANS["inbound"], days=21)}  # a 27-day outcome window
    window = trailing_window(WEEK.end)
    assert outcome_window(plans["inbound"]) == timedelta(days=27)
    b = Builder()
    started = {
        "r-young": WEEK.end - timedelta(days=3),  # replied at once, window open: not judged yet
        "n-young": WEEK.end - timedelta(days=3),  # no answer yet, window open: not judged yet
        "r-edge": WEEK.end - timedelta(days=27),  # window closes exactly at the end: judged
        "n-edge": WEEK.end - timedelta(days=27),
        "n-inside": WEEK.end - timedelta(days=27) + timedelta(seconds=1),  # one second short: not judged
    }
    for lead_id, when in started.items():
        b.lead(lead_id, when)
        b.enroll(lead_id, "inbound")
        b.touch(lead_id, 1, "email", when)
        if lead_id.startswith("r-"):
            b.event(lead_id, EventKind.REPLY, when + timedelta(hours=2), touch=1)
    metrics = window_metrics(build_facts(b.dataset, WEEK.end), window, plans)
    judged = metrics.settled["cadence"]["inbound"]
    assert (judged.leads, judged.responded, judged.replied) == (2, 1, 1)
    assert judged.contact_rate == 0.5
    cohort = metrics.cohorts["inbound"]
    assert cohort.label == "leads enrolled 27–90 days ago (their 27-day outcome window has passed)"
    assert started["r-edge"] in cohort and started["n-inside"] not in cohort
    # The funnel row counts every lead of the 90 days, to date: labelled apart, not judged.
    assert metrics.breakdowns["cadence"]["inbound"].leads == 5


def test_meetings_within_10_business_days_are_judged_once_the_10_days_have_passed():
    b = Builder()
    b.lead("m1", at("2026-11-02T09:00"))  # a Monday: 10 business days end Monday 16 Nov, 09:00
    b.enroll("m1", "inbound")
    b.touch("m1", 1, "email", at("2026-11-02T09:00"))
    b.event("m1", EventKind.MEETING, at("2026-11-03T09:00"), touch=1)
    deadline = at("2026-11-16T09:00")
    (early,) = build_facts(b.dataset, deadline - timedelta(seconds=1))
    (due,) = build_facts(b.dataset, deadline)
    assert (early.meeting_in_time, due.meeting_in_time) == (None, True)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=40),
)
def test_business_days_are_counted_as_stepping_day_by_day_would(start, days):
    moment, left = start, days
    while left > 0:
        moment += timedelta(days=1)
        left -= moment.weekday() < 5
    assert add_business_days(start, days) == moment
