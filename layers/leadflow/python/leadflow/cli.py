"""The `leadflow` command: run the engine locally on the Sandbox."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from leadflow.cadence.model import DEFAULT_CADENCE_DIR
from leadflow.report.command import add_report_command, run_report_command

REPO_ROOT = DEFAULT_CADENCE_DIR.parent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run synthetic leads through the cadence on the local Sandbox")
    demo.add_argument("--leads", type=int, default=50, help="number of synthetic leads (default 50)")
    demo.add_argument("--days", type=int, default=5, help="spread arrivals over this many days (default 5)")
    demo.add_argument("--reply-share", type=float, default=0.3, help="share of leads who reply (default 0.3)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--start", default="2026-11-23T09:00:00Z", help="simulated start time (UTC)")
    demo.add_argument("--out", type=Path, default=Path("out"), help="where the report goes (default out/)")

    serve = commands.add_parser("serve", help="expose the Sandbox's HTTP API on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--start", default=None, help="simulated start time (default: now)")
    serve.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="simulated seconds per real second (0: only POST /_sandbox/clock)",
    )
    serve.add_argument(
        "--aws-port",
        type=int,
        default=0,
        help="port of the AWS (moto) endpoint for `leadflow report` (default: any)",
    )

    schema = commands.add_parser("schema", help="print the cadence files' JSON Schema")
    schema.add_argument("--write", action="store_true", help="write it to cadences/cadence.schema.json")

    classify = commands.add_parser(
        "classify", help="classify raw inbound mail: one JSON line per file (kind, lead token, return date)"
    )
    classify.add_argument("files", nargs="+", metavar="FILE.eml")

    add_report_command(commands)

    lint = commands.add_parser("lint", help="check every template against the message rules")
    _file_options(lint)

    preview = commands.add_parser("preview", help="render a cadence's touches for a lead, with send times")
    preview.add_argument("cadence", help="cadence name, e.g. inbound-demo-request")
    preview.add_argument("--lead", type=Path, help="lead JSON file, as posted to /leads (default: a sample)")
    preview.add_argument("--start", default=None, help="when the lead arrives, ISO 8601 (default: now)")
    preview.add_argument("--out", type=Path, default=Path("out/preview"), help="HTML folder (out/preview)")
    _file_options(preview)

    schedule = commands.add_parser(
        "schedule", help="print a cadence's planned touches for a lead, in local time and UTC"
    )
    schedule.add_argument("cadence", help="cadence name, e.g. inbound-demo-request")
    schedule.add_argument("--tz", default=None, help="the lead's IANA time zone, e.g. Europe/Berlin")
    schedule.add_argument("--country", default=None, help="the lead's country (ISO 3166 alpha-2), e.g. DE")
    schedule.add_argument("--at", default=None, help="when the lead posted (ISO 8601; default: now)")

    args = parser.parse_args(argv)
    if args.command == "classify":
        return _classify(args.files)
    if args.command == "report":
        return run_report_command(args)
    if args.command == "lint":
        return _lint(args)
    if args.command == "preview":
        return _preview(args)
    if args.command == "schedule":
        return print_schedule(args.cadence, args.tz, args.country, args.at)
    if args.command == "schema":
        from leadflow.cadence.model import DEFAULT_CADENCE_DIR, SCHEMA_FILE, json_schema_text

        if args.write:
            (DEFAULT_CADENCE_DIR / SCHEMA_FILE).write_text(json_schema_text(), encoding="utf-8")
        else:
            sys.stdout.write(json_schema_text())
        return 0
    if args.command == "demo":
        from leadflow.local.demo import run_demo

        return run_demo(
            leads=args.leads,
            days=args.days,
            reply_share=args.reply_share,
            seed=args.seed,
            start=args.start,
            out=args.out,
        )
    from leadflow.local.serve import serve_forever

    return serve_forever(port=args.port, start=args.start, speed=args.speed, aws_port=args.aws_port)


def _classify(files: Sequence[str]) -> int:
    import json
    from pathlib import Path

    from leadflow.answers.classify import classify

    status = 0
    for name in files:
        try:
            raw = Path(name).read_bytes()
        except OSError as error:
            print(f"leadflow classify: {name}: {error.strerror}", file=sys.stderr)
            status = 1
            continue
        result = classify(raw)
        line = {
            "file": name,
            "kind": result.kind.value,
            "lead_token": result.lead_token,
            "return_date": result.return_date.isoformat() if result.return_date else None,
        }
        print(json.dumps(line, ensure_ascii=False))
    return status


def _file_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--cadences", type=Path, default=DEFAULT_CADENCE_DIR, help="cadence folder")
    command.add_argument("--templates", type=Path, default=REPO_ROOT / "templates", help="template folder")
    command.add_argument(
        "--config", type=Path, default=REPO_ROOT / "config" / "leadflow.yaml", help="operator configuration"
    )


def _lint(args: argparse.Namespace) -> int:
    from leadflow.cadence.model import load_cadences
    from leadflow.operator_config import load_operator_config
    from leadflow.send.lint import lint, targets

    cadences = load_cadences(args.cadences, args.templates).values()
    violations = lint(cadences, args.templates, load_operator_config(args.config))
    for violation in violations:
        print(violation)
    checked = len(targets(cadences, args.templates))
    if violations:
        templates = len({violation.template for violation in violations})
        print(f"{len(violations)} violations in {templates} of {checked} messages", file=sys.stderr)
        return 1
    print(f"{checked} messages in {len(cadences)} cadences: no violations")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from leadflow import clock
    from leadflow.local.preview import PreviewError, preview

    start = clock.parse_iso(args.start) if args.start else clock.now().replace(second=0, microsecond=0)
    try:
        text = preview(
            args.cadence,
            lead_file=args.lead,
            start=start,
            out_dir=args.out,
            cadence_dir=args.cadences,
            template_dir=args.templates,
            config_file=args.config,
        )
    except PreviewError as error:
        print(f"leadflow preview: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


def print_schedule(name: str, timezone: str | None, country: str | None, at: str | None) -> int:
    from leadflow import clock
    from leadflow.cadence.model import load_cadences
    from leadflow.cadence.schedule import locale_for, plan_touches

    known = load_cadences()
    if name not in known:
        print(f"leadflow schedule: no cadence {name!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
        return 2
    cadence, window = known[name], known[name].window
    start = clock.parse_iso(at) if at else clock.now()
    locale = locale_for(timezone, country, window)
    tz = locale.tz
    days = ", ".join(day.value for day in window.weekdays)
    holidays = (
        f", skipping {locale.country} public holidays" if window.skip_holidays and locale.country else ""
    )
    print(f"{cadence.name} for a lead in {locale.zone} ({locale.country or 'no country'})")
    print(f"posted {start.astimezone(tz):%a %Y-%m-%d %H:%M %Z} = {clock.iso(start)}")
    print(f"window {days} {window.start:%H:%M}-{window.end:%H:%M} local{holidays}")
    print()
    print(f"{'#':>2}  {'day':>3}  {'channel':<8}  {'touch':<16}  {'local':<24}  {'UTC':<20}  note")
    for item in plan_touches(cadence, start, locale):
        if item.number == 1 and item.due == start:
            note = "at once"
        elif item.pushed_days:
            note = f"pushed {item.pushed_days} day(s): " + "; ".join(item.reasons)
        else:
            note = ""
        local = f"{item.due.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"
        columns = [f"{item.number:>2}", f"{item.touch.day:>3}", f"{item.touch.channel.value:<8}"]
        columns += [f"{item.touch.name:<16}", f"{local:<24}", f"{clock.iso(item.due):<20}", note]
        print("  ".join(columns).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
