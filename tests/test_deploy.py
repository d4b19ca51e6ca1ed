"""The deployment (issue 16): per-rep alert subscriptions, the SMS origination number as a setting,
the lead-events bus, the dashboard, the outputs the README's steps use, and a clear message for a
broken setting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import LeadflowConfig
from leadflow.operator_config import load_operator_config
from leadflow.send.alerts import MANAGER
from tests import test_infra
from tests.test_infra import REPO_ROOT, Synth, _context, _function_by_code

synth = test_infra.synth  # the session's synthesized stack (a fixture)


def _environment(synth: Synth, name: str) -> dict[str, Any]:
    return _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]


def test_every_rep_and_the_manager_get_an_alert_subscription_filtered_to_their_alerts(synth: Synth) -> None:
    subscriptions = list(synth.resources("AWS::SNS::Subscription").values())
    email = {
        s["Properties"]["Endpoint"]: s["Properties"]
        for s in subscriptions
        if s["Properties"]["Protocol"] == "email" and "RepAlerts" in json.dumps(s["Properties"]["TopicArn"])
    }
    config = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
    manager = config.speed_to_lead.manager
    assert manager is not None, "the shipped config names a manager (issue 25)"
    expected = {str(rep.alert_email or rep.email): rep.id for rep in config.reps}
    expected[str(manager.email)] = MANAGER
    assert set(email) == set(expected)
    for address, recipient in expected.items():
        # Each one receives only their own alerts: no rep gets the manager's, nor another rep's.
        assert email[address]["FilterPolicy"] == {"rep": [recipient]}


def test_the_sms_origination_number_is_a_setting_that_reaches_the_step_the_one_that_texts(tmp_path) -> None:
    from aws_cdk.assertions import Template

    from infra.app import build_app

    context = {**_context(), "leadflow:smsOriginationNumber": "+18445550100"}
    app = build_app(outdir=tmp_path, context=context)
    template = app.synth().get_stack_artifact("Leadflow").template
    functions = {
        logical_id: resource["Properties"]["Environment"]["Variables"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and "Environment" in resource["Properties"]
    }
    texting = [lid for lid, env in functions.items() if env.get("SMS_ORIGINATION_NUMBER") == "+18445550100"]
    # The inbound and intake functions ask the step for their service texts (issue 22).
    assert [name[: len("FunctionsStep")] for name in texting] == ["FunctionsStep"]
    assert Template.from_json(template)


def test_no_origination_number_by_default(synth: Synth) -> None:
    assert "SMS_ORIGINATION_NUMBER" not in _environment(synth, "step")


def test_lead_events_bus_and_every_lead_handler_may_put_events_on_it(synth: Synth) -> None:
    ((bus_id, bus),) = synth.resources("AWS::Events::EventBus").items()
    assert bus["Properties"]["Name"] == "Leadflow-lead-events"
    for name in ("intake", "step", "inbound", "events"):
        assert _environment(synth, name)["EVENT_BUS_NAME"] == {"Ref": bus_id}
        assert "EVENT_INCLUDE_EMAIL" not in _environment(synth, name)
    policies = json.dumps(synth.resources("AWS::IAM::Policy"))
    assert policies.count('"events:PutEvents"') >= 1


def test_the_dashboard_reads_metrics_by_dimension(synth: Synth) -> None:
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "LeadsReceived" in body and "EnrollmentFailed" in body and "service" in body
    assert "Touches" in body and "outcome" in body  # counts by dimension, not a name per outcome


def test_the_outputs_the_deploy_guide_uses(synth: Synth) -> None:
    outputs = synth.raw["Outputs"]
    for name in ("LeadEventsBusName", "RepAlertsTopicArn", "HmacSecretArn", "TableName"):
        assert name in outputs


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("smsOriginationNumber", "555-0100", "leadflow:smsOriginationNumber: '555-0100' is not an E.164"),
        (
            "publicUrl",
            "http://go.example.com",
            "leadflow:publicUrl: 'http://go.example.com' must be an https",
        ),
        ("replyDomain", "not a domain", "leadflow:replyDomain"),
        ("stackName", "my stack", "leadflow:stackName"),
        ("logLevel", "LOUD", "leadflow:logLevel"),
        ("sender", "nobody", "leadflow:sender"),
    ],
)
def test_a_broken_setting_fails_the_synth_with_one_message_naming_it(tmp_path, key, value, message) -> None:
    from infra.app import build_app

    with pytest.raises(ValueError) as raised:
        build_app(outdir=tmp_path, context={**_context(), f"leadflow:{key}": value})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
    assert LeadflowConfig  # the settings' one source


def test_the_deploy_guide_names_every_setting_in_order() -> None:
    import dataclasses

    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for spec in dataclasses.fields(LeadflowConfig):
        assert f"leadflow:{spec.metadata['key']}" in guide or f"/ `{spec.metadata['key']}`" in guide, (
            spec.name
        )
    steps = ["npx cdk bootstrap", "npx cdk deploy", "DKIM", "MAIL FROM", "DMARC", "production access"]
    steps += ["**Secrets**", "**SMS**"]
    # Each step after the one before it (the preflight names DKIM and production access earlier).
    position = 0
    for step in steps:
        position = guide.index(step, position)
    for output in ("RepAlertsTopicArn", "LeadEventsBusName", "HmacSecretArn", "TableName"):
        assert output in guide


def test_quarterly_re_engagement_runs_on_an_eventbridge_schedule(synth: Synth) -> None:
    rules = [
        rule
        for rule in synth.resources("AWS::Events::Rule").values()
        if any(target.get("Input") == '{"reengage":true}' for target in rule["Properties"].get("Targets", []))
    ]
    (rule,) = rules
    assert (
        rule["Properties"]["ScheduleExpression"]
        == load_operator_config(REPO_ROOT / "config" / "leadflow.yaml").reengagement.schedule
    )
    assert "FunctionsSweep" in json.dumps(rule["Properties"]["Targets"])
