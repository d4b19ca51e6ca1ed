"""The public API: API Gateway REST -> intake function (leads, task outcomes), throttled, logged, traced."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.waf import RateLimitAcl
from infra.nag import acknowledge

STAGE = "v1"
# (path, methods) the intake function serves; API Gateway answers 403 for anything else,
# so unknown routes never reach (or bill) the function. OPTIONS /leads: the CORS preflight,
# answered by the function from the configured origins (never `*`).
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leads", ("POST", "OPTIONS")),
    ("openapi.json", ("GET",)),
    # Scheduling tools (Calendly, Cal.com...) report booked meetings; HMAC-signed, checked by the function.
    ("webhooks/meeting", ("POST",)),
    # The CRM sets sales stages: signed webhooks (HubSpot, generic; Salesforce by URL token), and the
    # server-to-server route (X-Api-Key), both checked by the function.
    ("webhooks/crm", ("POST",)),
    ("leads/stage", ("POST",)),
    # One-click unsubscribe (RFC 8058): GET shows the confirmation page, POST opts out.
    ("unsubscribe", ("GET", "POST")),
    # A rep task's signed link: GET shows the task, POST records its outcome.
    ("tasks/{task_id}", ("GET", "POST")),
    # A rep's email draft (manual_email) on that page: POST sends or skips it.
    ("tasks/{task_id}/draft", ("POST",)),
    # A rep's queue of open tasks (issue 25): the signed link is the credential.
    ("queue/{rep_id}", ("GET",)),
    # A reply alert's signed link: GET shows what the reply was read as, POST corrects it.
    ("replies/{lead_id}", ("GET", "POST")),
    # Held inbound mail's signed links (the owner's alert): GET shows it, POST confirms or dismisses.
    ("held-mail/{held_id}", ("GET", "POST")),
    # GDPR erasure by a CRM (X-Api-Key checked by the function).
    ("erasures", ("POST",)),
)


class IntakeApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays,
        route_limits: Mapping[tuple[str, str], tuple[float, int]] | None = None,
        waf_rate_limit: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        served = {(path, method) for path, methods in ROUTES for method in methods}
        unknown = sorted(set(route_limits or {}) - served)
        if unknown:
            raise ValueError(f"routeThrottles: no route {unknown}; the API serves {sorted(served)}")
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        self.rest_api = apigateway.LambdaRestApi(
            self,
            "Api",
            handler=handler,
            proxy=False,
            description="leadflow intake: web forms post leads here.",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Execution logs (ERROR) need the account-level API Gateway CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                method_options={
                    f"/{path}/{method}": apigateway.MethodDeploymentOptions(
                        throttling_rate_limit=rate, throttling_burst_limit=burst
                    )
                    for (path, method), (rate, burst) in (route_limits or {}).items()
                },
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                # Full request/response logging would write lead data into the logs.
                data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        for path, methods in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            for method in methods:
                resource.add_method(method)
        CfnOutput(
            self, "LeadsUrl", value=self.rest_api.url_for_path("/leads"), description="POST leads here."
        )
        stack = Stack.of(self)
        # The stage URL from the API id alone: `rest_api.url` names the stage, which depends on every
        # method and so on the intake function, and the step function (which needs this URL) is
        # upstream of intake through the state machine ARNs: a dependency cycle.
        self.base_url = (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE}"
        )

        acknowledge(
            self.rest_api,
            "Web forms post leads without credentials: the endpoint is public by design, limited by stage "
            "throttling and validated by the intake function.",
            "AwsSolutions-APIG4",
            "AwsSolutions-COG4",
        )
        acknowledge(
            self.rest_api,
            "The intake function validates the body with the same pydantic model the Sandbox tests, and "
            "answers 400/422 with field errors; a gateway model would duplicate the schema and drift.",
            "AwsSolutions-APIG2",
        )
        if waf_rate_limit is not None:
            RateLimitAcl(self, "Waf", stage=self.rest_api.deployment_stage, limit=waf_rate_limit)
        else:
            acknowledge(
                self.rest_api,
                "No WAF web ACL by default (a fixed monthly cost per deployment); stage throttling bounds "
                "abuse. Set leadflow:wafEnabled to attach a per-IP rate-based rule where form spam appears.",
                "AwsSolutions-APIG3",
            )
        acknowledge(
            self.rest_api,
            "AmazonAPIGatewayPushToCloudWatchLogs is the AWS managed policy for API Gateway's account-level "
            "logging role; it only allows writing CloudWatch Logs.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
        )
