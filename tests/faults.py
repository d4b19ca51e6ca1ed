"""Fault injection at the adapters: AWS calls answered with the errors AWS really returns.

botocore calls `before-call.<service>.<Operation>` handlers before it sends a request and
`after-call` ones once the service answered: raising in the first is a refused call (nothing
happened), raising in the second is a crash after the service acted (SES accepted the mail).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from leadflow import aws


def client_error(code: str, operation: str, status: int = 400, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@contextlib.contextmanager
def failing(
    service: str,
    operation: str,
    error: BaseException | Callable[[], BaseException],
    *,
    times: int = 1,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
    after: bool = False,
    client: Any = None,
) -> Iterator[list[dict[str, Any]]]:
    """Make the next `times` matching calls of `service`.`operation` raise `error` (or `error()`).

    `after=True` raises once the service has answered (it acted). `client` defaults to
    `aws.client(service)` (pass a table's `meta.client` for DynamoDB resource calls). Yields the
    params of each failed call.
    """
    failed: list[dict[str, Any]] = []
    client = client or aws.client(service)
    pending: dict[str, Any] = {}

    def before(params: dict[str, Any], **_: Any) -> None:
        pending["params"] = params
        if not after and len(failed) < times and when(params):
            failed.append(params)
            raise error if isinstance(error, BaseException) else error()

    def after_call(**_: Any) -> None:
        params = pending.get("params", {})
        if after and len(failed) < times and when(params):
            failed.append(params)
            raise error if isinstance(error, BaseException) else error()

    event = f"{service}.{operation}"
    client.meta.events.register(f"provide-client-params.{event}", before)
    client.meta.events.register(f"after-call.{event}", after_call)
    try:
        yield failed
    finally:
        client.meta.events.unregister(f"provide-client-params.{event}", before)
        client.meta.events.unregister(f"after-call.{event}", after_call)


def crash(name: str = "Runtime.ExitError") -> type[Exception]:
    """An exception reported under a Lambda runtime error name (a crashed or timed-out function)."""
    return type(name, (Exception,), {})


@contextlib.contextmanager
def before_call(
    service: str,
    operation: str,
    action: Callable[[dict[str, Any]], None],
    *,
    times: int = 1,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
    client: Any = None,
) -> Iterator[list[dict[str, Any]]]:
    """Run `action(params)` just before the next `times` matching calls of `service`.`operation`,
    then let the call go: something else happens in between (a stop lands, a retry runs). The
    count is taken before `action` runs, so calls the action makes itself are not intercepted.
    Yields the params of each intercepted call."""
    seen: list[dict[str, Any]] = []
    client = client or aws.client(service)

    def before(params: dict[str, Any], **_: Any) -> None:
        if len(seen) < times and when(params):
            seen.append(params)
            action(params)

    event = f"provide-client-params.{service}.{operation}"
    client.meta.events.register(event, before)
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, before)
