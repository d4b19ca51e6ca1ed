"""Diagnostics: the playbooks' healthy bands applied to the trailing-90-day numbers.

Each rule fires only with enough data behind it, and every finding carries the
numbers that made it fire. The bands come from the playbooks in the shared
seeds; the deliverability limits from the mailbox providers and SES. Every band
lives here, and docs/report.md lists them.

Each cadence is judged by its flow's bands only (FLOW_CHECKS): new leads (inbound
or cold) by contact, reply, SQL, meetings-in-time and break-up bands; re-engagement
and not-now by the re-engagement rate; post-meeting by the show rate and recaps
within 24 hours; rebook by the rebook rate.

Findings are ordered by what they cost (`ordered`): act before watch, then by the
leads at stake, the estimated leads (or meetings) lost against the band's edge.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from leadflow.report.metrics import (
    HumanSpeed,
    MeetingFlow,
    RepActivity,
    SegmentStats,
    StepRow,
    WindowMetrics,
)
from leadflow.report.records import CadencePlan

# The playbooks' bands.
REPLY_RATE_FLOOR = 0.10  # below: targeting or message relevance, not frequency
REPLY_RATE_BAND = (0.15, 0.25)
BREAKUP_REPLY_BAND = (0.30, 0.40)  # the break-up email's reply rate in many B2B sequences
# Follow-up -> SQL conversion: well-qualified inbound leads, and outbound.
SQL_RATE_BANDS = {"inbound": (0.10, 0.20), "cold": (0.03, 0.08)}
# Qualified inbound leads booking a meeting within 10 business days.
MEETING_IN_TIME_BAND = (0.15, 0.25)
# "High demo rate, low SQL conversion": meetings at or above the band while SQLs stay below theirs.
MIN_MEETINGS = 10
TOUCHES_TO_RESPONSE_CEILING = 8.0  # above (on average): the messaging needs work
# Inbound MQLs and cold outreach; dormant leads re-engage at 5-15% in a well-segmented campaign.
CONTACT_RATE_BANDS = {"inbound": (0.40, 0.60), "cold": (0.15, 0.25), "dormant": (0.05, 0.15)}
ARCHIVE_CONTACT_FLOOR = 0.10  # a sequence below this after 90 days should be archived
REP_SPREAD_CEILING = 0.15  # rep-to-rep contact-rate variance: process inconsistency
HEALTHY_OPEN_RATE = 0.25  # opens at or above this with few replies: the body fails, not the subject
SPEED_TO_LEAD_TARGET = 300.0  # seconds: first touch within five minutes
# Own flows. Re-engagement (dormant leads, and not-now leads who asked to hear back later): the
# playbook's 5-15% re-engagement rate (leads who respond), in a well-segmented campaign.
REENGAGEMENT_RATE_BAND = CONTACT_RATE_BANDS["dormant"]
# Post-meeting: the playbooks' recap within 24 hours of the meeting. The floors below are leadflow's
# defaults (the playbooks give no number): recaps sent in time, meetings held of those booked and
# due (show rate), and leads who book again after a cancelled or missed meeting (rebook rate).
RECAP_IN_TIME_FLOOR = 0.90
SHOW_RATE_FLOOR = 0.70
REBOOK_RATE_FLOOR = 0.30
# Which banded rates judge each flow (the scorecard's labels); nothing else judges them.
FLOW_CHECKS = {
    "inbound": (
        "contact rate",
        "reply rate",
        "follow-up to SQL",
        "meetings within 10 business days",
        "break-up reply rate",
    ),
    "cold": ("contact rate", "reply rate", "follow-up to SQL", "break-up reply rate"),
    "re-engagement": ("re-engagement rate",),
    "not-now": ("re-engagement rate",),
    "post-meeting": ("show rate", "recap within 24 hours"),
    "rebook": ("rebook rate",),
}
# Deliverability: mailbox providers want complaints under 0.1%; SES reviews accounts at 5% bounces.
COMPLAINT_CEILING = 0.001
BOUNCE_CEILING = 0.05
# How much data a rule needs before it speaks.
MIN_LEADS = 30
MIN_RESPONDERS = 10
MIN_REACHED = 20
MIN_CHANNEL_RESPONSES = 20
MIN_REP_LEADS = 20
# A drop-off spike: a step losing at least twice the median of the other steps, and 3 points more.
SPIKE_FACTOR = 2.0
SPIKE_MARGIN = 0.03
# A channel earns more of the sequence when its share of responses is at least twice its share of
# touches and 10 points above it.
CHANNEL_FACTOR = 2.0
CHANNEL_MARGIN = 0.10
# "After 90 days": the cadence enrolled leads in the first two weeks of the trailing window.
ARCHIVE_HISTORY = timedelta(days=14)


class Severity(StrEnum):
    ACT = "act"
    WATCH = "watch"
    HEALTHY = "healthy"


def band_text(low: float | None, high: float | None = None, floor: float | None = None) -> str:
    """ "band 15–25%, floor 10%", "at least 25%"..."""
    if low is not None and high is not None:
        text = f"band {pct(low, 0).rstrip('%')}–{pct(high, 0)}"
    elif low is not None:
        text = f"at least {pct(low, 0)}"
    else:
        text = f"at most {pct(high, 0)}"
    return text + (f", floor {pct(floor, 0)}" if floor is not None else "")


def verdict(
    value: float | None,
    n: int,
    minimum: int,
    low: float,
    high: float | None = None,
    floor: float | None = None,
) -> tuple[Severity, str]:
    """A rate against its band, in words: "healthy (band 15–25%, floor 10%)", "watch (n=12, needs 30)"."""
    band = band_text(low, high, floor)
    if value is None or n < minimum:
        return Severity.WATCH, f"watch (n={n}, needs {minimum}; {band})"
    if floor is not None and value < floor:
        return Severity.ACT, f"below the floor ({band})"
    if value < low:
        # Under a floor, below the band is worth watching; with no floor, the band's bottom is it.
        return (Severity.WATCH if floor is not None else Severity.ACT), f"below the band ({band})"
    return Severity.HEALTHY, f"healthy ({band})"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the scorecard: a measured value against its playbook band, and the verdict."""

    scope: str
    label: str
    value: str
    severity: Severity
    verdict: str

    @property
    def line(self) -> str:
        prefix = f"{self.scope}: " if self.scope else ""
        return f"{prefix}{self.label} {self.value} — {self.verdict}"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    scope: str
    severity: Severity
    headline: str  # the number and its band
    evidence: str
    recommendation: str
    numbers: dict[str, float | int | str] = field(default_factory=dict)
    action: str = ""  # one thing to do, in a few words (lower case: it ends the verdict's sentence)
    # Leads (or meetings) lost against the band's edge, estimated: what orders the findings.
    at_stake: int = 0

    @property
    def sentence(self) -> str:
        """The verdict: one sentence with the number, its band and one action."""
        return f"{self.headline}; {self.action}." if self.action else f"{self.headline}."


