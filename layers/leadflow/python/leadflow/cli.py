"""The `leadflow` command: run the engine locally on the Sandbox, and operate a deployed stack.

Expected failures (a bad argument, a broken file, no credentials, an unreachable endpoint) print
one line on stderr and exit 2; `--debug` anywhere on the line shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from leadflow import aws
from leadflow.cadence import operate
from leadflow.cadence.terms import DEFAULT_CADENCE_DIR
from leadflow.operate import add_operator_commands, run_operator_command
from leadflow.report.command import add_report_command, run_report_command

REPO_ROOT = DEFAULT_CADENCE_DIR.parent
# Exit status of an expected failure (argparse uses 2 for usage errors too).
USAGE_ERROR = 2
INTERNAL_ERROR = 1
OPERATOR_COMMANDS = ("lead", "suppress", "enroll", "reengage", "held")


class CommandError(Exception):
    """An expected failure of a command: its message is printed as one line."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `leadflow schedule: argument --tz: ...` and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(USAGE_ERROR)


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a validator raising ValueError: its message becomes the usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{text!r}: {one_line(str(error))}") from None

    convert.__name__ = parse.__name__
    return convert


def _moment(text: str) -> datetime:
    """ISO 8601 time (Z or offset; naive is UTC) or a date (midnight UTC)."""
    from leadflow import clock

    try:
        return clock.parse_iso(text)
    except ValueError:
        raise ValueError("not an ISO 8601 time, e.g. 2026-11-23T09:00:00Z or 2026-11-23") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date, e.g. 2026-12-01") from None


def _zone(text: str) -> str:
    from leadflow import fields

    return fields.time_zone(text)


def _country(text: str) -> str:
    from leadflow import fields

    return fields.country_code(text)


def _at_least(minimum: int) -> Callable[[str], int]:
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    whole.__name__ = "number"
    return _checked(whole)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 <= value <= 1:
        raise ValueError("a share is between 0 and 1, e.g. 0.3")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("a port is between 0 and 65535")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


moment = _checked(_moment)
day = _checked(_day)
zone = _checked(_zone)
country = _checked(_country)


