"""Issue 26: the CLI cannot mislead. Logs go to stderr and data to stdout; `--stack` finds the stack
(its outputs name the table, the HMAC secret, the alert topic; its state machines are <stack>-*) or
fails in one line; pause/resume is idempotent, race-free and keeps the schedule; `enroll --csv`
alerts the owners; an invalid address is refused before any credential is needed; a stage change
that goes backwards says so."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from leadflow import aws
from leadflow.cadence import lead_actions
from leadflow.cli import main, stage_message
from leadflow.store import enrollment_items, lead_items
from tests.helpers import cli
from tests.helpers import endpoint as endpoint  # the fixture
from tests.test_operator_cli import cli_json

pytestmark = pytest.mark.email_cadence  # six emails on days 1, 2, 4, 7, 14, 21 at the post's time


def _lead(sb: Any, email: str) -> Any:
    return lead_items.get_lead(sb.find_lead(email)["id"])


def _act(sb: Any, action: Any, *args: Any) -> Any:
    """Run an operator action in the Sandbox's process, as the CLI would, and let executions settle."""
    with sb._handler_lock:
        result = action(*args)
    sb.clock.settle()
    return result


def _sent(sb: Any, email: str) -> list[str]:
    return [message["at"] for message in sb.outbox() if message["to"] == email]


# --- pause / resume ----------------------------------------------------------------------------------


def test_resume_keeps_the_schedule_and_a_second_resume_is_a_no_op(sb: Any) -> None:
    sb.post("/leads", json={"email": "ada@example.com"})
    sb.advance_to("2026-11-23T10:00:00Z")
    lead = _lead(sb, "ada@example.com")
    (before,) = enrollment_items.enrollments(lead.id)
    assert _act(sb, lead_actions.pause, lead, datetime(2026, 12, 10).date()) > 0
    sb.advance_to("2026-11-23T11:00:00Z")

    assert _act(sb, lead_actions.resume, lead) == 1
    (resumed,) = enrollment_items.enrollments(lead.id)
    assert resumed.schedule == before.schedule  # the plan from before the pause, not "from now"
    assert resumed.paused_until is None and resumed.planned is None
    sb.advance_to("2026-11-24T08:59:00Z")
    assert len(_sent(sb, "ada@example.com")) == 1  # touch 2 did not go out a day early
    sb.advance_to("2026-11-24T09:01:00Z")
    assert len(_sent(sb, "ada@example.com")) == 2

    arn = enrollment_items.enrollments(lead.id)[0].execution_arn
    assert _act(sb, lead_actions.resume, lead) == 0  # not paused: nothing to do
    assert enrollment_items.enrollments(lead.id)[0].execution_arn == arn
    assert [e["status"] for e in sb.executions(lead.id) if e["arn"] == arn] == ["RUNNING"]
    assert sb.audit().clean


def test_a_resume_after_the_planned_moment_plans_from_now(sb: Any) -> None:
    sb.post("/leads", json={"email": "bob@example.com"})
    sb.advance_to("2026-11-23T10:00:00Z")
    lead = _lead(sb, "bob@example.com")
    _act(sb, lead_actions.pause, lead, datetime(2026, 12, 10).date())
    sb.advance_to("2026-11-25T12:00:00Z")  # touch 2 was planned for 11-24: that moment passed
    assert _act(sb, lead_actions.resume, lead) == 1
    sb.advance(60)
    assert len(_sent(sb, "bob@example.com")) == 2  # touch 2 at once, never twice
    assert sb.audit().clean


