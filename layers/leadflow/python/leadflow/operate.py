"""Operator commands against `leadflow serve` (--endpoint-url) or a deployed stack (--profile/--region):

    leadflow lead show|stop|pause|resume EMAIL|ID [--until DATE]
    leadflow suppress add|remove|check EMAIL | suppress list
    leadflow enroll --csv FILE --cadence NAME
    leadflow reengage [--dry-run]
    leadflow held list | held release|dismiss ID... | --burst BURST | --all

Tables by default, `--json` for scripts. Suppression shows keyed hashes only, never addresses.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from leadflow import aws


def add_operator_commands(
    commands: argparse._SubParsersAction, day: Callable[[str], Any], moment: Callable[[str], Any]
) -> None:
    lead = commands.add_parser("lead", help="show one lead's timeline, or stop, pause or resume its cadences")
    lead.add_argument("action", choices=["show", "stop", "pause", "resume"])
    lead.add_argument("lead", metavar="EMAIL|ID", help="the lead's address or id")
    lead.add_argument("--until", type=day, help="pause: until this date (default: 30 days)")
    _options(lead, moment)

    suppress = commands.add_parser("suppress", help="the suppression list (keyed hashes, never addresses)")
    suppress.add_argument("action", choices=["add", "remove", "check", "list"])
    suppress.add_argument("email", nargs="?", help="the address (add, remove, check)")
    suppress.add_argument("--reason", default="operator", help="add: why (default operator)")
    _options(suppress, moment)

    enroll = commands.add_parser("enroll", help="enroll leads from a CSV file in a cadence, paced")
    enroll.add_argument(
        "--csv", type=Path, required=True, help="a header line naming the fields, incl. email"
    )
    enroll.add_argument("--cadence", required=True, help="cadence name, e.g. re-engagement")
    enroll.add_argument("--rate", type=float, default=25.0, help="enrollments per second (default 25)")
    _options(enroll, moment)

    reengage = commands.add_parser("reengage", help="re-enroll dormant leads (config: reengagement)")
    reengage.add_argument("--dry-run", action="store_true", help="list who would be enrolled; change nothing")
    _options(reengage, moment)

    held = commands.add_parser(
        "held",
        help="posts held by a post limit: list them, release them (enrolled as posted) or dismiss them",
    )
    held.add_argument("action", choices=["list", "release", "dismiss"])
    held.add_argument("ids", nargs="*", metavar="ID", help="held post ids, as `held list` prints them")
    held.add_argument("--burst", help="every held post of this burst (the `burst` column)")
    held.add_argument("--all", action="store_true", help="every held post")
    held.add_argument(
        "--rep-alerts-topic",
        default=os.environ.get("REP_ALERTS_TOPIC_ARN"),
        help="release: the reps' SNS topic (default: the stack's RepAlertsTopicArn output, by --stack): "
        "a released lead alerts its owner like any new lead",
    )
    _options(held, moment)


def _options(command: argparse.ArgumentParser, moment: Callable[[str], Any]) -> None:
    aws.add_stack_options(command)
    command.add_argument(
        "--now", type=moment, help="act as of this time: a Sandbox's simulated time (GET /_sandbox/clock)"
    )
    command.add_argument("--json", action="store_true", help="JSON for scripts instead of tables")


def _connect(args: argparse.Namespace) -> None:
    # Suppression needs no state machine; the lead commands, enroll, held and reengage start or stop
    # executions. Enrolling alerts the owners.
    aws.use_stack(
        args, state_machines=args.command != "suppress", alert_owners=args.command in ("enroll", "held")
    )
    from leadflow import clock

    if args.now:
        clock.set_source(lambda: args.now)


def run_operator_command(args: argparse.Namespace) -> int:
    _connect(args)
    if args.command == "lead":
        return _lead(args)
    if args.command == "suppress":
        return _suppress(args)
    if args.command == "enroll":
        return _enroll(args)
    if args.command == "held":
        return _held(args)
    return _reengage(args)


def _find_lead(key: str) -> Any:
    from leadflow import keys
    from leadflow.store import lead_items

    lead_id = lead_items.lead_id_for_email(keys.email_key(key)) if "@" in key else key
    lead = lead_items.get_lead(lead_id) if lead_id else None
    if lead is None:
        raise LookupError(f"no lead {key}")
    return lead


def _lead(args: argparse.Namespace) -> int:
    from leadflow import clock
    from leadflow.cadence import lead_actions as operate
    from leadflow.report.timeline import timeline

    lead = _find_lead(args.lead)
    if args.action == "stop":
        stopped = operate.stop(lead)
        return _done(args, {"lead_id": lead.id, "stopped": [e.number for e in stopped]})
    if args.action == "pause":
        until = args.until or (clock.now() + operate.DEFAULT_PAUSE).date()
        moved = operate.pause(lead, until)
        return _done(args, {"lead_id": lead.id, "paused_until": until.isoformat(), "touches_moved": moved})
    if args.action == "resume":
        return _done(args, {"lead_id": lead.id, "resumed": operate.resume(lead)})
    shown = timeline(lead)
    if args.json:
        print(shown.model_dump_json(indent=2))
        return 0
    facts = shown.lead
    print(f"lead {facts['id']}  {facts['email']}  status {facts['status']}", end="")
    print(f" ({facts['status_reason']})" if facts["status_reason"] else "")
    print(f"  source {facts['source'] or '-'}  band {facts['band']}  score {facts['score']}", end="")
    print(f"  owner {facts['owner']}")
    if facts["reply_intent"]:
        print(f"  reply: {facts['reply_intent']} (by {facts['reply_intent_by']})", end="")
        print(f'  "{facts["reply_intent_line"]}"' if facts["reply_intent_line"] else "", end="")
        print(f"  snoozed until {facts['snoozed_until']}" if facts["snoozed_until"] else "", end="")
        referral = facts["referral"] or {}
        print(f"  referral {' '.join(referral.values())}" if referral else "")
    print()
    _table(
        ["#", "cadence", "version", "status", "reason", "started", "ended"],
        [
            [e.number, e.cadence, e.version, e.status, e.reason, e.started_at, e.ended_at]
            for e in shown.enrollments
        ],
    )
    for enrollment in shown.enrollments:
        if enrollment.console:
            print(f"  enrollment {enrollment.number}: {enrollment.console}")
    print()
    _table(
        ["enr", "touch", "channel", "template", "at", "status", "outcome", "engagement"],
        [
            [
                t.enrollment,
                t.number,
                t.channel,
                t.template,
                t.at,
                t.status,
                t.outcome,
                " ".join(f"{kind} {count}" for kind, count in t.engagement.items()),
            ]
            for t in shown.touches
        ],
    )
    if shown.events:
        print()
        _table(
            ["at", "event", "enr", "touch"],
            [[e.get("at"), e.get("type"), e.get("enrollment"), e.get("touch")] for e in shown.events],
        )
    return 0


def _suppress(args: argparse.Namespace) -> int:
    from leadflow import clock, keys
    from leadflow.store import suppression_items

    if args.action == "list":
        entries = suppression_items.listed()
        if args.json:
            print(json.dumps(entries, indent=2))
        else:
            _table(
                ["hash", "reason", "since"], [[e["hash"], e["reason"], e["suppressed_at"]] for e in entries]
            )
        return 0
    if not args.email or "@" not in args.email:
        raise ValueError(f"suppress {args.action} needs an email address")
    from leadflow import fields

    key = keys.email_key(fields.email_address(args.email))
    if args.action == "add":
        suppression_items.suppress(key, args.reason, clock.now())
        entry = suppression_items.suppression(key)
    elif args.action == "remove":
        entry = None if suppression_items.unsuppress(key) else suppression_items.suppression(key)
    else:
        entry = suppression_items.suppression(key)
    return _done(
        args,
        {"hash": key, "suppressed": entry is not None, "reason": entry.get("reason") if entry else None},
    )


def _enroll(args: argparse.Namespace) -> int:
    import sys

    from leadflow.intake.bulk import import_csv

    if args.rate <= 0:
        raise ValueError("--rate must be above 0")
    result = import_csv(args.csv, args.cadence, rate_per_second=args.rate)
    document = {
        "cadence": args.cadence,
        "enrolled": len(result.enrolled),
        "already_running": result.already_running,
        "rejected": [vars(rejected) for rejected in result.rejected],
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    print(
        f"enrolled {len(result.enrolled)} in {args.cadence}; {result.already_running} already running; "
        f"{len(result.rejected)} rows rejected"
    )
    if result.rejected:
        _table(
            ["line", "field", "problem"], [[r.line, r.field, r.message] for r in result.rejected], sys.stderr
        )
    return 0


def _reengage(args: argparse.Namespace) -> int:
    from leadflow.cadence import reengage
    from leadflow.config import operator_config

    settings = operator_config().reengagement
    run = reengage.reengage(settings, dry_run=args.dry_run)
    document = {
        "dry_run": run.dry_run,
        "cadence": settings.cadence,
        "after_days": settings.after_days,
        "eligible": [candidate.lead_id for candidate in run.eligible],
        "enrolled": run.enrolled,
        "skipped": dict(run.skipped),
        "segments": [
            {"source": source, "band": band, "engagement": engagement, "leads": count}
            for (source, band, engagement), count in sorted(run.segments().items())
        ],
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    verb = "would enroll" if run.dry_run else "enrolled"
    count = len(run.eligible) if run.dry_run else len(run.enrolled)
    print(f"re-engagement ({settings.cadence}, ended {settings.after_days}+ days ago): {verb} {count}")
    segments = run.segments()
    rows = [[*segment, count] for segment, count in sorted(segments.items())]
    _table(["source", "band", "last engagement", "leads"], rows)
    if run.skipped:
        print("not eligible: " + ", ".join(f"{reason} {n}" for reason, n in sorted(run.skipped.items())))
    return 0


def _held(args: argparse.Namespace) -> int:
    from leadflow import clock
    from leadflow.intake import held
    from leadflow.observability import set_metric_sink

    # EMF documents on an operator's stdout reach no CloudWatch and would break --json.
    set_metric_sink(lambda document: None)
    posts = held.held_posts()
    if args.action == "list":
        rows = [
            {
                "id": item.id,
                "held_at": clock.iso(item.post.received_at),
                "limit": item.post.limit,
                "burst": item.post.burst,
                "email": item.post.submission.email,
                "form": item.post.submission.form,
            }
            for item in posts
        ]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            _table(["id", "held at", "limit", "burst", "email", "form"], [list(row.values()) for row in rows])
        return 0
    chosen = _chosen(posts, args)
    if args.action == "dismiss":
        for item in chosen:
            held.dismiss(item)
        return _done(args, {"dismissed": [item.id for item in chosen]})
    # The option, else the stack's RepAlertsTopicArn output (found by --stack).
    topic = args.rep_alerts_topic or os.environ.get("REP_ALERTS_TOPIC_ARN")
    if not topic:
        raise ValueError("held release: give --rep-alerts-topic (stack output RepAlertsTopicArn)")
    os.environ["REP_ALERTS_TOPIC_ARN"] = topic
    from leadflow.config import settings

    settings.cache_clear()
    released: dict[str, str] = {}
    for item in chosen:
        outcome = held.release(item, clock.now())
        released[item.id] = outcome.value if outcome else "busy: another release runs"
    if args.json:
        print(json.dumps({"released": released}, indent=2))
    else:
        _table(["id", "outcome"], [[item_id, outcome] for item_id, outcome in released.items()])
    return 0


def _chosen(posts: list[Any], args: argparse.Namespace) -> list[Any]:
    """The held posts an action names: IDs, one burst, or all of them (exactly one of these)."""
    if sum(map(bool, (args.ids, args.burst, args.all))) != 1:
        raise ValueError(f"held {args.action}: give held post IDs, --burst BURST or --all")
    if args.all:
        return posts
    if args.burst:
        return [item for item in posts if item.post.burst == args.burst]
    by_id = {item.id: item for item in posts}
    missing = [held_id for held_id in args.ids if held_id not in by_id]
    if missing:
        raise LookupError(f"no held post {', '.join(missing)} (see `leadflow held list`)")
    return [by_id[held_id] for held_id in args.ids]


def _done(args: argparse.Namespace, document: dict[str, Any]) -> int:
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print("  ".join(f"{name} {value}" for name, value in document.items()))
    return 0


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], stream: Any = None) -> None:
    import sys

    out = stream or sys.stdout
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)
    if not cells:
        print("(none)", file=out)
