"""SES event publishing: configuration set -> SNS -> SQS -> this function, in batches.

Each record is handled on its own; failed ones are reported back to SQS (partial batch
response) and retried, then land in the queue's DLQ. A batch whose every record failed is
raised, as Powertools' batch processor does, so that the whole batch returns to the queue.
The loop is ours: the batch utility imports asyncio and every event data class (~0.1 s of a cold
start) for what is a dozen lines here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import imported, uncollected_first_call
from leadflow.answers.ses_events import handle_body
from leadflow.observability import count, logger, metrics


class EveryRecordFailed(RuntimeError):
    """No record of the batch could be handled: SQS retries all of them."""


def record_handler(body: str) -> None:
    for outcome in handle_body(body):
        count("SesEvents", outcome=outcome)


@uncollected_first_call
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event["Records"]
    failures = []
    for record in records:
        try:
            record_handler(record["body"])
        except Exception:
            logger.exception(
                "an SES event record failed; SQS retries it", extra={"message_id": record["messageId"]}
            )
            failures.append({"itemIdentifier": record["messageId"]})
    if records and len(failures) == len(records):
        raise EveryRecordFailed(f"all {len(records)} records of the batch failed")
    return {"batchItemFailures": failures}


imported()  # last: see functions/__init__.py
