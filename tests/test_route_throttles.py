"""API Gateway throttling per route (issue 13): a route's burst cannot spend the forms' budget."""

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra.config import LeadflowConfig
from infra.constructs.api import IntakeApi


def test_routes_get_throttle_limits_of_their_own_over_the_stage_s() -> None:
    app = cdk.App(context={"leadflow:routeThrottles": "leads:POST=50/100,unsubscribe:POST=5/10"})
    config = LeadflowConfig.from_context(app.node)
    assert config.route_limits() == {("leads", "POST"): (50.0, 100), ("unsubscribe", "POST"): (5.0, 10)}
    stack = cdk.Stack(app, "Api")
    _intake_api(stack, config.route_limits())
    (stage,) = Template.from_stack(stack).find_resources("AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == 10
    assert settings[("/~1leads", "POST")]["ThrottlingRateLimit"] == 50
    assert settings[("/~1leads", "POST")]["ThrottlingBurstLimit"] == 100
    assert settings[("/~1unsubscribe", "POST")]["ThrottlingBurstLimit"] == 10


def test_a_malformed_or_unknown_route_throttle_fails_the_synth() -> None:
    with pytest.raises(ValueError, match="routeThrottles"):
        LeadflowConfig(route_throttles=("leads:POST=fast",))
    app = cdk.App()
    stack = cdk.Stack(app, "Api")
    with pytest.raises(ValueError, match="no route"):
        _intake_api(stack, {("nosuch", "GET"): (1.0, 1)})


def _intake_api(stack: cdk.Stack, route_limits: dict[tuple[str, str], tuple[float, int]]) -> IntakeApi:
    """The intake API construct (stage limits 10/20) with these route limits, on a stub handler."""
    handler = lambda_.Function(
        stack,
        "IntakeFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    return IntakeApi(
        stack,
        "Intake",
        handler=handler,
        throttle_rate_limit=10,
        throttle_burst_limit=20,
        route_limits=route_limits,
        log_retention=logs.RetentionDays.ONE_DAY,
    )
