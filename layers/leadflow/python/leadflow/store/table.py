"""The DynamoDB table's key schema (see the package docstring): one definition for CDK and the Sandbox."""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
# Time-ordered index for the weekly report: query a period's events without a Scan.
BY_DAY_INDEX = "by_day"
BY_DAY_PARTITION_KEY = "gsi1pk"
BY_DAY_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"
# Sparse index of the enrollments the sweep must look at (issue 11): `attention` is "start" while an
# enrollment has no execution yet (pending, or its starter crashed) and "failed" after a failure.
ATTENTION_INDEX = "attention"
ATTENTION_KEY = "attention"
# Write sharding: indexed writes spread over this many partitions (MONTH#<yyyy-mm>#<n>, n from the
# lead id), so the window-start burst of a busy day is not one hot partition (writes land in the
# current month: as many hot partitions as a day bucket would have); a read queries every shard of
# each month it touches.
BY_DAY_SHARDS = 8
# What the index stores besides the keys: exactly what the weekly report reads (report.source.PROJECTION
# is built from it). Write units of an indexed item are those of this projection, not the item.
BY_DAY_ATTRIBUTES = (
    "kind",
    "id",
    "lead_id",
    "created_at",
    "source",
    "form",
    "utm_source",
    "utm_campaign",
    "band",
    "owner",
    "lead_type",
    "status",
    "status_reason",
    "status_at",
    "number",
    "cadence",
    "started_at",
    "version",
    "stop_reason",
    "stopped_at",
    "stopped_after_touch",
    "enrollment",
    "touch",
    "channel",
    "sent_at",
    "variant",
    "outcome_at",
    "due_at",
    "type",
    "at",
    "amount",
    # A reply event's intent (issue 24): the report's intent mix.
    "intent",
)


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
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(BY_DAY_ATTRIBUTES)},
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
