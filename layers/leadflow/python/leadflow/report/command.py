"""`leadflow report`: build the report from a running `leadflow serve` or a deployed stack.

Reads DynamoDB through boto3 with the usual `--profile`/`--region`, and an
`--endpoint-url` for the Sandbox's moto endpoint (printed by `leadflow serve`).
Writes report.html, report.txt and report.csv; it sends and archives nothing.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from leadflow import aws


def add_report_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="write the weekly report for a running `leadflow serve` or a deployed stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--since",
        type=moment_text,
        help="period start: YYYY-MM-DD (local midnight) or ISO time (default: 7 days before --until)",
    )
    report.add_argument("--until", type=moment_text, help="period end, likewise (default: now)")
    report.add_argument(
        "--out", type=Path, default=Path("out"), help="directory for the files (default out/)"
    )
    aws.add_stack_options(report)


def moment_text(text: str) -> str:
    """Checks a --since/--until value parses (its zone is only known once the config is read)."""
    try:
        parse_moment(text, "UTC")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: not a date or ISO time, e.g. 2026-11-23 or 2026-11-23T09:00:00Z"
        ) from None
    return text


def parse_moment(text: str, timezone: str) -> datetime:
    """YYYY-MM-DD is local midnight in the report's time zone; anything else is an ISO time."""
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone))
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def run_report_command(args: argparse.Namespace) -> int:
    # The report reads no secret, but settings require the variable.
    aws.use_stack(args)
    from leadflow import clock
    from leadflow.config import operator_config
    from leadflow.report.build import period_between
    from leadflow.report.render import render_csv, render_html, render_text
    from leadflow.report.weekly import make_report

    timezone = operator_config().report.schedule.timezone
    until = parse_moment(args.until, timezone) if args.until else clock.now()
    since = parse_moment(args.since, timezone) if args.since else until - timedelta(days=7)
    if since >= until:
        raise ValueError("--since must be before --until")
    report = make_report(period_between(since, until))
    location = f"{args.out / 'report.html'} (local run, not archived)"
    args.out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.html": render_html(report, location),
        "report.txt": render_text(report, location),
        "report.csv": render_csv(report),
    }
    for name, body in files.items():
        (args.out / name).write_text(body, encoding="utf-8")
    overall = report.period.overall
    print(
        # New leads as the report's headline counts them; enrolled also counts earlier leads enrolled
        # again (a post-meeting or not-now cadence).
        f"leadflow report {clock.iso(since)} .. {clock.iso(until)}: {overall.arrived} new leads "
        f"({overall.leads} leads enrolled in the period), {len(report.findings)} findings"
    )
    print(f"  wrote {', '.join(str(args.out / name) for name in files)}")
    return 0
