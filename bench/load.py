"""The Sandbox at 1,000 leads: speed to lead, a flat cost per post, the whole demo cadence, and the
1,000-post load test (16 threads, 10% repeats). Run in a process of its own (`python -m bench.load`)
so that its peak memory is its own.

- scale: 1,000 new leads post the demo-request form one after another, 10 simulated seconds apart
  (from Monday 10:00 in New York, inside the demo cadence's window, so touch 1 goes at once).
  Per post: the intake handler's time, the part of it outside AWS calls (our code), and speed to
  lead (the post's start to SES accepting touch 1, timed by a hook on the SES client). Then the
  simulated clock runs the whole cadence (22 days) and every execution's history is read:
  transitions and step invocations per lead, and with the meter's DynamoDB/SES/SNS counts, the
  cost per 1,000 leads (bench.costs).
- load: a fresh Sandbox takes 1,000 posts from 16 threads, 10% of them repeats of addresses posted
  earlier (a few posts apart, so repeats race their first post), then checks the invariants
  (one lead, enrollment and execution per address, touch 1 sent once each, `leadflow audit` clean).
"""

from __future__ import annotations

import hashlib
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import IO, Any

from bench.costs import UsageMeter, cost_per_1000
from bench.results import record
from leadflow import aws, keys
from leadflow.config import settings
from leadflow.local.sandbox import Sandbox
from leadflow.models import TouchStatus
from leadflow.store import enrollment_items, lead_items

START = "2026-11-23T15:00:00Z"  # Monday 10:00 in New York: the demo cadence's first email goes at once
FORM = "demo-request"
LEADS = 1000
QUICK_LEADS = 40
THREADS = 16
REPEAT_SHARE = 0.10
CADENCE_SECONDS = 22 * 86400
# Simulated time between two posts of the scale run: 1,000 posts over 2.8 hours inside the window,
# so leads' later touches fall due at distinct moments, as real arrivals do.
POST_SPACING_S = 10


def _ms(seconds: float) -> float:
    return seconds * 1000


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _body(address: str) -> dict[str, str]:
    return {"email": address, "first_name": "Ada", "company": "Engines", "source": FORM, "form": FORM}


def _visitor_ip(address: str) -> str:
    """Each address posts from its own visitor's IP, as real form traffic does (the intake's
    per-IP abuse limit would otherwise drop a load test posted from one address)."""
    digest = hashlib.sha256(address.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2]}"


