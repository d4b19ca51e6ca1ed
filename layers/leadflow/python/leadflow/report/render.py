"""Render a Report as an email-safe HTML page, a plain-text alternative, and a CSV of the numbers.

The HTML is built for mail clients: tables for layout, inline CSS, bar charts
as table cells with fixed pixel widths; no script, no SVG, no external images.
The CSV is long-format (one number per row) so a spreadsheet can pivot it.
"""

from __future__ import annotations

import csv
import io
import math
import quopri
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, ModuleLoader, StrictUndefined

from leadflow.report.build import Report
from leadflow.report.diagnostics import (
    CONTACT_RATE_BANDS,
    REPLY_RATE_BAND,
    REPLY_RATE_FLOOR,
    SPEED_TO_LEAD_TARGET,
    SQL_RATE_BANDS,
    VERDICTS,
    Finding,
    band_text,
    duration,
    human_duration,
    pct,
)
from leadflow.report.metrics import DIMENSIONS, HumanSpeed, SegmentStats, Summary, WindowMetrics
from leadflow.report.trends import periods

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


def _sql(s: SegmentStats) -> str:
    return _count_rate(s.sql, s)


def _human(speed: HumanSpeed | None) -> str:
    if speed is None:
        return "n/a"
    return f"{speed.within_target} of {speed.leads} / {human_duration(speed.median)}"


def kpis(report: Report) -> list[Kpi]:
    week, trailing = report.period.overall, report.trailing.overall

    def row(label: str, value: Any, note: str = "") -> Kpi:
        return Kpi(label, value(week), value(trailing), note)

    contact_bands = ", ".join(
        f"{kind} {pct(low, 0)}–{pct(high, 0)}" for kind, (low, high) in CONTACT_RATE_BANDS.items()
    )
    rows = [
        row("Leads", lambda s: number(s.leads), "people; each counts once, however many cadences"),
        row(
            "New leads",
            lambda s: number(s.arrived),
            "arrived in the window; Leads adds earlier ones re-enrolled",
        ),
        row("Enrollments", lambda s: number(s.enrollments), "a lead in two cadences is two enrollments"),
        row("Contacted", lambda s: _count_rate(s.contacted, s), "got a touch, or answered"),
        row(
            "Contact rate",
            lambda s: f"{pct(s.contact_rate)} ({s.responded})",
            f"responded: reply, connected call or meeting; band: {contact_bands}",
        ),
        row(
            "Reply rate",
            lambda s: f"{pct(s.reply_rate)} ({s.replied})",
            band_text(*REPLY_RATE_BAND, REPLY_RATE_FLOOR),
        ),
        row("Connected calls", lambda s: _count_rate(s.connected, s)),
        row("Meetings booked", lambda s: _count_rate(s.meetings, s), "each lead once"),
        row(
            "Follow-up to SQL",
            _sql,
            "set by the CRM; band: inbound "
            + band_text(*SQL_RATE_BANDS["inbound"]).removeprefix("band ")
            + ", outbound "
            + band_text(*SQL_RATE_BANDS["cold"]).removeprefix("band "),
        ),
        row(
            "Opportunities / won",
            lambda s: f"{s.opportunities} / {s.won}" + (f" ({number(s.won_amount)})" if s.won_amount else ""),
        ),
        row("Unsubscribes", lambda s: _count_rate(s.unsubscribes, s)),
        row("Complaints", lambda s: _count_rate(s.complaints, s), "keep under 0.1% of emailed leads"),
        row("Bounces", lambda s: _count_rate(s.bounces, s), "keep under 5% of emailed leads"),
        Kpi(
            "Speed to lead (a person calls): within 5 min / median",
            _human(report.human_speed[0] if report.human_speed else None),
            _human(report.human_speed_trailing),
            "new leads owed a speed-to-lead call; never called counts as a miss; band: median at most 5 min",
        ),
        row(
            "Automated first touch, median / p90",
            lambda s: f"{duration(s.speed_to_lead.median)} / {duration(s.speed_to_lead.p90)}",
            "form post to the robot's first email or text; at most 5 min",
        ),
        row(
            "First human touch, median / p90",
            lambda s: (
                f"{duration(s.first_human_touch.median)} / {duration(s.first_human_touch.p90)}"
                f" ({s.first_human_touch.count})"
            ),
            "form post to the first rep task done, over the leads a rep reached; the speed-to-lead "
            "verdict (never-called leads as misses) is under Speed to lead",
        ),
        row(
            "Touches to first response, mean / median",
            lambda s: f"{number(s.touches_to_response.mean)} / {number(s.touches_to_response.median)}",
            "band: at most 8 on average",
        ),
    ]
    if report.trailing.engagement_tracked:
        rows.append(
            row(
                "Opened / clicked",
                lambda s: f"{pct(s.open_rate)} / {pct(s.click_rate)}",
                "of emailed leads; opens: at least 25% (inflated by privacy proxies)",
            )
        )
    return rows


