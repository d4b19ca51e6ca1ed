"""A/B variants: the two-proportion z-test and its verdicts."""

import math

import pytest

from leadflow.local.synthetic_report import Builder
from leadflow.report.abtest import MIN_CONTACTS, Arm, Verdict, ab_tests, judge, two_proportion_z
from leadflow.report.metrics import build_facts, window_metrics
from leadflow.report.records import EventKind
from tests.report_data import WEEK, at


def test_z_statistic_matches_the_textbook_formula():
    # 30/100 against 15/100: pooled 0.225, se = sqrt(0.225 * 0.775 * 0.02) = 0.059055, z = 2.5401.
    z, p = two_proportion_z(30, 100, 15, 100)
    assert z == pytest.approx(0.15 / math.sqrt(0.225 * 0.775 * 0.02))
    assert z == pytest.approx(2.5401, abs=1e-4)
    assert p == pytest.approx(0.01108, abs=1e-4)
    assert two_proportion_z(0, 60, 0, 60) == (0.0, 1.0)


def test_a_clear_winner():
    test = judge("inbound", 1, [Arm("plain", 120, 12), Arm("question", 120, 36)])
    assert test.verdict is Verdict.WINNER
    assert test.winner == "question"
    assert test.p_value is not None and test.p_value < 0.001
    assert test.summary.startswith("question wins: 30.0% against 10.0%")


def test_a_tie():
    test = judge("inbound", 1, [Arm("a", 200, 40), Arm("b", 200, 44)])
    assert test.verdict is Verdict.NO_DIFFERENCE
    assert test.winner is None
    assert test.p_value is not None and test.p_value > 0.5
    assert "no clear difference" in test.summary


def test_too_small_a_sample_is_not_judged_however_large_the_gap():
    test = judge("inbound", 1, [Arm("a", MIN_CONTACTS - 1, 30), Arm("b", 200, 2)])
    assert test.verdict is Verdict.NOT_ENOUGH_DATA
    assert (test.z, test.p_value, test.winner) == (None, None, None)
    assert test.summary == "not enough data yet: 49 contacts in the smallest variant, 50 needed"
    assert judge("inbound", 1, [Arm("a", 50, 25), Arm("b", 50, 5)]).verdict is Verdict.WINNER


def test_variants_are_counted_per_lead_from_the_records():
    b = Builder()
    for number in range(120):
        lead = b.lead(f"v{number}", at("2026-11-16T09:00"))
        b.enroll(lead, "inbound")
        variant = "a" if number % 2 else "b"
        b.touch(lead, 1, "email", at("2026-11-16T09:01"), variant=variant)
        b.touch(lead, 2, "email", at("2026-11-17T09:01"))
        # Variant a draws a reply from every third lead; b from none. Replies to touch 2 are not a's or b's.
        if variant == "a" and number % 3 == 0:
            b.event(lead, EventKind.REPLY, at("2026-11-16T12:00"))
        if variant == "b" and number % 4 == 0:
            b.event(lead, EventKind.REPLY, at("2026-11-18T12:00"))
    (test,) = ab_tests(build_facts(b.dataset, WEEK.end))
    assert (test.cadence, test.step) == ("inbound", 1)
    assert [(arm.variant, arm.contacts, arm.responses) for arm in test.arms] == [("a", 60, 20), ("b", 60, 0)]
    assert test.verdict is Verdict.WINNER


def test_an_arm_counts_what_its_variant_row_counts():
    """Issue 27: the A/B section said arm b drew 2 responses, the variant table 3. A lead who replied to
    touch 2 first and then booked the meeting its touch-1 variant asked for responded to that variant:
    both places count it, by one definition."""
    b = Builder()
    for number, variant in enumerate("ab"):
        lead = b.lead(f"m{number}", at("2026-11-16T09:00"))
        b.enroll(lead, "inbound")
        b.touch(lead, 1, "email", at("2026-11-16T09:01"), variant=variant)
        b.touch(lead, 2, "email", at("2026-11-17T09:01"))
    b.event("m1", EventKind.REPLY, at("2026-11-17T12:00"), touch=2)
    b.event("m1", EventKind.MEETING, at("2026-11-18T12:00"), touch=1)
    facts = build_facts(b.dataset, WEEK.end)
    (test,) = ab_tests(facts)
    rows = window_metrics(facts, WEEK, {}).breakdowns["variant"]
    for arm in test.arms:
        row = rows[f"inbound · touch 1 · {arm.variant}"]
        assert (arm.contacts, arm.responses) == (row.leads, row.responded)
    assert {arm.variant: arm.responses for arm in test.arms} == {"a": 0, "b": 1}
