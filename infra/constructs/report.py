"""The weekly report: its S3 archive and its EventBridge Scheduler schedule (time zone aware)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from infra.constructs.queues import failure_queue
from infra.nag import acknowledge, acknowledge_grant, wildcard_resource
from leadflow.operator_config import ReportSchedule
from leadflow.report.weekly import SCHEDULE_INPUT

# Reports are archived as reports/<the week's first local date>/report.{html,txt,csv}.
ARCHIVE_PREFIX = "reports/"


class WeeklyReport(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        schedule: ReportSchedule,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        # Aggregates only (no lead's details): kept as the team's record of every week.
        self.archive = s3.Bucket(
            self,
            "Archive",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="report-archive/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        objects = self.archive.arn_for_objects(f"{ARCHIVE_PREFIX}*")
        iam.Grant.add_to_principal(grantee=function, actions=["s3:PutObject"], resource_arns=[objects])
        acknowledge_grant(
            function,
            "The report writes one folder per week, named by its date: PutObject under the reports/ "
            "prefix of the archive bucket only (no Get, List or Delete).",
            wildcard_resource(self, objects),
        )
        function.add_environment("REPORT_BUCKET", self.archive.bucket_name)  # type: ignore[attr-defined]

        # A run that still fails after the retries lands here, with the event, for a manual re-run.
        self.failures = failure_queue(self, "Failures")
        acknowledge(
            self.failures,
            "This queue is itself the dead-letter queue of the report schedule; nothing consumes it "
            "automatically, so it needs no dead-letter queue of its own.",
            "AwsSolutions-SQS3",
        )
        # Our own role for the schedule: it may invoke the report function (and its versions), nothing else.
        invoker = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="leadflow weekly report schedule",
        )
        target = targets.LambdaInvoke(
            function,
            role=invoker,
            input=scheduler.ScheduleTargetInput.from_object(SCHEDULE_INPUT),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            dead_letter_queue=self.failures,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Weekly",
            description=f"leadflow report, {schedule.weekday.value} {schedule.time} {schedule.timezone}",
            schedule=scheduler.ScheduleExpression.expression(
                schedule.expression, TimeZone.of(schedule.timezone)
            ),
            target=target,
        )
        acknowledge_grant(
            invoker,
            "The Scheduler target's grant covers the report function and its versions (<arn>:*), as "
            "lambda:InvokeFunction requires for qualified invocations; no other function.",
            wildcard_resource(self, f"{function.function_arn}:*"),
        )
