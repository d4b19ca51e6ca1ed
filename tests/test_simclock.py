"""The discrete simulated clock drives moto's real Step Functions interpreter."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from leadflow.local.simclock import SimClock, cache_boto_clients, memoize_asl_parse, route_lambda

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/sfn"
FN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Boom(Exception):
    pass


@dataclass
class Rig:
    sfn: Any
    clock: SimClock
    calls: list[tuple[str, str, datetime]] = field(default_factory=list)
    handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event: dict[str, Any]) -> datetime:
        now = self.clock.now()
        with self.lock:
            self.calls.append((event["id"], event["step"], now))
        return now

    def machine(self, name: str, states: dict[str, Any], start_at: str) -> str:
        definition = json.dumps({"StartAt": start_at, "States": states})
        arn: str = self.sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
        return arn

    def start(self, machine_arn: str, name: str, payload: dict[str, Any] | None = None) -> str:
        arn: str = self.sfn.start_execution(
            stateMachineArn=machine_arn, name=name, input=json.dumps(payload or {})
        )["executionArn"]
        return arn

    def status(self, execution_arn: str) -> str:
        status: str = self.sfn.describe_execution(executionArn=execution_arn)["status"]
        return status


def task(function: str, step: str, nxt: str | None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": FN.format(function),
            "Payload": {"id.$": "$$.Execution.Name", "step": step, "input.$": "$"},
        },
        "ResultSelector": {"until.$": "$.Payload.until"},
        **extra,
    }
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt
    return state


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clock = SimClock(START)
    with mock_aws(config=MOTO_CONFIG):
        rig = Rig(sfn=boto3.client("stepfunctions", region_name="us-east-1"), clock=clock)

        def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
            now = rig.record(event)
            offset = event["input"].get("offset", 0)
            return {"until": event["input"].get("until_override") or iso(now + timedelta(seconds=offset))}

        rig.handlers["record"] = record
        clock.install()
        undo_route = route_lambda(rig.handlers, lambda name: {"function_name": name})
        undo_cache = cache_boto_clients()
        try:
            yield rig
        finally:
            clock.settle()
            for machine in rig.sfn.list_state_machines()["stateMachines"]:
                running = rig.sfn.list_executions(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                )["executions"]
                for execution in running:
                    rig.sfn.stop_execution(executionArn=execution["executionArn"])
            clock.settle()
            undo_cache()
            undo_route()
            clock.uninstall()


CADENCE = {
    "First": task("record", "first", "UntilTimestamp"),
    "UntilTimestamp": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Second"},
    "Second": task("record", "second", "OneDay"),
    "OneDay": {"Type": "Wait", "Seconds": 86400, "Next": "Third"},
    "Third": task("record", "third", None),
}


def test_tasks_run_at_exact_simulated_times(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    execution = rig.start(machine, "lead-1", {"offset": 3 * 3600})
    rig.clock.settle()
    second_at = START + timedelta(hours=3)
    third_at = second_at + timedelta(days=1)

    rig.clock.advance_to(second_at - timedelta(seconds=1))
    assert [step for _, step, _ in rig.calls] == ["first"]
    assert rig.clock.parked() == 1
    rig.clock.advance_to(third_at - timedelta(seconds=1))
    assert [step for _, step, _ in rig.calls] == ["first", "second"]
    assert rig.clock.now() == third_at - timedelta(seconds=1)
    rig.clock.advance(10 * 86400)

    assert rig.calls == [
        ("lead-1", "first", START),
        ("lead-1", "second", second_at),
        ("lead-1", "third", third_at),
    ]
    assert rig.status(execution) == "SUCCEEDED"
    assert rig.clock.parked() == 0
    assert rig.clock.now() == third_at + timedelta(days=10, seconds=-1)


def test_a_timer_runs_at_its_moment_between_the_waits_around_it(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    rig.start(machine, "lead-1", {"offset": 3 * 3600})
    rig.clock.settle()
    seen: list[tuple[datetime, list[str]]] = []
    timer_at = START + timedelta(hours=3)  # the same moment as the Wait's end: the timer first

    def note() -> None:
        seen.append((rig.clock.now(), [step for _, step, _ in rig.calls]))

    rig.clock.call_at(START + timedelta(hours=5), note)
    rig.clock.call_at(timer_at, note)
    rig.clock.advance(86400)
    assert seen == [(timer_at, ["first"]), (START + timedelta(hours=5), ["first", "second"])]
    assert rig.clock.now() == START + timedelta(days=1)


def test_interleaved_executions_run_in_global_time_order(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    offsets = {f"lead-{i}": (i * 7919) % 97 * 1800 for i in range(24)}  # some share a target
    arns = [rig.start(machine, name, {"offset": offset}) for name, offset in offsets.items()]
    rig.clock.settle()
    rig.clock.advance(3 * 86400)

    assert len(rig.calls) == 3 * len(offsets)
    times = [at for _, _, at in rig.calls]
    assert times == sorted(times)
    for name, offset in offsets.items():
        mine = [(step, at) for who, step, at in rig.calls if who == name]
        second_at = START + timedelta(seconds=offset)
        assert mine == [("first", START), ("second", second_at), ("third", second_at + timedelta(days=1))]
    assert {rig.status(arn) for arn in arns} == {"SUCCEEDED"}


def test_stop_releases_a_parked_wait(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    execution = rig.start(machine, "lead-stop", {"offset": 3600})
    rig.clock.settle()
    assert rig.clock.parked() == 1

    rig.sfn.stop_execution(executionArn=execution)
    rig.clock.settle()
    assert rig.clock.parked() == 0
    assert rig.status(execution) == "ABORTED"
    rig.clock.advance(30 * 86400)
    assert [step for _, step, _ in rig.calls] == ["first"]


def test_handler_exception_class_names_the_error_for_retry_and_catch(rig: Rig) -> None:
    attempts: list[datetime] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts.append(rig.clock.now())
        if len(attempts) == 1:
            raise Boom("first attempt fails")
        return {"until": "ok"}

    def always(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context == {"function_name": "always"}
        raise Boom("always fails")

    rig.handlers.update(flaky=flaky, always=always)
    states = {
        "Flaky": task(
            "flaky",
            "flaky",
            "Always",
            Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        ),
        "Always": task(
            "always",
            "always",
            "Unreached",
            Catch=[{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Caught"}],
        ),
        "Unreached": {"Type": "Fail", "Error": "Unreached"},
        "Caught": {"Type": "Pass", "End": True},
    }
    machine = rig.machine("errors", states, "Flaky")
    execution = rig.start(machine, "lead-errors")
    rig.clock.settle()
    # The retry's backoff takes simulated time, like a Wait: nothing runs until the clock moves.
    assert attempts == [START]
    rig.clock.advance(1)

    assert attempts == [START, START + timedelta(seconds=1)]
    described = rig.sfn.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    error = json.loads(described["output"])["error"]
    assert error["Error"] == "Boom"
    assert json.loads(error["Cause"]) == {"errorType": "Boom", "errorMessage": "always fails"}


def test_a_definition_is_parsed_once_and_each_execution_keeps_its_own_retry_count(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser.asl.component import eval_component
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse
    parsed: list[str] = []

    def counting_parse(definition: str) -> Any:
        parsed.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    monkeypatch.setattr("leadflow.local.simclock._parsed_definitions", {})
    undo = memoize_asl_parse()
    attempts: dict[str, int] = {}

    def fails_first_attempt(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts[event["id"]] = attempts.get(event["id"], 0) + 1
        if attempts[event["id"]] == 1:
            raise Boom("first attempt of each execution fails")
        return {"until": "ok"}

    rig.handlers["once"] = fails_first_attempt
    # One retry each: if executions shared the parsed Retry's attempt count, the second would fail.
    states = {
        "Once": task(
            "once", "once", None, Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}]
        )
    }
    try:
        first_machine = rig.machine("memo-a", states, "Once")
        second_machine = rig.machine("memo-b", states, "Once")  # the same text, deployed twice
        # Every component drew its heap key at parse time: none is drawn by racing executions.
        drawn: list[str] = []
        monkeypatch.setattr(eval_component, "long_uid", lambda: drawn.append("key") or "late-key")
        executions = [rig.start(first_machine, "lead-a"), rig.start(second_machine, "lead-b")]
        rig.clock.settle()
        rig.clock.advance(1)
    finally:
        undo()

    assert [rig.status(execution) for execution in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert attempts == {"lead-a": 2, "lead-b": 2}
    assert drawn == []
    # Two creates and two starts of one definition: one parse, where moto alone parses four times.
    assert len(parsed) == 1
    assert vars(AmazonStateLanguageParser)["parse"].__func__ is counting_parse  # undo restored it


def test_settle_returns_after_the_first_task_ran(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    for i in range(5):
        rig.start(machine, f"lead-settle-{i}", {"offset": 60})
        rig.clock.settle()
        assert len(rig.calls) == i + 1
        assert rig.clock.parked() == i + 1


def test_invalid_timestamp_fails_the_execution(rig: Rig) -> None:
    machine = rig.machine("cadence", CADENCE, "First")
    execution = rig.start(machine, "lead-bad-ts", {"until_override": "2026-11-22T08:00:00+00:00"})
    rig.clock.settle(timeout=10)

    assert rig.clock.parked() == 0
    described = rig.sfn.describe_execution(executionArn=execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "TimestampPath" in described["cause"]


def test_unknown_function_is_a_clear_error(rig: Rig) -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="no handler registered"):
        client.invoke(FunctionName="nobody", Payload=b"{}")
    response = client.invoke(
        FunctionName=FN.format("record") + ":live",
        Payload=json.dumps({"id": "direct", "step": "direct", "input": {}}).encode(),
    )
    assert json.load(response["Payload"]) == {"until": iso(START)}


def test_install_is_exclusive_and_uninstall_restores() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    targets = [
        (ExecutionWorker, "start"),
        (ExecutionWorker, "_execution_logic"),
        (WaitFunction, "_eval_body"),
        (Environment, "set_stop"),
        (Environment, "set_ended"),
        (LambdaSimpleBackend, "invoke"),
    ]
    before = [vars(owner)[name] for owner, name in targets]
    clock, other = SimClock(START), SimClock(START)
    clock.install()
    clock.install()
    with pytest.raises(RuntimeError):
        other.install()
    undo = route_lambda({}, lambda name: None)
    assert [vars(owner)[name] for owner, name in targets] != before
    undo()
    clock.uninstall()
    assert [vars(owner)[name] for owner, name in targets] == before
    other.install()
    other.uninstall()
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1))  # naive
