"""The weekly report's read cost, aggregation time and memory in detail, at 10,000 leads (6 touches each).

moto is far too slow at this size, so the figures come from plain data:
- read: the items the report's Query pages return are generated as the writers store them and keyed
  into the sharded by_day index; their DynamoDB sizes give the pages, read units and cost (computed).
- aggregate: both windows, every breakdown, drop-off, channel mix, diagnostics, A/B tests and the
  three renderings, timed; records' deep size and the aggregation's peak by tracemalloc.

The report end to end at 100,000 leads (botocore parsing, deserializing, mapping, aggregating and
rendering, in the report function's own code) is bench.report_stream's figure, measured, not added up.
Every lead runs all six touches here, an upper bound: real cadences stop early.
"""

from __future__ import annotations

import gc
import math
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from leadflow.report.build import Report, build_report, weekly_period
from leadflow.report.metrics import Window
from leadflow.report.records import CadencePlan, CadenceStep
from leadflow.report.render import render_csv, render_html, render_text
from leadflow.report.source import PROJECTION, DatasetBuilder
from leadflow.store.items import by_day_partition, by_day_shard

SIZES = (10_000,)
QUICK_SIZES = (1_000,)
RUN_AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
TIMEZONE = "America/Chicago"
CADENCE = "inbound-demo-request"
STEPS = (("email", 0), ("call", 1), ("email", 3), ("linkedin", 6), ("email", 13), ("email", 20))
EFFORT = {"email": 1, "call": 2, "linkedin": 2}
PLANS = {CADENCE: CadencePlan(CADENCE, tuple(CadenceStep(channel, EFFORT[channel]) for channel, _ in STEPS))}
OWNERS = ("alex", "sam", "kim", "lee")
SOURCES = ("webinar", "g2", "partner", "ads", "organic")

# DynamoDB: a Query page holds at most 1 MB; reads cost 0.5 read unit per 4 KB (eventually
# consistent, as every GSI read is), summed over a page's items; on-demand, us-east-1.
PAGE_BYTES = 1024 * 1024
READ_UNIT_BYTES = 4096
PRICE_PER_MILLION_READ_UNITS = 0.125
LAMBDA_MEMORY_MB = 1769  # infra: the report function's memory (one full vCPU)


def stamp(moment: datetime) -> str:
    """ISO 8601, whole seconds, Z (as leadflow.clock.iso; slicing is faster than strftime here)."""
    return moment.isoformat()[:19] + "Z"


