"""An optional WAF web ACL for the intake stage: one rate-based rule per client IP (off by default)."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class RateLimitAcl(Construct):
    """Blocks a client IP that sends more than `limit` requests in any 5 minutes; allows the rest."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: apigateway.Stage, limit: int) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("leadflow-intake"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="PerIpRateLimit",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=limit, evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_visibility("leadflow-intake-per-ip"),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
