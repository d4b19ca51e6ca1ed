"""One number, one definition (issue 27, item 3): over generated lead histories, every number the report
shows in two places is the same number, and the numbers match what the histories hold.

Each history is written as the report's input records (leads, enrollments, touches, events), the way
`report.source` maps stored items, without running the Sandbox: hundreds of examples stay fast. The
generator keeps its own ledger of what it made happen (who was contacted, who answered, which touches
went out, which tasks fell due); that ledger is the oracle. Histories include leads never contacted
(every touch skipped), leads only given open tasks, bounces at touch 1, replies, connected calls,
opt-outs, meetings booked then held or missed (a post-meeting enrollment: the lead enrolled again),
and A/B arms at touch 1.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.report.build import build_report, trailing_window
from leadflow.report.diagnostics import pct
from leadflow.report.metrics import Window, outcome_window
from leadflow.report.records import (
    ANY_FORM,
    REP_TASK_CHANNELS,
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
from leadflow.report.render import render_text

END = datetime(2026, 11, 23, tzinfo=UTC)
PERIOD = Window("week of 2026-11-16", END - timedelta(days=7), END)
TRAILING = trailing_window(END)
# (channel, playbook day) per step; day 1 is the day the lead arrives.
STEPS = {
    "inbound": (("email", 1), ("call", 1), ("sms", 2), ("email", 4), ("linkedin", 7), ("email", 14)),
    "nurture": (("email", 1), ("email", 5), ("email", 10)),
    "post-meeting": (("email", 1), ("email", 3)),
}
PLANS = {
    # The last step of each is its break-up email (a band judges its reply rate).
    name: CadencePlan(
        name,
        tuple(
            CadenceStep(channel, 1, *(("break-up", frozenset({ANY_FORM})) if n == len(steps) else ()))
            for n, (channel, _) in enumerate(steps, 1)
        ),
        days=steps[-1][1],
    )
    for name, steps in STEPS.items()
}
FATES = (
    "never_contacted",
    "open_tasks_only",
    "bounced",
    "replied",
    "connected",
    "opted_out",
    "meeting",
    "silent",
)


@dataclass
class Ledger:
    """What the generator made happen, before END: the oracle the report must agree with."""

    contacted: set[str] = field(default_factory=set)
    responded: set[str] = field(default_factory=set)
    responded_in: set[tuple[str, str]] = field(default_factory=set)  # (lead, cadence)
    replied: set[str] = field(default_factory=set)
    meetings: set[str] = field(default_factory=set)
    delivered: Counter[str] = field(default_factory=Counter)  # by channel, every enrollment
    reached: Counter[tuple[str, int]] = field(default_factory=Counter)  # (cadence, step) -> enrollments
    # Rep tasks by owner: (due, done by END?) for each task that fell due.
    tasks: dict[str, list[tuple[datetime, bool]]] = field(default_factory=lambda: defaultdict(list))
    enrolled: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # cadence -> leads
    started: list[tuple[str, str, datetime]] = field(default_factory=list)  # (lead, cadence, start)


@dataclass
class History:
    dataset: Dataset
    ledger: Ledger


def _run(
    draw: st.DrawFn,
    dataset: Dataset,
    ledger: Ledger,
    lead: LeadRecord,
    number: int,
    cadence: str,
    started: datetime,
    fate: str,
) -> datetime | None:
    """One enrollment's touches and answer; returns when a meeting was booked (None: none)."""
    lead_id = lead.lead_id
    dataset.enrollments.append(EnrollmentRecord(lead_id, number, cadence, started, "v1"))
    ledger.enrolled[cadence].add(lead_id)
    ledger.started.append((lead_id, cadence, started))
    steps = STEPS[cadence]
    fate_step = draw(st.integers(1, len(steps))) if fate not in ("bounced",) else 1
    if fate == "connected":
        fate_step = (
            next(n for n, (channel, _) in enumerate(steps, 1) if channel == "call")
            if cadence == "inbound"
            else 0
        )
    booked = None
    for step, (channel, day) in enumerate(steps, start=1):
        when = started + timedelta(days=day - 1, minutes=draw(st.integers(0, 600)))
        if when >= END:
            break  # not due yet
        variant = draw(st.sampled_from("ab")) if (cadence, step) == ("inbound", 1) else None
        task = channel in REP_TASK_CHANNELS
        if fate == "never_contacted" or (fate == "open_tasks_only" and not task):
            state = TouchState.SKIPPED
        elif task and (fate == "open_tasks_only" or (draw(st.integers(0, 3)) == 0 and step != fate_step)):
            state = TouchState.TASK_OPEN
        elif channel == "sms" and draw(st.booleans()):
            state = TouchState.SKIPPED  # no SMS consent
        else:
            state = TouchState.TASK_DONE if task else TouchState.SENT
        done_at = when + timedelta(hours=1) if task else when
        if state is TouchState.TASK_DONE and done_at >= END:
            state = TouchState.TASK_OPEN  # done after the report's end: open as of its end
        at = done_at if state in (TouchState.SENT, TouchState.TASK_DONE) else None
        outcome = None
        if state is TouchState.TASK_DONE:
            outcome = "connected" if fate == "connected" and step == fate_step else "no_answer"
        dataset.touches.append(
            TouchRecord(lead_id, number, step, channel, state, at, variant=variant, outcome=outcome, due=when)
        )
        if state in (TouchState.TASK_OPEN, TouchState.TASK_DONE):
            ledger.tasks[lead.owner].append((when, state is TouchState.TASK_DONE))
        if at is not None:
            ledger.contacted.add(lead_id)
            ledger.delivered[channel] += 1
            ledger.reached[(cadence, step)] += 1
        if step != fate_step or at is None:
            continue
        answer = at + timedelta(hours=draw(st.integers(1, 40)))
        if answer >= END:
            break
        if fate == "bounced" and channel == "email":
            dataset.events.append(EventRecord(lead_id, EventKind.BOUNCE, answer, number, step, channel))
            break
        if fate == "opted_out":
            dataset.events.append(EventRecord(lead_id, EventKind.UNSUBSCRIBE, answer, number, step, channel))
            break
        if fate == "connected":
            dataset.events.append(EventRecord(lead_id, EventKind.CONNECTED, at, number, step, channel))
            ledger.responded.add(lead_id)
            ledger.responded_in.add((lead_id, cadence))
            break
        if fate in ("replied", "meeting"):
            # A writer that names the touch, or one that gives only the channel.
            named = draw(st.booleans())
            dataset.events.append(
                EventRecord(lead_id, EventKind.REPLY, answer, number, step if named else None, channel,
                            intent=draw(st.sampled_from(["interested", "question", "not_now"])))
            )  # fmt: skip
            ledger.responded.add(lead_id)
            ledger.responded_in.add((lead_id, cadence))
            ledger.replied.add(lead_id)
            if fate == "meeting":
                booked = answer + timedelta(hours=1)
                if booked < END:
                    dataset.events.append(
                        EventRecord(lead_id, EventKind.MEETING, booked, number, step, channel)
                    )
                    ledger.meetings.add(lead_id)
                else:
                    booked = None
            break
    return booked


