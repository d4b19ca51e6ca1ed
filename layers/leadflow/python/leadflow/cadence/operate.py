"""`leadflow audit` and `leadflow sweep` against a running `leadflow serve` (--endpoint-url) or a
deployed stack (credentials from --profile or the environment)."""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_commands(commands: argparse._SubParsersAction) -> None:
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
    for command in (audit, sweep):
        command.add_argument(
            "--table", default=os.environ.get("TABLE_NAME", "leadflow"), help="DynamoDB table"
        )
        command.add_argument(
            "--stack",
            default="leadflow",
            help="state machines are named <stack>-<cadence> (default leadflow, as in the Sandbox)",
        )
        command.add_argument("--profile", help="AWS profile of the deployed stack")
        command.add_argument("--region", help="AWS Region of the deployed stack")
        command.add_argument(
            "--endpoint-url", help="AWS endpoint, e.g. the moto endpoint `leadflow serve` prints"
        )


def run(args: argparse.Namespace) -> int:
    _environment(args)
    if args.command == "audit":
        from leadflow.cadence.audit import audit

        report = audit()
        for line in report.lines():
            print(line)
        if not report.clean:
            print(f"leadflow audit: {len(report.breaches)} breaches", file=sys.stderr)
            return 1
        return 0
    from leadflow.cadence.sweep import sweep

    result = sweep(retry_all_failed=args.retry_failed)
    print(json.dumps(result.model_dump()))
    return 0


def _environment(args: argparse.Namespace) -> None:
    environment = {
        "AWS_PROFILE": args.profile,
        "AWS_DEFAULT_REGION": args.region,
        "AWS_ENDPOINT_URL": args.endpoint_url,
        "TABLE_NAME": args.table,
        "HMAC_SECRET_ARN": os.environ.get("HMAC_SECRET_ARN", "unused-by-audit-and-sweep"),
    }
    os.environ.update({name: value for name, value in environment.items() if value})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if args.endpoint_url and not (args.profile or os.environ.get("AWS_ACCESS_KEY_ID")):
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    from leadflow import aws
    from leadflow.config import settings

    settings.cache_clear()
    aws.reset()
    prefix = f"{args.stack}-"
    machines: dict[str, str] = {}
    for page in aws.client("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"].startswith(prefix):
                machines[machine["name"].removeprefix(prefix)] = machine["stateMachineArn"]
    os.environ["STATE_MACHINE_ARNS"] = json.dumps(machines)
    settings.cache_clear()
