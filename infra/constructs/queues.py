"""Queues that keep what failed (dead-letter queues), all alike."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def failure_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Keeps what still failed after the retries for 14 days (SQS's longest), encrypted, TLS only."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