def stored_items(leads: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Items as the writers store them (attribute names and typical values), with their index keys."""
    rng = random.Random(seed)
    end = weekly_period(RUN_AT, TIMEZONE).end
    first = end - timedelta(days=90)
    span = (timedelta(days=90) - timedelta(days=21)).total_seconds()

    def indexed(moment: datetime, lead_id: str, kind: str, sk: str) -> dict[str, Any]:
        text = stamp(moment)
        return {
            "pk": f"LEAD#{lead_id}",
            "sk": sk,
            "gsi1pk": f"MONTH#{text[:7]}",
            "gsi1sk": f"{text}#{lead_id}",
            "kind": kind,
        }

    for index in range(leads):
        lead_id = f"{rng.getrandbits(100):025x}"
        created = first + timedelta(seconds=span * index / leads)
        fate, fate_step = "none", 0
        roll = rng.random()
        if roll < 0.45:
            fate, fate_step = "respond", rng.choices(range(1, 7), weights=(20, 20, 25, 20, 10, 5))[0]
        elif roll < 0.48:
            fate, fate_step = "unsubscribe", rng.randint(1, 6)
        elif roll < 0.49:
            fate, fate_step = "bounce", 1
        owner, source = rng.choice(OWNERS), rng.choice(SOURCES)
        yield {
            **indexed(created, lead_id, "lead", "LEAD"),
            "id": lead_id,
            "email": f"firstname.lastname{index}@company{index % 977}.example",
            "first_name": "Firstname",
            "last_name": "Lastname",
            "company": "Company Incorporated",
            "title": "Vice President of Sales Operations",
            "source": source,
            "form": "demo-request",
            "phone": "+14155550123",
            "phone_e164": "+14155550123",
            "sms_consent": False,
            "timezone": "America/New_York",
            "country": "US",
            "lead_type": "inbound",
            "score": rng.randint(0, 100),
            "band": rng.choice(("low", "medium", "high")),
            "owner": owner,
            "message": "We are evaluating tools for our SDR team of twelve and would like a demo next week.",
            "status": "active",
            "created_at": stamp(created),
            "enrollments": 1,
        }
        schedule = [stamp(created + timedelta(days=day)) for _, day in STEPS]
        yield {
            **indexed(created, lead_id, "enrollment", "ENROLLMENT#001"),
            "lead_id": lead_id,
            "number": 1,
            "cadence": CADENCE,
            "run_status": "completed",
            "last_touch": 6,
            "schedule": schedule,
            "started_at": stamp(created),
            "zone": "America/New_York",
            "reason": "intake",
            "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:leadflow-{CADENCE}:"
            f"{lead_id}-{CADENCE}-1",
        }
        for number, (channel, day) in enumerate(STEPS, start=1):
            sent = created + timedelta(days=day, seconds=20)
            touch = {
                **indexed(sent, lead_id, "touch", f"TOUCH#001#{number:02d}"),
                "lead_id": lead_id,
                "enrollment": 1,
                "number": number,
                "cadence": CADENCE,
                "channel": channel,
                "template": f"{CADENCE}/touch-{number}",
                "sent_at": stamp(sent),
            }
            if channel == "email":
                variant = rng.choice("ab") if number in (1, 5) else None
                touch |= {
                    "status": "sent",
                    "message_id": f"0100018c{rng.getrandbits(128):032x}-000000",
                    "subject": "Quick question about your Q3 pipeline goals",
                    "own_message_id": f"<{rng.getrandbits(128):032x}@mail.leadflow.example>",
                }
                if variant:
                    touch["variant"] = variant
                yield touch
                if rng.random() < 0.4:
                    opened = sent + timedelta(minutes=rng.randint(1, 600))
                    yield {
                        **indexed(opened, lead_id, "event", f"EVENT#{stamp(opened)}#open"),
                        "lead_id": lead_id,
                        "type": "open",
                        "at": stamp(opened),
                        "enrollment": 1,
                        "touch": number,
                        "channel": "email",
                    }
            else:
                connected = fate == "respond" and fate_step == number and rng.random() < 0.6
                done = sent + timedelta(hours=rng.randint(1, 30))
                yield touch | {"status": "task", "task_id": f"{lead_id}-1-{number}"}
                yield {
                    **indexed(sent, lead_id, "task", f"TASK#001#{number:02d}"),
                    "id": f"{lead_id}-1-{number}",
                    "lead_id": lead_id,
                    "enrollment": 1,
                    "touch": number,
                    "cadence": CADENCE,
                    "channel": channel,
                    "name": f"touch-{number}",
                    "owner": owner,
                    "instruction": "Call about the demo request: ask what prompted it and offer two times.",
                    "due_at": stamp(sent),
                    "status": "connected" if connected else "no_answer",
                    "outcome_at": stamp(done),
                }
                if connected:
                    fate = "connected"
            if fate_step == number and fate in ("respond", "unsubscribe", "bounce"):
                moment = sent + timedelta(hours=rng.randint(1, 20))
                kind = {"respond": "reply", "unsubscribe": "unsubscribe", "bounce": "bounce"}[fate]
                yield {
                    **indexed(moment, lead_id, "event", f"EVENT#{stamp(moment)}#{kind}"),
                    "lead_id": lead_id,
                    "type": kind,
                    "at": stamp(moment),
                    "enrollment": 1,
                    "touch": number,
                }


def item_size(value: Any) -> int:
    """DynamoDB's item size rules: names plus values; numbers about one byte per two digits."""
    if isinstance(value, dict):
        return 3 + sum(len(name.encode()) + 1 + item_size(inner) for name, inner in value.items())
    if isinstance(value, list):
        return 3 + sum(1 + item_size(inner) for inner in value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        return 1 + math.ceil(len(str(abs(value)).replace(".", "").lstrip("0") or "0") / 2)
    return len(str(value).encode())


def stored_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + item_size(value) for name, value in item.items())


def project(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in PROJECTION if name in item}


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = work()
    return result, time.perf_counter() - began


def traced(work: Callable[[], Any]) -> tuple[Any, int, int]:
    """Result, bytes held after, and peak bytes, as tracemalloc counts them."""
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, held, peak


def run(quick: bool) -> None:
    period = weekly_period(RUN_AT, TIMEZONE)
    print(f"   report for the {period.name} ({TIMEZONE}); it reads the trailing 90 days, month by month")
    print(f"   priced at ${PRICE_PER_MILLION_READ_UNITS} per million read units (on-demand)")
    for leads in QUICK_SIZES if quick else SIZES:
        measure(leads, period)


def measure(leads: int, period: Window) -> None:
    kinds: Counter[str] = Counter()
    partition_bytes: Counter[str] = Counter()
    # As load_dataset does, item by item: only the records stay in memory.
    builder = DatasetBuilder()
    for item in stored_items(leads):
        kinds[item["kind"]] += 1
        partition = by_day_partition(item["gsi1sk"][:7], by_day_shard(item["pk"].removeprefix("LEAD#")))
        partition_bytes[partition] += stored_size(item)
        builder.add((project(item),))
    dataset = builder.finish()
    records_held = deep_size(dataset)
    items = sum(kinds.values())

    def aggregate() -> Report:
        return build_report(dataset, period, PLANS, company="Bench", timezone=TIMEZONE)

    report, aggregate_seconds = timed(aggregate)
    location = "s3://bucket/reports/x/report.html"
    rendered, render_seconds = timed(
        lambda: (render_html(report, location), render_text(report, location), render_csv(report))
    )
    _, _, aggregate_peak = traced(aggregate)

    total_bytes = sum(partition_bytes.values())
    pages = sum(max(1, math.ceil(size / PAGE_BYTES)) for size in partition_bytes.values())
    read_units = sum(math.ceil(size / READ_UNIT_BYTES) * 0.5 for size in partition_bytes.values())
    cost = read_units / 1e6 * PRICE_PER_MILLION_READ_UNITS
    memory = (records_held + aggregate_peak) / 1e6
    by_kind = ", ".join(f"{count:,} {kind}" for kind, count in sorted(kinds.items()))
    print(f"\n   {leads:,} leads, {len(dataset.touches):,} touches: {items:,} items ({by_kind})")
    print(
        f"     read (computed): {total_bytes / 1e6:,.1f} MB in {len(partition_bytes)} index partitions "
        f"(months x shards), {pages:,} pages of at most 1 MB, {read_units:,.0f} read units, ${cost:.4f}"
    )
    print(
        f"     aggregate (measured): {aggregate_seconds:.2f} s; render {render_seconds:.2f} s "
        f"(HTML {len(rendered[0]) / 1e3:,.0f} KB, CSV {len(rendered[2]) / 1e3:,.0f} KB)"
    )
    print(
        f"     memory: records {records_held / 1e6:,.0f} MB (deep size), aggregation peak "
        f"{aggregate_peak / 1e6:,.0f} MB more (tracemalloc)"
    )
    print(
        f"     fits Lambda: ~{memory:,.0f} MB of the function's {LAMBDA_MEMORY_MB} MB (process max RSS "
        f"{max_rss_mb():,.0f} MB); the time end to end: report_stream"
    )


def deep_size(root: Any) -> int:
    """Bytes held by an object graph of records, datetimes and strings, each object counted once."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        total += sys.getsizeof(value)
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
        elif hasattr(value, "__slots__") and not isinstance(value, str | datetime | Enum):
            stack.extend(getattr(value, name) for name in value.__slots__ if hasattr(value, name))
    return total


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
