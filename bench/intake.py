"""The intake API's warm latency on the Sandbox, and its overhead over the bare AWS calls it must make.

- handler: `lambda_handler` on a real API Gateway proxy event (JSON, a new address each time), timed
  from the call to its return; the executions it started run afterwards, outside the timing.
- known address: the same for posts of an address already enrolled (no second execution).
- bare: one DynamoDB PutItem of a lead-sized item plus one StartExecution of the same state machine,
  timed the same way in the same run: the floor any intake implementation pays.
The ratio (handler / bare) is the cost of validation, the email index transaction, the consent record
and Powertools. On moto every AWS call is in-process (and a transaction deep-copies the table), so the
ratio overstates what AWS shows, where network round trips dominate both sides; the time outside AWS
calls (our code alone) is printed too. The cold import of the handler module is measured as well.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from leadflow import aws
from leadflow.cadence.schedule import plan
from leadflow.config import cadences, settings
from leadflow.local import events
from leadflow.local.sandbox import REPO_ROOT, LambdaContext, Sandbox, function_name
from leadflow.models import Enrollment, Lead, RunStatus

POSTS = 100  # moto copies the whole table per transaction: more posts measure moto, not us
QUICK_POSTS = 20
WARM_UP = 10


def _quantiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


class AwsCallClock:
    """Time spent inside AWS calls (moto, in-process): the rest of a handler call is our own code."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> Callable[[], None]:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.process_request

        def process_request(stubber: BotocoreStubber, request: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                self.seconds += time.perf_counter() - began

        setattr(BotocoreStubber, "process_request", process_request)  # noqa: B010 (a patch, undone below)
        return lambda: setattr(BotocoreStubber, "process_request", original)


def _timed(sb: Sandbox, call: Callable[[], object], aws_clock: AwsCallClock, own: list[float]) -> float:
    aws_clock.seconds = 0.0
    began = time.perf_counter()
    call()
    elapsed = time.perf_counter() - began
    own.append(elapsed - aws_clock.seconds)
    sb.clock.settle()  # the started execution's first touch runs here, untimed
    return elapsed


def _post_event(sb: Sandbox, address: str) -> dict[str, object]:
    body = json.dumps({"email": address, "first_name": "Ada", "company": "Engines", "source": "bench"})
    headers = {"Content-Type": "application/json", "User-Agent": "bench"}
    # One visitor per address: the per-IP post limit (abuse.posts_per_ip_per_hour) stays out of the figures.
    source_ip = "10." + ".".join(str(byte) for byte in hashlib.sha256(address.encode()).digest()[:3])
    return events.api_gateway_event(
        "POST", "/leads", body=body, headers=headers, at=sb.now(), source_ip=source_ip
    )


def _bare_write_and_start(sb: Sandbox, number: int) -> Callable[[], object]:
    """PutItem of a lead + StartExecution for it. Its enrollment is stored (untimed) as stopped, so the
    execution ends quietly at its first step instead of failing on a half-made lead."""
    lead_id = f"bare{number:08d}"
    now = sb.now()
    lead = Lead(
        id=lead_id, email=f"{lead_id}@example.com", first_name="Ada", company="Engines", created_at=now
    )
    enrollment = Enrollment(
        lead_id=lead_id,
        number=1,
        cadence=sb.default_cadence,
        run_status=RunStatus.STOPPED,
        schedule=plan(cadences()[sb.default_cadence], now),
        started_at=now,
    )
    table = aws.table(settings().table_name)
    table.put_item(
        Item={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001", **enrollment.model_dump(mode="json")}
    )
    item = {"pk": f"LEAD#{lead_id}", "sk": "LEAD", **lead.model_dump(mode="json", exclude_none=True)}
    arn = sb.state_machine_arns[sb.default_cadence]
    version = sb.cadences[sb.default_cadence].version
    execution_input = json.dumps(
        {"lead_id": lead_id, "cadence": sb.default_cadence, "enrollment": 1, "version": version}
    )

    def call() -> object:
        table.put_item(Item=item)
        return aws.client("stepfunctions").start_execution(
            stateMachineArn=arn, name=f"{lead_id}-{sb.default_cadence}-1", input=execution_input
        )

    return call


def _cold_import_ms() -> float:
    code = (
        "import time; began = time.perf_counter(); import functions.intake.handler; "
        "print(time.perf_counter() - began)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return min(runs) * 1000


def run(quick: bool) -> None:
    posts = QUICK_POSTS if quick else POSTS
    with Sandbox() as sb:
        handler = sb.handlers["intake"].lambda_handler
        context = LambdaContext(function_name("intake"))

        def post(address: str) -> Callable[[], object]:
            event = _post_event(sb, address)
            return lambda: handler(event, context)

        aws_clock = AwsCallClock()
        uninstall = aws_clock.install()
        ignored: list[float] = []
        for number in range(WARM_UP):
            _timed(sb, post(f"warm{number}@example.com"), aws_clock, ignored)
            _timed(sb, _bare_write_and_start(sb, 10_000_000 + number), aws_clock, ignored)
        new: list[float] = []
        known: list[float] = []
        bare: list[float] = []
        own: list[float] = []
        for number in range(posts):  # interleaved, so drift (a growing table) hits all three alike
            new.append(_timed(sb, post(f"lead{number}@example.com"), aws_clock, own))
            known.append(_timed(sb, post(f"lead{number}@example.com"), aws_clock, ignored))
            bare.append(_timed(sb, _bare_write_and_start(sb, number), aws_clock, ignored))
        uninstall()
    (new_p50, new_p99), (known_p50, known_p99), (bare_p50, bare_p99), (own_p50, own_p99) = map(
        _quantiles, (new, known, bare, own)
    )
    print(
        f"   warm handler, new address       p50 {new_p50:6.1f} ms   p99 {new_p99:6.1f} ms   ({posts} posts)"
    )
    print(f"   warm handler, known address     p50 {known_p50:6.1f} ms   p99 {known_p99:6.1f} ms")
    print(f"   bare PutItem + StartExecution   p50 {bare_p50:6.1f} ms   p99 {bare_p99:6.1f} ms")
    ratio_p50, ratio_p99 = new_p50 / bare_p50, new_p99 / bare_p99
    print(f"   handler overhead (new / bare)   p50 {ratio_p50:6.2f}x     p99 {ratio_p99:6.2f}x")
    print(f"   new address, outside AWS calls  p50 {own_p50:6.1f} ms   p99 {own_p99:6.1f} ms   (our code)")
    print(f"   cold import of the handler      {_cold_import_ms():6.0f} ms (best of 3)")
