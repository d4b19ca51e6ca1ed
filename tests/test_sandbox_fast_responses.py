"""The Sandbox's DynamoDB and Step Functions answers (plain JSON, leadflow.local.simclock.
fast_responses) are the ones moto's own serializer gives, call for call, over leads' whole cadence,
the weekly report, an audit and the execution histories."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.responses import StepFunctionResponse

from leadflow import aws
from leadflow.local import Sandbox


def test_every_answer_matches_motos_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[str] = []
    differing: list[tuple[str, Any, Any]] = []
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        for handler in (DynamoHandler, StepFunctionResponse):
            fast = handler.serialized
            assert fast is not BaseResponse.serialized, "the Sandbox did not install fast_responses"

            def both(self: BaseResponse, action_result: Any, fast: Any = fast) -> Any:
                answer = fast(self, action_result)
                _, _, moto_body = BaseResponse.serialized(self, action_result)
                action = self._get_action()
                compared.append(action)
                if json.loads(answer[2] or "{}") != json.loads(moto_body or "{}"):
                    differing.append((action, answer[2][:300], moto_body[:300]))
                return answer

            monkeypatch.setattr(handler, "serialized", both)
        for number in range(3):
            sb.post(
                "/leads",
                json={"email": f"lead{number}@example.com", "first_name": "Ada", "form": "demo-request"},
            )
            sb.advance(60)
        sb.advance(22 * 86400)
        sb.run_report()  # the by_day index's queries
        assert [line for line in sb.audit().lines() if line.startswith("BREACH")] == []
        sfn = aws.client("stepfunctions")
        for arn in sb.state_machine_arns.values():
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                sfn.describe_execution(executionArn=execution["executionArn"])
                sfn.get_execution_history(executionArn=execution["executionArn"])
    assert not differing, differing[:3]
    # The cadence's reads and conditional writes, the report's index queries, the executions.
    expected = {"GetItem", "PutItem", "UpdateItem", "Query", "StartExecution", "GetExecutionHistory"}
    assert expected <= set(compared), sorted(set(compared))


def test_full_collections_are_rare_inside_the_sandbox_and_restored_after() -> None:
    import gc

    before = gc.get_threshold()
    with Sandbox("2026-11-23T15:00:00Z"):
        assert gc.get_threshold()[2] >= 1000
    assert gc.get_threshold() == before
