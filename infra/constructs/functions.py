"""The Lambda functions (intake, step, inbound, events, report), their layers, roles and log groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import assets
from infra.checkov import skip_check
from infra.constructs.cadences import CadenceStateMachines
from infra.constructs.email import Email
from infra.constructs.queues import failure_queue
from infra.nag import acknowledge, acknowledge_grant
from infra.runtime import ARCHITECTURE, RUNTIME
from leadflow.store import table as table_spec

# Function code is deployed as functions/<name>/ (see infra.assets.function_files): the handlers
# import their siblings as functions.<name>.*, as in the Sandbox.
HANDLER = "functions.{name}.handler.lambda_handler"
# Never ship bytecode compiled by the build machine's Python.
BYTECODE = ["**/__pycache__", "*.pyc"]
# Where the leadflow layer puts the cadence and template files (/opt is the layer root).
LAYER_CADENCE_DIR = "/opt/cadences"
LAYER_TEMPLATE_DIR = "/opt/templates"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    memory_mb: int
    timeout: Duration
    # Reserved concurrency: guaranteed to the function, and its ceiling. None: the account's shared pool.
    reserved_concurrency: int | None = None


# Reserved concurrency (issue 26): a form flood must not take the account's Lambda concurrency from
# the touches and the replies. Intake is capped (the API's stage throttle is 10 rps, burst 20, and a
# post takes ~60 ms: 50 covers a raised route budget of 50/100 too); the step and inbound get their
# own share, which no other function can take. 110 of the default 1,000 are reserved; `leadflow doctor
# --account` checks the account's limit leaves AWS's minimum of 100 unreserved.
INTAKE = FunctionSpec(
    "intake", "Intake API: store a lead and start its cadence.", 512, Duration.seconds(10), 50
)
STEP = FunctionSpec(
    "step", "One touch of a cadence, invoked by its state machine.", 256, Duration.seconds(30), 50
)
INBOUND = FunctionSpec(
    "inbound",
    "Inbound mail and SMS: classify, match the lead, stop or move its cadence.",
    512,
    Duration.seconds(60),
    10,
)
EVENTS = FunctionSpec(
    "events", "SES events (bounce, complaint, delivery, open, click) from SQS.", 256, Duration.seconds(60)
)
# 1769 MB is one full vCPU: the report's work is client-side CPU (parsing, deserializing, aggregating
# pages); `make bench` runs it at 100,000 leads over a recorded page stream (docs/PERFORMANCE.md,
# report_100k_s and report_100k_peak_mb).
REPORT = FunctionSpec(
    "report", "The weekly report: aggregate, archive in S3, email.", 1769, Duration.minutes(15)
)

# Issue 11: starts pending enrollments and retries transient failures every few minutes; the audit
# (one Scan of the table) hourly.
SWEEP = FunctionSpec(
    "sweep",
    "Start pending enrollments, retry failures, resume dead executions; hourly audit.",
    512,
    Duration.minutes(5),
)
RESERVED_CONCURRENCY = sum(
    spec.reserved_concurrency or 0 for spec in (INTAKE, STEP, INBOUND, EVENTS, REPORT, SWEEP)
)
# The sweep queries its sparse index and updates enrollments; the audit scans the table; the
# quarterly re-engagement (same function) enrolls leads (PutItem: the enrollment, the cadence version);
# it deletes the rep alerts it delivered after holding them for their recipient's hours (DeleteItem);
# an overdue escalation reads its lead and enrollment in one BatchGetItem.
SWEEP_TABLE_ACTIONS = ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query", "Scan", "DeleteItem")


# The DynamoDB actions each lead handler's code calls on the leads table, and nothing else (no Scan,
# no BatchWriteItem, no stream reads): tests/test_infra.py reads them from the code the handler can
# reach (tests/table_calls.py) and fails on any action listed here it never calls, or one missing.
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    # intake also erases a person for a CRM (POST /erasures): DeleteItem; a post reads its address's
    # index and suppression entries in one BatchGetItem.
    "intake": ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query", "DeleteItem"),
    # step: an email's guard reads the sending pause and the touch's reserved slot in one BatchGetItem.
    "step": ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
    # inbound also drops a not-now reply's due-back item when a later reply or a correction ends it.
    "inbound": ("GetItem", "PutItem", "UpdateItem", "Query", "DeleteItem"),
    "events": ("GetItem", "PutItem", "UpdateItem", "Query"),
}
# Powertools idempotency (intake's Idempotency-Key header) on its own table.
IDEMPOTENCY_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package_layer_dir: Path,
        deps_layer_dir: Path,
        table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        hmac_secret: secretsmanager.ISecret,
        email: Email,
        rep_alerts: sns.ITopic,
        ops: sns.ITopic,
        sms_inbound: sns.ITopic,
        ses_events: sns.ITopic,
        meeting_webhook_secret: secretsmanager.ISecret,
        crm_webhook_secret: secretsmanager.ISecret,
        token_secret: secretsmanager.ISecret,
        reply_domain: str,
        api_keys: secretsmanager.ISecret,
        sender: str,
        log_level: str,
        log_retention: logs.RetentionDays,
        intake_texts: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self._log_retention = log_retention
        self._step_invokers: list[lambda_.Function] = []
        self._layers = [
            lambda_.LayerVersion(
                self,
                "PackageLayer",
                code=lambda_.Code.from_asset(str(package_layer_dir), exclude=BYTECODE),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description="leadflow package (python/leadflow) with /opt/cadences and /opt/templates",
            ),
            lambda_.LayerVersion(
                self,
                "DepsLayer",
                code=lambda_.Code.from_asset(str(deps_layer_dir)),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"leadflow runtime dependencies, wheels for {RUNTIME.name} {ARCHITECTURE.name}",
            ),
        ]
        self._shared_environment = {
            "TABLE_NAME": table.table_name,
            "HMAC_SECRET_ARN": hmac_secret.secret_arn,
            "CADENCE_DIR": LAYER_CADENCE_DIR,
            "TEMPLATE_DIR": LAYER_TEMPLATE_DIR,
            "POWERTOOLS_SERVICE_NAME": "leadflow",
            "POWERTOOLS_METRICS_NAMESPACE": "leadflow",
            "LOG_LEVEL": log_level,
        }
        sending = {"SENDER": sender, "SES_CONFIGURATION_SET": email.configuration_set.configuration_set_name}
        # Reply-To and unsubscribe tokens: the step function signs them, intake and inbound verify them.
        signed_links = {"TOKEN_SECRET_ARN": token_secret.secret_arn, "REPLY_DOMAIN": reply_domain}

        # Intake alerts the owner (no email consent, a lead came back) and replays Idempotency-Key answers.
        self.intake = self._function(
            INTAKE,
            {
                "REP_ALERTS_TOPIC_ARN": rep_alerts.topic_arn,
                "IDEMPOTENCY_TABLE_NAME": idempotency_table.table_name,
                "MEETING_WEBHOOK_SECRET_ARN": meeting_webhook_secret.secret_arn,
                "CRM_WEBHOOK_SECRET_ARN": crm_webhook_secret.secret_arn,
                # POST /erasures deletes the person's raw inbound mail.
                "INBOUND_BUCKET": email.inbound_bucket.bucket_name,
                **signed_links,
                **sending,  # the confirmation a public consent withdrawal needs
                # Posts held by a post limit alert ops, once per limit and hour (intake.held).
                "OPS_TOPIC_ARN": ops.topic_arn,
            },
        )
        self.step = self._function(
            STEP,
            {
                **sending,
                **signed_links,
                "REP_ALERTS_TOPIC_ARN": rep_alerts.topic_arn,
                # A failed enrollment alerts ops (the state machine's catch-all runs the step).
                "OPS_TOPIC_ARN": ops.topic_arn,
            },
        )
        # EventBridge (sweep, audit, re-engagement) and Scheduler (report) invoke these asynchronously:
        # an invocation that still fails after Lambda's two retries lands here, and its depth alarms.
        self.async_failures = failure_queue(self, "AsyncFailures")
        # Every run delivers the rep alerts held for their recipient's hours; the hourly run also sends
        # the manager's daily list of leads never called (rep alerts topic) and each rep's morning
        # digest (an SES email from SENDER).
        self.sweep = self._function(
            SWEEP,
            {"REP_ALERTS_TOPIC_ARN": rep_alerts.topic_arn, **sending},
            dead_letter_queue=self.async_failures,
        )
        self._grant_table_actions(self.sweep, SWEEP_TABLE_ACTIONS, table)
        rep_alerts.grant_publish(self.sweep)
        hmac_secret.grant_read(self.sweep)  # the reps' queue links in their morning digests
        email.grant_send(self.sweep)  # the morning digests
        ops.grant_publish(self.step)
        ops.grant_publish(self.intake)
        # SNS invokes asynchronously: a reply that still fails after Lambda's retries is kept, not lost.
        self.inbound_failures = inbound_failures = failure_queue(self, "InboundFailures")
        self.inbound = self._function(
            INBOUND,
            {
                **sending,
                **signed_links,
                "INBOUND_BUCKET": email.inbound_bucket.bucket_name,
                "INBOUND_MAIL_TOPIC_ARN": email.inbound_topic.topic_arn,
                "SMS_INBOUND_TOPIC_ARN": sms_inbound.topic_arn,
                "REP_ALERTS_TOPIC_ARN": rep_alerts.topic_arn,
            },
            dead_letter_queue=inbound_failures,
        )
        self.events = self._function(
            EVENTS,
            {"SES_EVENTS_TOPIC_ARN": ses_events.topic_arn, "REP_ALERTS_TOPIC_ARN": rep_alerts.topic_arn},
        )

        # The report reads by index and writes only its own marker items: no table-wide grant, no secret.
        self.report = self._function(REPORT, sending, dead_letter_queue=self.async_failures)
        self._grant_report_table_access(table)
        email.grant_send(self.report)

        for name, function in zip(TABLE_ACTIONS, self.lead_handlers, strict=True):
            self._grant_table_actions(function, TABLE_ACTIONS[name], table)
            hmac_secret.grant_read(function)
        email.grant_send(self.step)
        rep_alerts.grant_publish(self.step)
        rep_alerts.grant_publish(self.intake)
        iam.Grant.add_to_principal(
            grantee=self.intake,
            actions=[f"dynamodb:{action}" for action in IDEMPOTENCY_ACTIONS],
            resource_arns=[idempotency_table.table_arn],
        )
        email.grant_send(self.inbound)  # replies forwarded to the owner's inbox
        email.grant_send(self.intake)  # the confirmation a public consent withdrawal needs
        if intake_texts:
            self._ask_step_for_texts(self.intake)  # the SMS double opt-in request (abuse.sms_double_opt_in)
        api_keys.grant_read(self.intake)
        self._grant_sms(self.step)
        email.grant_read_inbound_mail(self.inbound)
        email.grant_erase_inbound_mail(self.intake)
        email.inbound_topic.add_subscription(subscriptions.LambdaSubscription(self.inbound))
        sms_inbound.add_subscription(subscriptions.LambdaSubscription(self.inbound))
        # The events function alerts ops when the reputation guard pauses sending.
        self.events.add_environment("OPS_TOPIC_ARN", ops.topic_arn)
        ops.grant_publish(self.events)
        for alerting in (self.inbound, self.events):
            rep_alerts.grant_publish(alerting)
        meeting_webhook_secret.grant_read(self.intake)
        crm_webhook_secret.grant_read(self.intake)
        for signing in (self.intake, self.step, self.inbound):
            token_secret.grant_read(signing)
        self._ask_step_for_texts(self.inbound)  # the SMS HELP answer
        self._acknowledge_grants()
        self._checkov_skips()

    def _checkov_skips(self) -> None:
        """Per-function departures from checkov's checks, each with its reason (infra/checkov.py)."""
        for function, why in (
            (
                self.intake,
                "API Gateway invokes intake synchronously: a failure is the caller's 5xx, never queued",
            ),
            (
                self.step,
                "Step Functions invokes the step synchronously; its Retry/Catch and the sweep handle "
                "failures. Speed-to-lead schedules invoke it too: the sweep escalates what they failed",
            ),
            (
                self.events,
                "An SQS event source invokes events synchronously; the queue's own dead-letter queue keeps "
                "what fails",
            ),
        ):
            skip_check(function, "CKV_AWS_116", why)
        for function, why in (
            (
                self.events,
                "Bounded by its SQS event source (batch size, the queue absorbs bursts); no share to reserve",
            ),
            (
                self.report,
                "One scheduled invocation a week: nothing to cap, and a reservation would idle all week",
            ),
            (
                self.sweep,
                "EventBridge runs it every 5 minutes and hourly: one invocation at a time, nothing to cap",
            ),
        ):
            skip_check(function, "CKV_AWS_115", why)
        step_policy = self.step.role.node.try_find_child("DefaultPolicy") if self.step.role else None
        if step_policy is not None:
            skip_check(
                step_policy,
                "CKV_AWS_111",
                "sns:Publish on * is SMS to phone numbers, which have no ARN (the cdk-nag acknowledgment "
                "on this role says the same); every other write is scoped to its resource",
            )

    @property
    def lead_handlers(self) -> tuple[lambda_.Function, ...]:
        """The functions that read and write leads (the table and the HMAC key)."""
        return (self.intake, self.step, self.inbound, self.events)

    def _grant_table_actions(
        self, function: lambda_.Function, actions: tuple[str, ...], table: dynamodb.ITable
    ) -> None:
        """Only the actions the function calls; Query also on the by_day index."""
        resources = [table.table_arn]
        if "Query" in actions:
            resources.append(f"{table.table_arn}/index/{table_spec.BY_DAY_INDEX}")
        iam.Grant.add_to_principal(
            grantee=function, actions=[f"dynamodb:{action}" for action in actions], resource_arns=resources
        )

    def _grant_report_table_access(self, table: dynamodb.ITable) -> None:
        """Query the by_day index; get leads by key; put and update REPORT# items (the sent marker); read
        the SENDING items (reputation guard)."""
        self.report.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{table_spec.BY_DAY_INDEX}"]
            )
        )
        for actions, leading_keys in (
            (["dynamodb:BatchGetItem"], ["LEAD#*"]),
            (["dynamodb:PutItem", "dynamodb:UpdateItem"], ["REPORT#*"]),
            # The sending health section: the reputation guard's pause, counts and daily caps.
            (["dynamodb:GetItem", "dynamodb:Query"], ["SENDING", "SENDING#*"]),
        ):
            self.report.add_to_role_policy(
                iam.PolicyStatement(
                    actions=actions,
                    resources=[table.table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": leading_keys}},
                )
            )

    def _function(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> lambda_.Function:
        construct_id = spec.name.capitalize()
        log_group = logs.LogGroup(self, f"{construct_id}Logs", retention=self._log_retention)
        # Our own role, without the AWSLambdaBasicExecutionRole managed policy: it may write to its
        # own log group only.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"leadflow {spec.name} function",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            description=spec.description,
            code=lambda_.Code.from_asset(str(assets.stage_function(spec.name)), exclude=BYTECODE),
            handler=HANDLER.format(name=spec.name),
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            layers=self._layers,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**self._shared_environment, **environment},
            dead_letter_queue=dead_letter_queue,
            reserved_concurrent_executions=spec.reserved_concurrency,
        )
        acknowledge(
            role,
            "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level "
            "permissions.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        return function

    def _acknowledge_grants(self) -> None:
        for publisher in (self.step, self.intake, self.inbound, self.events, self.sweep):
            acknowledge_grant(
                publisher,
                "Publishing to the KMS-encrypted rep alerts topic needs kms:GenerateDataKey* "
                "(GenerateDataKey and GenerateDataKeyWithoutPlaintext), granted by grant_publish on that "
                "topic's key only.",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            )

    def _grant_sms(self, function: lambda_.Function) -> None:
        """sns:Publish to phone numbers: SMS has no resource ARN, so the statement must name "*"
        (topic publishes are granted on their topics). The step alone holds it."""
        function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
        acknowledge_grant(
            function,
            "SMS to a phone number (sns:Publish with PhoneNumber) has no resource ARN to scope to. Only "
            "the step function holds it: it sends the cadences' SMS touches and, when the inbound or "
            "intake function asks, one of two fixed service texts (the HELP answer, the SMS opt-in "
            "request). Every other function publishes to named topics only.",
            "AwsSolutions-IAM5[Resource::*]",
        )

    def _ask_step_for_texts(self, function: lambda_.Function) -> None:
        """A function that needs a service text invokes the step (that function only, unqualified)
        instead of holding sns:Publish on "*" itself."""
        self._may_invoke_step(function)

    def _may_invoke_step(self, function: lambda_.Function) -> None:
        """lambda:InvokeFunction on the step function only (unqualified), once per function: service
        texts, and the first moment of a cadence an execution start hands over (cadence.first_moment)."""
        if function in self._step_invokers:
            return
        self._step_invokers.append(function)
        function.add_environment("STEP_FUNCTION_NAME", self.step.function_name)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.step.function_arn])
        )

    def connect_cadences(self, cadences: CadenceStateMachines) -> None:
        """Intake and the sweep start executions (and learn the ARNs) and hand each one's first moment
        to the step; intake stops them when a later post withdraws
        email consent or a rep task's outcome answers (connected, meeting booked); inbound stops them
        when a lead replies."""
        self.intake.add_environment("STATE_MACHINE_ARNS", cadences.arns_json())
        cadences.grant_start_execution(self.intake)
        self.sweep.add_environment("STATE_MACHINE_ARNS", cadences.arns_json())
        cadences.grant_start_execution(self.sweep)
        # Whoever starts an execution hands its first moment to the step (an async invoke: the
        # execution starts at the second moment, leadflow.cadence.first_moment).
        self._may_invoke_step(self.intake)
        self._may_invoke_step(self.sweep)
        # The audit lists RUNNING executions, the sweep those that ended early (on the state machines
        # themselves: no wildcard).
        iam.Grant.add_to_principal(
            grantee=self.sweep,
            actions=["states:ListExecutions"],
            resource_arns=[machine.state_machine_arn for machine in cadences.state_machines.values()],
        )
        # A start leaves its ARN to touch 1's claim (leadflow.cadence.enrollments.started): until then
        # the sweep asks Step Functions whether it started.
        cadences.grant_describe_execution(self.sweep)
        cadences.grant_stop_execution(self.intake)
        cadences.grant_stop_execution(self.inbound)
        cadences.grant_stop_execution(self.events)  # a permanent bounce or a complaint stops the lead
        # A first moment that fails for good (sent outside the execution) ends the execution waiting
        # for the second, as the Task's catch-all would (leadflow.send.first_moment).
        cadences.grant_stop_execution(self.step)
        # Touch 1's claim stores its execution's ARN, and every stopper derives one not stored yet,
        # from the state machines' fixed names (the step cannot reference them: they reference it).
        for stopper in (self.step, self.inbound, self.events):
            stopper.add_environment("STATE_MACHINE_ARNS", cadences.arns_by_name_json())

    def connect_operations(self, bus: events.IEventBus, *, include_email: bool, sms_origination: str) -> None:
        """Lead events to the integration bus; the SMS sender number for the step (the one that texts)."""
        for function in self.lead_handlers:
            function.add_environment("EVENT_BUS_NAME", bus.event_bus_name)
            if include_email:
                function.add_environment("EVENT_INCLUDE_EMAIL", "true")
            bus.grant_put_events_to(function)
        if sms_origination:
            self.step.add_environment("SMS_ORIGINATION_NUMBER", sms_origination)  # the one that texts

    def accept_salesforce(self, organizations: Sequence[str], source_cidrs: Sequence[str]) -> None:
        """The Salesforce organizations whose outbound messages set stages, and the source ranges that
        replace the URL token when given (leadflow.answers.stages)."""
        if organizations:
            self.intake.add_environment("SALESFORCE_ORG_IDS", ",".join(organizations))
        if source_cidrs:
            self.intake.add_environment("SALESFORCE_SOURCE_CIDRS", ",".join(source_cidrs))

    def connect_api(self, public_url: str) -> None:
        """The step function writes unsubscribe links to the API (or the operator's own domain); intake
        too, in the confirmation of a public consent withdrawal."""
        self.step.add_environment("PUBLIC_URL", public_url)
        self.intake.add_environment("PUBLIC_URL", public_url)
        self.sweep.add_environment("PUBLIC_URL", public_url)  # queue links in the morning digests
