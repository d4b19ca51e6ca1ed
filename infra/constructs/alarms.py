"""Operations (issue 11): the ops topic's email subscriptions (config/leadflow.yaml `ops`), the
sweep's schedules, and the alarms that page ops: failed executions per state machine, function
errors and throttles, dead-letter queue depth, the audit's breach count, in-doubt touches sent
again and intake posts answered 503."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.cadences import construct_id

# Every few minutes: a pending enrollment waits at most this long for its execution.
SWEEP_EVERY = Duration.minutes(5)
# The audit scans the whole table: hourly is enough to catch what the sweep cannot fix.
AUDIT_EVERY = Duration.hours(1)
AUDIT_BREACHES_METRIC = "AuditBreaches"
# Emitted by our code (Powertools, namespace `leadflow`, dimension service=leadflow).
IN_DOUBT_RESENT_METRIC = "InDoubtTouchResent"  # leadflow.send.touches
INTAKE_UNAVAILABLE_METRIC = "IntakeUnavailable"  # functions.intake.handler: a post answered 503


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        ops_topic: sns.ITopic,
        alert_emails: Iterable[str],
        sweep: lambda_.IFunction,
        functions: Mapping[str, lambda_.IFunction],
        state_machines: Mapping[str, sfn.StateMachine],
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id_)
        for address in alert_emails:
            ops_topic.add_subscription(subscriptions.EmailSubscription(address))
        for name, every, audit in (("Sweep", SWEEP_EVERY, False), ("Audit", AUDIT_EVERY, True)):
            events.Rule(
                self,
                f"{name}Schedule",
                description=f"leadflow {name.lower()}: issue 11",
                schedule=events.Schedule.rate(every),
                targets=[
                    targets.LambdaFunction(sweep, event=events.RuleTargetInput.from_object({"audit": audit}))
                ],
            )
        action = actions.SnsAction(ops_topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(alarm_id: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        five_minutes = Duration.minutes(5)
        for cadence, machine in state_machines.items():
            alarm(
                f"{construct_id(cadence)}ExecutionsFailed",
                machine.metric_failed(period=five_minutes, statistic="Sum"),
                f"An execution of cadence {cadence} failed. The step alerted ops with the lead and the "
                "error before recording it; this alarm pages even if the step could not run. The sweep "
                "retries transient failures and resumes enrollments whose failure was never recorded.",
            )
        for name, function in functions.items():
            title = name.capitalize()
            alarm(
                f"{title}Errors",
                function.metric_errors(period=five_minutes, statistic="Sum"),
                f"The {name} function raised errors.",
            )
            alarm(
                f"{title}Throttles",
                function.metric_throttles(period=five_minutes, statistic="Sum"),
                f"The {name} function was throttled (concurrency limit).",
            )
        for name, queue in dead_letter_queues.items():
            alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                f"Messages wait in the {name} dead-letter queue: redrive them once the cause is fixed.",
            )

        def leadflow_metric(name: str, period: Duration, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="leadflow",
                metric_name=name,
                dimensions_map={"service": "leadflow"},
                period=period,
                statistic=statistic,
            )

        alarm(
            "InDoubtTouchResent",
            leadflow_metric(IN_DOUBT_RESENT_METRIC, five_minutes, "Sum"),
            "A touch whose send was in doubt (SES called, no Send event within the in-doubt bound) was "
            "sent again: its lead may have it twice. Check the SES configuration set's event destination "
            "and the events queue: Send events are not arriving.",
        )
        alarm(
            "IntakeUnavailable",
            leadflow_metric(INTAKE_UNAVAILABLE_METRIC, five_minutes, "Sum"),
            "Intake answered posts 503 (Retry-After): the table or another AWS service was throttled, "
            "failing or unreachable beyond the retries. Forms are told to send again; nothing is lost.",
        )
        alarm(
            "AuditBreaches",
            leadflow_metric(AUDIT_BREACHES_METRIC, Duration.hours(1), "Maximum"),
            "`leadflow audit` found a breach (a lead or touch lost, sent twice or after a stop): run "
            "`leadflow audit` for the list.",
        )
