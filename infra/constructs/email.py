"""SES: sending (configuration set, identities with DKIM and MAIL FROM, their DNS records as outputs)
and receiving replies (rule set -> S3 + SNS)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from aws_cdk import ArnFormat, CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.topics import allow_service_to_publish
from infra.nag import acknowledge_grant, wildcard_resource
from leadflow import tokens

# SES receiving writes each reply as raw MIME under this prefix (the object key is the SES message id).
INBOUND_PREFIX = "inbound/"
ACCESS_LOG_RETENTION = Duration.days(90)
SPF = "v=spf1 include:amazonses.com ~all"
DMARC = "v=DMARC1; p=none"


def receipt_recipients(reply_domain: str) -> list[str]:
    """The only addresses SES receives for: `reply@` and `unsubscribe@` the reply domain.

    SES matches a rule's address with any `+label` too, so `reply+<token>@` and
    `unsubscribe+<token>@` arrive and every other local part is refused at the door.
    """
    prefixes = (tokens.REPLY_PREFIX, tokens.UNSUBSCRIBE_PREFIX)
    return [f"{prefix.rstrip('+')}@{reply_domain}" for prefix in prefixes]


class Email(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sending_domains: Sequence[str],
        existing_identities: Sequence[str],
        mail_from: Callable[[str], str],
        reply_domain: str,
        inbound_topic: sns.ITopic,
        inbound_mail_retention: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # --- Sending -------------------------------------------------------------------------------
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        # One identity per domain a touch is sent from (infra.preflight checks every rep is covered),
        # each with Easy DKIM and a custom MAIL FROM domain: SPF then aligns with From for DMARC.
        self.sending_identities: dict[str, ses.EmailIdentity] = {}
        for index, domain in enumerate(sending_domains):
            identity = ses.EmailIdentity(
                self,
                "SenderIdentity" if index == 0 else f"SendingIdentity{_slug(domain)}",
                identity=ses.Identity.domain(domain),
                configuration_set=self.configuration_set,
                mail_from_domain=mail_from(domain),
                mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
            )
            self.sending_identities[domain] = identity
            _dns_outputs(self, domain, identity, mail_from=mail_from(domain))
        self.sender_identity = next(iter(self.sending_identities.values()))
        # Verified outside this stack: sending is granted through them, nothing is created.
        self.existing_identity_arns = [
            stack.format_arn(service="ses", resource="identity", resource_name=identity)
            for identity in existing_identities
        ]
        self.configuration_set_arn = stack.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )

        # --- Receiving -----------------------------------------------------------------------------
        if reply_domain not in self.sending_identities:
            # SES only receives mail for verified domains.
            reply_identity = ses.EmailIdentity(
                self, "ReplyIdentity", identity=ses.Identity.domain(reply_domain)
            )
            _dkim_outputs(self, reply_domain, reply_identity)
        _output(
            self,
            "DnsReplyMx",
            f"DNS: replies and mailto opt-outs reach SES receiving ({reply_domain})",
            f"{reply_domain} MX 10 inbound-smtp.{stack.region}.amazonaws.com",
        )
        # Who read which reply, when: server access logs of the inbound bucket (cdk-nag S1).
        self.access_logs = access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=ACCESS_LOG_RETENTION)],
        )
        self.inbound_bucket = s3.Bucket(
            self,
            "InboundMail",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # Raw replies carry personal data: keep them only as long as matching and audits need.
            lifecycle_rules=[s3.LifecycleRule(prefix=INBOUND_PREFIX, expiration=inbound_mail_retention)],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="inbound-mail/",
        )
        self.inbound_topic = inbound_topic
        self.rule_set = ses.ReceiptRuleSet(self, "ReceiptRules")
        self.reply_rule = self.rule_set.add_rule(
            "Replies",
            recipients=receipt_recipients(reply_domain),
            scan_enabled=True,
            # Optional, not Require: a lead's mail server without TLS must still be able to reply.
            tls_policy=ses.TlsPolicy.OPTIONAL,
            actions=[
                ses_actions.S3(
                    bucket=self.inbound_bucket, object_key_prefix=INBOUND_PREFIX, topic=inbound_topic
                )
            ],
        )
        self._allow_ses_to_notify(inbound_topic)
        CfnOutput(
            self,
            "ActivateReceiptRuleSet",
            description=(
                "CloudFormation cannot activate a receipt rule set, and an account has one active set per "
                "Region: activating this one deactivates any other. Run once after the first deploy:"
            ),
            value="aws ses set-active-receipt-rule-set --rule-set-name "
            + self.rule_set.receipt_rule_set_name,
        )

    def _allow_ses_to_notify(self, topic: sns.ITopic) -> None:
        """SES publishes the receipt notification to the (KMS-encrypted) topic: allow it, for this account."""
        rule_set_arn = Stack.of(self).format_arn(
            service="ses",
            resource="receipt-rule-set",
            resource_name=f"{self.rule_set.receipt_rule_set_name}:receipt-rule/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        added = allow_service_to_publish(
            topic, "ses.amazonaws.com", "AllowSesReceiptNotifications", rule_set_arn
        )
        if added.policy_dependable is not None:
            # SES checks that it may publish when the rule is created.
            self.reply_rule.node.add_dependency(added.policy_dependable)

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """ses:SendEmail/SendRawEmail through the sending identities and the configuration set only."""
        for identity in self.sending_identities.values():
            identity.grant_send_email(grantee)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[self.configuration_set_arn, *self.existing_identity_arns],
        )

    def grant_erase_inbound_mail(self, grantee: iam.IGrantable) -> None:
        """GDPR erasure: list the inbound prefix, read and delete the objects that name the person."""
        objects = self.inbound_bucket.arn_for_objects(f"{INBOUND_PREFIX}*")
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:GetObject", "s3:DeleteObject"], resource_arns=[objects]
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.inbound_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{INBOUND_PREFIX}*"]}},
        )
        acknowledge_grant(
            grantee,
            "Erasure (POST /erasures) finds the person's raw inbound mail among objects whose keys are SES "
            "message ids: Get and Delete on the inbound prefix only, List limited to that prefix.",
            wildcard_resource(self, objects),
        )

    def grant_read_inbound_mail(self, grantee: iam.IGrantable) -> None:
        """s3:GetObject on the objects SES receiving writes (the inbound prefix) only."""
        objects = self.inbound_bucket.arn_for_objects(f"{INBOUND_PREFIX}*")
        iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=[objects])
        acknowledge_grant(
            grantee,
            "Object keys are SES message ids, unknown in advance: GetObject on the prefix SES receiving "
            "writes to, in the inbound bucket only (no List, no Put, no Delete).",
            wildcard_resource(self, objects),
        )


def _slug(domain: str) -> str:
    """A domain as a construct/output id part: mail.acme-corp.com -> MailAcmeCorpCom."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", domain) if part)