# -- trends ------------------------------------------------------------------------------------


def trend_value(kind: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if kind == "rate":
        return pct(value, 0)
    if kind == "seconds":
        return duration(value)
    return number(value)


def spark(values: tuple[float | None, ...] | list[float | None], height: int = 16) -> list[int]:
    """Bar heights in pixels, scaled to the largest value (at least 1 px for a value, 0 for none)."""
    top = max((value for value in values if value is not None), default=0.0)
    return [0 if value is None or top <= 0 else max(1, round(value / top * height)) for value in values]


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def spark_text(values: tuple[float | None, ...] | list[float | None]) -> str:
    return "".join(" " if h == 0 else SPARK_BLOCKS[min(7, (h - 1) * 8 // 16)] for h in spark(values))


def spark_runs(
    values: tuple[float | None, ...] | list[float | None], marks: Collection[int] = ()
) -> list[tuple[str, str]]:
    """The HTML sparkline: block characters (as the text part's) in runs of one colour, so a 5-period
    line is two or three spans, not a table of sized cells (~0.6 KB a line, 11 KB for the demo's
    trends). The period's own in blue, earlier ones grey, orange where a cadence changed; no value:
    a pale lowest block."""
    runs: list[tuple[str, str]] = []
    for index, height in enumerate(spark(values)):
        if not height:
            color, block = "#e5e7eb", SPARK_BLOCKS[0]
        else:
            block = SPARK_BLOCKS[min(7, (height - 1) * 8 // 16)]
            color = "#d97706" if index in marks else "#2563eb" if index == len(values) - 1 else "#9ca3af"
        if runs and runs[-1][0] == color:
            runs[-1] = (color, runs[-1][1] + block)
        else:
            runs.append((color, block))
    return runs


@dataclass(frozen=True)
class FunnelRow:
    """One segment's funnel over the trailing 90 days, with its leads this period."""

    name: str
    period_leads: int
    stats: SegmentStats
    trailing_leads: int

    def cells(self) -> list[tuple[int, float | None]]:
        s = self.stats
        steps = (s.leads, s.contacted, s.responded, s.replied, s.meetings, s.sql, s.opportunities)
        return [(count, count / s.leads if s.leads else None) for count in steps]


FUNNEL_HEADER = ("Leads", "Cont.", "Resp.", "Repl.", "Mtg", "SQL", "Opp.")
FUNNEL_LEGEND = (
    "Cont.: contacted (got a touch or answered) · Resp.: responded (reply, connected call or meeting) · "
    "Repl.: replied · Mtg: booked a meeting · SQL and Opp.: set by the CRM. % of the segment's leads."
)


def funnel_rows(report: Report, dimension: str) -> list[FunnelRow]:
    week = report.period.breakdowns.get(dimension, {})
    trailing = report.trailing.breakdowns.get(dimension, {})
    rows = []
    for name in sorted(trailing.keys() | week.keys()):
        stats = trailing.get(name) or week[name]
        label = name
        if dimension == "owner" and name in report.owner_names:
            label = f"{report.owner_names[name]} ({name})"
        period_leads = week[name].leads if name in week else 0
        rows.append(FunnelRow(label, period_leads, stats, stats.leads))
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


# Gmail clips a message whose HTML passes 102 KB. The HTML part stays under 90 KB as the email carries
# it (quoted-printable, which spells each "=" of the inline styles as "=3D"): every table shows its
# largest rows, as many as fit, then "and N more"; the attached CSV has them all.
HTML_BUDGET = 90_000
# (segments of each funnel breakdown, rows of every other table), tried in turn until one fits: the
# eight breakdowns give way first, the findings, drop-off and rep tables last; the breakdowns' own
# rows go only if one row of everything does not fit (all of them are in the CSV).
HTML_LIMITS = (
    *((segments, 12) for segments in (12, 8, 5, 3, 2, 1)),
    *((1, rows) for rows in (8, 5, 3, 2, 1)),
    (0, 1),
)


def mail_size(html: str) -> int:
    """Bytes of the HTML part as the email carries it (quoted-printable, as send.mail encodes it)."""
    encoded = quopri.encodestring(html.encode("utf-8"))
    return len(encoded) + encoded.count(b"\n")  # each line ends in CRLF on the wire


def capped(rows: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first `limit` rows, and how many were cut."""
    return rows[:limit], max(0, len(rows) - limit)


def verdicts(report: Report) -> list[Finding]:
    """What the report opens with: the findings that cost the most, already in that order."""
    return report.findings[:VERDICTS]


def _largest(rows: list[FunnelRow], limit: int) -> tuple[list[FunnelRow], int]:
    if len(rows) <= limit:
        return rows, 0
    kept = sorted(rows, key=lambda row: -row.trailing_leads)[:limit]
    return sorted(kept, key=lambda row: row.name), len(rows) - limit


def _busiest(report: Report, limit: int) -> list[Any]:
    """The reps with the most tasks and leads, at least 3 (as many as fit; the text has them all)."""
    if len(report.reps) <= max(limit, 3):
        return report.reps
    kept = sorted(report.reps, key=lambda rep: -(rep.due + rep.leads))[: max(limit, 3)]
    return sorted(kept, key=lambda rep: rep.owner)


TEMPLATE_DIR = Path(__file__).parent / "templates"


def _environment() -> Environment:
    return environment(precompiled=True)


@cache
def environment(*, precompiled: bool) -> Environment:
    """The report's templates; `precompiled`: from leadflow.compiled's modules when they were compiled from
    these very files (a cold start skips ~0.3 s of parsing and code generation), else from the files."""
    from leadflow import compiled

    built = compiled.report_templates(TEMPLATE_DIR) if precompiled else None
    return Environment(
        loader=ModuleLoader(built) if built else FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(report: Report, archive_location: str, segments: int, rows: int) -> dict[str, Any]:
    """`segments`: rows of each funnel breakdown; `rows`: of every other table."""
    trailing = report.trailing
    findings, hidden_findings = capped(report.findings, max(rows, VERDICTS))
    checks, hidden_checks = capped(report.scorecard, max(rows, 2) * 2)
    human_rows, hidden_human = capped(report.human_speed, rows + 1)  # everyone, then reps
    cadence_trends, hidden_cadence_trends = capped(sorted(report.cadence_trends.items()), rows)
    ab_tests, hidden_ab_tests = capped(report.ab_tests, rows)
    changes, hidden_changes = capped(report.changes, rows)
    largest = sorted(
        trailing.dropoff, key=lambda name: -max((r.reached for r in trailing.dropoff[name]), default=0)
    )
    dropoff, hidden_dropoff = capped(largest, rows)
    intent_rows, hidden_intents = capped(list(trailing.intents.items()), rows)
    channels, hidden_channels = capped(trailing.channel_mix, max(rows, 3))
    return {
        "r": report,
        "archive": archive_location,
        "verdicts": verdicts(report),
        "findings": findings,
        "hidden_findings": hidden_findings,
        "checks": checks,
        "hidden_checks": hidden_checks,
        "human_rows": human_rows,
        "hidden_human": hidden_human,
        "speed_target": SPEED_TO_LEAD_TARGET,
        "human_duration": human_duration,
        "owner_label": lambda owner: _owner_label(report, owner),
        "cadence_trends": cadence_trends,
        "hidden_cadence_trends": hidden_cadence_trends,
        "ab_tests": ab_tests,
        "changes": changes,
        "hidden_changes": hidden_changes,
        "hidden_ab_tests": hidden_ab_tests,
        "dropoff": [(name, *capped(trailing.dropoff[name], max(rows, 3))) for name in sorted(dropoff)],
        "hidden_dropoff": hidden_dropoff,
        "intent_rows": intent_rows,
        "hidden_intents": hidden_intents,
        "channels": channels,
        "hidden_channels": hidden_channels,
        "kpis": kpis(report),
        "segments": [(DIMENSION_TITLES[d], *_largest(funnel_rows(report, d), segments)) for d in DIMENSIONS],
        "reps": _busiest(report, rows),
        "hidden_reps": max(0, len(report.reps) - len(_busiest(report, rows))),
        "funnel_header": FUNNEL_HEADER,
        "funnel_legend": FUNNEL_LEGEND,
        "trend_value": trend_value,
        "spark_runs": spark_runs,
        "period_starts": [window.start for window in periods(report.period.window)],
        "histogram": histogram_rows(report.trailing),
        "intents": INTENTS,
        "due_back_days": Counter(f"{local(report, snooze.due):%a %d %b}" for snooze in report.due_back),
        "definitions": definitions(report),
        "cohorts": cohorts(report),
        "values": [(DIMENSION_TITLES[d], *capped(value_rows(report, d), rows)) for d in VALUE_DIMENSIONS],
        "reply_steps": capped(reply_steps(report), rows),
        "pct": pct,
        "number": number,
        "duration": duration,
        "local": lambda moment: local(report, moment),
    }


def render_html(report: Report, archive_location: str) -> str:
    template = _environment().get_template("report.html.j2")
    for segments, rows in HTML_LIMITS:
        html = template.render(_context(report, archive_location, segments, rows))
        if mail_size(html) < HTML_BUDGET:
            break
    return html


def subject(report: Report) -> str:
    """Names the top finding: what the reader should look at first."""
    top = report.findings[0].headline if report.findings else "nothing outside its band"
    acts = sum(1 for finding in report.findings if finding.severity == "act")
    more = f" (+{acts - 1} more to act on)" if acts > 1 else ""
    return f"{report.company} follow-up report, {report.period.window.name}: {top}{more}"


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
        *verdict_lines(report),
        "",
        *speed_lines(report),
        "",
        "HEADLINES (this period / trailing 90 days)",
    ]
    lines += _table(
        ["metric", "period", "90 days", "note"], [[k.label, k.week, k.trailing, k.note] for k in kpis(report)]
    )
    if report.sending is not None:
        lines += ["", "SENDING HEALTH (the reputation guard)", report.sending.line()]
    lines += ["", "WHAT TO CHANGE (every finding, in the verdicts' order, with its evidence)"]
    if not report.findings:
        lines.append("Nothing outside the playbooks' healthy bands.")
    for finding in report.findings:
        lines += [
            f"[{finding.severity}] {finding.headline}",
            f"    {finding.evidence}",
            f"    -> {finding.recommendation}",
        ]
    lines += [
        "",
        "AGAINST THE PLAYBOOK (trailing 90 days, complete cohorts: leads whose outcome window has passed)",
    ]
    lines += [f"  {line}" for line in cohort_lines(report)]
    lines += [f"  {check.line}" for check in report.scorecard] or ["  Nothing to judge yet."]
    lines += ["", *trend_lines(report)]
    lines += ["", *rep_lines(report)]
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
                    "due",
                    "reached",
                    "skipped",
                    "replies (share)",
                    "responded",
                    "opted out",
                    "bounced",
                    "other",
                    "drop",
                    "colleague answered",
                    "waiting",
                    "finished",
                    "open tasks",
                ],
                [
                    [
                        str(r.step),
                        r.channel,
                        str(r.due),
                        str(r.reached),
                        str(r.skipped),
                        f"{r.replies} ({pct(r.reply_share, 0)})",
                        str(r.responded),
                        str(r.opted_out),
                        str(r.bounced),
                        str(r.other_stops),
                        pct(r.drop_rate),
                        str(r.account_stops),
                        str(r.waiting),
                        str(r.finished),
                        str(r.open_tasks),
                    ]
                    for r in rows
                ],
            )
        ]
    lines += ["", *manager_lines(report)]
    lines += ["", *intent_lines(report)]
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
        funnel = funnel_rows(report, dimension)
        lines += ["", f"BY {DIMENSION_TITLES[dimension].upper()} (funnel over the trailing 90 days)"]
        lines += _table(
            ["segment", "this period", *FUNNEL_HEADER],
            [
                [row.name, str(row.period_leads)]
                + [
                    f"{count} ({pct(share, 0)})" if index else str(count)
                    for index, (count, share) in enumerate(row.cells())
                ]
                for row in funnel
            ]
            or [["(none)"] + [""] * 8],
        )
    lines += ["", FUNNEL_LEGEND, *definitions(report)]
    return "\n".join(lines) + "\n"


def verdict_lines(report: Report) -> list[str]:
    lines = ["VERDICTS (what costs the most pipeline first: act before watch, then the leads at stake)"]
    lines += [f"{n}. [{f.severity}] {f.sentence}" for n, f in enumerate(verdicts(report), start=1)]
    return lines if len(lines) > 1 else [*lines, "Nothing is outside its band."]


def speed_lines(report: Report) -> list[str]:
    lines = [
        "SPEED TO LEAD (this period; new leads owed a call: form post to a person's first call; "
        "never called counts as a miss; band at most 5 min)"
    ]
    if report.human_speed:
        lines += _table(
            ["who", "within 5 min", "median", "never called"],
            [
                [
                    _owner_label(report, h.owner) if h.owner else "Everyone",
                    f"{h.within_target} of {h.leads}",
                    human_duration(h.median),
                    str(h.never_called),
                ]
                for h in report.human_speed
            ],
        )
    else:
        lines.append("No new lead was owed a speed-to-lead call this period.")
    robot = report.period.overall.speed_to_lead
    lines.append(
        f"Automated first touch (the robot's email or text, not a person): {duration(robot.median)} median, "
        f"{duration(robot.p90)} p90."
    )
    return lines


INTENTS = ("interested", "question", "not_now", "referral", "wrong_person", "not_interested", "unsubscribe")


# -- what a manager asks (issue 27, item 5) -------------------------------------------------------

VALUE_DIMENSIONS = ("source", "form", "cadence", "owner")


@dataclass(frozen=True)
class ValueRow:
    """One segment's deals over the trailing 90 days: the funnel row's opportunities and won leads, and
    their values (the CRM's amounts: Facts.deal_amount)."""

    name: str
    leads: int
    opportunities: int
    pipeline: float
    won: int
    won_amount: float


def value_rows(report: Report, dimension: str) -> list[ValueRow]:
    """The segments with an opportunity, most pipeline first."""
    rows = [
        ValueRow(
            _owner_label(report, name) if dimension == "owner" else name,
            stats.leads,
            stats.opportunities,
            stats.pipeline_amount,
            stats.won,
            stats.won_amount,
        )
        for name, stats in report.trailing.breakdowns.get(dimension, {}).items()
        if stats.opportunities
    ]
    return sorted(rows, key=lambda row: (-row.pipeline, -row.opportunities, row.name))


def reply_steps(report: Report) -> list[tuple[str, list[tuple[int, str, int, float]]]]:
    """By cadence, the steps whose touch drew first replies: (step, channel, replies, share)."""
    found = []
    for cadence, rows in report.trailing.dropoff.items():
        steps = [(r.step, r.channel, r.replies, r.reply_share or 0.0) for r in rows if r.replies]
        if steps:
            found.append((cadence, steps))
    return found


def manager_lines(report: Report) -> list[str]:
    lines = ["WHAT A MANAGER ASKS (trailing 90 days)"]
    for name, flow in report.meetings.items():
        lines.append(
            f"Meetings ({name}): {flow.booked} booked, {flow.held} held, {flow.missed} missed; "
            f"show rate {pct(flow.show_rate, 0)} (held of those whose time came)"
        )
    lines.append("Which step earns the replies (first replies by the touch that drew them):")
    lines += [
        f"  {cadence}: "
        + " · ".join(
            f"step {step} {channel} {replies} ({pct(share, 0)})" for step, channel, replies, share in steps
        )
        for cadence, steps in reply_steps(report)
    ] or ["  No replies yet."]
    if not report.trailing.stages_tracked:
        lines.append("Pipeline and won value: no CRM stage recorded yet (docs/integrations.md).")
        return lines
    for dimension in VALUE_DIMENSIONS:
        lines += ["", f"Pipeline and won value by {DIMENSION_TITLES[dimension].lower()}"]
        lines += _table(
            ["segment", "leads", "opportunities", "pipeline", "won", "won value"],
            [
                [
                    r.name,
                    str(r.leads),
                    str(r.opportunities),
                    number(r.pipeline),
                    str(r.won),
                    number(r.won_amount),
                ]
                for r in value_rows(report, dimension)
            ]
            or [["(no opportunity yet)", "", "", "", "", ""]],
        )
    return lines


def intent_lines(report: Report) -> list[str]:
    """What the replies said, by cadence and step (issue 24), and the not-now leads due back."""
    lines = ["REPLY INTENTS (trailing 90 days; leads by their first reply, a rep's correction counts)"]
    mixes = report.trailing.intents
    for cadence, mix in mixes.items():
        lines.append(
            f"{cadence}: reply rate {pct(mix.reply_rate)} ({mix.replied} of {mix.leads}), "
            f"positive reply rate {pct(mix.positive_reply_rate)} ({mix.positive} of {mix.leads})"
        )
        if mix.by_step:
            lines += [
                "    " + line
                for line in _table(
                    ["step", *INTENTS],
                    [
                        [str(step) if step else "before any", *(str(counts.get(i, 0)) for i in INTENTS)]
                        for step, counts in mix.by_step.items()
                    ],
                )
            ]
    if not mixes:
        lines.append("No enrollments.")
    days = Counter(f"{local(report, snooze.due):%a %d %b}" for snooze in report.due_back)
    owners = Counter(_owner_label(report, snooze.owner) for snooze in report.due_back)
    lines += ["", f"NOT-NOW LEADS DUE BACK THIS WEEK: {len(report.due_back)}"]
    if report.due_back:
        lines.append("  by day: " + ", ".join(f"{day} {count}" for day, count in days.items()))
        lines.append(
            "  by owner: " + ", ".join(f"{owner} {count}" for owner, count in sorted(owners.items()))
        )
    return lines


def trend_lines(report: Report) -> list[str]:
    starts = [f"{local(report, window.start):%d %b}" for window in periods(report.period.window)]
    lines = [f"TRENDS (this period against the 4 before it: {', '.join(starts)}; each as of its own end)"]
    rows = [
        [
            trend.label,
            " ".join(trend_value(trend.kind, value) for value in trend.values),
            spark_text(trend.values),
        ]
        for trend in report.trends
    ]
    lines += _table(["headline", "oldest -> this period", ""], rows)
    if report.cadence_trends:
        lines += ["", "Contact rate by cadence"]
        lines += _table(
            ["cadence", "oldest -> this period", ""],
            [
                [name, " ".join(trend_value("rate", value) for value in values), spark_text(values)]
                for name, values in sorted(report.cadence_trends.items())
            ],
        )
    for change in report.changes:
        lines.append(
            f"* {change.cadence} changed since {local(report, change.since):%a %d %b %Y} "
            f"(version {change.version}): compare the periods from then on."
        )
    return lines


def rep_lines(report: Report) -> list[str]:
    lines = ["REP ACTIVITY (this period)"]
    rows = [
        [
            _owner_label(report, rep.owner),
            str(rep.due),
            str(rep.done),
            str(rep.overdue),
            str(rep.earlier_open),
            f"{duration(rep.first_human_touch.median)} ({rep.within_target}/{rep.first_human_touch.count})",
            f"{pct(rep.contact_rate, 0)} ({rep.responded}/{rep.leads})",
        ]
        for rep in report.reps
    ]
    header = [
        "owner",
        "tasks due",
        "done",
        "overdue",
        "open from earlier weeks",
        "first human touch (<= 5 min)",
        "contact rate",
    ]
    return lines + (_table(header, rows) if rows else ["  No rep tasks or new leads."])


def cohorts(report: Report) -> dict[str, dict[str, int]]:
    """Which leads the bands judge: cohort label -> cadence -> its leads in that cohort (the funnel rows
    count every lead of the 90 days). Cadences of one length share a label."""
    settled = report.trailing.settled["cadence"]
    grouped: dict[str, dict[str, int]] = {}
    for cadence, cohort in report.trailing.cohorts.items():
        grouped.setdefault(cohort.label, {})[cadence] = settled[cadence].leads if cadence in settled else 0
    return grouped


def cohort_lines(report: Report) -> list[str]:
    return [
        f"{label}: " + ", ".join(f"{cadence} {leads}" for cadence, leads in by_cadence.items())
        for label, by_cadence in cohorts(report).items()
    ]


def _owner_label(report: Report, owner: str) -> str:
    return f"{report.owner_names[owner]} ({owner})" if owner in report.owner_names else owner


def definitions(report: Report) -> list[str]:
    notes = [
        "Every rate is per lead: the share of the leads (people) enrolled in the window that did it, "
        "counting what happened up to the window's end. A lead in two cadences counts in each cadence's "
        "row and once overall; enrollments are counted apart.",
        "Drop-off: each enrollment ends at its last step in one column (responded, left, colleague "
        "answered, waiting or finished), so a step's due = the next step's due + those; reached: got "
        "the step's touch (skipped touches and open tasks are not reached); replies: first replies "
        "that step's touch drew, and their share of the cadence's.",
        "Rep activity: tasks that fell due in the period, done or still open (overdue) at its end; "
        "tasks due earlier and still open are counted apart.",
        "Channel and variant rows count the leads that received one, and the outcomes their touches drew.",
        "A rep task counts as a touch once its outcome is recorded; open tasks are shown apart.",
        "Diagnostics judge rates over the trailing 90 days on complete cohorts: the leads enrolled at least "
        "their cadence's outcome window (its days and a week's grace) before the end, responders and the "
        "others counted at the same moment. The funnel rows count every lead of the 90 days, to date.",
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
        "pipeline_amount",
        "meetings_in_time",
        "aged",
        "arrived",
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
                "due",
                "reached",
                "replies",
                "reply_share",
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
    for cadence, mix in metrics.intents.items():
        yield "reply_intents", cadence, "", "reply_rate", mix.reply_rate
        yield "reply_intents", cadence, "", "positive_reply_rate", mix.positive_reply_rate
        for step, counts in mix.by_step.items():
            for intent, count in sorted(counts.items()):
                yield "reply_intents", cadence, f"step {step}", intent, count


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
    for rank, finding in enumerate(report.findings, start=1):
        writer.writerow((trailing, "finding", finding.code, finding.scope, "rank", rank))
        writer.writerow(
            (trailing, "finding", finding.code, finding.scope, "severity", finding.severity.value)
        )
        writer.writerow((trailing, "finding", finding.code, finding.scope, "at_stake", finding.at_stake))
        writer.writerow((trailing, "finding", finding.code, finding.scope, "sentence", finding.sentence))
        for name, number_ in finding.numbers.items():
            writer.writerow((trailing, "finding", finding.code, finding.scope, name, _cell(number_)))
    for check in report.scorecard:
        writer.writerow((trailing, "scorecard", check.scope, check.label, "value", check.value))
        writer.writerow((trailing, "scorecard", check.scope, check.label, "verdict", check.verdict))
    for name, flow in report.meetings.items():
        for metric in ("booked", "held", "missed", "recaps_due", "recaps_in_time", "show_rate", "recap_rate"):
            writer.writerow((trailing, "meetings", name, "", metric, _cell(getattr(flow, metric))))
    period = report.period.window.name
    for h in report.human_speed:
        owner = h.owner or "everyone"
        for metric in ("leads", "called", "within_target", "never_called"):
            writer.writerow((period, "speed_to_lead", "owner", owner, metric, getattr(h, metric)))
        median = "never" if h.median is not None and not math.isfinite(h.median) else _cell(h.median)
        writer.writerow((period, "speed_to_lead", "owner", owner, "median_seconds", median))
    for rep in report.reps:
        for metric in ("due", "done", "overdue", "within_target", "leads", "responded"):
            writer.writerow((period, "rep_activity", "owner", rep.owner, metric, getattr(rep, metric)))
    for cadence, values in sorted(report.cadence_trends.items()):
        for earlier, value in zip(periods(report.period.window), values, strict=False):
            writer.writerow((period, "trend", cadence, earlier.name, "contact_rate", _cell(value)))
    for change in report.changes:
        writer.writerow((period, "change", change.cadence, change.version, "since", change.since.isoformat()))
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