class OwnThreadAwsClock:
    """Time the calling thread spends inside AWS calls (moto, in-process); the rest is our code."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.thread = threading.get_ident()

    def install(self) -> Callable[[], None]:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.process_request

        def process_request(stubber: BotocoreStubber, request: Any) -> Any:
            if threading.get_ident() != self.thread:
                return original(stubber, request)
            began = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                self.seconds += time.perf_counter() - began

        setattr(BotocoreStubber, "process_request", process_request)  # noqa: B010 (undone by the caller)
        return lambda: setattr(BotocoreStubber, "process_request", original)


def first_touches() -> tuple[dict[str, float], Counter[str]]:
    """Per address: when SES first accepted its touch 1 (perf_counter), and how many touch-1 sends
    it got. Hooks on the shared SES client; call after the Sandbox started."""
    accepted: dict[str, float] = {}
    sends: Counter[str] = Counter()
    lock = threading.Lock()

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        tags = {tag["Name"]: tag["Value"] for tag in params.get("EmailTags", [])}
        if tags.get("touch") == "1":
            context["bench_first_touch_to"] = params["Destination"]["ToAddresses"][0]

    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        address = context.get("bench_first_touch_to")
        if address and "MessageId" in parsed:
            with lock:
                accepted.setdefault(address, time.perf_counter())
                sends[address] += 1

    ses = aws.client("sesv2")
    ses.meta.events.register("provide-client-params.sesv2.SendEmail", before)
    ses.meta.events.register("after-call.sesv2.SendEmail", after)
    return accepted, sends


def _timed_intake(
    sb: Sandbox,
    aws_clock: OwnThreadAwsClock,
    handler_s: list[float],
    own_s: list[float],
    cpu_s: list[float] | None = None,
) -> None:
    """Time each intake call: wall time (latency figures), and its thread's CPU time in `cpu_s`
    (the Lambda cost, as the Sandbox reports the other handlers: on_handler_done)."""
    handler = sb.handlers["intake"].lambda_handler

    def timed(event: Any, context: Any) -> Any:
        aws_clock.seconds = 0.0
        began, began_cpu = time.perf_counter(), time.thread_time()
        try:
            return handler(event, context)
        finally:
            elapsed = time.perf_counter() - began
            handler_s.append(elapsed)
            own_s.append(elapsed - aws_clock.seconds)
            if cpu_s is not None:
                cpu_s.append(time.thread_time() - began_cpu)

    sb.handlers["intake"] = SimpleNamespace(lambda_handler=timed)  # type: ignore[assignment]


def scale_run(leads: int) -> None:
    began, began_cpu = time.perf_counter(), time.process_time()
    with Sandbox(START) as sb:
        meter = UsageMeter()
        uninstall_meter = meter.install(sb)
        aws_clock = OwnThreadAwsClock()
        uninstall_clock = aws_clock.install()
        handler_s: list[float] = []
        own_s: list[float] = []
        cpu_s: list[float] = []
        _timed_intake(sb, aws_clock, handler_s, own_s, cpu_s)
        accepted, _ = first_touches()
        speed: list[float] = []
        for number in range(leads):
            address = f"lead{number}@example.com"
            posted = time.perf_counter()
            answer = sb.post("/leads", json=_body(address), source_ip=_visitor_ip(address))
            assert answer.status_code == 202, answer.json()
            assert address in accepted, f"touch 1 of {address} not sent at once"
            speed.append(accepted[address] - posted)
            sb.advance(POST_SPACING_S)
        uninstall_clock()
        posts_s = time.perf_counter() - began
        cadence_began = time.perf_counter()
        sb.advance(CADENCE_SECONDS)
        cadence_s = time.perf_counter() - cadence_began
        cpu_whole_s = time.process_time() - began_cpu
        meter.usage.invocations["intake"] += leads
        meter.usage.invocation_seconds["intake"] = sum(cpu_s)
        # The bench's own reads (its touch count) are not the run's: metered up to here only.
        uninstall_meter()
        transitions, steps = _history_counts(sb)
        touches = _touches_done(leads)
        usage = meter.usage
        cost = cost_per_1000(usage, leads, sum(transitions), api_requests=leads)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, last = statistics.median(handler_s[:100]), statistics.median(handler_s[-100:])
    sized = f"{leads:,} leads"
    record(
        "speed_to_lead_p50_ms",
        _ms(statistics.median(speed)),
        "ms",
        250,
        f"Sandbox, {sized}, post -> SES accepted",
    )
    record("speed_to_lead_p99_ms", _ms(_p(speed, 0.99)), "ms", 250, "target: p99 < 250 ms")
    record("intake_posts_first_100_p50_ms", _ms(first), "ms")
    record("intake_posts_last_100_p50_ms", _ms(last), "ms")
    record("intake_posts_last_vs_first_p50", last / first, "x", 1.5, "target <= 1.5 (flat cost per post)")
    record(
        "our_code_ms_per_post",
        _ms(statistics.median(own_s)),
        "ms",
        note="intake handler time outside AWS calls, p50",
    )
    record("sandbox_posts_s_1000_leads", posts_s, "s", note=f"{sized} posted one after another, touch 1 out")
    record(
        "sandbox_full_cadence_s_1000_leads",
        posts_s + cadence_s,
        "s",
        180,
        "target < 3 min: posts + 22 simulated days",
    )
    record(
        "sandbox_full_cadence_cpu_s_1000_leads",
        cpu_whole_s,
        "s",
        note="the same run's CPU time (its process: what a busy machine does not add to)",
    )
    record("sandbox_rss_mb_1000_leads", rss_mb, "MB", 1024, "peak RSS of the whole run; target < 1 GB")
    record(
        "transitions_per_lead_demo",
        statistics.mean(transitions),
        "transitions",
        note="mean over the run's executions",
    )
    record("step_invocations_per_lead_demo", statistics.mean(steps), "invocations")
    record(
        "touches_per_lead_demo",
        touches / leads,
        "touches",
        note="sent or handed to a rep as a task (skipped ones not counted): the per-touch denominator",
    )
    record(
        "dynamodb_write_units_per_lead",
        (usage.write_units + usage.index_write_units) / leads,
        "WRU",
        50,
        f"target <= 50; of which index writes {usage.index_write_units / leads:.1f} (by_day, attention)",
    )
    by_kind = usage.writes_by_kind + usage.index_writes_by_kind
    print(
        "   write units per lead by item kind (KIND@index: that index's writes): "
        + ", ".join(f"{kind} {units / leads:.1f}" for kind, units in by_kind.most_common()),
        flush=True,
    )
    record("dynamodb_read_units_per_lead", usage.read_units / leads, "RRU")
    record("emails_per_lead_demo", usage.emails / leads, "emails")
    record("cost_usd_per_1000_leads_demo", cost.total, "USD", 0.99, "baseline: peer mailshot, 6 emails")
    record("cost_usd_per_1000_leads_demo_without_ses", cost.without_ses, "USD", 0.30, "target <= $0.30")
    for part in ("step_functions", "lambda_", "dynamodb", "ses", "sns", "api", "scheduler"):
        record(f"cost_usd_per_1000_leads_demo_{part.rstrip('_')}", getattr(cost, part), "USD")


def _history_counts(sb: Sandbox) -> tuple[list[int], list[int]]:
    """State transitions (states entered) and Lambda task invocations of every execution."""
    sfn = aws.client("stepfunctions")
    transitions: list[int] = []
    steps: list[int] = []
    for arn in sb.state_machine_arns.values():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for execution in page["executions"]:
                kinds = Counter(
                    event["type"]
                    for history in sfn.get_paginator("get_execution_history").paginate(
                        executionArn=execution["executionArn"]
                    )
                    for event in history["events"]
                )
                transitions.append(sum(n for kind, n in kinds.items() if kind.endswith("StateEntered")))
                steps.append(kinds["TaskScheduled"] + kinds["LambdaFunctionScheduled"])
    return transitions, steps


def _touches_done(leads: int) -> int:
    """Touch records of the scale run's leads that were sent or became a rep's task."""
    done = 0
    for number in range(leads):
        lead_id = lead_items.lead_id_for_email(keys.email_key(f"lead{number}@example.com"))
        assert lead_id is not None
        done += sum(touch.status != TouchStatus.SKIPPED for touch in enrollment_items.touches(lead_id))
    return done


@dataclass
class LoadResult:
    posts: int
    addresses: int
    wall_s: float
    first_p50_ms: float
    last_p50_ms: float
    breaches: list[str] = field(default_factory=list)


def posting_order(posts: int, repeat_share: float, seed: int = 11) -> list[str]:
    """`posts` addresses, `repeat_share` of them repeats of an address posted a few posts earlier."""
    rng = random.Random(seed)
    repeats = round(posts * repeat_share)
    order = [f"load{number}@example.com" for number in range(posts - repeats)]
    for _ in range(repeats):
        original = rng.randrange(len(order))
        order.insert(min(len(order), original + rng.randint(1, THREADS)), order[original])
    return order


def load_test(
    sb: Sandbox, posts: int, threads: int = THREADS, repeat_share: float = REPEAT_SHARE
) -> LoadResult:
    """Post `posts` forms from `threads` threads through the intake handler, then check the invariants."""
    order = posting_order(posts, repeat_share)
    _, first_sends = first_touches()
    latencies: list[float | None] = [None] * len(order)
    errors: list[str] = []
    turn = iter(range(len(order)))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(turn, None)
            if index is None:
                return
            began = time.perf_counter()
            answer = sb.post("/leads", json=_body(order[index]), source_ip=_visitor_ip(order[index]))
            latencies[index] = time.perf_counter() - began
            if answer.status_code != 202:
                errors.append(f"post {index}: {answer.status_code} {answer.json()}")

    began = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    sb.clock.settle()
    wall = time.perf_counter() - began
    timed = [latency for latency in latencies if latency is not None]
    return LoadResult(
        posts=len(order),
        addresses=len(set(order)),
        wall_s=wall,
        first_p50_ms=_ms(statistics.median(timed[:100])),
        last_p50_ms=_ms(statistics.median(timed[-100:])),
        breaches=errors + invariant_breaches(sb, sorted(set(order)), first_sends),
    )


def invariant_breaches(sb: Sandbox, addresses: list[str], first_sends: Counter[str]) -> list[str]:
    """One lead, one enrollment and one execution per address, touch 1 sent exactly once to each, and
    `leadflow audit` clean."""
    breaches: list[str] = []
    items: list[dict[str, Any]] = []
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=settings().table_name):
        items.extend(page["Items"])
    leads = Counter(item["pk"]["S"] for item in items if item["sk"]["S"] == "LEAD")
    enrollments = Counter(item["pk"]["S"] for item in items if item["sk"]["S"].startswith("ENROLLMENT#"))
    executions = Counter(
        execution["name"].rsplit("-", 1)[0].split("-")[0]
        for arn in sb.state_machine_arns.values()
        for page in aws.client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=arn)
        for execution in page["executions"]
    )
    if len(leads) != len(addresses):
        breaches.append(f"{len(leads)} leads for {len(addresses)} addresses")
    for address in addresses:
        lead_id = lead_items.lead_id_for_email(keys.email_key(address))
        if lead_id is None:
            breaches.append(f"{address}: no lead")
            continue
        counts = (
            leads[f"LEAD#{lead_id}"],
            enrollments[f"LEAD#{lead_id}"],
            executions[lead_id],
            first_sends[address],
        )
        if counts != (1, 1, 1, 1):
            breaches.append(f"{address}: leads, enrollments, executions, first touches = {counts}")
    breaches.extend(_audit_breaches(sb))
    return breaches


def _audit_breaches(sb: Sandbox) -> list[str]:
    """`leadflow audit` over the Sandbox (issue 11): every breach it finds."""
    report = sb.audit()
    return [line for line in report.lines() if line.startswith("BREACH")]


def load_run(posts: int) -> None:
    with Sandbox(START) as sb:
        result = load_test(sb, posts)
    record("load_posts", result.posts, "posts", note=f"{THREADS} threads, {result.addresses} addresses")
    record(
        "load_wall_s_1000_posts",
        result.wall_s,
        "s",
        note="16 threads through the intake handler; touch 1 out",
    )
    record("load_posts_first_100_p50_ms", result.first_p50_ms, "ms")
    record("load_posts_last_100_p50_ms", result.last_p50_ms, "ms")
    record("load_posts_last_vs_first_p50", result.last_p50_ms / result.first_p50_ms, "x", 1.5)
    record("load_invariant_breaches", len(result.breaches), "breaches", note="; ".join(result.breaches[:5]))


@dataclass
class Child:
    """A run in a child process of its own, its output going to files (a child running beside
    other work never blocks on a full pipe)."""

    part: str
    process: subprocess.Popen[str]
    out: IO[str]
    err: IO[str]


def start(part: str, quick: bool) -> Child:
    """One run ("scale" or "load") in a child process of its own (its peak memory is its own)."""
    # Open until `finish` reads and closes them (a context manager cannot span the two calls).
    out, err = tempfile.TemporaryFile(mode="w+"), tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    command = [sys.executable, "-m", "bench.load", part, *(["--quick"] if quick else [])]
    return Child(part, subprocess.Popen(command, stdout=out, stderr=err, text=True), out, err)


def finish(child: Child) -> None:
    """Wait for a run started by `start`; its figures are passed through."""
    from bench.results import take_figures

    child.process.wait()
    child.out.seek(0)
    child.err.seek(0)
    with child.out, child.err:
        take_figures(child.out.read())
        if child.process.returncode != 0:
            raise RuntimeError(f"bench.load {child.part} failed:\n{child.err.read()[-3000:]}")


def run(quick: bool, parts: tuple[str, ...] = ("scale", "load")) -> None:
    """The runs one after another, each in a child process."""
    for part in parts:
        finish(start(part, quick))


def main(argv: list[str]) -> int:
    size = QUICK_LEADS if "--quick" in argv else LEADS
    if "scale" in argv:
        scale_run(size)
    if "load" in argv:
        load_run(size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
