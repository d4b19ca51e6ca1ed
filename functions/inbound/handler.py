"""Inbound mail: SES receipt notifications arriving through SNS."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadflow.inbound import handle_notification
from leadflow.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = [
        handle_notification(str(record.Sns.Message)) for record in parse(event, model=SnsModel).Records
    ]
    for outcome in outcomes:
        metrics.add_metric(name=f"Inbound_{outcome}", unit="Count", value=1)
    return {"outcomes": outcomes}