SEVERITY_ORDER = {Severity.ACT: 0, Severity.WATCH: 1, Severity.HEALTHY: 2}
VERDICTS = 5  # findings the report opens with


def ordered(findings: list[Finding]) -> list[Finding]:
    """Act before watch; then the most leads at stake first; then by code and scope (stable)."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], -f.at_stake, f.code, f.scope))


def shortfall(whole: int, band_edge: float, part: int) -> int:
    """Leads lost against a band's edge: how many more of `whole` the edge would have had."""
    return max(0, math.ceil(whole * band_edge - part - 1e-9))


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _band(lead_type: str) -> str:
    if lead_type in {"cold", "outbound"}:
        return "cold"
    return "dormant" if lead_type == "dormant" else "inbound"


def flow_of(cadence: str, metrics: WindowMetrics, plans: dict[str, CadencePlan]) -> str:
    """The flow whose bands judge a cadence (a key of FLOW_CHECKS)."""
    plan = plans.get(cadence)
    if plan is not None and plan.flow in FLOW_CHECKS:
        return plan.flow
    band = _band(metrics.lead_types.get(cadence, "inbound"))
    return "re-engagement" if band == "dormant" else band


def diagnose(
    metrics: WindowMetrics,
    plans: dict[str, CadencePlan],
    meetings: dict[str, MeetingFlow] | None = None,
) -> list[Finding]:
    """Findings over one window (the report uses the trailing 90 days), in `ordered` order."""
    findings: list[Finding] = []
    for cadence, stats in metrics.breakdowns.get("cadence", {}).items():
        flow = flow_of(cadence, metrics, plans)
        # Rates are judged on complete cohorts; step figures on all enrollments.
        settled = metrics.settled["cadence"].get(cadence)
        if settled is not None and flow in ("inbound", "cold"):
            archived = _archive(metrics, cadence, settled)
            if archived:
                findings.append(archived)
            else:
                findings.extend(_contact_band(cadence, settled, flow))
                findings.extend(_reply_rate(cadence, settled, metrics.engagement_tracked))
                if metrics.stages_tracked:
                    findings.extend(_sql_rate(cadence, settled, flow))
                    findings.extend(_qualification(cadence, settled, flow))
                if flow == "inbound" and metrics.overall.meetings:
                    findings.extend(_meetings_in_time(cadence, settled))
        elif settled is not None and flow in ("re-engagement", "not-now"):
            findings.extend(_reengagement(cadence, settled))
        elif settled is not None and flow == "rebook":
            findings.extend(_rebook(cadence, settled))
        if flow == "post-meeting" and meetings and cadence in meetings:
            findings.extend(_meetings_held(meetings[cadence]))
        # Responders of the young leads answered early, the others have not yet: judge the cohort.
        responders = settled or stats
        findings.extend(_touches_to_response(cadence, responders))
        findings.extend(_effort(cadence, responders, plans.get(cadence)))
        findings.extend(_spikes(cadence, metrics.dropoff.get(cadence, [])))
        if cadence in metrics.breakup and flow in ("inbound", "cold"):
            findings.extend(_breakup(cadence, metrics.breakup[cadence]))
    findings.extend(_channels(metrics))
    findings.extend(_reps(metrics))
    findings.extend(_speed(metrics.overall))
    findings.extend(_deliverability(metrics.overall))
    return ordered(findings)