def one_line(text: str) -> str:
    """A multi-line message (YAML errors, a cadence file's field list) as one line."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    arguments = [argument for argument in arguments if argument != "--debug"]
    parser = build_parser()
    args = parser.parse_args(arguments)
    name = f"leadflow {args.command}"
    _logs_to_stderr()
    if debug:
        return run(args)
    try:
        return run(args)
    except BrokenPipeError:
        # The reader (head, less) left: stop writing, say so once.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"{name}: output closed early (broken pipe)", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the one place errors become a line
        message, status = describe_error(error)
        print(f"{name}: {message}", file=sys.stderr)
        return status


class _Stderr:
    """Whatever sys.stderr is when a line is written (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _logs_to_stderr() -> None:
    """The functions' JSON log lines go to stdout in Lambda; on the command line stdout is the
    command's data (`--json`), so the domain code's logs go to stderr."""
    import logging

    from leadflow.observability import logger

    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(_Stderr())


def describe_error(error: BaseException) -> tuple[str, int]:
    """One line for a failure and the exit status: 2 for what a user can cause, 1 for a bug."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials: pass --profile (or set AWS_PROFILE), or --endpoint-url for a local "
            "`leadflow serve`",
            USAGE_ERROR,
        )
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach {error.kwargs.get('endpoint_url')}: is it running?", USAGE_ERROR
    if isinstance(error, ProfileNotFound | NoRegionError):
        return one_line(str(error)), USAGE_ERROR
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"AWS refused: {details.get('Code')}: {one_line(str(details.get('Message')))}", USAGE_ERROR
    if isinstance(error, BotoCoreError):
        return one_line(str(error)), USAGE_ERROR
    if isinstance(error, CommandError | ValueError | LookupError):
        # ValueError covers pydantic's ValidationError, broken cadence/config files and YAML errors.
        text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        return one_line(text), USAGE_ERROR
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}", USAGE_ERROR
    return f"internal error: {type(error).__name__}: {one_line(str(error))} (rerun with --debug)", 1


def build_parser() -> Parser:
    parser = Parser(
        prog="leadflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    demo = commands.add_parser("demo", help="run synthetic leads through the cadence on the local Sandbox")
    demo.add_argument("--leads", type=_at_least(1), default=50, help="number of synthetic leads (default 50)")
    demo.add_argument(
        "--days",
        type=_at_least(1),
        default=42,
        # Six weeks: the report judges cadences whose outcome window has passed (a 21-day cadence's
        # leads enrolled 27 days before the week's end), so a shorter run would judge nothing.
        help="spread arrivals over this many days (default 42)",
    )
    demo.add_argument(
        "--reply-share", type=_checked(_share), default=0.3, help="share of leads who reply (default 0.3)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--start", type=moment, default="2026-11-23T09:00:00Z", help="simulated start (UTC)")
    demo.add_argument("--out", type=Path, default=Path("out"), help="where the report goes (default out/)")

    serve = commands.add_parser("serve", help="expose the Sandbox's HTTP API on 127.0.0.1")
    serve.add_argument("--port", type=_checked(_port), default=8080)
    serve.add_argument("--start", type=moment, default=None, help="simulated start time (default: now)")
    serve.add_argument(
        "--speed",
        type=_checked(_speed),
        default=0.0,
        help="simulated seconds per real second (0: only POST /_sandbox/clock)",
    )
    serve.add_argument(
        "--aws-port",
        type=_checked(_port),
        default=0,
        help="port of the AWS (moto) endpoint for `leadflow report` (default: any)",
    )

    schema = commands.add_parser("schema", help="print the cadence files' JSON Schema")
    schema.add_argument("--write", action="store_true", help="write it to cadences/cadence.schema.json")

    classify = commands.add_parser(
        "classify",
        help="classify raw inbound mail: one JSON line per file (kind, lead token, return date, bounce type)",
    )
    classify.add_argument("files", nargs="+", metavar="FILE.eml")

    add_report_command(commands)
    add_stage_command(commands)
    operate.add_commands(commands, moment)
    add_operator_commands(commands, day, moment)

    sending = commands.add_parser(
        "sending", help="the sending guard of a running `leadflow serve` or a deployed stack"
    )
    sending_actions = sending.add_subparsers(dest="action", required=True, parser_class=Parser)
    for action, text in (
        ("status", "print the pause, the bounce and complaint rates against the thresholds, today's caps"),
        ("resume", "lift the reputation guard's pause: held email touches go out at their next slots"),
    ):
        aws.add_stack_options(sending_actions.add_parser(action, help=text))

    erase = commands.add_parser(
        "erase",
        help="GDPR erasure of one person: stop their cadences, delete their data, keep a keyed-hash "
        "suppression entry; prints what it removed",
    )
    erase.add_argument("email", help="the person's email address")
    erase.add_argument(
        "--inbound-bucket",
        default=os.environ.get("INBOUND_BUCKET"),
        help="bucket of stored inbound mail (default $INBOUND_BUCKET, else the stack's InboundMailBucket)",
    )
    aws.add_stack_options(erase)

    reindex = commands.add_parser(
        "reindex",
        help="upgrade: move index entries written before month partitions (DAY#) to them; "
        "idempotent, run again to resume",
    )
    aws.add_stack_options(reindex)

    doctor = commands.add_parser(
        "doctor",
        help="preflight of a deploy: settings, config and (--account) the AWS account; each problem "
        "with its fix, exit 1 on any",
    )
    doctor.add_argument(
        "--config", type=Path, default=REPO_ROOT / "config" / "leadflow.yaml", help="operator configuration"
    )
    doctor.add_argument(
        "--context",
        type=Path,
        default=REPO_ROOT / "cdk.json",
        help="cdk.json, or a JSON object of leadflow:* keys",
    )
    doctor.add_argument(
        "-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="as cdk synth -c"
    )
    doctor.add_argument(
        "--account",
        action="store_true",
        help="also check the account (SES, receipt rules, SMS): needs credentials",
    )
    doctor.add_argument("--profile", help="AWS profile")
    doctor.add_argument("--region", help="AWS region")

    lint = commands.add_parser("lint", help="check every template against the message rules")
    _file_options(lint)

    preview = commands.add_parser("preview", help="render a cadence's touches for a lead, with send times")
    preview.add_argument("cadence", help="cadence name, e.g. inbound-demo-request")
    preview.add_argument("--lead", type=Path, help="lead JSON file, as posted to /leads (default: a sample)")
    preview.add_argument("--start", type=moment, default=None, help="when the lead arrives (default: now)")
    preview.add_argument("--out", type=Path, default=Path("out/preview"), help="HTML folder (out/preview)")
    _file_options(preview)

    route = commands.add_parser("route", help="print the cadence a lead would enter, and why")
    route.add_argument("--lead", type=Path, required=True, help="lead JSON file, as posted to /leads")
    _file_options(route)

    schedule = commands.add_parser(
        "schedule", help="print a cadence's planned touches for a lead, in local time and UTC"
    )
    schedule.add_argument("cadence", help="cadence name, e.g. inbound-demo-request")
    schedule.add_argument(
        "--tz", type=zone, default=None, help="the lead's IANA time zone, e.g. Europe/Berlin"
    )
    schedule.add_argument("--country", type=country, default=None, help="the lead's country, e.g. DE")
    schedule.add_argument(
        "--at", type=moment, default=None, help="when the lead posted (ISO 8601; default: now)"
    )
    return parser


def _sending(args: argparse.Namespace) -> int:
    import json

    from leadflow import clock
    from leadflow.send import guard

    aws.use_stack(args)
    if args.action == "status":
        print(json.dumps(guard.status(clock.now()), indent=2))
        return 0
    lifted = guard.resume(clock.now(), by=os.environ.get("USER", "cli"))
    if lifted is None:
        print("leadflow sending resume: sending was not paused; nothing changed")
    else:
        print(
            f"leadflow sending resume: resumed (paused since {lifted.get('at')} for {lifted.get('reason')}); "
            "held email touches go out at their next slots"
        )
    return 0


def _erase(args: argparse.Namespace) -> int:
    from leadflow import fields
    from leadflow.intake import erase

    # Validate before anything reaches for credentials or a secret.
    try:
        address = fields.email_address(args.email)
    except ValueError as error:
        raise CommandError(f"{args.email!r} is not an email address ({one_line(str(error))})") from None
    if args.inbound_bucket:
        os.environ["INBOUND_BUCKET"] = args.inbound_bucket
    aws.use_stack(args)
    report = erase.erase_person(address)
    print(f"leadflow erase: {report.summary()}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from leadflow.store.reindex import reindex

    aws.use_stack(args)
    print(f"leadflow reindex: {reindex().summary()}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    """What the sweep function runs every 5 minutes: the cadence's sweep, overdue escalations, then
    rep alerts held for their recipient's hours that are now due."""
    from leadflow import clock
    from leadflow.send.escalations import sweep_all
    from leadflow.send.held_alerts import deliver_held

    aws.use_stack(args, state_machines=True)
    if args.now:
        clock.set_source(lambda: args.now)
    report = sweep_all(retry_all_failed=args.retry_failed).model_dump()
    report["held_alerts_delivered"] = deliver_held(clock.now())
    print(json.dumps(report))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "audit":
        return operate.run(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "sending":
        return _sending(args)
    if args.command == "erase":
        return _erase(args)
    if args.command == "reindex":
        return _reindex(args)
    if args.command == "classify":
        return _classify(args.files)
    if args.command == "report":
        return run_report_command(args)
    if args.command == "stage":
        return run_stage_command(args)
    if args.command in OPERATOR_COMMANDS:
        return run_operator_command(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "lint":
        return _lint(args)
    if args.command == "preview":
        return _preview(args)
    if args.command == "route":
        return _route(args)
    if args.command == "schedule":
        return print_schedule(args.cadence, args.tz, args.country, args.at)
    if args.command == "schema":
        from leadflow.cadence.model import json_schema_text
        from leadflow.cadence.terms import SCHEMA_FILE

        if args.write:
            (DEFAULT_CADENCE_DIR / SCHEMA_FILE).write_text(json_schema_text(), encoding="utf-8")
        else:
            sys.stdout.write(json_schema_text())
        return 0
    if args.command == "demo":
        from leadflow import clock
        from leadflow.local.demo import run_demo

        return run_demo(
            leads=args.leads,
            days=args.days,
            reply_share=args.reply_share,
            seed=args.seed,
            start=clock.iso(args.start) if isinstance(args.start, datetime) else args.start,
            out=args.out,
        )
    from leadflow import clock
    from leadflow.local.serve import serve_forever

    start = clock.iso(args.start) if args.start else None
    return serve_forever(port=args.port, start=start, speed=args.speed, aws_port=args.aws_port)


def add_stage_command(commands: argparse._SubParsersAction) -> None:
    stage = commands.add_parser(
        "stage",
        help="set a lead's sales stage (sql, opportunity, won, lost) in `leadflow serve` or a stack",
        description="Set a lead's sales stage, as the CRM webhook would. Reads the address index with the "
        "HMAC key in $HMAC_SECRET_ARN (default: the Sandbox's leadflow/hmac).",
    )
    stage.add_argument("email", help="the lead's email address")
    stage.add_argument("stage", choices=["sql", "opportunity", "won", "lost"])
    stage.add_argument("--at", help="when it changed (ISO 8601 with zone; default now)")
    stage.add_argument("--amount", help="the deal's value")
    aws.add_stack_options(stage)


def run_stage_command(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from leadflow.answers import stages

    try:
        change = stages.StageChange.model_validate(
            {"email": args.email, "stage": args.stage, "at": args.at, "amount": args.amount}
        )
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "input"
        print(f"leadflow stage: {field}: {problem['msg']}", file=sys.stderr)
        return 2
    aws.use_stack(args)
    from leadflow import keys
    from leadflow.store import lead_items

    lead_id = lead_items.lead_id_for_email(keys.email_key(change.email or ""))
    before = lead_items.get_lead(lead_id) if lead_id else None
    outcome = stages.set_stage(change)
    if outcome == "unknown_lead" or before is None:
        print(f"leadflow stage: no lead with the address {args.email}", file=sys.stderr)
        return 2
    print(f"leadflow stage: {stage_message(args.stage, outcome, before.stage, before.stage_at)}")
    return 0


# The funnel's order: a change to an earlier stage moves the lead back (won and lost both end it).
STAGE_ORDER = {"sql": 1, "opportunity": 2, "won": 3, "lost": 3}


def stage_message(stage: str, outcome: str, previous: str | None, previous_at: datetime | None) -> str:
    """What the stage command did, saying so when the lead's stage moved back or stayed ahead."""
    since = f" since {previous_at:%Y-%m-%d %H:%M} UTC" if previous_at else ""
    if outcome == "stage_set":
        if previous and previous != stage and STAGE_ORDER[stage] <= STAGE_ORDER.get(previous, 0):
            return f"{stage} set: the lead moves back from {previous}{since}"
        return f"{stage} set"
    if previous == stage:
        return f"{stage} already recorded"
    return f"{stage} recorded in the history; the lead stays {previous} (a later change{since})"


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
            "bounce_type": result.bounce_type.value if result.bounce_type else None,
            **_reply_intent(result),
        }
        print(json.dumps(line, ensure_ascii=False))
    return status


def _reply_intent(result: Any) -> dict[str, Any]:
    """A human reply's intent by the offline rules (the day it was written counts for a snooze)."""
    from leadflow import clock
    from leadflow.answers.classify import HUMAN_KINDS, Kind
    from leadflow.answers.intent import Intent, read

    if result.kind not in HUMAN_KINDS:
        return {}
    today = (result.written_at or clock.now()).date()
    reading = read(result.text, result.subject, today=today, sender=result.sender)
    if result.kind is Kind.UNSUBSCRIBE:  # a removal request in the subject or to the mailto address
        reading = reading.model_copy(update={"intent": Intent.UNSUBSCRIBE, "sure": True})
    return {
        "intent": reading.intent.value,
        "intent_sure": reading.sure,
        "intent_line": reading.line or None,
        "snoozed_until": reading.snoozed_until.isoformat() if reading.snoozed_until else None,
        "referral": reading.referral.model_dump(exclude_none=True) if reading.referral else None,
    }


def _file_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--cadences", type=Path, default=DEFAULT_CADENCE_DIR, help="cadence folder")
    command.add_argument("--templates", type=Path, default=REPO_ROOT / "templates", help="template folder")
    command.add_argument(
        "--config", type=Path, default=REPO_ROOT / "config" / "leadflow.yaml", help="operator configuration"
    )


def _doctor(args: argparse.Namespace) -> int:
    # The preflight reads the CDK app's settings: it runs from a clone, never in a function.
    from infra import doctor

    if args.account:
        os.environ.update(
            {k: v for k, v in (("AWS_PROFILE", args.profile), ("AWS_DEFAULT_REGION", args.region)) if v}
        )
        aws.reset()
    return doctor.run(args.config, args.context, args.overrides, check_account=args.account)


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

    start = args.start or clock.now().replace(second=0, microsecond=0)
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
        raise CommandError(str(error)) from error
    print(text)
    return 0


def _route(args: argparse.Namespace) -> int:
    from leadflow.local.preview import PreviewError, route_text

    try:
        text = route_text(
            args.lead, cadence_dir=args.cadences, template_dir=args.templates, config_file=args.config
        )
    except PreviewError as error:
        print(f"leadflow route: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


def print_schedule(name: str, timezone: str | None, country: str | None, at: datetime | str | None) -> int:

    from leadflow import clock
    from leadflow.cadence.model import load_cadences
    from leadflow.cadence.schedule import locale_for, plan_touches

    known = load_cadences()
    if name not in known:
        raise CommandError(f"no cadence {name!r} (known: {', '.join(sorted(known))})")
    cadence, window = known[name], known[name].window
    start = (clock.parse_iso(at) if isinstance(at, str) else at) if at else clock.now()
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
