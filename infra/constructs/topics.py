"""SNS topics, KMS-encrypted: inbound mail (SES receiving), inbound SMS, SES events, rep alerts."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


def allow_service_to_publish(
    topic: sns.ITopic, service: str, sid: str, source_arn: str
) -> iam.AddToResourcePolicyResult:
    """Let an AWS service publish to a topic, for sources in this account only (the topics' key
    lets the publishing services use it: see Topics)."""
    stack = Stack.of(topic)
    added = topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"AWS:SourceAccount": stack.account},
                "ArnLike": {"AWS:SourceArn": source_arn},
            },
        )
    )
    return added


class Topics(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # A customer managed key, not alias/aws/sns: AWS services that publish to these topics
        # (SES receiving, later CloudWatch alarms) need a key policy that lets them use the key.
        self.key = kms.Key(
            self,
            "Key",
            description="leadflow: encrypts the SNS topics (inbound mail and SMS, SES events, rep alerts).",
            enable_key_rotation=True,
        )
        # The services that publish to these topics encrypt with the key: SES (receipt notifications,
        # event publishing) and End User Messaging SMS (inbound texts), for this account only.
        for name, service in (("Ses", "ses.amazonaws.com"), ("Sms", "sms-voice.amazonaws.com")):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{name}ToPublishToEncryptedTopics",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            )
        self.inbound_mail = sns.Topic(
            self,
            "InboundMail",
            display_name="leadflow inbound mail",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Two-way SMS: texts leads send to our number (End User Messaging SMS publishes them here).
        self.sms_inbound = sns.Topic(
            self,
            "SmsInbound",
            display_name="leadflow inbound SMS",
            master_key=self.key,
            enforce_ssl=True,
        )
        # SES event publishing (bounce, complaint, delivery, reject, open, click), fanned into SQS.
        self.ses_events = sns.Topic(
            self,
            "SesEvents",
            display_name="leadflow SES events",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.rep_alerts = sns.Topic(
            self,
            "RepAlerts",
            display_name="leadflow rep alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Operators: CloudWatch alarms and failed enrollments (infra.constructs.alarms).
        self.ops = sns.Topic(
            self,
            "Ops",
            display_name="leadflow ops alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopics",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
