"""Trends: each headline for the period against the same figure for the 4 periods before it, each
measured as its own report would have measured it (as of that period's end), and the cadence changes
in between ("changed since"), so a fix can be re-measured the way the playbook asks: change one
thing, then watch it for two to three weeks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from leadflow.report.metrics import FactsBuilder, SegmentStats, Window, segment
from leadflow.report.records import Dataset

PERIODS = 4  # compared against the previous four


@dataclass(frozen=True, slots=True)
class Trend:
    label: str
    kind: str  # "count", "rate" or "seconds": how to show the values
    values: tuple[float | None, ...]  # oldest first; the last is the period's

    @property
    def previous_mean(self) -> float | None:
        earlier = [value for value in self.values[:-1] if value is not None]
        return sum(earlier) / len(earlier) if earlier else None


@dataclass(frozen=True, slots=True)
class Change:
    """A cadence whose definition or templates changed: leads enrolled since `since` got `version`."""

    cadence: str
    version: str
    since: datetime
    period: int  # index of the period (0 oldest ... PERIODS) the change falls in


HEADLINES: tuple[tuple[str, str, Callable[[SegmentStats], float | int | None]], ...] = (
    ("Leads", "count", lambda s: s.leads),
    ("Contact rate", "rate", lambda s: s.contact_rate),
    ("Reply rate", "rate", lambda s: s.reply_rate),
    ("Meeting rate", "rate", lambda s: s.meeting_rate),
    ("Follow-up to SQL", "rate", lambda s: s.sql_rate),
    ("Speed to lead (median)", "seconds", lambda s: s.speed_to_lead.median),
)


def periods(period: Window) -> list[Window]:
    """The period and the PERIODS before it, oldest first, each as long as the period."""
    length = period.end - period.start
    return [
        Window(
            f"{period.start - length * back:%Y-%m-%d}",
            period.start - length * back,
            period.end - length * back,
        )
        for back in range(PERIODS, -1, -1)
    ]


def trends(
    dataset: Dataset, period: Window, builder: FactsBuilder | None = None
) -> tuple[list[Trend], dict[str, list[float | None]]]:
    """The headlines per period, and the contact rate per cadence per period."""
    builder = builder or FactsBuilder(dataset)
    overall: list[SegmentStats] = []
    by_cadence: dict[str, list[float | None]] = {}
    windows = periods(period)
    for index, window in enumerate(windows):
        inside = builder.facts(window.end, started_in=window)
        overall.append(segment(inside))
        for cadence in sorted({f.enrollment.cadence for f in inside}):
            stats = segment([f for f in inside if f.enrollment.cadence == cadence])
            by_cadence.setdefault(cadence, [None] * len(windows))[index] = stats.contact_rate
    headlines = [
        Trend(label, kind, tuple(_float(value(stats)) for stats in overall))
        for label, kind, value in HEADLINES
    ]
    return headlines, by_cadence


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def changes(dataset: Dataset, period: Window) -> list[Change]:
    """Cadence versions first enrolled in the period or the PERIODS before it, after an older one."""
    windows = periods(period)
    first_seen: dict[tuple[str, str], datetime] = {}
    for enrollment in dataset.enrollments:
        if enrollment.version is None or enrollment.started_at >= period.end:
            continue
        key = (enrollment.cadence, enrollment.version)
        if key not in first_seen or enrollment.started_at < first_seen[key]:
            first_seen[key] = enrollment.started_at
    found = []
    for (cadence, version), since in first_seen.items():
        older = any(c == cadence and seen < since for (c, _), seen in first_seen.items())
        index = next((i for i, window in enumerate(windows) if since in window), None)
        if older and index is not None:
            found.append(Change(cadence, version, since, index))
    return sorted(found, key=lambda change: (change.since, change.cadence))
