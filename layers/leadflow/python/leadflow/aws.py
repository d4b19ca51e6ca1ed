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
