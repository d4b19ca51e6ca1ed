"""A Sandbox builds its AWS resources once per setup and process, and every later Sandbox of that
setup starts from a copy of what was built, not of what the previous one wrote (issue 28, item 4).

The pair of fixture tests at the end run one after the other on the `sb` fixture, as the suite
does; the first test runs two Sandboxes inside itself so that it proves isolation on its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from leadflow import aws
from leadflow.local import Sandbox

LEAD = {"email": "ada@lovelace.example", "first_name": "Ada", "form": "demo-request"}
REPLY = b"""\
From: Ada <ada@lovelace.example>
To: alex@reply.leadflow.example
Subject: Re: hello
Message-ID: <reply-1@lovelace.example>
Date: Mon, 23 Nov 2026 09:30:00 +0000

Not now, thanks.
"""


def traces(sb: Sandbox) -> dict[str, Any]:
    """Everything a Sandbox's functions can write to its AWS resources, read back through the APIs."""
    dynamodb, sfn, s3 = aws.client("dynamodb"), aws.client("stepfunctions"), aws.client("s3")
    return {
        "items": dynamodb.scan(TableName="leadflow")["Items"],
        "idempotency records": dynamodb.scan(TableName="leadflow-idempotency")["Items"],
        "executions": [
            execution["name"]
            for arn in sb.state_machine_arns.values()
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
        ],
        "outbox": sb.outbox(),
        "notifications": sb.notifications(),
        "stored mail and reports": [
            item["Key"]
            for bucket in (sb.inbound_bucket, sb.report_bucket)
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        ],
    }


def leave_traces(sb: Sandbox) -> None:
    assert sb.post("/leads", json=LEAD, headers={"Idempotency-Key": "form-42"}).status_code < 300
    sb.advance_to("2026-11-24T15:00:00Z")  # the first touches and tasks
    sb.deliver_email(REPLY)
    assert sb.run_report(force=True) is not None


def test_a_sandbox_restored_from_an_earlier_build_sees_nothing_the_earlier_one_wrote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Sandbox() as first:
        leave_traces(first)
        written = traces(first)
        api_key, arns = first.api_key, dict(first.state_machine_arns)
    assert all(written.values()), {name: bool(found) for name, found in written.items()}

    builds: list[Sandbox] = []
    build = Sandbox._build_resources

    def counted(sandbox: Sandbox) -> dict[str, str]:
        builds.append(sandbox)
        return build(sandbox)

    monkeypatch.setattr(Sandbox, "_build_resources", counted)
    with Sandbox() as second:
        assert builds == []  # restored, not built again
        assert {name: found for name, found in traces(second).items() if found} == {}
        assert (second.api_key, second.state_machine_arns) == (api_key, arns)
        # The same lead is new to the second Sandbox, and its cadence runs from the start.
        leave_traces(second)
        again = traces(second)
    # (The A/B variant of a subject depends on the lead's random id: count, do not compare.)
    assert [len(again[name]) for name in written] == [len(written[name]) for name in written]


def test_another_setup_is_built_not_restored(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import plain_email_setup

    monkeypatch.setattr("leadflow.local.sandbox._built_resources", {})  # as in a new process
    with Sandbox():
        pass
    builds: list[Sandbox] = []
    build = Sandbox._build_resources
    monkeypatch.setattr(Sandbox, "_build_resources", lambda sb: builds.append(sb) or build(sb))
    options = plain_email_setup(tmp_path / "plain")
    with Sandbox(**options) as sb:  # other state machine definitions: its own build
        assert builds == [sb]
        assert sb.default_cadence == "inbound-demo-request"
    with Sandbox(**plain_email_setup(tmp_path / "again")):  # the same setup in another directory
        assert len(builds) == 1


def test_one_fixture_sandbox_leaves_traces(sb: Sandbox) -> None:
    leave_traces(sb)
    assert all(traces(sb).values())


def test_the_next_fixture_sandbox_sees_none_of_them(sb: Sandbox) -> None:
    assert {name: found for name, found in traces(sb).items() if found} == {}
    assert sb.find_lead(LEAD["email"]) is None
    assert sb.now().isoformat() == "2026-11-23T09:00:00+00:00"