def _output(scope: Construct, name: str, description: str, value: str) -> None:
    """A stack output under exactly `name` (no construct-path hash): docs/deploy.md names them."""
    CfnOutput(scope, name, description=description, value=value).override_logical_id(name)


def _dkim_outputs(scope: Construct, domain: str, identity: ses.EmailIdentity) -> None:
    tokens = (
        (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
        (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
        (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
    )
    for number, (name, value) in enumerate(tokens, start=1):
        _output(
            scope,
            f"Dns{_slug(domain)}Dkim{number}",
            f"DNS: Easy DKIM record {number} of 3 for {domain} (verifies the identity)",
            Fn.join(" ", [name, "CNAME", value]),
        )


def _dns_outputs(scope: Construct, domain: str, identity: ses.EmailIdentity, *, mail_from: str) -> None:
    """The records an operator creates for a sending domain, one output each, as `name TYPE value`."""
    _dkim_outputs(scope, domain, identity)
    slug = _slug(domain)
    region = Stack.of(scope).region
    records = {
        "MailFromMx": (
            f"custom MAIL FROM of {domain}",
            f"{mail_from} MX 10 feedback-smtp.{region}.amazonses.com",
        ),
        "MailFromSpf": (f"SPF of the MAIL FROM domain of {domain}", f'{mail_from} TXT "{SPF}"'),
        "Dmarc": (
            f"DMARC of {domain}: start at p=none, add rua=mailto:<you> for reports, tighten once clean",
            f'_dmarc.{domain} TXT "{DMARC}"',
        ),
    }
    for name, (what, value) in records.items():
        _output(scope, f"Dns{slug}{name}", f"DNS: {what}", value)
