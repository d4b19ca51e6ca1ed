"""The report's numbers cannot contradict each other: invariants over random populations.

Hypothesis draws leads, enrollments (a lead may have several), touches in every state, answers,
exits, engagement and CRM stages at random times, named or not; every row of every breakdown,
the drop-off table and the funnel must then hold together.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.report.build import build_report
from leadflow.report.metrics import FactsBuilder, SegmentStats, Window
from leadflow.report.records import (
    ANY_FORM,
    CadencePlan,
    CadenceStep,
    Dataset,
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    TouchRecord,
    TouchState,
)
from leadflow.report.trends import periods

END = datetime(2026, 11, 23, tzinfo=UTC)
PERIOD = Window("week of 2026-11-16", END - timedelta(days=7), END)
PLANS = {
    "inbound": CadencePlan(
        "inbound",
        (
            CadenceStep("email", 1, "intro"),
            CadenceStep("call", 3, "call"),
            CadenceStep("email", 1, "value"),
            CadenceStep("email", 1, "break-up", frozenset({ANY_FORM})),
        ),
    ),
    "nurture": CadencePlan("nurture", (CadenceStep("email", 1, "a"), CadenceStep("sms", 1, "b"))),
}
CADENCES = [*PLANS, "unplanned"]
CHANNELS = ["email", "sms", "call", "linkedin"]
# Draw times over three weeks before the end and a few days after it (those must not count).
moments = st.integers(min_value=-21 * 24, max_value=3 * 24).map(lambda hours: END + timedelta(hours=hours))


@st.composite
def populations(draw):
    dataset = Dataset()
    for number in range(draw(st.integers(min_value=1, max_value=14))):
        lead_id = f"l{number}"
        created = draw(moments)
        dataset.leads[lead_id] = LeadRecord(
            lead_id,
            created,
            source=draw(st.sampled_from(["web", "ads", "direct"])),
            fit_band=draw(st.sampled_from(["high", "low"])),
            owner=draw(st.sampled_from(["alex", "sam", "unassigned"])),
            lead_type=draw(st.sampled_from(["inbound", "cold", "dormant"])),
            form=draw(st.sampled_from(["demo-request", "ebook", "unknown"])),
            utm_campaign=draw(st.sampled_from(["spring", "none"])),
        )
        started = created
        for enrollment in range(1, draw(st.integers(min_value=1, max_value=3)) + 1):
            cadence = draw(st.sampled_from(CADENCES))
            dataset.enrollments.append(EnrollmentRecord(lead_id, enrollment, cadence, started, "v1"))
            for step in range(1, draw(st.integers(min_value=0, max_value=5)) + 1):
                state = draw(st.sampled_from(list(TouchState)))
                at = started + timedelta(hours=draw(st.integers(0, 200)))
                dataset.touches.append(
                    TouchRecord(
                        lead_id,
                        enrollment,
                        step,
                        draw(st.sampled_from(CHANNELS)),
                        state,
                        None if state is TouchState.SKIPPED and draw(st.booleans()) else at,
                        variant=draw(st.sampled_from([None, "a", "b"])),
                        due=at,
                    )
                )
            started += timedelta(hours=draw(st.integers(0, 100)))
        for _ in range(draw(st.integers(min_value=0, max_value=6))):
            kind = draw(st.sampled_from(list(EventKind)))
            dataset.events.append(
                EventRecord(
                    lead_id,
                    kind,
                    created + timedelta(hours=draw(st.integers(0, 300))),
                    enrollment=draw(st.sampled_from([None, 1, 2])),
                    touch=draw(st.sampled_from([None, 1, 2, 3])),
                    channel=draw(st.sampled_from([None, *CHANNELS])),
                    amount=draw(st.sampled_from([None, 1000.0])),
                )
            )
    return dataset


def funnel_holds(stats: SegmentStats, where: str) -> None:
    assert stats.replied <= stats.responded, where
    assert stats.connected <= stats.responded, where
    assert stats.meetings <= stats.responded <= stats.contacted <= stats.leads <= stats.enrollments, where
    assert stats.emailed <= stats.contacted, where
    assert max(stats.opened, stats.clicked, stats.unsubscribes, stats.bounces) <= stats.leads, where
    assert stats.won <= stats.opportunities <= stats.sql <= stats.leads, where
    assert stats.meetings_in_time <= min(stats.aged, stats.meetings), where
    assert stats.aged <= stats.leads, where
    for value in (stats.contact_rate, stats.reply_rate, stats.meeting_rate, stats.sql_rate):
        assert value is None or 0 <= value <= 1, where


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_every_row_and_segment_holds_together(dataset):
    report = build_report(dataset, PERIOD, PLANS, company="Demo", timezone="UTC")
    for metrics in (report.period, report.trailing):
        inside = [
            e for e in dataset.enrollments if e.started_at in metrics.window and e.started_at < PERIOD.end
        ]
        overall = metrics.overall
        funnel_holds(overall, "overall")
        # Leads are people; enrollments are counted apart.
        assert overall.leads == len({e.lead_id for e in inside})
        assert overall.enrollments == len(inside)
        for dimension, rows in metrics.breakdowns.items():
            for name, stats in rows.items():
                funnel_holds(stats, f"{dimension} {name}")
                if dimension not in ("channel", "variant"):
                    # A lead is in a row at most once, and everyone's in some row.
                    assert stats.leads <= overall.leads
            if dimension in ("source", "form", "utm_campaign", "fit_band", "owner"):
                # Lead attributes split people: rows add up to the whole, meetings counted once.
                assert sum(s.leads for s in rows.values()) == overall.leads
                assert sum(s.meetings for s in rows.values()) == overall.meetings
                assert sum(s.sql for s in rows.values()) == overall.sql
        for rows in metrics.settled.values():
            for name, stats in rows.items():
                funnel_holds(stats, f"settled {name}")
        for name, stats in metrics.breakup.items():
            funnel_holds(stats, f"break-up {name}")
        for cadence, steps in metrics.dropoff.items():
            enrolled = sum(1 for e in inside if e.cadence == cadence)
            first = steps[0].due if steps else 0
            assert first + metrics.not_started.get(cadence, 0) == enrolled, cadence
            for step, following in zip(steps, [*steps[1:], None], strict=False):
                after = following.due if following else 0
                # Drop-off adds up: reached n = reached n+1 + responded + left + still waiting (...).
                assert step.due == after + step.responded + step.left + step.account_stops + (
                    step.waiting + step.finished
                ), f"{cadence} step {step.step}"
                assert step.continued == after
                assert step.finished == 0 or following is None or following.due == 0


@settings(max_examples=60, deadline=None)
@given(populations())
def test_a_meeting_is_counted_once_per_lead(dataset):
    report = build_report(dataset, PERIOD, PLANS, company="Demo", timezone="UTC")
    inside = {e.lead_id for e in dataset.enrollments if e.started_at in PERIOD}
    meetings = [e for e in dataset.events if e.kind is EventKind.MEETING and e.at < END]
    with_meeting = {e.lead_id for e in meetings if e.lead_id in inside}
    assert report.period.overall.meetings <= len(with_meeting)
    assert report.period.overall.meetings <= report.period.overall.leads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_a_periods_facts_are_the_facts_of_its_enrollments_among_all(dataset):
    """FactsBuilder reads a trend period's enrollments as a slice by start, and only their leads'
    events (issue 28): the same facts, in the same order, as building every enrollment's and keeping
    the period's. Periods end on whole hours, as drawn times fall: starts on a boundary are drawn."""
    builder = FactsBuilder(dataset)
    for window in periods(PERIOD):
        every = FactsBuilder(dataset).facts(window.end)
        assert builder.facts(window.end, started_in=window) == [
            fact for fact in every if fact.enrollment.started_at in window
        ]