def _archive(metrics: WindowMetrics, cadence: str, stats: SegmentStats) -> Finding | None:
    first = metrics.first_enrollment.get(cadence)
    ran_90_days = first is not None and first < metrics.window.start + ARCHIVE_HISTORY
    contact = stats.contact_rate
    if not ran_90_days or stats.leads < MIN_LEADS or contact is None or contact >= ARCHIVE_CONTACT_FLOOR:
        return None
    return Finding(
        code="archive_sequence",
        scope=f"cadence {cadence}",
        severity=Severity.ACT,
        headline=f"{cadence}: contact rate {pct(contact)} after 90 days, "
        f"below {pct(ARCHIVE_CONTACT_FLOOR, 0)}",
        evidence=f"{stats.responded} of {stats.leads} leads whose outcome window has passed responded "
        "over the trailing 90 days.",
        recommendation="Archive this sequence and route its leads to a cadence that works; "
        "rebuild it around a new angle before reusing it.",
        numbers={"contact_rate": contact, "leads": stats.leads, "responded": stats.responded},
        action="archive this sequence and route its leads to one that works",
        at_stake=shortfall(stats.leads, ARCHIVE_CONTACT_FLOOR, stats.responded),
    )


def _contact_band(cadence: str, stats: SegmentStats, kind: str) -> list[Finding]:
    low, high = CONTACT_RATE_BANDS[kind]
    return _below_band(
        "contact_rate_below_band",
        cadence,
        "contact rate",
        stats.contact_rate,
        n=stats.leads,
        part=stats.responded,
        minimum=MIN_LEADS,
        band=(low, high),
        band_name=kind,
        evidence=f"{stats.responded} of {stats.leads} {kind} leads whose outcome window has passed "
        "responded to at least one touch.",
        recommendation="A low contact rate across the team points at the channel mix or the timing: "
        "add a call and a LinkedIn touch, and try calls before 9am and after 4pm.",
        action="add a call and a LinkedIn touch, and call before 9am or after 4pm",
        numbers={
            "contact_rate": stats.contact_rate or 0.0,
            "band_low": low,
            "band_high": high,
            "leads": stats.leads,
        },
    )


def _reply_rate(cadence: str, stats: SegmentStats, engagement_tracked: bool) -> list[Finding]:
    reply = stats.reply_rate
    numbers: dict[str, float | int | str] = {
        "reply_rate": reply or 0.0,
        "leads": stats.leads,
        "replied": stats.replied,
    }
    recommendation = (
        "Fix targeting and message relevance before touching the cadence: more touches will not help. "
        "Check the leads match your ideal customer, and make each message specific to them."
    )
    action = "fix targeting and message relevance before adding touches"
    opens = stats.open_rate if engagement_tracked else None
    if opens is not None and opens >= HEALTHY_OPEN_RATE:
        numbers["open_rate"] = opens
        action = "rewrite the body copy around one specific call to action"
        recommendation = (
            f"Opens are healthy ({pct(opens)}), so the subject lines work and the body copy fails: "
            "rewrite the value proposition and end on one specific call to action."
        )
    return _below_band(
        "low_reply_rate",
        cadence,
        "reply rate",
        reply,
        n=stats.leads,
        part=stats.replied,
        minimum=MIN_LEADS,
        band=REPLY_RATE_BAND,
        floor=REPLY_RATE_FLOOR,
        evidence=f"{stats.replied} of {stats.leads} leads whose outcome window has passed replied.",
        recommendation=recommendation,
        action=action,
        numbers=numbers,
    )


def _touches_to_response(cadence: str, stats: SegmentStats) -> list[Finding]:
    summary = stats.touches_to_response
    if summary.count < MIN_RESPONDERS or summary.mean is None or summary.mean <= TOUCHES_TO_RESPONSE_CEILING:
        return []
    return [
        Finding(
            code="slow_first_response",
            scope=f"cadence {cadence}",
            severity=Severity.ACT,
            headline=f"{cadence}: touches to first response {summary.mean:.1f} on average — too many "
            f"(at most {TOUCHES_TO_RESPONSE_CEILING:g})",
            evidence=f"Over {summary.count} responders; median {summary.median:g}.",
            recommendation="The messaging needs work: earlier touches should each bring new value "
            "and one low-effort question.",
            numbers={"mean": summary.mean, "median": summary.median or 0, "responders": summary.count},
            action="make each early touch bring new value and one easy question",
        )
    ]


