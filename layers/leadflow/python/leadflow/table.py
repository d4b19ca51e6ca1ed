"""The DynamoDB table's key schema: one definition for CDK and for the local Sandbox.

Single-table design, items keyed by `pk`/`sk`:
- lead:        pk=LEAD#<id>      sk=LEAD              (gsi1 by created_at)
- enrollment:  pk=LEAD#<id>      sk=ENROLLMENT#<nnn>  (gsi1 by started_at)
- touch:       pk=LEAD#<id>      sk=TOUCH#<nnn>#<tt>  (gsi1 by sent_at)
- event:       pk=LEAD#<id>      sk=EVENT#<iso time>#<kind>  (gsi1 by time: replies, stops, engagement)
- report:      pk=REPORT#<date>  sk=REPORT            (a weekly report was sent: retries send nothing)
- email index: pk=EMAIL#<hmac>   sk=EMAIL             (the address itself is never a key)
- message:     pk=MSG#<ses id>   sk=MSG               (SES MessageId or our own Message-ID -> lead,
                                                       enrollment, touch)
- suppression: pk=SUPPRESS#<hmac> sk=SUPPRESS         (an address never to be mailed again)
- submission:  pk=LEAD#<id>      sk=SUBMISSION#<iso time>#<submission id>  (each post: consent audit trail)

gsi1 (the by_day index): gsi1pk=DAY#<yyyy-mm-dd> (UTC), gsi1sk=<iso time>#<lead id>, and every
indexed item carries `kind`. The weekly report queries it day by day.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
# Time-bucketed index for the weekly report: query a day's events without a Scan.
BY_DAY_INDEX = "by_day"
BY_DAY_PARTITION_KEY = "gsi1pk"
BY_DAY_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """boto3 `create_table` arguments matching the CDK construct (used by the Sandbox)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PARTITION_KEY, SORT_KEY, BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_DAY_INDEX,
                "KeySchema": [
                    {"AttributeName": BY_DAY_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": BY_DAY_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


# Powertools idempotency (Idempotency-Key header): its own table, the layer's default attribute names.
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


def idempotency_table_kwargs(table_name: str) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": IDEMPOTENCY_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": IDEMPOTENCY_KEY, "KeyType": "HASH"}],
    }