def test_two_resumes_at_once_restart_the_execution_once(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both resumes read the paused enrollment before either wrote: the second's conditional write fails,
    so it neither starts a second execution nor stops the first one's restart (before: both ABORTED)."""
    sb.post("/leads", json={"email": "cy@example.com"})
    sb.advance_to("2026-11-23T10:00:00Z")
    lead = _lead(sb, "cy@example.com")
    _act(sb, lead_actions.pause, lead, datetime(2026, 12, 10).date())
    stale = enrollment_items.enrollments(lead.id)
    assert _act(sb, lead_actions.resume, lead) == 1
    monkeypatch.setattr(lead_actions.enrollment_items, "enrollments", lambda lead_id: stale)
    assert _act(sb, lead_actions.resume, lead) == 0
    monkeypatch.undo()

    (enrollment,) = enrollment_items.enrollments(lead.id)
    statuses = {e["arn"]: e["status"] for e in sb.executions(lead.id)}
    assert statuses[enrollment.execution_arn] == "RUNNING"
    assert list(statuses.values()).count("RUNNING") == 1
    assert enrollment.resumes == 1 and enrollment.execution_arn.endswith("-resume1")
    sb.advance_to("2026-12-14T12:00:00Z")
    assert len(_sent(sb, "cy@example.com")) == 6
    assert sb.audit().clean


# --- stdout is data ----------------------------------------------------------------------------------


def test_json_on_stdout_and_log_lines_on_stderr(sb: Any, endpoint: Any) -> None:
    sb.post("/leads", json={"email": "dee@example.com"})
    sb.advance_to("2026-11-23T10:00:00Z")
    cli(endpoint, "lead", "pause", "dee@example.com", "--until", "2026-12-10")
    sb.clock.settle()
    info = {"POWERTOOLS_LOG_LEVEL": "INFO"}  # the Sandbox's WARNING would hide the line
    done = cli(endpoint, "lead", "resume", "dee@example.com", "--json", env=info)
    sb.clock.settle()
    assert json.loads(done.stdout)["resumed"] == 1  # the whole of stdout is the document
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(entry.get("message") == "lead resumed" for entry in logged), done.stderr


# --- --stack -----------------------------------------------------------------------------------------


def test_audit_reads_the_stacks_state_machines_and_a_wrong_stack_is_an_error(sb: Any, endpoint: Any) -> None:
    sb.post("/leads", json={"email": "eve@example.com"})
    sb.advance_to("2026-11-24T12:00:00Z")
    # The Sandbox's leadflow-* machines: no false breaches.
    assert cli(endpoint, "audit", now=False).returncode == 0
    done = cli(endpoint, "audit", "--stack", "Other", expect=2, now=False)
    assert done.stderr.strip() == (
        "leadflow audit: no state machines named Other-<cadence>: is --stack right?"
    )


TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "TableName": {"Value": "Acme-LeadsTable1A2B3C"},
        "HmacSecretArn": {"Value": "arn:aws:secretsmanager:us-east-1:123456789012:secret:HmacKey-abc"},
        "InboundMailBucket": {"Value": "acme-inbound-mail-1a2b"},
        "RepAlertsTopicArn": {"Value": "arn:aws:sns:us-east-1:123456789012:Acme-RepAlerts"},
        "LeadEventsBusName": {"Value": "Acme-lead-events"},
        "StepFunctionName": {"Value": "Acme-FunctionsStep1A2B"},
    },
}


def _args(**values: Any) -> argparse.Namespace:
    defaults = {"stack": "Acme", "table": None, "hmac_secret": None, "profile": None, "region": None}
    return argparse.Namespace(**{**defaults, "endpoint_url": None, **values})


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "TABLE_NAME", "HMAC_SECRET_ARN", "INBOUND_BUCKET", "STATE_MACHINE_ARNS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REP_ALERTS_TOPIC_ARN", "EVENT_BUS_NAME", "AWS_PROFILE", "STEP_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        aws.reset()
        yield boto3.client("cloudformation", region_name="us-east-1")
    aws.reset()


