"""One Step Functions Standard state machine per cadence file, defined by leadflow.cadence.asl
(as in the Sandbox)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import ArnFormat, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge, acknowledge_grant, wildcard_resource
from leadflow.cadence.asl import build_definition
from leadflow.cadence.model import Cadence

# Tag on each state machine naming its cadence (cost allocation; infra.testing finds definitions by it).
CADENCE_TAG = "leadflow:cadence"


def construct_id(cadence_name: str) -> str:
    """ "inbound-demo-request" -> "InboundDemoRequest": the state machine's readable logical id."""
    return "".join(part.capitalize() for part in cadence_name.split("-"))


class CadenceStateMachines(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        cadences: Mapping[str, Cadence],
        step_function: lambda_.IFunction,
        name_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.names: dict[str, str] = {}
        for name, cadence in cadences.items():
            readable_id = construct_id(name)
            # Fixed, readable names: the console lists executions under them, and execution ARNs
            # (for StopExecution grants) are built from them.
            state_machine_name = f"{name_prefix}-{name}"
            log_group = logs.LogGroup(
                self,
                f"{readable_id}Logs",
                # /aws/vendedlogs/ keeps the log delivery resource policy small however many cadences exist.
                log_group_name=f"/aws/vendedlogs/states/{state_machine_name}",
                retention=log_retention,
            )
            state_machine = sfn.StateMachine(
                self,
                readable_id,
                state_machine_name=state_machine_name,
                state_machine_type=sfn.StateMachineType.STANDARD,
                comment=cadence.description,
                # The exact document the Sandbox runs: leadflow.cadence.asl with the step function's ARN.
                definition_body=sfn.DefinitionBody.from_string(
                    json.dumps(build_definition(cadence, step_function.function_arn), ensure_ascii=False)
                ),
                logs=sfn.LogOptions(
                    destination=log_group,
                    level=sfn.LogLevel.ALL,
                    # Execution input/output and task results stay out of the logs (personal data).
                    include_execution_data=False,
                ),
                tracing_enabled=True,
            )
            Tags.of(state_machine).add(CADENCE_TAG, name)
            step_function.grant_invoke_latest_version(state_machine)
            acknowledge(
                state_machine.role,
                "X-Ray tracing and CloudWatch Logs log delivery (logs:CreateLogDelivery, "
                "logs:DescribeResourcePolicies, ...) actions support no resource-level permissions.",
                "AwsSolutions-IAM5[Resource::*]",
            )
            self.state_machines[name] = state_machine
            self.names[name] = state_machine_name

    def arns_json(self) -> str:
        """JSON object cadence name -> state machine ARN (resolved at deploy time)."""
        return Stack.of(self).to_json_string(
            {name: machine.state_machine_arn for name, machine in self.state_machines.items()}
        )

    def execution_arns(self) -> list[str]:
        """arn:aws:states:region:account:execution:<state machine name>:* for every cadence."""
        stack = Stack.of(self)
        return [
            stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in self.names.values()
        ]

    def grant_start_execution(self, grantee: iam.IGrantable) -> None:
        for machine in self.state_machines.values():
            machine.grant_start_execution(grantee)

    def arns_by_name_json(self) -> str:
        """The same map as `arns_json`, each ARN built from the state machine's fixed name (no
        reference to it): for the step function, which the definitions reference (a Ref back would
        be a cycle). Every function that stops executions derives their ARNs from it
        (leadflow.cadence.executions.arn_of)."""
        stack = Stack.of(self)
        return stack.to_json_string(
            {
                cadence: stack.format_arn(
                    service="states",
                    resource="stateMachine",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                for cadence, name in self.names.items()
            }
        )

    def grant_describe_execution(self, grantee: iam.IGrantable) -> None:
        """states:DescribeExecution on the cadences' executions: the sweep asks whether a start whose
        ARN is not stored yet started (leadflow.cadence.sweep._unrecorded_execution)."""
        self._grant_on_executions(grantee, "states:DescribeExecution")

    def grant_stop_execution(self, grantee: iam.IGrantable) -> None:
        """states:StopExecution on the executions of the cadence state machines (names are per lead)."""
        self._grant_on_executions(grantee, "states:StopExecution")

    def _grant_on_executions(self, grantee: iam.IGrantable, action: str) -> None:
        arns = self.execution_arns()
        iam.Grant.add_to_principal(grantee=grantee, actions=[action], resource_arns=arns)
        acknowledge_grant(
            grantee,
            f"Execution names are per lead enrollment, so {action.removeprefix('states:')} needs "
            "<state machine name>:*; scoped to the executions of the cadence state machines.",
            *(wildcard_resource(self, arn) for arn in arns),
        )