def _effort(cadence: str, stats: SegmentStats, plan: CadencePlan | None) -> list[Finding]:
    median = stats.response_step.median
    if plan is None or median is None or stats.response_step.count < MIN_RESPONDERS:
        return []
    efforts = [step.effort for step in plan.steps]
    if len(set(efforts)) < 2:
        return []
    # A median between two steps (3.5) accepts either step before it (2 or 3).
    targets = {max(1, math.floor(median) - 1), max(1, math.ceil(median) - 1)}
    target = max(targets)
    highest = max(efforts)
    peaks = [number for number, effort in enumerate(efforts, start=1) if effort == highest]
    if targets & set(peaks) or target > len(plan.steps):
        return []
    peak = peaks[0]
    return [
        Finding(
            code="effort_placement",
            scope=f"cadence {cadence}",
            severity=Severity.WATCH,
            headline=f"{cadence}: the highest-effort touch is step {peak} ({plan.steps[peak - 1].channel}), "
            f"the median first response step {median:g} — it belongs one step before, at step {target}",
            evidence=f"The median first response comes at step {median:g} "
            f"(over {stats.response_step.count} responders).",
            recommendation=f"Put the most personal, highest-effort touch at step {target}, one step before "
            "most leads answer.",
            numbers={"median_response_step": median, "highest_effort_step": peak, "target_step": target},
            action=f"move the highest-effort touch to step {target}",
        )
    ]


def _spikes(cadence: str, rows: list[StepRow]) -> list[Finding]:
    measured = [row for row in rows if row.due >= MIN_REACHED and row.drop_rate is not None]
    findings = []
    for row in measured:
        others = [other.drop_rate for other in measured if other.step != row.step]
        if not others or row.drop_rate is None:
            continue
        baseline = statistics.median(o for o in others if o is not None)
        if row.drop_rate < SPIKE_FACTOR * baseline or row.drop_rate - baseline < SPIKE_MARGIN:
            continue
        if row.step == 2:
            cause = "A spike at step 2 usually means a weak second touch."
            fix = "Make touch 2 add new value (a resource, a benchmark, a case study), not a nudge."
        elif row.step == 4:
            cause = "A spike at step 4 often means a channel mismatch: the sequence loses relevance mid-way."
            fix = "Change the channel at step 4, or bring a new angle or asset there."
        else:
            cause = f"Leads leave the sequence at step {row.step} far more than at the other steps."
            fix = f"Review touch {row.step}'s message and channel."
        findings.append(
            Finding(
                code="dropoff_spike",
                scope=f"cadence {cadence}, step {row.step}",
                severity=Severity.ACT,
                headline=f"{cadence}: drop-off spike at step {row.step} ({row.channel}): "
                f"{pct(row.drop_rate)} left, against {pct(baseline)} at the other steps",
                evidence=f"{row.left} of {row.due} leads left at step {row.step} "
                f"({row.opted_out} opted out, {row.bounced} bounced, {row.other_stops} stopped otherwise). "
                + cause,
                recommendation=fix,
                numbers={"step": row.step, "drop_rate": row.drop_rate, "baseline": baseline},
                action=fix[0].lower() + fix[1:].rstrip("."),
                at_stake=max(0, row.left - round(baseline * row.reached)),
            )
        )
    return findings


def _channels(metrics: WindowMetrics) -> list[Finding]:
    total_responses = sum(row.responses for row in metrics.channel_mix)
    if total_responses < MIN_CHANNEL_RESPONSES:
        return []
    findings = []
    for row in metrics.channel_mix:
        touches, responses = row.touch_share or 0.0, row.response_share or 0.0
        if responses < CHANNEL_FACTOR * touches or responses - touches < CHANNEL_MARGIN:
            continue
        findings.append(
            Finding(
                code="channel_underused",
                scope=f"channel {row.channel}",
                severity=Severity.WATCH,
                headline=f"{row.channel} draws {pct(responses)} of first responses "
                f"on {pct(touches)} of touches — above the rule (twice its share of touches "
                f"and {CHANNEL_MARGIN * 100:.0f} points more)",
                evidence=f"{row.responses} of {total_responses} first responses from {row.touches} touches.",
                recommendation=f"Rebalance the sequences: give {row.channel} more of the touches.",
                numbers={"response_share": responses, "touch_share": touches},
                action=f"give {row.channel} more of each sequence's touches",
            )
        )
    return findings


def _reps(metrics: WindowMetrics) -> list[Finding]:
    rated = {
        owner: stats.contact_rate
        for owner, stats in metrics.settled["owner"].items()
        if stats.leads >= MIN_REP_LEADS and stats.contact_rate is not None
    }
    if len(rated) < 2:
        return _reps_watch(metrics)
    best, worst, spread = _spread(rated)
    if spread <= REP_SPREAD_CEILING:
        return []
    return [
        Finding(
            code="rep_variance",
            scope="owners",
            severity=Severity.ACT,
            headline=f"Contact rates vary by {spread * 100:.0f} points between reps — above the "
            f"ceiling ({REP_SPREAD_CEILING * 100:.0f} points)",
            evidence=f"{best}: {pct(rated[best])}; {worst}: {pct(rated[worst])} "
            f"(reps with at least {MIN_REP_LEADS} leads whose outcome window has passed).",
            recommendation=f"Process inconsistency: document what {best} does and standardize it "
            "in the shared sequences.",
            numbers={"spread": spread, "best": best, "worst": worst},
            action=f"document what {best} does and standardize it in the shared sequences",
            at_stake=round(spread * metrics.settled["owner"][worst].leads),
        )
    ]


