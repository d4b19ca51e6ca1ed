"""Speed to lead's escalation schedules (issue 28): a schedule group of ours, the role its one-shot
schedules invoke the step function with, and who may create and delete them (leadflow.send.escalations)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.nag import acknowledge_grant, wildcard_resource


class EscalationSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: lambda_.Function,
        creators: Sequence[lambda_.Function],
        deleters: Sequence[lambda_.Function],
    ) -> None:
        """`target`: the function the schedules invoke (the step); `creators` create schedules (the step
        at touch 1 and for each next escalation, the sweep as the fallback) and delete them; `deleters`
        only delete them (a task's outcome, a stop)."""
        super().__init__(scope, construct_id)
        # Schedules delete themselves once fired; the group only holds the pending ones.
        self.group = scheduler.ScheduleGroup(self, "Group", removal_policy=RemovalPolicy.DESTROY)
        # The role the schedules invoke with: the step function (unqualified), nothing else.
        self.role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="leadflow speed-to-lead escalation schedules: invoke the step function",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function_arn])
        )
        schedules = Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group.schedule_group_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        group = self.group.schedule_group_name
        for function in creators:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], resources=[schedules]
                )
            )
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[self.role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                )
            )
            function.add_environment("ESCALATION_SCHEDULE_ROLE_ARN", self.role.role_arn)
            if function is not target:  # the step targets the ARN it was invoked by (no self-reference)
                function.add_environment("ESCALATION_TARGET_ARN", target.function_arn)
        for function in deleters:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["scheduler:DeleteSchedule"], resources=[schedules])
            )
        for function in (*creators, *deleters):
            function.add_environment("ESCALATION_SCHEDULE_GROUP", group)
            acknowledge_grant(
                function,
                "One-shot escalation schedules are named per lead and time: CreateSchedule/DeleteSchedule "
                "on the schedules of our own escalation group only.",
                wildcard_resource(self, schedules),
            )