@st.composite
def histories(draw: st.DrawFn) -> History:
    dataset, ledger = Dataset(), Ledger()
    for number in range(draw(st.integers(min_value=1, max_value=24))):
        lead_id = f"l{number}"
        created = END - timedelta(minutes=draw(st.integers(1, 85 * 24 * 60)))
        lead = LeadRecord(
            lead_id,
            created,
            source=draw(st.sampled_from(["web", "ads"])),
            owner=draw(st.sampled_from(["alex", "sam"])),
            form=draw(st.sampled_from(["demo-request", "guide"])),
        )
        dataset.leads[lead_id] = lead
        fate = draw(st.sampled_from(FATES))
        booked = _run(
            draw, dataset, ledger, lead, 1, draw(st.sampled_from(["inbound", "nurture"])), created, fate
        )
        if booked is not None:
            # The meeting enrolls the lead again: the same person, not a new lead. Held or missed.
            _run(draw, dataset, ledger, lead, 2, "post-meeting", booked, "silent")
            if draw(st.booleans()) and booked + timedelta(days=2) < END:
                dataset.events.append(EventRecord(lead_id, EventKind.SQL, booked + timedelta(days=2)))
    return History(dataset, ledger)


def _headline(text: str, label: str) -> tuple[str, str]:
    """The period and 90-day cells of one HEADLINES row of the text report."""
    line = next(line for line in text.splitlines() if line.startswith(label + "  "))
    cells = re.split(r"\s{2,}", line)
    return cells[1], cells[2]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(histories())
