"""`leadflow audit` and `leadflow sweep` against a running `leadflow serve` (--endpoint-url) or a
deployed stack (credentials from --profile or the environment)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from leadflow import aws


def add_commands(commands: argparse._SubParsersAction, moment: Callable[[str], Any]) -> None:
    audit = commands.add_parser(
        "audit", help="check that no lead or touch was lost, sent twice or after a stop (exit 1 on a breach)"
    )
    sweep = commands.add_parser(
        "sweep", help="start pending enrollments and retry failed ones whose error was transient"
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="retry every failed enrollment, not only transient failures (once the cause is fixed)",
    )
    # Held rep alerts go out only inside their recipient's hours: against a Sandbox, "now" is its
    # simulated time, not the wall clock.
    sweep.add_argument(
        "--now", type=moment, help="act as of this time: a Sandbox's simulated time (GET /_sandbox/clock)"
    )
    for command in (audit, sweep):
        aws.add_stack_options(command)


def run(args: argparse.Namespace) -> int:
    """`leadflow audit` (`leadflow sweep` runs in cli: it is send.escalations.sweep_all)."""
    # The audit compares enrollments with the stack's executions: never against no state machines.
    aws.use_stack(args, state_machines=True)
    from leadflow.cadence.audit import audit

    report = audit()
    for line in report.lines():
        print(line)
    if not report.clean:
        print(f"leadflow audit: {len(report.breaches)} breaches", file=sys.stderr)
        return 1
    return 0