def _reps_watch(metrics: WindowMetrics) -> list[Finding]:
    """Too few leads per rep to judge: a wide spread still shows, as something to watch."""
    rated = {
        owner: stats
        for owner, stats in metrics.settled["owner"].items()
        if stats.leads and stats.contact_rate is not None
    }
    if len(rated) < 2:
        return []
    best, worst, spread = _spread({owner: stats.contact_rate for owner, stats in rated.items()})
    if spread <= REP_SPREAD_CEILING:
        return []
    smallest = min(rated[best].leads, rated[worst].leads)
    return [
        Finding(
            code="rep_variance",
            scope="owners",
            severity=Severity.WATCH,
            headline=f"Contact rates vary by {spread * 100:.0f} points between reps — watch "
            f"(n={smallest}, needs {MIN_REP_LEADS}; at most {REP_SPREAD_CEILING * 100:.0f} points)",
            evidence=f"{best}: {pct(rated[best].contact_rate)} of {rated[best].leads}; {worst}: "
            f"{pct(rated[worst].contact_rate)} of {rated[worst].leads} leads whose outcome window "
            "has passed.",
            recommendation="Too few leads to call it yet: check again as more leads' outcome windows pass.",
            numbers={"spread": spread, "best": best, "worst": worst, "n": smallest},
            action="check again as more leads' outcome windows pass",
            at_stake=round(spread * rated[worst].leads),
        )
    ]


def _spread(rates: Mapping[str, float | None]) -> tuple[str, str, float]:
    """The reps with the highest and the lowest contact rate, and the points between them."""
    best = max(rates, key=lambda owner: rates[owner] or 0.0)
    worst = min(rates, key=lambda owner: rates[owner] or 0.0)
    return best, worst, (rates[best] or 0.0) - (rates[worst] or 0.0)


def _speed(overall: SegmentStats) -> list[Finding]:
    speed = overall.speed_to_lead
    if speed.median is None or speed.median <= SPEED_TO_LEAD_TARGET:
        return []
    return [
        Finding(
            code="slow_speed_to_lead",
            scope="all leads",
            severity=Severity.ACT,
            headline=f"Automated first touch {speed.median / 60:.0f} min (median) — too slow (at most 5 min)",
            evidence=f"Over {speed.count} new leads; p90 {(speed.p90 or 0) / 60:.0f} minutes.",
            recommendation="Leads reached within five minutes convert many times more often: "
            "send the first touch the moment the form posts, whatever the send window.",
            numbers={"median_seconds": speed.median, "p90_seconds": speed.p90 or 0},
            action="send the first touch the moment the form posts",
            at_stake=math.ceil(speed.count / 2),
        )
    ]


def _deliverability(overall: SegmentStats) -> list[Finding]:
    """Complaints and bounces per emailed lead, against the mailbox providers' and SES's limits."""
    limits = (
        ("complaint", overall.complaints, COMPLAINT_CEILING, 2,
         "mailbox providers start filtering above 0.1% and block at 0.3%.",
         "Tighten who gets enrolled and make the unsubscribe link prominent."),
        ("bounce", overall.bounces, BOUNCE_CEILING, 1,
         "SES reviews accounts at 5% and may pause sending at 10%.",
         "Validate addresses at intake and check the sources that bounce most."),
    )  # fmt: skip
    findings = []
    for name, count, ceiling, digits, why, fix in limits:
        share = count / overall.emailed if overall.emailed else None
        if share is None or share < ceiling:
            continue
        findings.append(
            Finding(
                code=f"{name}_rate",
                scope="email",
                severity=Severity.ACT,
                headline=f"{name.capitalize()} rate {pct(share, digits)} — above the ceiling "
                f"(keep under {pct(ceiling, digits - 1)})",
                evidence=f"{count} leads with a {name} of {overall.emailed} emailed; {why}",
                recommendation=fix,
                numbers={f"{name}_rate": share, f"{name}s": count},
                action=fix[0].lower() + fix[1:].rstrip("."),
                at_stake=max(0, count - math.floor(ceiling * overall.emailed)),
            )
        )
    return findings


def _sql_rate(cadence: str, stats: SegmentStats, kind: str) -> list[Finding]:
    if kind not in SQL_RATE_BANDS:
        return []
    low, high = SQL_RATE_BANDS[kind]
    return _below_band(
        "low_sql_rate",
        cadence,
        "follow-up to SQL",
        stats.sql_rate,
        n=stats.leads,
        part=stats.sql,
        minimum=MIN_LEADS,
        band=(low, high),
        band_name="outbound" if kind == "cold" else kind,
        evidence=f"{stats.sql} of {stats.leads} leads whose outcome window has passed became "
        f"sales-qualified ({stats.meetings} booked a meeting).",
        recommendation="Few leads the sequence reaches become SQLs: check the leads match your ideal "
        "customer, and that the rep hand-off after an answer is fast and clear.",
        action="check the leads fit your ideal customer and the rep hand-off is fast",
        numbers={"sql_rate": stats.sql_rate or 0.0, "band_low": low, "band_high": high, "leads": stats.leads},
    )


