"""Render a Report as an email-safe HTML page, a plain-text alternative, and a CSV of the numbers.

The HTML is built for mail clients: tables for layout, inline CSS, bar charts
as table cells with fixed pixel widths; no script, no SVG, no external images.
The CSV is long-format (one number per row) so a spreadsheet can pivot it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from leadflow.report.build import Report
from leadflow.report.diagnostics import CONTACT_RATE_BANDS, pct
from leadflow.report.metrics import DIMENSIONS, SegmentStats, Summary, WindowMetrics

DIMENSION_TITLES = {
    "cadence": "Cadence",
    "source": "Lead source",
    "form": "Form",
    "utm_campaign": "UTM campaign",
    "fit_band": "Fit band",
    "owner": "Owner",
    "channel": "Channel",
    "variant": "Template variant",
}


def local(report: Report, moment: datetime) -> datetime:
    """A time as the report's readers see it: in the report's time zone."""
    return moment.astimezone(ZoneInfo(report.timezone))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Kpi:
    label: str
    week: str
    trailing: str
    note: str = ""


def _count_rate(part: int, stats: SegmentStats) -> str:
    return f"{part} ({pct(part / stats.leads if stats.leads else None)})"


def kpis(report: Report) -> list[Kpi]:
    week, trailing = report.period.overall, report.trailing.overall

    def row(label: str, value: Any, note: str = "") -> Kpi:
        return Kpi(label, value(week), value(trailing), note)

    rows = [
        row("Leads enrolled", lambda s: number(s.leads)),
        row(
            "Contact rate",
            lambda s: f"{pct(s.contact_rate)} ({s.responded})",
            "responded to a touch: reply, connected call or meeting; healthy: "
            + ", ".join(
                f"{kind} {pct(low, 0)}–{pct(high, 0)}" for kind, (low, high) in CONTACT_RATE_BANDS.items()
            ),
        ),
        row(
            "Reply rate", lambda s: f"{pct(s.reply_rate)} ({s.replied})", "below 10%: targeting or relevance"
        ),
        row("Connected calls", lambda s: _count_rate(s.connected, s)),
        row("Meetings booked", lambda s: _count_rate(s.meetings, s)),
        row("Unsubscribes", lambda s: _count_rate(s.unsubscribes, s)),
        row("Complaints", lambda s: _count_rate(s.complaints, s), "keep under 0.1% of emailed leads"),
        row("Bounces", lambda s: _count_rate(s.bounces, s)),
        row(
            "Speed to lead, median / p90",
            lambda s: f"{duration(s.speed_to_lead.median)} / {duration(s.speed_to_lead.p90)}",
            "form post to first touch; aim for under 5 minutes",
        ),
        row(
            "First human touch, median / p90",
            lambda s: (
                f"{duration(s.first_human_touch.median)} / {duration(s.first_human_touch.p90)}"
                f" ({s.first_human_touch.count})"
            ),
            "form post to the first rep task done",
        ),
        row(
            "Touches to first response, mean / median",
            lambda s: f"{number(s.touches_to_response.mean)} / {number(s.touches_to_response.median)}",
            "above 8 on average: the messaging needs work",
        ),
    ]
    if report.trailing.engagement_tracked:
        rows.append(
            row(
                "Opened / clicked",
                lambda s: f"{pct(s.open_rate)} / {pct(s.click_rate)}",
                "of emailed leads; opens are inflated by privacy proxies",
            )
        )
    return rows


@dataclass(frozen=True)
class SegmentRow:
    name: str
    leads: str
    contact: str
    reply: str
    meetings: str
    opt_outs: str
    bounces: str
    trailing_leads: int


def segment_rows(report: Report, dimension: str) -> list[SegmentRow]:
    week = report.period.breakdowns.get(dimension, {})
    trailing = report.trailing.breakdowns.get(dimension, {})
    empty = None
    rows = []
    for name in sorted(week.keys() | trailing.keys()):
        w, t = week.get(name, empty), trailing.get(name, empty)

        def pair(get: Any, w: SegmentStats | None = w, t: SegmentStats | None = t) -> str:
            return f"{get(w) if w else '–'} / {get(t) if t else '–'}"

        label = name
        if dimension == "owner" and name in report.owner_names:
            label = f"{report.owner_names[name]} ({name})"
        rows.append(
            SegmentRow(
                name=label,
                leads=pair(lambda s: s.leads),
                contact=pair(lambda s: pct(s.contact_rate, 0)),
                reply=pair(lambda s: pct(s.reply_rate, 0)),
                meetings=pair(lambda s: s.meetings),
                opt_outs=f"{t.unsubscribes} / {t.complaints}" if t else "–",
                bounces=str(t.bounces) if t else "–",
                trailing_leads=t.leads if t else 0,
            )
        )
    return rows


def histogram_rows(metrics: WindowMetrics) -> list[tuple[int, int, float]]:
    counts = metrics.touches_histogram
    total = sum(counts.values())
    if not counts:
        return []
    return [
        (touches, counts.get(touches, 0), counts.get(touches, 0) / total)
        for touches in range(min(counts), max(counts) + 1)
    ]


# Gmail clips messages above 102 KB: the HTML shows the largest segments of each breakdown (by leads
# over 90 days), as many as fit; the CSV has them all.
HTML_BUDGET = 100_000
HTML_SEGMENTS = (12, 8, 5, 3, 0)


def _largest(rows: list[SegmentRow], limit: int) -> tuple[list[SegmentRow], int]:
    if len(rows) <= limit:
        return rows, 0
    kept = sorted(rows, key=lambda row: -row.trailing_leads)[:limit]
    return sorted(kept, key=lambda row: row.name), len(rows) - limit


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(report: Report, archive_location: str, segments: int) -> dict[str, Any]:
    return {
        "r": report,
        "archive": archive_location,
        "kpis": kpis(report),
        "segments": [(DIMENSION_TITLES[d], *_largest(segment_rows(report, d), segments)) for d in DIMENSIONS],
        "histogram": histogram_rows(report.trailing),
        "definitions": definitions(report),
        "pct": pct,
        "number": number,
        "duration": duration,
        "local": lambda moment: local(report, moment),
    }


def render_html(report: Report, archive_location: str) -> str:
    template = _environment().get_template("report.html.j2")
    for segments in HTML_SEGMENTS:
        html = template.render(_context(report, archive_location, segments))
        if len(html.encode()) <= HTML_BUDGET:
            break
    return html


def subject(report: Report) -> str:
    acts = sum(1 for finding in report.findings if finding.severity == "act")
    overall = report.period.overall
    return (
        f"{report.company} follow-up report, {report.period.window.name}: {overall.leads} leads, "
        f"contact rate {pct(overall.contact_rate, 0)}, {acts} to act on"
    )


# -- text --------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=False)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in rows
    )
    return lines


def render_text(report: Report, archive_location: str) -> str:
    period, trailing = report.period, report.trailing
    lines = [
        f"{report.company}: weekly follow-up report",
        f"{period.window.name}: {local(report, period.window.start):%Y-%m-%d %H:%M} to "
        f"{local(report, period.window.end):%Y-%m-%d %H:%M} ({report.timezone}); "
        f"trailing 90 days from {local(report, trailing.window.start):%Y-%m-%d}",
        f"Archived at {archive_location}",
        "",
        "HEADLINES (this period / trailing 90 days)",
    ]
    lines += _table(
        ["metric", "period", "90 days", "note"], [[k.label, k.week, k.trailing, k.note] for k in kpis(report)]
    )
    lines += ["", "WHAT TO CHANGE"]
    if not report.findings:
        lines.append("Nothing outside the playbooks' healthy bands.")
    for finding in report.findings:
        lines += [
            f"[{finding.severity}] {finding.headline}",
            f"    {finding.evidence}",
            f"    -> {finding.recommendation}",
        ]
    lines += ["", "A/B TESTS (trailing 90 days)"]
    if not report.ab_tests:
        lines.append("No step sent more than one variant.")
    for test in report.ab_tests:
        lines.append(f"{test.cadence}, touch {test.step}: {test.summary}")
        lines += [
            f"    {arm.variant}: {arm.responses} of {arm.contacts} responded ({pct(arm.response_rate)})"
            for arm in test.arms
        ]
    lines += ["", "DROP-OFF BY STEP (trailing 90 days)"]
    for cadence, rows in trailing.dropoff.items():
        lines.append(cadence)
        lines += [
            "    " + line
            for line in _table(
                [
                    "step",
                    "channel",
                    "reached",
                    "responded",
                    "opted out",
                    "bounced",
                    "other",
                    "drop",
                    "colleague answered",
                    "open tasks",
                ],
                [
                    [
                        str(r.step),
                        r.channel,
                        str(r.reached),
                        str(r.responded),
                        str(r.opted_out),
                        str(r.bounced),
                        str(r.other_stops),
                        pct(r.drop_rate),
                        str(r.account_stops),
                        str(r.open_tasks),
                    ]
                    for r in rows
                ],
            )
        ]
    lines += ["", "CHANNEL MIX (trailing 90 days)"]
    lines += _table(
        ["channel", "touches", "share of touches", "first responses", "share of responses", "open tasks"],
        [
            [
                r.channel,
                str(r.touches),
                pct(r.touch_share),
                str(r.responses),
                pct(r.response_share),
                str(r.open_tasks),
            ]
            for r in trailing.channel_mix
        ],
    )
    lines += ["", "TOUCHES TO FIRST RESPONSE (trailing 90 days)"]
    lines += [
        f"  {touches:>2} touches  {count:>5}  {'#' * round(share * 40)}"
        for touches, count, share in histogram_rows(trailing)
    ]
    for dimension in DIMENSIONS:
        segments = segment_rows(report, dimension)
        lines += ["", f"BY {DIMENSION_TITLES[dimension].upper()} (period / 90 days)"]
        lines += _table(
            ["segment", "leads", "contact", "reply", "meetings", "unsub / complaints (90d)", "bounces (90d)"],
            [[s.name, s.leads, s.contact, s.reply, s.meetings, s.opt_outs, s.bounces] for s in segments]
            or [["(none)"] + [""] * 6],
        )
    lines += ["", *definitions(report)]
    return "\n".join(lines) + "\n"


def definitions(report: Report) -> list[str]:
    notes = [
        "Every rate is per lead: the share of leads enrolled in the window (by cadence) that did it, "
        "counting what happened up to the window's end. A lead in two cadences counts in each.",
        "Channel and variant rows count the leads that received one, and the outcomes their touches drew.",
        "A rep task counts as a touch once its outcome is recorded; open tasks are shown apart.",
        "Diagnostics judge rates over the trailing 90 days, on leads that finished their sequence.",
    ]
    if report.skipped:
        notes.append(
            "Records left out: "
            + ", ".join(f"{count} {reason}" for reason, count in sorted(report.skipped.items()))
        )
    return notes


# -- csv ---------------------------------------------------------------------------------------

CSV_HEADER = ("window", "section", "dimension", "segment", "metric", "value")


def _summary_rows(prefix: str, summary: Summary) -> Iterator[tuple[str, float | int | None]]:
    yield f"{prefix}_count", summary.count
    yield f"{prefix}_mean", summary.mean
    yield f"{prefix}_median", summary.median
    yield f"{prefix}_p90", summary.p90


def _stats_rows(stats: SegmentStats) -> Iterator[tuple[str, float | int | None]]:
    for name in (
        "leads",
        "enrollments",
        "contacted",
        "responded",
        "replied",
        "connected",
        "meetings",
        "unsubscribes",
        "complaints",
        "bounces",
        "emailed",
        "opened",
        "clicked",
        "sql",
        "opportunities",
        "won",
        "lost",
        "won_amount",
        "meetings_in_time",
        "aged",
        "contact_rate",
        "reply_rate",
        "meeting_rate",
        "open_rate",
        "click_rate",
    ):
        yield name, getattr(stats, name)
    yield from _summary_rows("speed_to_lead_seconds", stats.speed_to_lead)
    yield from _summary_rows("first_human_touch_seconds", stats.first_human_touch)
    yield from _summary_rows("touches_to_first_response", stats.touches_to_response)


def _window_rows(metrics: WindowMetrics) -> Iterator[tuple[str, str, str, str, float | int | None]]:
    for name, value in _stats_rows(metrics.overall):
        yield "overall", "", "", name, value
    for dimension in DIMENSIONS:
        for segment, stats in metrics.breakdowns.get(dimension, {}).items():
            for name, value in _stats_rows(stats):
                yield "breakdown", dimension, segment, name, value
    for cadence, rows in metrics.dropoff.items():
        for r in rows:
            for name in (
                "reached",
                "responded",
                "opted_out",
                "bounced",
                "other_stops",
                "account_stops",
                "waiting",
                "finished",
                "continued",
                "open_tasks",
                "skipped",
                "drop_rate",
            ):
                yield "dropoff", cadence, f"step {r.step} {r.channel}", name, getattr(r, name)
    for c in metrics.channel_mix:
        for name in ("touches", "responses", "open_tasks", "skipped", "touch_share", "response_share"):
            yield "channel_mix", "channel", c.channel, name, getattr(c, name)
    for touches, count in metrics.touches_histogram.items():
        yield "touches_to_first_response", "touches", str(touches), "leads", count


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for metrics in (report.period, report.trailing):
        window = metrics.window.name
        for section, dimension, segment, name, value in _window_rows(metrics):
            writer.writerow((window, section, dimension, segment, name, _cell(value)))
    trailing = report.trailing.window.name
    for test in report.ab_tests:
        where = f"{test.cadence} touch {test.step}"
        for arm in test.arms:
            writer.writerow((trailing, "ab_test", where, arm.variant, "contacts", arm.contacts))
            writer.writerow((trailing, "ab_test", where, arm.variant, "responses", arm.responses))
        writer.writerow((trailing, "ab_test", where, "", "verdict", test.verdict.value))
        writer.writerow((trailing, "ab_test", where, "", "p_value", _cell(test.p_value)))
    for finding in report.findings:
        for name, number_ in finding.numbers.items():
            writer.writerow((trailing, "finding", finding.code, finding.scope, name, _cell(number_)))
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
