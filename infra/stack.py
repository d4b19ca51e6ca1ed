"""LeadflowStack: composes the constructs; each concern lives in infra/constructs/."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import LeadflowConfig
from infra.constructs.alarms import Operations
from infra.constructs.answers import SesEventPipeline
from infra.constructs.api import IntakeApi
from infra.constructs.cadences import CadenceStateMachines
from infra.constructs.email import Email
from infra.constructs.escalations import EscalationSchedules
from infra.constructs.functions import EVENTS, Functions
from infra.constructs.operations import (
    Dashboard,
    LeadEventsBus,
    ReengagementSchedule,
    RepAlertSubscriptions,
)
from infra.constructs.report import WeeklyReport
from infra.constructs.secrets import (
    ApiKeys,
    CaptchaSecret,
    CrmWebhookKey,
    HmacKey,
    MeetingWebhookKey,
    TokenKey,
)
from infra.constructs.table import IdempotencyTable, LeadsTable
from infra.constructs.topics import Topics
from leadflow.cadence.model import Cadence
from leadflow.intake import routing
from leadflow.operator_config import OperatorConfig, ReportSchedule


class LeadflowStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LeadflowConfig,
        operator: OperatorConfig,
        cadences: Mapping[str, Cadence],
        report_schedule: ReportSchedule,
        package_layer_dir: Path,
        deps_layer_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # config/leadflow.yaml names cadences (routing default, post-meeting): they must exist.
        routing.check(operator, cadences)
        if not operator.api_keys_secret:
            raise ValueError("config/leadflow.yaml: api_keys_secret names the server-to-server keys secret")
        retention = config.log_retention_days

        table = LeadsTable(self, "Leads")
        idempotency = IdempotencyTable(self, "Idempotency")
        hmac_key = HmacKey(self, "HmacKey")
        api_keys = ApiKeys(self, "ApiKeys", secret_name=operator.api_keys_secret)
        topics = Topics(self, "Topics")
        meeting_key = MeetingWebhookKey(self, "MeetingWebhookKey")
        crm_key = CrmWebhookKey(self, "CrmWebhookKey")
        token_key = TokenKey(self, "TokenKey")
        email = Email(
            self,
            "Email",
            sending_domains=config.identity_domains,
            existing_identities=config.existing_identities,
            mail_from=config.mail_from_domain,
            reply_domain=config.reply_domain,
            inbound_topic=topics.inbound_mail,
            # config/leadflow.yaml retention: raw mail is personal data, kept only for matching and audits.
            inbound_mail_retention=Duration.days(operator.retention.inbound_mail_days),
        )
        functions = Functions(
            self,
            "Functions",
            package_layer_dir=package_layer_dir,
            deps_layer_dir=deps_layer_dir,
            table=table.table,
            idempotency_table=idempotency.table,
            hmac_secret=hmac_key.secret,
            email=email,
            rep_alerts=topics.rep_alerts,
            ops=topics.ops,
            sms_inbound=topics.sms_inbound,
            ses_events=topics.ses_events,
            meeting_webhook_secret=meeting_key.secret,
            crm_webhook_secret=crm_key.secret,
            token_secret=token_key.secret,
            reply_domain=config.reply_domain,
            api_keys=api_keys.secret,
            sender=config.sender,
            log_level=config.log_level,
            log_retention=retention,
            intake_texts=bool(operator.abuse.sms_double_opt_in),
        )
        functions.accept_salesforce(config.salesforce_org_ids, config.salesforce_source_cidrs)
        if operator.abuse.captcha:
            # Optional bot check on public posts: intake reads the provider's key.
            captcha = CaptchaSecret(self, "Captcha", secret_name=operator.abuse.captcha.secret)
            captcha.secret.grant_read(functions.intake)
        cadence_machines = CadenceStateMachines(
            self,
            "Cadences",
            cadences=cadences,
            step_function=functions.step,
            name_prefix=config.stack_name,
            log_retention=retention,
        )
        functions.connect_cadences(cadence_machines)
        EscalationSchedules(
            self,
            "Escalations",
            target=functions.step,
            creators=[functions.step, functions.sweep],
            # A task's outcome (intake) and a stop (intake, inbound, events) delete the pending one.
            deleters=[functions.intake, functions.inbound, functions.events],
        )
        ses_event_pipeline = SesEventPipeline(
            self,
            "SesEvents",
            email=email,
            topic=topics.ses_events,
            sms_topic=topics.sms_inbound,
            handler=functions.events,
            handler_timeout=EVENTS.timeout,
        )
        report = WeeklyReport(
            self,
            "Report",
            function=functions.report,
            schedule=report_schedule,
            access_logs=email.access_logs,
        )
        Operations(
            self,
            "Operations",
            ops_topic=topics.ops,
            alert_emails=[str(address) for address in operator.ops.alert_emails],
            sweep=functions.sweep,
            functions={
                name: getattr(functions, name)
                for name in ("intake", "step", "inbound", "events", "report", "sweep")
            },
            state_machines=cadence_machines.state_machines,
            dead_letter_queues={
                "SesEvents": ses_event_pipeline.dead_letters,
                "InboundFailures": functions.inbound_failures,
                "AsyncFailures": functions.async_failures,
                "ReportSchedule": report.failures,
            },
        )
        lead_events = LeadEventsBus(self, "LeadEvents", bus_name=f"{config.stack_name}-lead-events")
        functions.connect_operations(
            lead_events.bus,
            include_email=config.events_include_email,
            sms_origination=config.sms_origination_number,
        )
        RepAlertSubscriptions(
            self,
            "RepAlertSubscriptions",
            topic=topics.rep_alerts,
            reps=operator.reps,
            manager=operator.speed_to_lead.manager,
        )
        ReengagementSchedule(self, "Reengagement", settings=operator.reengagement, function=functions.sweep)
        Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{config.stack_name}-leadflow",
            functions=[
                functions.intake,
                functions.step,
                functions.inbound,
                functions.events,
                functions.report,
            ],
        )
        CfnOutput(
            self, "LeadEventsBusName", value=lead_events.bus.event_bus_name, description="Integration events"
        )
        CfnOutput(
            self, "RepAlertsTopicArn", value=topics.rep_alerts.topic_arn, description="Rep alerts (SNS)"
        )
        CfnOutput(
            self,
            "HmacSecretArn",
            value=hmac_key.secret.secret_arn,
            description="leadflow lead/suppress --hmac-secret",
        )
        CfnOutput(self, "TableName", value=table.table.table_name, description="leadflow report --table")
        CfnOutput(
            self,
            "StepFunctionName",
            value=functions.step.function_name,
            description="leadflow enroll --csv / lead resume hand touch 1 to it",
        )
        CfnOutput(self, "ReportArchiveBucket", value=report.archive.bucket_name, description="Weekly reports")
        CfnOutput(
            self,
            "InboundMailBucket",
            value=email.inbound_bucket.bucket_name,
            description="Raw inbound mail (leadflow erase finds it here)",
        )
        api = IntakeApi(
            self,
            "Intake",
            handler=functions.intake,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            route_limits=config.route_limits(),
            log_retention=retention,
            waf_rate_limit=config.waf_rate_limit if config.waf_enabled else None,
        )
        public_url = config.public_url or api.base_url
        functions.connect_api(public_url)
        self._wiring_outputs(public_url, meeting_key.secret, crm_key.secret, topics.sms_inbound)

    def _wiring_outputs(
        self,
        public_url: str,
        meeting_secret: secretsmanager.ISecret,
        crm_secret: secretsmanager.ISecret,
        sms_inbound: sns.ITopic,
    ) -> None:
        """What an operator pastes into a vendor's console or a form (docs/deploy.md, integrations.md)."""
        for name, value, description in (
            ("LeadsUrl", f"{public_url}/leads", "POST /leads: the action of your forms"),
            ("MeetingWebhookUrl", f"{public_url}/webhooks/meeting", "Calendly / Cal.com webhook URL"),
            (
                "CrmWebhookUrl",
                f"{public_url}/webhooks/crm",
                "HubSpot / Salesforce / signed JSON stage webhook URL",
            ),
            (
                "TaskLinkBaseUrl",
                f"{public_url}/tasks/",
                "Base of the rep task links in alerts (GET /tasks/{id})",
            ),
            (
                "MeetingWebhookSecretArn",
                meeting_secret.secret_arn,
                "Meeting webhook signing keys (Secrets Manager)",
            ),
            (
                "MeetingWebhookSecretName",
                meeting_secret.secret_name,
                "aws secretsmanager put-secret-value --secret-id",
            ),
            ("CrmWebhookSecretArn", crm_secret.secret_arn, "CRM webhook keys (Secrets Manager)"),
            (
                "CrmWebhookSecretName",
                crm_secret.secret_name,
                "aws secretsmanager put-secret-value --secret-id",
            ),
            (
                "SmsInboundTopicArn",
                sms_inbound.topic_arn,
                "Two-way SMS destination of the origination number",
            ),
        ):
            CfnOutput(self, name, value=value, description=description)
