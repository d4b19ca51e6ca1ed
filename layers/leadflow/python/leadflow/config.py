"""Runtime configuration, parsed once per cold start from the environment CDK sets."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, Json

from leadflow.cadence.terms import DEFAULT_CADENCE_DIR

if TYPE_CHECKING:
    from leadflow.cadence.hours import BusinessHours
    from leadflow.cadence.model import Cadence
    from leadflow.operator_config import OperatorConfig
    from leadflow.store.retention import Retention


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME")
    # JSON map cadence name -> state machine ARN (intake starts executions).
    state_machine_arns: Json[dict[str, str]] = Field("{}", alias="STATE_MACHINE_ARNS", validate_default=True)
    sender: str = Field("Leadflow <hello@example.com>", alias="SENDER")
    configuration_set: str | None = Field(None, alias="SES_CONFIGURATION_SET")
    hmac_secret_arn: str = Field(alias="HMAC_SECRET_ARN")
    # Signs reply and unsubscribe tokens (leadflow.tokens); defaults to the HMAC secret.
    token_secret_arn: str | None = Field(None, alias="TOKEN_SECRET_ARN")
    # Replies and mailto unsubscribes arrive at reply+<token>@ / unsubscribe+<token>@ this domain.
    reply_domain: str = Field("reply.leadflow.example", alias="REPLY_DOMAIN")
    # Public base URL of the API (unsubscribe links), without a trailing slash.
    public_url: str = Field("https://leadflow.example", alias="PUBLIC_URL")
    inbound_bucket: str | None = Field(None, alias="INBOUND_BUCKET")
    rep_alerts_topic_arn: str | None = Field(None, alias="REP_ALERTS_TOPIC_ARN")
    # Operators' alerts (failed enrollments); its email subscriptions come from config/leadflow.yaml.
    ops_topic_arn: str | None = Field(None, alias="OPS_TOPIC_ARN")
    # Inbound answers: the SNS topics the inbound function takes (SES receiving, two-way SMS), the
    # one SES event publishing feeds through SQS, and the secret meeting webhooks are signed with.
    inbound_mail_topic_arn: str | None = Field(None, alias="INBOUND_MAIL_TOPIC_ARN")
    sms_inbound_topic_arn: str | None = Field(None, alias="SMS_INBOUND_TOPIC_ARN")
    ses_events_topic_arn: str | None = Field(None, alias="SES_EVENTS_TOPIC_ARN")
    meeting_webhook_secret_arn: str | None = Field(None, alias="MEETING_WEBHOOK_SECRET_ARN")
    # CRM stage webhooks: the keys HubSpot / the generic shape sign with (Salesforce: the URL token),
    # and the Salesforce organizations whose outbound messages are accepted (comma-separated ids).
    crm_webhook_secret_arn: str | None = Field(None, alias="CRM_WEBHOOK_SECRET_ARN")
    salesforce_org_ids: str = Field("", alias="SALESFORCE_ORG_IDS")
    # Optional: Salesforce's outbound-message source ranges (CIDR, comma-separated). Set, a Salesforce
    # delivery is authenticated by its source address (and OrganizationId) instead of the URL token.
    salesforce_source_cidrs: str = Field("", alias="SALESFORCE_SOURCE_CIDRS")
    # Where the weekly report is archived (reports/<week's date>/report.html).
    report_bucket: str | None = Field(None, alias="REPORT_BUCKET")
    # The step function: the one function allowed to text any number (the others ask it).
    step_function_name: str | None = Field(None, alias="STEP_FUNCTION_NAME")
    # SMS sender identity (toll-free or 10DLC number in the US); None lets SNS choose.
    sms_origination_number: str | None = Field(None, alias="SMS_ORIGINATION_NUMBER")
    cadence_dir: Path = Field(DEFAULT_CADENCE_DIR, alias="CADENCE_DIR")
    template_dir: Path = Field(DEFAULT_CADENCE_DIR.parent / "templates", alias="TEMPLATE_DIR")
    # Operator configuration: company identity, reps (config/leadflow.yaml; /opt/config in Lambda).
    config_file: Path = Field(DEFAULT_CADENCE_DIR.parent / "config" / "leadflow.yaml", alias="CONFIG_FILE")
    # Powertools idempotency records for the Idempotency-Key header (its own table, TTL on `expiration`).
    idempotency_table_name: str | None = Field(None, alias="IDEMPOTENCY_TABLE_NAME")
    # JSON list of origins allowed on top of config/leadflow.yaml's (a stage's own site, `leadflow serve`).
    extra_allowed_origins: Json[list[str]] = Field("[]", alias="EXTRA_ALLOWED_ORIGINS", validate_default=True)
    # Integration events (leadflow.observability.publish_event reads these directly, at call time).
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME")
    event_include_email: bool = Field(False, alias="EVENT_INCLUDE_EMAIL")
    # Speed-to-lead escalations (send.escalations): our EventBridge Scheduler group, the role its
    # schedules invoke with, and their target, the step function (the step itself targets the ARN
    # it was invoked by: a function's environment cannot name its own ARN in CloudFormation).
    escalation_schedule_group: str | None = Field(None, alias="ESCALATION_SCHEDULE_GROUP")
    escalation_schedule_role_arn: str | None = Field(None, alias="ESCALATION_SCHEDULE_ROLE_ARN")
    escalation_target_arn: str | None = Field(None, alias="ESCALATION_TARGET_ARN")


def cadences() -> dict[str, Cadence]:
    """The deployed cadences, by name, with their templates checked (cached per directory)."""
    # Imported here: a cold start that reads no cadence (events, inbound, the sweep's) does not build
    # the cadence models.
    from leadflow import compiled
    from leadflow.cadence.model import load_cadences

    config = settings()
    found = compiled.cadences(config.cadence_dir, config.template_dir)
    return found if found is not None else load_cadences(config.cadence_dir, config.template_dir)


def operator_config() -> OperatorConfig:
    # Imported here: a cold start that never reads the operator configuration (the sweep's) does
    # not build its models (nor import email_validator for its addresses).
    from leadflow import compiled
    from leadflow.operator_config import load_operator_config

    found = compiled.operator_config(settings().config_file)
    return found if found is not None else load_operator_config(settings().config_file)


def retention() -> Retention:
    """How long personal data is kept (config: retention): read by every write of an item that expires;
    from the compiled configuration, the rest of it neither imported nor built."""
    from leadflow import compiled

    found = compiled.retention(settings().config_file)
    return found if found is not None else operator_config().retention


def alert_hours() -> dict[str, BusinessHours]:
    """Who gets rep alerts, with their hours: every rep by id, and the manager (hours.MANAGER) when the
    configuration names one. From the compiled configuration, the rest of it neither imported nor built
    (the sweep delivers held alerts on every call)."""
    from leadflow import compiled

    found = compiled.alert_hours(settings().config_file)
    return found if found is not None else operator_config().alert_hours()


def allowed_origins() -> tuple[str, ...]:
    """Origins whose forms may post here: CORS answers and redirects go to these only."""
    from leadflow.operator_config import web_origin

    extra = tuple(web_origin(origin) for origin in settings().extra_allowed_origins)
    return operator_config().intake.allowed_origins + extra


@cache
def settings() -> Settings:
    """Settings from the environment; cached, call `settings.cache_clear()` after changing it."""
    return Settings.model_validate(dict(os.environ))
