"""boto3 clients, created once per process and only on first use (lean cold starts).

The Sandbox calls `reset()` after it starts moto so clients bind to the mock.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


def reset() -> None:
    client.cache_clear()
    table.cache_clear()


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