def test_every_number_shown_twice_is_one_number_and_the_histories_number(history):
    dataset, ledger = history.dataset, history.ledger
    report = build_report(dataset, PERIOD, PLANS, company="Demo", timezone="UTC")
    period, trailing = report.period, report.trailing
    everyone = set(dataset.leads)

    # Headline against the histories: every lead counts, contacted or not (a contact rate over the
    # contacted leads fails here: histories hold leads never contacted and leads only given open tasks).
    overall = trailing.overall
    assert overall.leads == len(everyone)
    assert (overall.contacted, overall.responded) == (len(ledger.contacted), len(ledger.responded))
    assert (overall.replied, overall.meetings) == (len(ledger.replied), len(ledger.meetings))
    assert overall.contact_rate == len(ledger.responded) / len(everyone)
    text = render_text(report, "s3://bucket/report.html")
    assert (
        _headline(text, "Contact rate")[1]
        == f"{pct(len(ledger.responded) / len(everyone))} ({len(ledger.responded)})"
    )
    assert _headline(text, "Leads")[1] == str(len(everyone))
    # New leads arrived in the period; an older lead's post-meeting enrollment is no new lead.
    arrived = {lead_id for lead_id, lead in dataset.leads.items() if lead.created_at in PERIOD}
    enrolled = {lead_id for lead_id, _, start in ledger.started if start in PERIOD}
    assert (period.overall.arrived, period.overall.leads) == (len(arrived), len(enrolled))
    assert _headline(text, "New leads")[0] == str(len(arrived))

    # Trend: the period's point is the period's headline.
    points = {trend.label: trend.values[-1] for trend in report.trends}
    assert points["Leads"] == period.overall.leads
    for label, value in (
        ("Contact rate", period.overall.contact_rate),
        ("Reply rate", period.overall.reply_rate),
        ("Meeting rate", period.overall.meeting_rate),
        ("Follow-up to SQL", period.overall.sql_rate),
        ("Speed to lead (median)", period.overall.speed_to_lead.median),
    ):
        assert points[label] == value, label
    for cadence, values in report.cadence_trends.items():
        row = period.breakdowns["cadence"].get(cadence)
        assert values[-1] == (row.contact_rate if row else None), cadence

    # Funnel rows: lead attributes split the people; the cadence rows hold each cadence's leads.
    for metrics in (period, trailing):
        for dimension in ("source", "form", "owner"):
            rows = metrics.breakdowns[dimension].values()
            for name in ("leads", "contacted", "responded", "replied", "meetings", "sql", "arrived"):
                assert sum(getattr(row, name) for row in rows) == getattr(metrics.overall, name), (
                    dimension,
                    name,
                )
    for cadence, leads in ledger.enrolled.items():
        assert trailing.breakdowns["cadence"][cadence].leads == len(leads)
        assert trailing.intents[cadence].replied == trailing.breakdowns["cadence"][cadence].replied

    # A/B: each arm is its variant row.
    for test in report.ab_tests:
        for arm in test.arms:
            row = trailing.breakdowns["variant"][f"{test.cadence} · touch {test.step} · {arm.variant}"]
            assert (arm.contacts, arm.responses) == (row.leads, row.responded)

    # Drop-off: a step reaches only the enrollments its touch went to; never more than the channel sent.
    mix = {row.channel: row for row in trailing.channel_mix}
    assert {channel: row.touches for channel, row in mix.items() if row.touches} == dict(+ledger.delivered)
    reached_by_channel: Counter[str] = Counter()
    for cadence, rows in trailing.dropoff.items():
        for row in rows:
            assert row.reached == ledger.reached[(cadence, row.step)], (cadence, row.step)
            assert row.reached <= row.due
            reached_by_channel[row.channel] += row.reached
        shares = [row.reply_share for row in rows if row.reply_share is not None]
        assert not shares or abs(sum(shares) - 1) < 1e-9
    for channel, reached in reached_by_channel.items():
        assert reached <= (mix[channel].touches if channel in mix else 0), channel

    # Rep activity: the period's tasks, each done or overdue; the owner's leads as in the owner rows.
    busy = {owner for owner, tasks in ledger.tasks.items() if any(when in PERIOD for when, _ in tasks)}
    assert busy <= {rep.owner for rep in report.reps}
    for rep in report.reps:
        tasks = ledger.tasks[rep.owner]
        due = [done for when, done in tasks if when in PERIOD]
        assert (rep.due, rep.done, rep.overdue) == (len(due), sum(due), len(due) - sum(due))
        assert rep.earlier_open == sum(1 for when, done in tasks if when < PERIOD.start and not done)
        row = period.breakdowns["owner"].get(rep.owner)
        assert (rep.leads, rep.responded) == ((row.leads, row.responded) if row else (0, 0))

    # Scorecard: each cadence's bands judge its complete cohort, the number its line shows; the
    # overall lines (touches to first response) judge every cadence's cohort together.
    judged = {lead for lead, name, start in ledger.started if start + outcome_window(PLANS[name]) <= END}
    assert trailing.cohort is not None and trailing.cohort.leads == len(judged)
    touches = {check.label: check.value for check in report.scorecard if not check.scope}
    mean = trailing.cohort.touches_to_response.mean
    assert touches.get("Touches to first response") == (None if mean is None else f"{mean:.1f} on average")
    for cadence, stats in trailing.settled["cadence"].items():
        window = outcome_window(PLANS[cadence])
        cohort = {lead for lead, name, start in ledger.started if name == cadence and start + window <= END}
        assert stats.leads == len(cohort), cadence
        assert stats.responded == sum(1 for lead in cohort if (lead, cadence) in ledger.responded_in), cadence
        breakup = trailing.breakup.get(cadence)
        assert breakup is None or breakup.leads <= stats.leads, cadence  # judged in the cohort too
        lines = {check.label: check.value for check in report.scorecard if check.scope == cadence}
        assert lines["contact rate"] == pct(stats.contact_rate, 0)
        assert lines["reply rate"] == pct(stats.reply_rate, 0)
