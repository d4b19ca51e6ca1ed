"""Assemble the report from a data set: the period's numbers, the trailing 90 days, findings, A/B tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.report.abtest import ABTest, judged
from leadflow.report.diagnostics import (
    SPEED_TO_LEAD_TARGET,
    Check,
    Finding,
    diagnose,
    ordered,
    scorecard,
    week_findings,
)
from leadflow.report.metrics import (
    FactsBuilder,
    HumanSpeed,
    MeetingFlow,
    RepActivity,
    Window,
    WindowMetrics,
    human_speed,
    meeting_flows,
    rep_activity,
    window_metrics,
)
from leadflow.report.records import CadencePlan, Dataset, SnoozeRecord
from leadflow.report.trends import Change, Trend, changes, trends

TRAILING_DAYS = 90


def local_midnight(day: date, timezone: str) -> datetime:
    """Midnight starting `day` in `timezone`, in UTC (aware arithmetic on one zone ignores DST)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def weekly_period(scheduled_at: datetime, timezone: str) -> Window:
    """The seven local calendar days before the local date of a scheduled run (DST-safe)."""
    run_day = scheduled_at.astimezone(ZoneInfo(timezone)).date()
    start = run_day - timedelta(days=7)
    return Window(
        f"week of {start.isoformat()}", local_midnight(start, timezone), local_midnight(run_day, timezone)
    )


def period_between(since: datetime, until: datetime) -> Window:
    return Window(f"{since.date().isoformat()} to {until.date().isoformat()}", since, until)


def trailing_window(end: datetime) -> Window:
    return Window(f"trailing {TRAILING_DAYS} days", end - timedelta(days=TRAILING_DAYS), end)


def fetch_window(period: Window) -> Window:
    """What the data set must cover: the period, the 4 before it (trends) and the trailing 90 days."""
    trailing = trailing_window(period.end)
    earliest = period.start - (period.end - period.start) * 4
    return Window("fetched", min(earliest, trailing.start), period.end)


def archive_key(period: Window, timezone: str, suffix: str = "html") -> str:
    """The S3 key of a period's archived report: under the local date the period starts."""
    return f"reports/{period.start.astimezone(ZoneInfo(timezone)).date().isoformat()}/report.{suffix}"


@dataclass(frozen=True)
class SendingHealth:
    """The reputation guard at report time: rates over the last sends against the thresholds."""

    window_sends: int
    bounce_rate: float
    complaint_rate: float
    max_bounce_rate: float
    max_complaint_rate: float
    min_sends: int
    paused: bool
    paused_since: str | None = None

    def line(self) -> str:
        state = f"PAUSED since {self.paused_since}" if self.paused else "sending"
        sample = "" if self.window_sends >= self.min_sends else f" (under {self.min_sends}: no verdict yet)"
        return (
            f"{state}; last {self.window_sends} sends{sample}: permanent bounces {self.bounce_rate:.2%} "
            f"(pause at {self.max_bounce_rate:.2%}), complaints {self.complaint_rate:.3%} "
            f"(pause at {self.max_complaint_rate:.3%})"
        )


@dataclass(frozen=True)
class Report:
    company: str
    timezone: str
    period: WindowMetrics
    trailing: WindowMetrics
    findings: list[Finding]
    ab_tests: list[ABTest]
    archive_key: str
    owner_names: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    scorecard: list[Check] = field(default_factory=list)
    trends: list[Trend] = field(default_factory=list)
    cadence_trends: dict[str, list[float | None]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    reps: list[RepActivity] = field(default_factory=list)
    sending: SendingHealth | None = None
    # Not-now leads due back in the week after the period (issue 24), soonest first.
    due_back: list[SnoozeRecord] = field(default_factory=list)
    # New leads of the period owed a speed-to-lead call: everyone first, then each owner.
    human_speed: list[HumanSpeed] = field(default_factory=list)
    human_speed_trailing: HumanSpeed | None = None  # everyone, over the trailing 90 days
    # By post-meeting cadence, over the trailing 90 days: show rate and recaps within 24 hours.
    meetings: dict[str, MeetingFlow] = field(default_factory=dict)


def build_report(
    dataset: Dataset,
    period: Window,
    plans: dict[str, CadencePlan],
    *,
    company: str,
    timezone: str,
    owner_names: dict[str, str] | None = None,
) -> Report:
    """Every figure counts what happened before the period's end, so a re-run gives the same report."""
    trailing = trailing_window(period.end)
    builder = FactsBuilder(dataset)
    facts = builder.facts(as_of=period.end)
    trailing_metrics = window_metrics(facts, trailing, plans)
    headlines, by_cadence = trends(dataset, period, builder)
    reps = rep_activity(facts, period, SPEED_TO_LEAD_TARGET)
    human = human_speed(facts, period, SPEED_TO_LEAD_TARGET)
    meetings = meeting_flows(facts, trailing, plans, period.end)
    names = owner_names or {}
    return Report(
        company=company,
        timezone=timezone,
        period=window_metrics(facts, period, plans),
        trailing=trailing_metrics,
        findings=ordered(diagnose(trailing_metrics, plans, meetings) + week_findings(human, reps, names)),
        ab_tests=judged(trailing_metrics.variants),  # the trailing window's variant rows, counted once
        archive_key=archive_key(period, timezone),
        owner_names=names,
        skipped=dict(dataset.skipped),
        scorecard=scorecard(trailing_metrics, plans, meetings, human[0] if human else None),
        trends=headlines,
        cadence_trends=by_cadence,
        changes=changes(dataset, period),
        reps=reps,
        human_speed=human,
        human_speed_trailing=next(iter(human_speed(facts, trailing, SPEED_TO_LEAD_TARGET)), None),
        meetings=meetings,
    )
