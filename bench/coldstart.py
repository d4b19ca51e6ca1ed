"""Cold start of every function: importing its handler and its first call, against `import boto3`.

Each function runs in a fresh Python process, as a new Lambda instance does: the clock starts before
`import functions.<name>.handler` and stops when its first call returns. That call gets the function's
real event (an API Gateway post, a lead's next email touch, a reply in an SES receipt notification,
an SES delivery event through SNS and SQS, the report's schedule, the sweep's five-minute rule) and
reaches moto over HTTP (a moto server serving the Sandbox's state in this process), so it builds its
clients and reads and writes as in AWS. The baseline is a fresh process's `import boto3`, sampled
between the function's own imports. The whole is repeated in fresh Sandboxes (REPEATS; --quick: one)
and each part is its best sample: a ratio per function is (import + first call) / baseline. A first
call includes the moto server's own time. The children find botocore's models where Lambda's do: the
leadflow layer's trimmed models first (built as the layer build builds them; BOTOCORE_MODELS_DIR points
at them, where Lambda finds them at /opt/botocore-models), then botocore's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.performance_doc import COLD_START_TARGET
from bench.results import record
from leadflow import aws, keys
from leadflow.local import events
from leadflow.local.sandbox import REPO_ROOT, Sandbox
from leadflow.store import lead_items

START = "2026-11-23T15:00:00Z"  # inside the demo cadence's window: touch 1 of the posted lead goes at once
TARGET_RATIO = COLD_START_TARGET
REPEATS = 3  # fresh Sandboxes, each running every function's first call once
# What each timed first call must have done: no shortcut (a refusal, a touch already claimed) is timed.
DID_ITS_WORK: dict[str, Callable[[Any], bool]] = {
    "intake": lambda result: result["statusCode"] == 202,
    "step": lambda result: result["outcome"] == "sent",
    "inbound": lambda result: result["outcomes"] == ["reply"],
    "events": lambda result: result["batchItemFailures"] == [],
    "report": lambda result: result["status"] == "sent",
    "sweep": lambda result: "sweep" in result,
}

CHILD = """
import json, sys, time
began = time.perf_counter()
import importlib
handler = importlib.import_module(f"functions.{sys.argv[1]}.handler")
imported = time.perf_counter()

class Context:
    function_name = f"leadflow-{sys.argv[1]}"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    def get_remaining_time_in_millis(self):
        return 60_000

result = handler.lambda_handler(json.load(sys.stdin), Context())
called = time.perf_counter()
timed = {"import_s": imported - began, "first_call_s": called - imported, "result": result}
print(json.dumps(timed, default=str))
"""


def _fresh(code: str, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start of {args}: {done.stderr[-2000:]}")
    return done.stdout


def boto3_import_s() -> float:
    code = "import time; began = time.perf_counter(); import boto3; print(time.perf_counter() - began)"
    return float(_fresh(code))


def _import_s(function: str, env: dict[str, str]) -> float:
    code = (
        "import time; began = time.perf_counter(); import importlib; "
        f"importlib.import_module('functions.{function}.handler'); print(time.perf_counter() - began)"
    )
    return float(_fresh(code, env=env).splitlines()[-1])


def _first_events(sb: Sandbox) -> dict[str, dict[str, Any]]:
    """One real event per function, on the Sandbox's state."""
    now = sb.now()
    post = json.dumps({"email": "cold@example.com", "first_name": "Ada", "form": "demo-request"})
    intake = events.api_gateway_event(
        "POST", "/leads", body=post, headers={"Content-Type": "application/json"}, at=now
    )
    sb.post("/leads", json={"email": "warm@example.com", "first_name": "Bo", "form": "demo-request"})
    lead_id = lead_items.lead_id_for_email(keys.email_key("warm@example.com"))
    assert lead_id is not None
    (sent,) = [message for message in sb.outbox() if message["lead_id"] == lead_id]
    # A second lead, whose next email touch the child sends: touch 1 went at once (speed to lead),
    # its execution is stopped before it reaches the next one, and the child runs that touch (due,
    # on the real clock), rendering and sending it as the step does most often.
    sb.post(
        "/leads",
        json={
            "email": "step@example.com",
            "first_name": "Cy",
            "form": "demo-request",
            "timezone": "Asia/Tokyo",
        },
    )
    step_lead = lead_items.lead_id_for_email(keys.email_key("step@example.com"))
    assert step_lead is not None
    (execution,) = sb.executions(step_lead)
    aws.client("stepfunctions").stop_execution(executionArn=execution["arn"])
    step = {"lead_id": step_lead, **{name: execution["input"][name] for name in ("cadence", "enrollment")}}
    touches = enumerate(sb.cadences[step["cadence"]].touches, start=1)
    step["touch"] = next(number for number, touch in touches if number > 1 and touch.channel == "email")
    raw = events.reply_email(
        "Bo <warm@example.com>",
        to=sent["headers"].get("Reply-To", sent["headers"]["From"]),
        subject=f"Re: {sent['subject']}",
        body="Thanks, Tuesday works.",
        at=now,
        headers={"In-Reply-To": sent["headers"].get("Message-ID", "")},
    )
    inbound = sb.inbound_mail_event(raw)
    delivery = events.ses_event(
        "Delivery", message_id=sent["message_id"], recipients=["warm@example.com"], sent_at=now, at=now
    )
    ses_events = sb.ses_event_batch(delivery)
    report = events.scheduler_event(
        now, "arn:aws:scheduler:us-east-1:123456789012:schedule/default/leadflow-weekly-report"
    )
    sweep = {"audit": False}  # the input of the sweep's five-minute rule (infra/constructs/alarms.py)
    return {
        "intake": intake,
        "step": step,
        "inbound": inbound,
        "events": ses_events,
        "report": report,
        "sweep": sweep,
    }


