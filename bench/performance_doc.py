"""docs/PERFORMANCE.md, generated from bench/results.json (`make bench` rewrites both; a test keeps them
in step). `python -m bench.performance_doc` regenerates the page from the results file alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.costs import PRICES
from bench.results import RESULTS_PATH

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"

# Service limits (AWS documentation, us-east-1 defaults): inputs of the computed ceilings below.
API_RATE_PER_S = 10  # infra/config.py: the stage's default steady rate (burst 20)
START_EXECUTION_PER_S = 300  # Step Functions Standard StartExecution refill rate (bucket 1,300)
OPEN_EXECUTIONS = 1_000_000  # open Standard executions per account and Region
SES_RATE_PER_S = 14  # a new production SES account's sending rate (raised on request)
PARTITION_WRITE_UNITS_PER_S = 1000  # DynamoDB, per partition
CADENCE_DAYS = 21
SPREAD_S = 20 * 60  # leadflow.cadence.schedule.OPENING_SPREAD
SHARDS = 8  # leadflow.store.table.BY_DAY_SHARDS
# The peer, mdwt/mailshot (Step Functions, Lambda, DynamoDB and SES; email only) for its 6-email
# sequence, measured at the prices of bench/costs.py in issue 13: USD per 1,000 subscribers, and the
# state transitions one subscriber's execution takes (issue 28's study).
MAILSHOT = {"touches": 6, "transitions": 14, "cost_usd_per_1000": 0.99}
COLD_START_TARGET = 3.0  # every cold_start_ratio_* (import + first call over `import boto3`), issue 28

TARGETS = [
    ("speed_to_lead_p99_ms", "speed to lead p99, Sandbox, 1,000 leads", "< 250 ms", lambda v: v < 250),
    ("intake_posts_last_vs_first_p50", "p50 of the last 100 posts / first 100", "≤ 1.5", lambda v: v <= 1.5),
    ("load_posts_last_vs_first_p50", "the same under the 16-thread load test", "≤ 1.5", lambda v: v <= 1.5),
    (
        "sandbox_full_cadence_s_1000_leads",
        "1,000 leads through the whole cadence",
        "< 180 s",
        lambda v: v < 180,
    ),
    ("sandbox_rss_mb_1000_leads", "peak memory of that run", "< 1,024 MB", lambda v: v < 1024),
    ("transitions_per_lead_demo", "state transitions per lead, demo cadence", "≤ 11", lambda v: v <= 11),
    (
        "dynamodb_write_units_per_lead",
        "DynamoDB write units per lead, index writes included",
        "≤ 50",
        lambda v: v <= 50,
    ),
    (
        "load_invariant_breaches",
        "load test: one lead/enrollment/execution, touch 1 once",
        "0",
        lambda v: v == 0,
    ),
    (
        "cost_usd_per_1000_leads_demo_without_ses",
        "infrastructure per 1,000 leads",
        "≤ $0.30",
        lambda v: v <= 0.30,
    ),
    ("report_100k_s", "weekly report at 100k leads", "< 20 s", lambda v: v < 20),
    ("report_100k_peak_mb", "its peak memory", "< 1,024 MB", lambda v: v < 1024),
    ("bench_wall_s", "make bench's sections, without the install", "< 600 s", lambda v: v < 600),
]


# What each function's timed first call does (bench/coldstart.py checks it did it), and what is left.
COLD_START_FIRST_CALLS = {
    "intake": "A form post: five clients (Secrets Manager, DynamoDB, EventBridge, Step Functions, "
    "Lambda), the abuse limits, the lead's writes, its execution's start and touch 1's hand-over: 15 AWS "
    "calls. A plain ASCII address is checked without importing email_validator (fields.plain_address).",
    "step": "An email touch: four clients (DynamoDB, Secrets Manager, SES, EventBridge), Jinja with the "
    "touch's precompiled templates, the lead and its enrollment in one read, the claim, the send and its "
    "records: 14 AWS calls, collection paused through the call.",
    "inbound": "A reply: six clients (S3, Secrets Manager, DynamoDB, Step Functions, EventBridge, SES; "
    "SNS too when the owner is at work, else the alert is held), the MIME parse, the intent rules' 58 "
    "and the snooze phrases' 14 regular expressions compiled, the stops of the lead's and its "
    "colleagues' enrollments and open tasks (the bench's leads are all at example.com: one account), "
    "the forward to the owner, the rep's task: 25 AWS calls. No Scheduler call for an escalation "
    "whose chain ended or whose time is long past, no cadence model built, no SMS or held-mail "
    "module imported, collection paused through the call.",
    "events": "An SES delivery event through SNS and SQS: two clients (DynamoDB, Secrets Manager) and "
    "the event's records, their expiry from the compiled configuration's retention (the configuration's "
    "other models neither imported nor built), collection paused through the call.",
    "report": "The whole weekly run: the trailing 90 days (they hold the periods the trends compare) "
    "are 4 UTC months × 8 shards = 32 Queries, and the week after the period 8 more for the not-now "
    "leads due back, empty here but each a round trip to the moto server, on reader threads started "
    "before the first read; then the guard's pause and rates, the three archived files put side by "
    "side, the claim, the email and its record: 49 AWS calls, collection paused through the call. The "
    "break-up steps and the cadences' touches are read from the layer's compiled files (no cadence "
    "model built, no message rendered). Its imports alone (boto3, Powertools, pydantic, Jinja for the "
    "rendering, the report's modules) are over twice `import boto3`. Past it: a weekly summary the "
    "report can trust, which needs the writers to mark the weeks they change (docs/decisions.md, "
    '"Weekly report aggregates").',
    "sweep": "The five-minute sweep (its most frequent call): two clients (DynamoDB, Step Functions), "
    "the executions that ended early (ListExecutions per state machine and status, 18) and the "
    "enrollments needing attention (the index's 9 keys), side by side on one pool of 8 threads started "
    "before them (an execution a stop ended is read as stored, no claim record), the held alerts (who gets "
    "them and their hours from the compiled configuration, its other models neither imported nor built): "
    "33 AWS calls, collection paused through the call.",
}
COLD_START_REST = (
    "Past boto3's import: pydantic (its import and the machinery its first model class imports, "
    "~45 ms, then our model classes, 20–50 ms), compiling our own modules (Lambda keeps no bytecode: "
    "20–35 ms), botocore's session, endpoints.json and credentials once (~14 ms) and 2.5–7.5 ms per "
    "client (3.5–17 ms before the layer carried botocore's models trimmed to our calls), and each AWS "
    "call a round trip into the moto server; the collector no longer runs during the import and the "
    'touch templates come precompiled (docs/decisions.md, "Cold starts, round 3", and "botocore\'s '
    'models trimmed in the layer").'
)
WHY_MISSED = {
    "speed_to_lead_p99_ms": "the post, its execution's start and touch 1 run in this one process on "
    "moto, behind one handler lock: every AWS call (about 30 from post to SES) is a whole botocore "
    "round trip into moto (request built and signed, parsed, answered, parsed again), and the "
    "interpreter's threads share the machine's cores with whatever else runs. The p50 is the "
    "pipeline's cost; the tail is a post that waited for a core. The per-post cost stays flat "
    "(last/first p50).",
    "sandbox_full_cadence_s_1000_leads": "the run is one Python process on one core (the GIL; the "
    "Sandbox runs one handler at a time) and its time is AWS round trips: about 145 per lead over the "
    "cadence, 110 of them DynamoDB (62 GetItem, 28 conditional UpdateItem, 19 PutItem), each a whole "
    "botocore call into moto in-process (request built, validated and serialized, moto's request "
    "emulation, its DynamoDB semantics, the answer parsed again): 0.7 ms for a GetItem, 1.7 ms for a "
    "conditional UpdateItem. What made it grow faster than the leads (moto's table copies and instance "
    "tracking, its whole-table sort on every Query) and moto's avoidable repeats (response serializer, "
    "JSONPath parser builds, update-expression parses, full garbage collections) are gone "
    "(docs/decisions.md); what is left is proportional to the calls a lead's cadence makes.",
    "cost_usd_per_1000_leads_demo_without_ses": "Step Functions Standard bills every state entered. "
    "The demo cadence has six send moments; touch 1 goes out through an asynchronous invoke of the "
    "step (a Lambda request, not a transition), so five Waits and five Tasks are 10 transitions, "
    "$0.25 per 1,000 leads before any other service; the speed-to-lead escalations run on one-shot "
    "EventBridge Scheduler schedules ($1 per million) outside the execution (issue 28). What is left "
    "above $0.25 is DynamoDB (its write units just above their own target, and about 60 strongly "
    "consistent read units a lead: a step reads its enrollment, the claim's record and the lead "
    "before it claims, and the lead again before the provider call), API Gateway, Lambda and SNS.",
    "dynamodb_write_units_per_lead": "an index write is billed whenever a key or projected attribute "
    "changes, and each item write by the larger of its before and after sizes (bench/costs.py). "
    "The enrollment item still stores its execution's ARN after the start (one unit a lead; the ARN "
    "could be derived from the deterministic execution name), and the intake's abuse limits, "
    'round-robin counter and contact index take 9 units a lead (docs/decisions.md, "Fewer writes, '
    'round 2").',
    "report_100k_s": "the time is client-side CPU in one process (`report_100k_cpu_s` is that "
    "process's CPU time): about 1.2 million index items read (JSON, decoding, mapping to records: "
    "about half the run) and aggregated (the other half, cut by a third in issue 28 without changing "
    "a figure). Past it: not reading the closed weeks again, i.e. weekly summaries, which are exact "
    'only if every writer marks the weeks it changes (docs/decisions.md, "Weekly report aggregates").',
    **{
        f"cold_start_ratio_{function}": first_call + ("" if function == "report" else " " + COLD_START_REST)
        for function, first_call in COLD_START_FIRST_CALLS.items()
    },
}


def _held(name: str, value: float) -> bool:
    for target_name, _, _, held in TARGETS:
        if target_name == name:
            return bool(held(value))
    return value <= COLD_START_TARGET  # the cold-start ratios


def _value(figures: dict[str, Any], name: str) -> float | None:
    figure = figures.get(name)
    return None if figure is None else float(figure["value"])


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "not measured"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def _machine(figures: dict[str, Any]) -> str:
    cores = _value(figures, "machine_cpus")
    start, end = _value(figures, "machine_load_1m_at_start"), _value(figures, "machine_load_1m_at_end")
    if cores is None or start is None or end is None:
        return "The machine the run shared is not recorded."
    return (
        f"The run had {cores:.0f} cores; the load average was {start:.1f} when it began and {end:.1f} "
        "when it ended (above the core count, a wall-clock figure includes waiting for a core)."
    )


def render(figures: dict[str, Any]) -> str:
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` from `bench/results.json` (regenerate alone: `python -m "
        "bench.performance_doc`).",
        "**Measured** figures come from the run: the Sandbox (moto in-process, a discrete simulated clock)",
        "on the machine that ran it, so absolute times are this machine's, not Lambda's. **Computed**",
        "figures are arithmetic on measured counts and the documented service limits named beside them.",
        "",
        "## Targets",
        "",
        "| figure | target | last run | held |",
        "|---|---|---|---|",
    ]
    for name, label, target, held in TARGETS:
        value = _value(figures, name)
        unit = figures.get(name, {}).get("unit", "")
        verdict = (
            "—"
            if value is None
            else "yes"
            if held(value)
            else f"no ({value / _bound(target):.3g}× the bound)"
        )
        lines.append(f"| {label} (`{name}`) | {target} | {_fmt(value, unit)} | {verdict} |")
    cold = sorted(name for name in figures if name.startswith("cold_start_ratio_"))
    for name in cold:
        value = _value(figures, name)
        assert value is not None
        verdict = "yes" if value <= COLD_START_TARGET else f"no ({value / COLD_START_TARGET:.2g}× the bound)"
        lines.append(
            f"| cold start, import + first call / `import boto3` (`{name}`) | ≤ {COLD_START_TARGET}× | "
            f"{value:.2f}× | {verdict} |"
        )
    missed = [
        (name, why)
        for name, why in WHY_MISSED.items()
        if (value := _value(figures, name)) is not None and not _held(name, value)
    ]
    if missed:
        lines += ["", "## Why a target is missed", "", _machine(figures), ""]
        lines += [f"- `{name}`: {why}" for name, why in missed]
    lines += [
        "",
        "## Every figure of the last run",
        "",
        "| name | value | unit | baseline | ratio | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, figure in sorted(figures.items()):
        baseline = "" if figure.get("baseline") is None else f"{figure['baseline']:,}"
        ratio = "" if figure.get("ratio") is None else f"{figure['ratio']:,}"
        lines.append(
            f"| `{name}` | {figure['value']:,} | {figure['unit']} | {baseline} | {ratio} | "
            f"{figure.get('note', '')} |"
        )
    lines += _cost_model(figures) + _ceilings(figures)
    return "\n".join(lines) + "\n"


def _missed(value: float, target: str) -> str:
    bound = _bound(target)
    return f"no: {value / bound:.2g}× the bound" if bound else "no"


def _bound(target: str) -> float:
    digits = "".join(ch for ch in target if ch.isdigit() or ch == ".")
    return float(digits) if digits and float(digits) else 1.0


def _cost_model(figures: dict[str, Any]) -> list[str]:
    parts = [
        ("Step Functions", "step_functions"),
        ("Lambda (arm64, measured durations)", "lambda"),
        ("DynamoDB (on-demand, units from item sizes)", "dynamodb"),
        ("SES", "ses"),
        ("SNS (alerts, SMS)", "sns"),
        ("EventBridge Scheduler (speed-to-lead escalations)", "scheduler"),
        ("API Gateway REST", "api"),
    ]
    lines = [
        "",
        "## Cost per 1,000 leads, demo cadence, no reply (computed from measured counts)",
        "",
        "Counts measured on the Sandbox run of 1,000 leads through `inbound-demo-request`: "
        f"{_fmt(_value(figures, 'transitions_per_lead_demo'))} transitions, "
        f"{_fmt(_value(figures, 'step_invocations_per_lead_demo'))} step invocations, "
        f"{_fmt(_value(figures, 'emails_per_lead_demo'))} emails, "
        f"{_fmt(_value(figures, 'dynamodb_write_units_per_lead'))} write and "
        f"{_fmt(_value(figures, 'dynamodb_read_units_per_lead'))} read units per lead. "
        "Prices (one table, `bench/costs.py`):",
        "",
        "| price | USD |",
        "|---|---|",
    ]
    lines += [f"| {name} | {price:.10g} |" for name, price in PRICES.items()]
    lines += ["", "| service | leadflow, USD per 1,000 leads |", "|---|---|"]
    for label, key in parts:
        lines.append(f"| {label} | {_fmt(_value(figures, f'cost_usd_per_1000_leads_demo_{key}'))} |")
    lines += [
        f"| **total** | **{_fmt(_value(figures, 'cost_usd_per_1000_leads_demo'))}** |",
        f"| without SES | {_fmt(_value(figures, 'cost_usd_per_1000_leads_demo_without_ses'))} |",
        "",
        "The peer (mdwt/mailshot: Step Functions, Lambda, DynamoDB and SES for a 6-email "
        "sequence) comes to about "
        "$0.99 per 1,000 subscribers at the same prices (issue 13's measurement), for email only: no SMS, "
        "rep tasks, send windows or reports.",
    ]
    return lines + _per_touch(figures)


def _per_touch(figures: dict[str, Any]) -> list[str]:
    """The same costs per touch, beside mailshot's per email: cadences differ in length, touches don't."""
    touches = _value(figures, "touches_per_lead_demo")
    transitions = _value(figures, "transitions_per_lead_demo")
    total = _value(figures, "cost_usd_per_1000_leads_demo")
    without_ses = _value(figures, "cost_usd_per_1000_leads_demo_without_ses")
    if not touches or transitions is None or total is None or without_ses is None:
        return ["", "Per touch: not measured (the scale run's touch count is missing)."]
    peer_touches = MAILSHOT["touches"]
    peer_ses = peer_touches * PRICES["ses_per_email"] * 1000
    peer_total = MAILSHOT["cost_usd_per_1000"]
    return [
        "",
        "### Per touch, beside mailshot's per email",
        "",
        "A touch is a message sent or a task handed to a rep (skipped touches not counted); "
        f"the run's leads had {touches:.2f} touches each, mailshot's subscribers {peer_touches} emails.",
        "",
        "| per touch | leadflow | mailshot |",
        "|---|---|---|",
        f"| state transitions | {transitions / touches:.2f} | {MAILSHOT['transitions'] / peer_touches:.2f} |",
        f"| USD per 1,000 touches | {total / touches:.3f} | {peer_total / peer_touches:.3f} |",
        f"| USD per 1,000 touches, without SES | {without_ses / touches:.3f} | "
        f"{(peer_total - peer_ses) / peer_touches:.3f} |",
    ]


def _ceilings(figures: dict[str, Any]) -> list[str]:
    write_units = _value(figures, "dynamodb_write_units_per_lead") or 0.0
    per_day_cadence = OPEN_EXECUTIONS // CADENCE_DAYS
    ses_burst = SES_RATE_PER_S * SPREAD_S
    return [
        "",
        "## Ceilings (computed from the limits named; none of these is measured here)",
        "",
        f"- **API Gateway stage throttle**: {API_RATE_PER_S} requests/s steady, burst 20 (infra/config.py, "
        "`throttleRateLimit`/`throttleBurstLimit`), shared by form posts, unsubscribes, task "
        "links and meeting "
        f"webhooks: {API_RATE_PER_S * 86400:,} requests a day at most, and a campaign that makes "
        "30 forms post "
        "in the same second gets 429s for a third of them. Past it: raise the stage limits in "
        "the CDK context, "
        "or give routes limits of their own (`leadflow:routeThrottles`, e.g. `leads:POST=50/100`, "
        "`unsubscribe:POST=5/10`) so a burst of unsubscribes never takes the forms' budget; the "
        "account's Regional limit (10,000 requests/s) is the next wall.",
        f"- **StartExecution**: {START_EXECUTION_PER_S}/s refill (bucket 1,300) per account and "
        "Region. Intake "
        "starts one execution per new lead, so a burst above ~1,300 new leads at once, or a sustained "
        f"{START_EXECUTION_PER_S} posts/s, is throttled; the intake stores the lead and a "
        "pending enrollment first "
        "and the sweep starts it later (issue 11), so nothing is lost, only delayed. Past it: a "
        "quota increase, "
        "or an SQS pacing queue in front of StartExecution.",
        f"- **Open executions**: {OPEN_EXECUTIONS:,} open Standard executions per account and Region. A lead "
        f"holds one for its cadence's length, so {CADENCE_DAYS}-day cadences allow about "
        f"{per_day_cadence:,} new "
        "leads a day in total across all cadences (fewer if re-engagement runs too). Past it: shorter "
        "executions (one per touch, started by EventBridge Scheduler), or shard leads over "
        "Regions or accounts.",
        f"- **SES sending rate**: {SES_RATE_PER_S} messages/s for a new production account. "
        "Touches of leads who "
        f"posted overnight fall due over the window's first {SPREAD_S // 60} minutes (deterministic per-lead "
        f"offset), so one opening absorbs about {ses_burst:,} emails per time zone before sends queue behind "
        "the rate limit (retried with backoff by the state machine). Past it: request a higher "
        "rate, widen the "
        "spread, or pace sends through a queue.",
        f"- **DynamoDB partitions**: 1,000 write units/s per partition. A lead's items share its partition "
        f"(about {write_units:.0f} write units over a whole cadence, measured), far below. The by_day index "
        f"is sharded {SHARDS} ways per month (`MONTH#<yyyy-mm>#<n>`; writes always land in the current "
        f"month, so the {SHARDS} shards are the partitions taking them), which take "
        f"{SHARDS * PARTITION_WRITE_UNITS_PER_S:,} write units/s before throttling; unsharded, one "
        "window-start burst could throttle the index and back-pressure the table. Past it: more shards (the "
        "report reads each), which costs one Query per shard per month of the period.",
        "",
    ]


def write(results_path: Path = RESULTS_PATH, doc_path: Path = DOC_PATH) -> None:
    doc_path.write_text(render(json.loads(results_path.read_text())))


if __name__ == "__main__":
    write()
    sys.exit(0)
