"""boto3 clients, created once per process and only on first use (lean cold starts).

The Sandbox calls `reset()` after it starts moto so clients bind to the mock.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:  # the CLI's types; Lambda cold starts don't import argparse
    import argparse


@cache
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


def reset() -> None:
    client.cache_clear()
    table.cache_clear()


# -- the CLI against a stack (deployed, or the Sandbox's moto endpoint) ----------------------


def add_stack_options(command: argparse.ArgumentParser) -> None:
    """The options every CLI command that reads a stack takes: table, profile, Region, endpoint."""
    command.add_argument(
        "--table",
        default=os.environ.get("TABLE_NAME", "leadflow"),
        help="DynamoDB table (default $TABLE_NAME or leadflow)",
    )
    command.add_argument("--profile", help="AWS profile")
    command.add_argument("--region", help="AWS region")
    command.add_argument(
        "--endpoint-url", help="AWS endpoint, e.g. the moto endpoint `leadflow serve` prints"
    )


def use_stack(args: argparse.Namespace, hmac_secret: str) -> None:
    """Point boto3 and the settings at the chosen account, region, endpoint and table."""
    environment = {
        "AWS_PROFILE": args.profile,
        "AWS_DEFAULT_REGION": args.region,
        "AWS_ENDPOINT_URL": args.endpoint_url,
        "TABLE_NAME": args.table,
        "HMAC_SECRET_ARN": os.environ.get("HMAC_SECRET_ARN", hmac_secret),
    }
    os.environ.update({name: value for name, value in environment.items() if value})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if args.endpoint_url and not (args.profile or os.environ.get("AWS_ACCESS_KEY_ID")):
        # A local endpoint takes any credentials.
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    from leadflow import keys
    from leadflow.config import settings

    settings.cache_clear()
    keys.hmac_key.cache_clear()
    reset()


# -- errors worth retrying -------------------------------------------------------------------
# The step classifies a failed AWS call and raises one of these by name; every Task of the state
# machine retries them with backoff and jitter (leadflow.cadence.asl). Anything else is final.


class Throttled(Exception):
    """An AWS service (SES, SNS, DynamoDB, Lambda, Step Functions) asked us to slow down."""


class ServiceUnavailable(Exception):
    """An AWS service failed on its side (HTTP 5xx) or could not be reached."""


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "KMSThrottlingException",
        # DynamoDB: another transaction holds the item right now.
        "TransactionConflictException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {"InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable", "ServiceException"}
)


def transient(error: BaseException) -> Exception | None:
    """The named error a failed AWS call is retried under, or None when retrying cannot help."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        operation = getattr(error, "operation_name", "") or "call"
        if code in THROTTLING_CODES:
            return Throttled(f"{operation}: {code}")
        if code in UNAVAILABLE_CODES or status >= 500:
            return ServiceUnavailable(f"{operation}: {code or status}")
        return None
    if isinstance(error, ConnectionError | HTTPClientError):
        return ServiceUnavailable(type(error).__name__)
    return None
