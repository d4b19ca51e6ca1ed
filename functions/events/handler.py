"""SES event publishing: configuration set -> SNS -> SQS -> this function, in batches.

Each record is handled on its own; failed ones are reported back to SQS (partial batch
response) and retried, then land in the queue's DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadflow.answers.ses_events import handle_body
from leadflow.observability import count, logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    for outcome in handle_body(record.body):
        count("SesEvents", outcome=outcome)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
