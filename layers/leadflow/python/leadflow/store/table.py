"""The DynamoDB table's key schema (see the package docstring): one definition for CDK and the Sandbox."""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
# Time-bucketed index for the weekly report: query a day's events without a Scan.
BY_DAY_INDEX = "by_day"
BY_DAY_PARTITION_KEY = "gsi1pk"
BY_DAY_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"
# Sparse index of the enrollments the sweep must look at (issue 11): `attention` is "start" while an
# enrollment has no execution yet (pending, or its starter crashed) and "failed" after a failure.
ATTENTION_INDEX = "attention"
ATTENTION_KEY = "attention"
# The attributes the by_day index projects (None: all of them).
BY_DAY_PROJECTION: tuple[str, ...] | None = None


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """boto3 `create_table` arguments matching the CDK construct (used by the Sandbox)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PARTITION_KEY, SORT_KEY, BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY, ATTENTION_KEY)
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
            },
            {
                "IndexName": ATTENTION_INDEX,
                "KeySchema": [
                    {"AttributeName": ATTENTION_KEY, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
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