def _qualification(cadence: str, stats: SegmentStats, kind: str) -> list[Finding]:
    """The playbook's "high demo rate, low SQL conversion": qualification is too loose."""
    if kind not in SQL_RATE_BANDS or stats.meetings < MIN_MEETINGS or stats.leads < MIN_LEADS:
        return []
    meeting_rate, sql_rate = stats.meeting_rate or 0.0, stats.sql_rate or 0.0
    low = SQL_RATE_BANDS[kind][0]
    if meeting_rate < MEETING_IN_TIME_BAND[0] or sql_rate >= low:
        return []
    per_meeting = stats.sql / stats.meetings
    return [
        Finding(
            code="demo_rate_high_sql_low",
            scope=f"cadence {cadence}",
            severity=Severity.ACT,
            headline=f"{cadence}: meetings {pct(meeting_rate, 0)} of leads but SQL {pct(sql_rate, 0)} — "
            f"high demo rate, low SQL conversion (SQL band from {pct(low, 0)})",
            evidence=f"{stats.meetings} of {stats.leads} leads booked a meeting; {stats.sql} became "
            f"{'an SQL' if stats.sql == 1 else 'SQLs'} ({pct(per_meeting, 0)} of meetings).",
            recommendation="Qualification is too loose: tighten the BANT criteria and add a pre-call "
            "qualification question before offering a meeting.",
            numbers={"meeting_rate": meeting_rate, "sql_rate": sql_rate, "sql_per_meeting": per_meeting},
            action="tighten the BANT criteria and qualify before offering a meeting",
            at_stake=shortfall(stats.leads, low, stats.sql),
        )
    ]


def _meetings_in_time(cadence: str, stats: SegmentStats) -> list[Finding]:
    rate = stats.meeting_in_time_rate
    return _below_band(
        "slow_meetings",
        cadence,
        "meetings within 10 business days",
        rate,
        n=stats.aged,
        part=stats.meetings_in_time,
        minimum=MIN_LEADS,
        band=MEETING_IN_TIME_BAND,
        evidence=f"{stats.meetings_in_time} of {stats.aged} inbound leads whose first 10 business days "
        "have passed booked a meeting in them.",
        recommendation="Below the band, the cause is almost always message relevance, timing or "
        "qualification, not volume: make the meeting ask specific and early.",
        action="make the meeting ask specific and early",
        numbers={"meeting_in_time_rate": rate or 0.0, "aged": stats.aged, "booked": stats.meetings_in_time},
    )


def _breakup(cadence: str, stats: SegmentStats) -> list[Finding]:
    return _below_band(
        "weak_breakup",
        cadence,
        "break-up email reply rate",
        stats.reply_rate,
        n=stats.leads,
        part=stats.replied,
        minimum=MIN_LEADS,
        band=BREAKUP_REPLY_BAND,
        evidence=f"{stats.replied} of {stats.leads} leads who got the break-up email replied to it.",
        recommendation="Make the break-up final and respectful: say you are closing their file, and "
        "leave one line that invites them back when the timing is right.",
        action="make the break-up final and respectful, with one line inviting them back",
        numbers={"breakup_reply_rate": stats.reply_rate or 0.0, "leads": stats.leads},
    )


def _below_band(
    code: str,
    cadence: str,
    label: str,
    value: float | None,
    *,
    n: int,
    part: int,
    minimum: int,
    band: tuple[float, float | None],
    floor: float | None = None,
    band_name: str = "",
    evidence: str,
    recommendation: str,
    action: str,
    numbers: dict[str, float | int | str] | None = None,
) -> list[Finding]:
    """A cadence's rate (`part` of `n`) below its floor, or with none below its band's bottom: act
    with enough data behind it, else watch. The leads at stake count up to the band's bottom."""
    low, high = band
    if value is None or value >= (floor if floor is not None else low):
        return []
    severity, said = verdict(value, n, minimum, low, high, floor)
    if band_name:
        said = said.replace("band", f"{band_name} band", 1)
    return [
        Finding(
            code=code,
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: {label} {pct(value, 0)} — {said}",
            evidence=evidence,
            recommendation=recommendation,
            numbers=numbers if numbers is not None else {"rate": value, "n": n, "band_low": low},
            action=action,
            at_stake=shortfall(n, low, part),
        )
    ]


def _reengagement(cadence: str, stats: SegmentStats) -> list[Finding]:
    return _below_band(
        "low_reengagement_rate",
        cadence,
        "re-engagement rate",
        stats.contact_rate,
        n=stats.leads,
        part=stats.responded,
        minimum=MIN_LEADS,
        band=REENGAGEMENT_RATE_BAND,
        evidence=f"{stats.responded} of {stats.leads} leads whose outcome window has passed responded.",
        recommendation="Segment the stale leads by source, fit and last engagement, and open with "
        "something new: a product update, fresh content or a market shift relevant to them.",
        action="segment the list and open with something new for each segment",
    )


