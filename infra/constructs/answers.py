"""Answers from the mail system: SES event publishing -> SNS -> SQS (+DLQ) -> the events function,
and the service permissions that let SES and two-way SMS publish to their topics."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.email import Email
from infra.constructs.queues import failure_queue
from infra.constructs.topics import allow_service_to_publish

# Every event type the events function handles.
SES_EVENTS = (
    # Send: proof SES accepted a touch, which settles a touch whose step died around the call.
    ses.EmailSendingEvent.SEND,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.OPEN,
    ses.EmailSendingEvent.CLICK,
    # A touch that reached nobody (fails visibly) and one that is late (flagged when it lasts): issue 23.
    ses.EmailSendingEvent.RENDERING_FAILURE,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)
# A message failing this often goes to the DLQ (kept 14 days) instead of blocking the queue.
MAX_RECEIVES = 5


class SesEventPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        email: Email,
        topic: sns.ITopic,
        sms_topic: sns.ITopic,
        handler: lambda_.IFunction,
        handler_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.dead_letters = failure_queue(self, "DeadLetters")
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Lambda's guidance: at least six times the function timeout.
            visibility_timeout=Duration.seconds(handler_timeout.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES),
        )
        # The SNS envelope stays (raw delivery off): the function checks which topic sent it.
        topic.add_subscription(subscriptions.SqsSubscription(self.queue))
        handler.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(5),
                report_batch_item_failures=True,
            )
        )
        email.configuration_set.add_event_destination(
            "ToEventsTopic",
            destination=ses.EventDestination.sns_topic(topic),
            events=list(SES_EVENTS),
        )
        configuration_set_arn = email.configuration_set_arn
        allow_service_to_publish(topic, "ses.amazonaws.com", "AllowSesEventPublishing", configuration_set_arn)
        # End User Messaging SMS publishes inbound texts from the account's phone numbers.
        allow_service_to_publish(
            sms_topic,
            "sms-voice.amazonaws.com",
            "AllowInboundSms",
            stack.format_arn(service="sms-voice", resource="phone-number", resource_name="*"),
        )
