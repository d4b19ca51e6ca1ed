"""Inbound answers through SNS: SES receipt notifications (mail) and two-way SMS messages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadflow.answers.inbound import handle_notification
from leadflow.observability import count, logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        records = parse(event, model=SnsModel).Records
    except ValidationError:
        logger.warning("ignored an event that is not an SNS notification")
        metrics.add_metric(name="Inbound_not_sns", unit="Count", value=1)
        return {"outcomes": ["not_sns"]}
    outcomes = [handle_notification(str(record.Sns.TopicArn), str(record.Sns.Message)) for record in records]
    for outcome in outcomes:
        count("Inbound", outcome=outcome)
    return {"outcomes": outcomes}