def _rebook(cadence: str, stats: SegmentStats) -> list[Finding]:
    return _below_band(
        "low_rebook_rate",
        cadence,
        "rebook rate",
        stats.meeting_rate,
        n=stats.leads,
        part=stats.meetings,
        minimum=MIN_MEETINGS,
        band=(REBOOK_RATE_FLOOR, None),
        evidence=f"{stats.meetings} of {stats.leads} leads whose meeting was cancelled or missed, and whose "
        "rebook outcome window has passed, booked again.",
        recommendation="Offer a new time at once, in the first email, and call the same day to book it on "
        "the phone.",
        action="offer two concrete new times in the first email and call the same day",
    )


def _meetings_held(flow: MeetingFlow) -> list[Finding]:
    held = flow.held + flow.missed
    return [
        *_below_band(
            "low_show_rate",
            flow.cadence,
            "show rate",
            flow.show_rate,
            n=held,
            part=flow.held,
            minimum=MIN_MEETINGS,
            band=(SHOW_RATE_FLOOR, None),
            evidence=f"{flow.held} of {held} booked meetings that have taken place were held; "
            f"{flow.missed} were cancelled or missed.",
            recommendation="Confirm each meeting the day before with its agenda, and send a calendar "
            "invite with a one-click reschedule link.",
            action="confirm every meeting the day before with its agenda",
        ),
        *_below_band(
            "late_recaps",
            flow.cadence,
            "recap within 24 hours",
            flow.recap_rate,
            n=flow.recaps_due,
            part=flow.recaps_in_time,
            minimum=MIN_MEETINGS,
            band=(RECAP_IN_TIME_FLOOR, None),
            evidence=f"{flow.recaps_in_time} of {flow.recaps_due} held meetings got their recap within "
            "24 hours of it falling due.",
            recommendation="Send the recap the day of the meeting: thank them, recap the discussion and "
            "state the next step with its date.",
            action="send each recap the day of the meeting",
        ),
    ]


def week_findings(human: list[HumanSpeed], reps: list[RepActivity], names: dict[str, str]) -> list[Finding]:
    """The period's human loop: speed to lead by a person, per rep, and tasks left overdue."""
    findings = []
    everyone = human[0] if human else None
    if everyone is not None and everyone.median is not None and everyone.median > SPEED_TO_LEAD_TARGET:
        per_rep = "; ".join(
            f"{names.get(row.owner, row.owner)} {row.within_target} of {row.leads} "
            f"(median {human_duration(row.median)}, {row.never_called} never called)"
            for row in human[1:]
        )
        findings.append(
            Finding(
                code="slow_human_speed_to_lead",
                scope="new leads owed a call",
                severity=Severity.ACT,
                headline=f"Speed to lead: {everyone.within_target} of {everyone.leads} new leads called "
                f"within 5 minutes, median {human_duration(everyone.median)} — too slow (at most 5 min)",
                evidence=f"Within 5 minutes, by rep: {per_rep}. A lead never called counts as a miss.",
                recommendation="Leads called within five minutes convert many times more often: the owner "
                "calls as the alert arrives, and the next rep takes the call when the owner cannot.",
                numbers={
                    "leads": everyone.leads,
                    "within_target": everyone.within_target,
                    "never_called": everyone.never_called,
                    "median_seconds": everyone.median if math.isfinite(everyone.median) else "never",
                },
                action="call every new demo request within 5 minutes of the alert",
                at_stake=everyone.misses,
            )
        )
    # Past due and still open at the period's end: those due in it, and those left from earlier weeks.
    this_period = sum(rep.overdue for rep in reps)
    earlier = sum(rep.earlier_open for rep in reps)
    overdue = this_period + earlier
    if overdue:
        per_rep = ", ".join(
            f"{names.get(rep.owner, rep.owner)} {rep.overdue + rep.earlier_open}"
            for rep in reps
            if rep.overdue + rep.earlier_open
        )
        findings.append(
            Finding(
                code="overdue_tasks",
                scope="rep tasks",
                severity=Severity.ACT,
                headline=f"{overdue} rep task{'s' if overdue != 1 else ''} past due and still open at the "
                f"period's end ({this_period} due this period, {earlier} from earlier weeks) — above the "
                "band (none overdue)",
                evidence=f"By rep: {per_rep}.",
                recommendation="Work the queue oldest first and record each outcome; a task nobody will "
                "do should be reassigned, not left open.",
                numbers={"overdue": overdue, "due_this_period": this_period, "from_earlier_weeks": earlier},
                action="clear the overdue tasks today, oldest first",
                at_stake=overdue,
            )
        )
    return findings


def human_duration(seconds: float | None) -> str:
    """A median that may be a miss: "never called" when the median lead was never reached."""
    if seconds is None:
        return "n/a"
    if not math.isfinite(seconds):
        return "never called"
    return duration(seconds)