def _sandbox_run(samples: dict[str, dict[str, list[float]]], models: Path) -> None:
    """One fresh Sandbox: every function's first call (checked to have done its work) and imports,
    each import paired with an `import boto3` sample taken next to it."""
    from moto.server import ThreadedMotoServer

    with Sandbox(START) as sb:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
        server.start()
        try:
            host, port = server.get_host_and_port()
            first_events = _first_events(sb)
            for function, event in first_events.items():
                # As Lambda sets it (functions/__init__.py pauses the garbage collector in Lambda).
                env = {
                    **os.environ,
                    "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                    "AWS_LAMBDA_FUNCTION_NAME": f"leadflow-{function}",
                    "BOTOCORE_MODELS_DIR": str(models),
                }
                taken = samples.setdefault(function, {"baseline": [], "import": [], "first_call": []})
                taken["baseline"].append(boto3_import_s())
                timed = json.loads(_fresh(CHILD, function, stdin=json.dumps(event), env=env).splitlines()[-1])
                if not DID_ITS_WORK[function](timed["result"]):
                    raise RuntimeError(f"the first call of {function} took a short path: {timed['result']}")
                taken["import"].append(timed["import_s"])
                taken["first_call"].append(timed["first_call_s"])
                for _ in range(2):
                    taken["baseline"].append(boto3_import_s())
                    taken["import"].append(_import_s(function, env))
        finally:
            server.stop()


def run(quick: bool) -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's request log
    # The same first calls in fresh Sandboxes, REPEATS times: each figure is its best sample, the
    # baseline too, whose samples are taken between the function's imports (a machine busy at one
    # moment of the run weighs on both sides of a ratio).
    from infra.layers import build_botocore_models

    models = build_botocore_models()  # the leadflow layer's /opt/botocore-models
    samples: dict[str, dict[str, list[float]]] = {}
    repeats = 1 if quick else REPEATS
    for _ in range(repeats):
        _sandbox_run(samples, models)
    record(
        "cold_start_import_boto3_ms",
        min(min(taken["baseline"]) for taken in samples.values()) * 1000,
        "ms",
        note="fresh process, best of the samples taken between the functions' imports",
    )
    for function, taken in samples.items():
        baseline, imported, first_call = (min(taken[kind]) for kind in ("baseline", "import", "first_call"))
        record(
            f"cold_start_ms_{function}_import", imported * 1000, "ms", note=f"best of {len(taken['import'])}"
        )
        record(
            f"cold_start_ms_{function}_first_call",
            first_call * 1000,
            "ms",
            note=f"best of {repeats} (one per fresh Sandbox)",
        )
        record(
            f"cold_start_ratio_{function}",
            (imported + first_call) / baseline,
            "x import boto3",
            TARGET_RATIO,
            f"import + first call over import boto3 ({baseline * 1000:.0f} ms, best of the "
            f"{len(taken['baseline'])} taken between this function's imports); target <= {TARGET_RATIO}",
        )
