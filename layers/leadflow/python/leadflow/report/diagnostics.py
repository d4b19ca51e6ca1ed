"""Diagnostics: the playbooks' healthy bands applied to the trailing-90-day numbers.

Each rule fires only with enough data behind it, and every finding carries the
numbers that made it fire. The bands come from the playbooks in the shared
seeds; the deliverability limits from the mailbox providers and SES.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from leadflow.report.metrics import SegmentStats, StepRow, WindowMetrics
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
    headline: str
    evidence: str
    recommendation: str
    numbers: dict[str, float | int | str] = field(default_factory=dict)


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _band(lead_type: str) -> str:
    if lead_type in {"cold", "outbound"}:
        return "cold"
    return "dormant" if lead_type == "dormant" else "inbound"


def diagnose(metrics: WindowMetrics, plans: dict[str, CadencePlan]) -> list[Finding]:
    """Findings over one window (the report uses the trailing 90 days)."""
    findings: list[Finding] = []
    for cadence, stats in metrics.breakdowns.get("cadence", {}).items():
        # Rates are judged on finished enrollments; step and response figures on all of them.
        settled = metrics.settled["cadence"].get(cadence)
        if settled is not None:
            archived = _archive(metrics, cadence, settled)
            if archived:
                findings.append(archived)
            else:
                band = _band(metrics.lead_types.get(cadence, "inbound"))
                findings.extend(_contact_band(cadence, settled, band))
                findings.extend(_reply_rate(cadence, settled, metrics.engagement_tracked))
                if metrics.stages_tracked:
                    findings.extend(_sql_rate(cadence, settled, band))
                    findings.extend(_qualification(cadence, settled, band))
                if band == "inbound" and metrics.overall.meetings:
                    findings.extend(_meetings_in_time(cadence, settled))
        findings.extend(_touches_to_response(cadence, stats))
        findings.extend(_effort(cadence, stats, plans.get(cadence)))
        findings.extend(_spikes(cadence, metrics.dropoff.get(cadence, [])))
        if cadence in metrics.breakup:
            findings.extend(_breakup(cadence, metrics.breakup[cadence]))
    findings.extend(_channels(metrics))
    findings.extend(_reps(metrics))
    findings.extend(_speed(metrics.overall))
    findings.extend(_deliverability(metrics.overall))
    order = {Severity.ACT: 0, Severity.WATCH: 1, Severity.HEALTHY: 2}
    return sorted(findings, key=lambda finding: order[finding.severity])


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
        evidence=f"{stats.responded} of {stats.leads} leads who finished the sequence responded "
        "over the trailing 90 days.",
        recommendation="Archive this sequence and route its leads to a cadence that works; "
        "rebuild it around a new angle before reusing it.",
        numbers={"contact_rate": contact, "leads": stats.leads, "responded": stats.responded},
    )


def _contact_band(cadence: str, stats: SegmentStats, kind: str) -> list[Finding]:
    low, high = CONTACT_RATE_BANDS[kind]
    contact = stats.contact_rate
    if contact is None or contact >= low:
        return []
    severity, said = verdict(contact, stats.leads, MIN_LEADS, low, high)
    return [
        Finding(
            code="contact_rate_below_band",
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: contact rate {pct(contact, 0)} — {said.replace('band', f'{kind} band', 1)}",
            evidence=f"{stats.responded} of {stats.leads} {kind} leads who finished the sequence "
            "responded to at least one touch.",
            recommendation="A low contact rate across the team points at the channel mix or the timing: "
            "add a call and a LinkedIn touch, and try calls before 9am and after 4pm.",
            numbers={"contact_rate": contact, "band_low": low, "band_high": high, "leads": stats.leads},
        )
    ]


def _reply_rate(cadence: str, stats: SegmentStats, engagement_tracked: bool) -> list[Finding]:
    reply = stats.reply_rate
    if reply is None or reply >= REPLY_RATE_FLOOR:
        return []
    severity, said = verdict(reply, stats.leads, MIN_LEADS, *REPLY_RATE_BAND, REPLY_RATE_FLOOR)
    numbers: dict[str, float | int | str] = {
        "reply_rate": reply,
        "leads": stats.leads,
        "replied": stats.replied,
    }
    recommendation = (
        "Fix targeting and message relevance before touching the cadence: more touches will not help. "
        "Check the leads match your ideal customer, and make each message specific to them."
    )
    opens = stats.open_rate if engagement_tracked else None
    if opens is not None and opens >= HEALTHY_OPEN_RATE:
        numbers["open_rate"] = opens
        recommendation = (
            f"Opens are healthy ({pct(opens)}), so the subject lines work and the body copy fails: "
            "rewrite the value proposition and end on one specific call to action."
        )
    return [
        Finding(
            code="low_reply_rate",
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: reply rate {pct(reply, 0)} — {said}",
            evidence=f"{stats.replied} of {stats.leads} leads who finished the sequence replied.",
            recommendation=recommendation,
            numbers=numbers,
        )
    ]


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
            headline=f"{cadence}: the highest-effort touch is step {peak} ({plan.steps[peak - 1].channel}); "
            f"it belongs at step {target}",
            evidence=f"The median first response comes at step {median:g} "
            f"(over {stats.response_step.count} responders).",
            recommendation=f"Put the most personal, highest-effort touch at step {target}, one step before "
            "most leads answer.",
            numbers={"median_response_step": median, "highest_effort_step": peak, "target_step": target},
        )
    ]


def _spikes(cadence: str, rows: list[StepRow]) -> list[Finding]:
    measured = [row for row in rows if row.reached >= MIN_REACHED and row.drop_rate is not None]
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
                evidence=f"{row.left} of {row.reached} leads left at step {row.step} "
                f"({row.opted_out} opted out, {row.bounced} bounced, {row.other_stops} stopped otherwise). "
                + cause,
                recommendation=fix,
                numbers={"step": row.step, "drop_rate": row.drop_rate, "baseline": baseline},
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
                f"on {pct(touches)} of touches",
                evidence=f"{row.responses} of {total_responses} first responses from {row.touches} touches.",
                recommendation=f"Rebalance the sequences: give {row.channel} more of the touches.",
                numbers={"response_share": responses, "touch_share": touches},
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
    best = max(rated, key=lambda owner: rated[owner] or 0.0)
    worst = min(rated, key=lambda owner: rated[owner] or 0.0)
    spread = (rated[best] or 0.0) - (rated[worst] or 0.0)
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
            f"(reps with at least {MIN_REP_LEADS} leads who finished their sequence).",
            recommendation=f"Process inconsistency: document what {best} does and standardize it "
            "in the shared sequences.",
            numbers={"spread": spread, "best": best, "worst": worst},
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
    best = max(rated, key=lambda owner: rated[owner].contact_rate or 0.0)
    worst = min(rated, key=lambda owner: rated[owner].contact_rate or 0.0)
    spread = (rated[best].contact_rate or 0.0) - (rated[worst].contact_rate or 0.0)
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
            f"{pct(rated[worst].contact_rate)} of {rated[worst].leads} leads who finished their sequence.",
            recommendation="Too few leads to call it yet: check again as more leads finish their sequence.",
            numbers={"spread": spread, "best": best, "worst": worst, "n": smallest},
        )
    ]


def _speed(overall: SegmentStats) -> list[Finding]:
    speed = overall.speed_to_lead
    if speed.median is None or speed.median <= SPEED_TO_LEAD_TARGET:
        return []
    return [
        Finding(
            code="slow_speed_to_lead",
            scope="all leads",
            severity=Severity.ACT,
            headline=f"Speed to lead {speed.median / 60:.0f} min (median) — too slow (at most 5 min)",
            evidence=f"Over {speed.count} new leads; p90 {(speed.p90 or 0) / 60:.0f} minutes.",
            recommendation="Leads reached within five minutes convert many times more often: "
            "send the first touch the moment the form posts, whatever the send window.",
            numbers={"median_seconds": speed.median, "p90_seconds": speed.p90 or 0},
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
            )
        )
    return findings


def _sql_rate(cadence: str, stats: SegmentStats, kind: str) -> list[Finding]:
    if kind not in SQL_RATE_BANDS or stats.sql_rate is None:
        return []
    low, high = SQL_RATE_BANDS[kind]
    severity, said = verdict(stats.sql_rate, stats.leads, MIN_LEADS, low, high)
    if severity is Severity.HEALTHY or stats.sql_rate >= low:
        return []
    return [
        Finding(
            code="low_sql_rate",
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: follow-up to SQL {pct(stats.sql_rate, 0)} — "
            + said.replace("band", f"{'outbound' if kind == 'cold' else kind} band", 1),
            evidence=f"{stats.sql} of {stats.leads} leads who finished the sequence became sales-qualified "
            f"({stats.meetings} booked a meeting).",
            recommendation="Few leads the sequence reaches become SQLs: check the leads match your ideal "
            "customer, and that the rep hand-off after an answer is fast and clear.",
            numbers={"sql_rate": stats.sql_rate, "band_low": low, "band_high": high, "leads": stats.leads},
        )
    ]


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
        )
    ]


def _meetings_in_time(cadence: str, stats: SegmentStats) -> list[Finding]:
    rate = stats.meeting_in_time_rate
    if rate is None:
        return []
    severity, said = verdict(rate, stats.aged, MIN_LEADS, *MEETING_IN_TIME_BAND)
    if severity is Severity.HEALTHY or rate >= MEETING_IN_TIME_BAND[0]:
        return []
    return [
        Finding(
            code="slow_meetings",
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: meetings within 10 business days {pct(rate, 0)} — {said}",
            evidence=f"{stats.meetings_in_time} of {stats.aged} inbound leads whose first 10 business days "
            "have passed booked a meeting in them.",
            recommendation="Below the band, the cause is almost always message relevance, timing or "
            "qualification, not volume: make the meeting ask specific and early.",
            numbers={"meeting_in_time_rate": rate, "aged": stats.aged, "booked": stats.meetings_in_time},
        )
    ]


def _breakup(cadence: str, stats: SegmentStats) -> list[Finding]:
    rate = stats.reply_rate
    if rate is None:
        return []
    severity, said = verdict(rate, stats.leads, MIN_LEADS, *BREAKUP_REPLY_BAND)
    if severity is Severity.HEALTHY or (severity is Severity.WATCH and rate >= BREAKUP_REPLY_BAND[0]):
        return []
    return [
        Finding(
            code="weak_breakup",
            scope=f"cadence {cadence}",
            severity=severity,
            headline=f"{cadence}: break-up email reply rate {pct(rate, 0)} — {said}",
            evidence=f"{stats.replied} of {stats.leads} leads who got the break-up email replied to it.",
            recommendation="Make the break-up final and respectful: say you are closing their file, and "
            "leave one line that invites them back when the timing is right.",
            numbers={"breakup_reply_rate": rate, "leads": stats.leads},
        )
    ]


def scorecard(metrics: WindowMetrics) -> list[Check]:
    """Every banded number of the window against the playbook, healthy ones included."""
    checks: list[Check] = []
    for cadence, stats in metrics.settled["cadence"].items():
        kind = _band(metrics.lead_types.get(cadence, "inbound"))
        low, high = CONTACT_RATE_BANDS[kind]
        checks.append(_check(cadence, "contact rate", stats.contact_rate, stats.leads, MIN_LEADS, low, high))
        reply = (stats.reply_rate, stats.leads, MIN_LEADS, *REPLY_RATE_BAND, REPLY_RATE_FLOOR)
        checks.append(_check(cadence, "reply rate", *reply))
        if metrics.stages_tracked and kind in SQL_RATE_BANDS:
            low, high = SQL_RATE_BANDS[kind]
            checks.append(
                _check(cadence, "follow-up to SQL", stats.sql_rate, stats.leads, MIN_LEADS, low, high)
            )
        if kind == "inbound" and metrics.overall.meetings:
            in_time = (stats.meeting_in_time_rate, stats.aged, MIN_LEADS, *MEETING_IN_TIME_BAND)
            checks.append(_check(cadence, "meetings within 10 business days", *in_time))
        breakup = metrics.breakup.get(cadence)
        if breakup is not None and breakup.leads:
            values = (breakup.reply_rate, breakup.leads, MIN_LEADS, *BREAKUP_REPLY_BAND)
            checks.append(_check(cadence, "break-up reply rate", *values))
    overall = metrics.overall
    if metrics.engagement_tracked:
        checks.append(
            _check("", "Open rate", overall.open_rate, overall.emailed, MIN_LEADS, HEALTHY_OPEN_RATE)
        )
    speed = overall.speed_to_lead
    if speed.median is not None:
        fast = speed.median <= SPEED_TO_LEAD_TARGET
        checks.append(
            Check(
                "",
                "Speed to lead",
                f"{speed.median / 60:.1f} min (median)",
                Severity.HEALTHY if fast else Severity.ACT,
                f"{'healthy' if fast else 'too slow'} (at most 5 min)",
            )
        )
    touches = overall.touches_to_response
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
