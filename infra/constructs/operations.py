"""What operators watch and wire up: the lead-events bus, per-rep alert subscriptions, the quarterly
re-engagement schedule and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from leadflow.operator_config import Manager, Reengagement, Rep
from leadflow.send.alerts import MANAGER

NAMESPACE = "leadflow"
SERVICE = {"service": "leadflow"}


class LeadEventsBus(Construct):
    """Every lead event (leadflow.observability.IntegrationEvent, docs/events.schema.json) lands here:
    add rules for a CRM, a warehouse or alerting."""

    def __init__(self, scope: Construct, construct_id: str, *, bus_name: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name, description="leadflow lead events")


class RepAlertSubscriptions(Construct):
    """One email subscription per rep (and SMS where a number is given), filtered to the rep's alerts
    by the `rep` message attribute every alert carries. Email subscriptions wait for the rep to
    confirm the link AWS mails them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        reps: Sequence[Rep],
        manager: Manager | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        for rep in reps:
            only_this_rep = {"rep": sns.SubscriptionFilter.string_filter(allowlist=[rep.id])}
            topic.add_subscription(
                subscriptions.EmailSubscription(
                    str(rep.alert_email or rep.email), filter_policy=only_this_rep
                )
            )
            if rep.alert_sms:
                topic.add_subscription(
                    subscriptions.SmsSubscription(rep.alert_sms, filter_policy=only_this_rep)
                )
        if manager is not None:
            # The speed-to-lead manager (config speed_to_lead.manager): last escalations, daily list.
            only_manager = {"rep": sns.SubscriptionFilter.string_filter(allowlist=[MANAGER])}
            email = subscriptions.EmailSubscription(str(manager.email), filter_policy=only_manager)
            topic.add_subscription(email)
            if manager.phone:
                sms = subscriptions.SmsSubscription(manager.phone, filter_policy=only_manager)
                topic.add_subscription(sms)


def _metric(name: str, label: str, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={**SERVICE, **dimensions},
        statistic="Sum",
        period=Duration.hours(1),
        label=label,
    )


class Dashboard(Construct):
    """The funnel (leads in, touches out, answers) and health (failures, refusals, errors) from the
    functions' Powertools metrics (namespace leadflow, dimension service)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, dashboard_name: str, functions: Sequence[object]
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        # Names and dimensions as the code emits them (observability.count, Powertools metrics).
        funnel = cloudwatch.GraphWidget(
            title="Funnel: leads, touches, rep outcomes (per hour)",
            width=12,
            left=[
                _metric("LeadsReceived", "posts received"),
                _metric("Posts", "new leads", outcome="new"),
                _metric("Touches", "touches sent", outcome="sent"),
                _metric("Touches", "rep tasks handed over", outcome="task"),
                _metric("TaskOutcomes", "calls connected", outcome="connected"),
                _metric("TaskOutcomes", "meetings booked by reps", outcome="meeting_booked"),
            ],
        )
        health = cloudwatch.GraphWidget(
            title="Health: skips, failures, refusals (per hour)",
            width=12,
            left=[
                _metric("Touches", "touches skipped", outcome="skipped"),
                _metric("EnrollmentFailed", "enrollments failed"),
                _metric("IntegrationEventFailed", "integration events not published"),
                _metric("TaskLinkForbidden", "task links refused"),
                _metric("HoneypotHits", "honeypot hits"),
            ],
        )
        errors = [
            function.metric_errors(period=Duration.hours(1))  # type: ignore[attr-defined]
            for function in functions
        ]
        lambdas = cloudwatch.GraphWidget(title="Function errors (per hour)", width=24, left=errors)
        self.dashboard.add_widgets(funnel, health)
        self.dashboard.add_widgets(lambdas)


class ReengagementSchedule(Construct):
    """The quarterly re-engagement (config/leadflow.yaml: reengagement.schedule, UTC): the sweep
    function runs `leadflow reengage` with {"reengage": true}."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Reengagement, function: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"leadflow re-engagement into {settings.cadence}",
            schedule=events.Schedule.expression(settings.schedule),
            enabled=settings.enabled,
            targets=[
                targets.LambdaFunction(function, event=events.RuleTargetInput.from_object({"reengage": True}))
            ],
        )