def duration(seconds: float | None) -> str:
    """Seconds as the report writes a time: s, min, h or d, by size."""
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def scorecard(
    metrics: WindowMetrics,
    plans: dict[str, CadencePlan] | None = None,
    meetings: dict[str, MeetingFlow] | None = None,
    human: HumanSpeed | None = None,
) -> list[Check]:
    """Every banded number of the window against the playbook, healthy ones included; each cadence
    by its own flow's bands (FLOW_CHECKS)."""
    plans = plans or {}
    checks: list[Check] = []
    for cadence, stats in metrics.settled["cadence"].items():
        flow = flow_of(cadence, metrics, plans)
        if flow in ("re-engagement", "not-now"):
            low, high = REENGAGEMENT_RATE_BAND
            checks.append(
                _check(cadence, "re-engagement rate", stats.contact_rate, stats.leads, MIN_LEADS, low, high)
            )
            continue
        if flow == "rebook":
            rebook = (stats.meeting_rate, stats.leads, MIN_MEETINGS, REBOOK_RATE_FLOOR)
            checks.append(_check(cadence, "rebook rate", *rebook))
            continue
        if flow == "post-meeting":
            continue  # judged by its meetings, below
        low, high = CONTACT_RATE_BANDS[flow]
        checks.append(_check(cadence, "contact rate", stats.contact_rate, stats.leads, MIN_LEADS, low, high))
        reply = (stats.reply_rate, stats.leads, MIN_LEADS, *REPLY_RATE_BAND, REPLY_RATE_FLOOR)
        checks.append(_check(cadence, "reply rate", *reply))
        if metrics.stages_tracked and flow in SQL_RATE_BANDS:
            low, high = SQL_RATE_BANDS[flow]
            checks.append(
                _check(cadence, "follow-up to SQL", stats.sql_rate, stats.leads, MIN_LEADS, low, high)
            )
        if flow == "inbound" and metrics.overall.meetings:
            in_time = (stats.meeting_in_time_rate, stats.aged, MIN_LEADS, *MEETING_IN_TIME_BAND)
            checks.append(_check(cadence, "meetings within 10 business days", *in_time))
        breakup = metrics.breakup.get(cadence)
        if breakup is not None and breakup.leads:
            values = (breakup.reply_rate, breakup.leads, MIN_LEADS, *BREAKUP_REPLY_BAND)
            checks.append(_check(cadence, "break-up reply rate", *values))
    for name, flow_stats in sorted((meetings or {}).items()):
        if flow_stats.booked:
            held = flow_stats.held + flow_stats.missed
            checks.append(
                _check(name, "show rate", flow_stats.show_rate, held, MIN_MEETINGS, SHOW_RATE_FLOOR)
            )
            recap = (flow_stats.recap_rate, flow_stats.recaps_due, MIN_MEETINGS, RECAP_IN_TIME_FLOOR)
            checks.append(_check(name, "recap within 24 hours", *recap))
    overall = metrics.overall
    cohort = metrics.cohort or overall  # what a band or a ceiling judges: the complete cohorts
    if metrics.engagement_tracked:
        checks.append(_check("", "Open rate", cohort.open_rate, cohort.emailed, MIN_LEADS, HEALTHY_OPEN_RATE))
    if human is not None and human.median is not None:
        fast = human.median <= SPEED_TO_LEAD_TARGET
        checks.append(
            Check(
                "",
                "Speed to lead (a person calls)",
                f"{human_duration(human.median)} (median; {human.within_target} of {human.leads} "
                "new leads within 5 min, never-called leads as misses)",
                Severity.HEALTHY if fast else Severity.ACT,
                f"{'healthy' if fast else 'too slow'} (at most 5 min)",
            )
        )
    speed = overall.speed_to_lead
    if speed.median is not None:
        fast = speed.median <= SPEED_TO_LEAD_TARGET
        checks.append(
            Check(
                "",
                "Automated first touch",
                f"{speed.median / 60:.1f} min (median)",
                Severity.HEALTHY if fast else Severity.ACT,
                f"{'in time' if fast else 'too slow'} (at most 5 min; the robot's, not a person's)",
            )
        )
    touches = cohort.touches_to_response
    if touches.mean is not None:
        few = touches.mean <= TOUCHES_TO_RESPONSE_CEILING
        severity = (
            Severity.WATCH if touches.count < MIN_RESPONDERS else (Severity.HEALTHY if few else Severity.ACT)
        )
        said = (
            f"watch (n={touches.count}, needs {MIN_RESPONDERS}; "
            if severity is Severity.WATCH
            else ("healthy (" if few else "too many (")
        )
        checks.append(
            Check(
                "",
                "Touches to first response",
                f"{touches.mean:.1f} on average",
                severity,
                said + "at most 8)",
            )
        )
    return checks


def _check(
    scope: str,
    label: str,
    value: float | None,
    n: int,
    minimum: int,
    low: float,
    high: float | None = None,
    floor: float | None = None,
) -> Check:
    severity, said = verdict(value, n, minimum, low, high, floor)
    return Check(scope, label, pct(value, 0), severity, said)
