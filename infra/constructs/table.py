"""The single DynamoDB table, built from the key schema the local Sandbox uses (leadflow.store.table)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from leadflow.store import table as spec


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class LeadsTable(Construct):
    """Leads, enrollments, touches, the email index and SES message ids (see leadflow.store.table)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(spec.PARTITION_KEY),
            sort_key=_string(spec.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            time_to_live_attribute=spec.TTL_ATTRIBUTE,
            # Leads are customer data: a stack deletion must never take them along.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=spec.BY_DAY_INDEX,
            partition_key=_string(spec.BY_DAY_PARTITION_KEY),
            sort_key=_string(spec.BY_DAY_SORT_KEY),
            # Only what the weekly report reads: a smaller index write per item, no PII in the index.
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(spec.BY_DAY_ATTRIBUTES),
        )
        # Sparse: only enrollments without an execution or failed (leadflow.cadence.sweep).
        self.table.add_global_secondary_index(
            index_name=spec.ATTENTION_INDEX,
            partition_key=_string(spec.ATTENTION_KEY),
            sort_key=_string(spec.SORT_KEY),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )


class IdempotencyTable(Construct):
    """Powertools idempotency records for the Idempotency-Key header: kept 24 hours, expired by TTL."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(spec.IDEMPOTENCY_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.IDEMPOTENCY_TTL_ATTRIBUTE,
            # Replay records only (no lead data beyond a submission id): safe to drop with the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