def test_lead_commands_find_the_table_secret_and_machines_from_the_stack(account: Any) -> None:
    account.create_stack(StackName="Acme", TemplateBody=json.dumps(TEMPLATE))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/sfn"
    definition = json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(name="Acme-re-engagement", definition=definition, roleArn=role)
    sfn.create_state_machine(name="Other-re-engagement", definition=definition, roleArn=role)

    found = aws.use_stack(_args(), state_machines=True)
    assert found["TABLE_NAME"] == "Acme-LeadsTable1A2B3C"
    assert found["HMAC_SECRET_ARN"].endswith(":secret:HmacKey-abc")
    assert found["INBOUND_BUCKET"] == "acme-inbound-mail-1a2b"
    assert found["REP_ALERTS_TOPIC_ARN"].endswith(":Acme-RepAlerts")
    assert json.loads(found["STATE_MACHINE_ARNS"]) == {"re-engagement": machine["stateMachineArn"]}
    # An enrollment's touch 1 goes to the step at once (issue 28), not after the sweep's grace.
    assert found["STEP_FUNCTION_NAME"] == "Acme-FunctionsStep1A2B"
    from leadflow.config import settings

    assert settings().table_name == "Acme-LeadsTable1A2B3C"
    # An option given explicitly wins over the output.
    assert aws.use_stack(_args(table="mine"))["TABLE_NAME"] == "mine"


def test_a_stack_that_does_not_exist_is_one_line_naming_it(account: Any) -> None:
    with pytest.raises(LookupError, match=r"^no stack 'Acme' in us-east-1: pass --stack"):
        aws.use_stack(_args())


# --- enroll --csv alerts owners ----------------------------------------------------------------------


def test_enroll_csv_alerts_each_owner(sb: Any, endpoint: Any, tmp_path: Any) -> None:
    sb.post("/leads", json={"email": "known@example.com"})
    sb.advance_to("2026-12-21T15:00:00Z")  # its first cadence ended; Monday, inside both reps' hours
    known = sb.find_lead("known@example.com")["id"]
    rows = tmp_path / "leads.csv"
    rows.write_text("email,first_name\nnew.one@example.com,Nia\nknown@example.com,Kim\n")
    result = cli_json(endpoint, "enroll", "--csv", str(rows), "--cadence", "re-engagement", "--rate", "500")
    sb.clock.settle()
    assert result["enrolled"] == 2
    new = sb.find_lead("new.one@example.com")["id"]
    alerts = {(note["lead_id"], note["kind"]) for note in sb.notifications() if note["at"] >= "2026-12-20"}
    assert (new, "lead_accepted") in alerts
    assert (known, "lead_imported") in alerts
    assert all(note["rep"] for note in sb.notifications() if note["lead_id"] in (new, known))


# --- validation before credentials -------------------------------------------------------------------


def test_erase_refuses_a_bad_address_before_reaching_for_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_stack(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("credentials or a secret were needed before the address was checked")

    monkeypatch.setattr(aws, "use_stack", no_stack)
    assert main(["erase", "bad-email"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("leadflow erase: 'bad-email' is not an email address (")
    assert "secret" not in err and "credentials" not in err


# --- stages ------------------------------------------------------------------------------------------


def test_a_stage_change_that_goes_backwards_says_so(sb: Any, endpoint: Any) -> None:
    sb.post("/leads", json={"email": "fay@example.com"})
    won = cli(endpoint, "stage", "fay@example.com", "won", "--at", "2026-11-23T09:30:00Z", now=False)
    assert won.stdout.strip() == "leadflow stage: won set"
    sb.advance(3600)
    done = cli(endpoint, "stage", "fay@example.com", "sql", now=False)
    assert (
        done.stdout.strip()
        == "leadflow stage: sql set: the lead moves back from won since 2026-11-23 09:30 UTC"
    )


@pytest.mark.parametrize(
    ("stage", "outcome", "previous", "message"),
    [
        ("sql", "stage_set", None, "sql set"),
        ("opportunity", "stage_set", "sql", "opportunity set"),
        (
            "sql",
            "stage_set",
            "opportunity",
            "sql set: the lead moves back from opportunity since 2026-11-23 09:00 UTC",
        ),
        ("won", "stage_set", "lost", "won set: the lead moves back from lost since 2026-11-23 09:00 UTC"),
        ("sql", "unchanged", "sql", "sql already recorded"),
        (
            "sql",
            "unchanged",
            "won",
            "sql recorded in the history; the lead stays won (a later change since 2026-11-23 09:00 UTC)",
        ),
    ],
)
def test_stage_messages(stage: str, outcome: str, previous: str | None, message: str) -> None:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert stage_message(stage, outcome, previous, at) == message
