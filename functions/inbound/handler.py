"""Inbound answers through SNS: SES receipt notifications (mail) and two-way SMS messages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import imported, uncollected_first_call
from leadflow.answers.inbound import handle_notification
from leadflow.observability import count, logger, metrics


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    notifications = sns_notifications(event)
    if notifications is None:
        logger.warning("ignored an event that is not an SNS notification")
        metrics.add_metric(name="Inbound_not_sns", unit="Count", value=1)
        return {"outcomes": ["not_sns"]}
    outcomes = [handle_notification(topic_arn, message) for topic_arn, message in notifications]
    for outcome in outcomes:
        count("Inbound", outcome=outcome)
    return {"outcomes": outcomes}


def sns_notifications(event: Any) -> list[tuple[str, str]] | None:
    """(topic ARN, message) of each record of an SNS event; None if the event is not one.

    Read as plain JSON: the Powertools parser's SNS models cost a cold start ~70 ms to build, and the
    message itself is validated by the code that reads it (SES notification, SMS)."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return None
    notifications = []
    for record in records:
        if not isinstance(record, dict) or record.get("EventSource") != "aws:sns":
            return None
        sns = record.get("Sns")
        if not isinstance(sns, dict) or sns.get("Type") != "Notification":
            return None
        topic_arn, message = sns.get("TopicArn"), sns.get("Message")
        if not isinstance(topic_arn, str) or not isinstance(message, str):
            return None
        notifications.append((topic_arn, message))
    return notifications


imported()  # last: see functions/__init__.py
