"""The cost model: one price table, and a meter that counts what a Sandbox run uses.

Counts are measured on the Sandbox (moto): DynamoDB request and item sizes (read and write units
computed as DynamoDB bills them), Step Functions state transitions from execution histories, Lambda
invocations and their in-process durations, SES sends, SNS publishes, API requests. Prices are
us-east-1 list prices (on-demand DynamoDB after the November 2024 cut; Lambda on arm64, as deployed;
API Gateway REST, as deployed).
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PRICES = {
    "step_functions_per_transition": 0.025 / 1000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_per_gb_second_arm64": 0.0000133334,
    "dynamodb_per_write_unit": 0.625 / 1_000_000,
    "dynamodb_per_read_unit": 0.125 / 1_000_000,
    "ses_per_email": 0.10 / 1000,
    "sns_per_publish": 0.50 / 1_000_000,
    "sns_sms_us": 0.00581,
    "api_gateway_rest_per_request": 3.50 / 1_000_000,
}
# infra/constructs/functions.py: memory of each function (MB); Lambda bills per ms.
FUNCTION_MEMORY_MB = {"intake": 512, "step": 512, "inbound": 512, "events": 256, "report": 1769}

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of a low-level attribute value (strings and numbers approximated by length)."""
    ((kind, inner),) = value.items()
    if kind in ("S", "N", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(part)) for part in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(part) for part in inner)
    return 3 + sum(len(name) + 1 + attribute_size(part) for name, part in inner.items())  # M


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name) + attribute_size(value) for name, value in item.items())


@dataclass
class Usage:
    write_units: float = 0.0
    index_write_units: float = 0.0
    read_units: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    invocation_seconds: dict[str, float] = field(default_factory=dict)
    emails: int = 0
    sms: int = 0
    publishes: int = 0


class UsageMeter:
    """Counts DynamoDB units, SES/SNS calls (botocore hooks on our clients) and Lambda invocations."""

    def __init__(self, index_attribute: str, index_projected: Callable[[dict[str, Any]], dict[str, Any]]):
        self.usage = Usage()
        self._lock = threading.Lock()
        self._index_attribute = index_attribute
        self._index_projected = index_projected
        self._undo: list[Callable[[], None]] = []

    def install(self) -> Callable[[], None]:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        from leadflow import aws
        from leadflow.config import settings

        dynamodb = aws.client("dynamodb")
        table_client = aws.table(settings().table_name).meta.client
        for client in (dynamodb, table_client):
            for event, hook in (
                ("before-call.dynamodb", self._request),
                ("after-call.dynamodb", self._dynamodb),
            ):
                client.meta.events.register(event, hook)
                self._undo.append(functools.partial(client.meta.events.unregister, event, hook))
        for service, operation, kind in (("sesv2", "SendEmail", "email"), ("sns", "Publish", "publish")):
            client = aws.client(service)
            for event, hook in (
                (f"provide-client-params.{service}.{operation}", self._mark_sms),
                (f"after-call.{service}.{operation}", self._counter(kind)),
            ):
                client.meta.events.register(event, hook)
                self._undo.append(functools.partial(client.meta.events.unregister, event, hook))
        routed = LambdaSimpleBackend.invoke

        def invoke(backend: Any, function_name: str, *args: Any) -> Any:
            began = time.perf_counter()
            try:
                return routed(backend, function_name, *args)
            finally:
                name = function_name.rpartition(":")[2].rpartition("-")[2]
                with self._lock:
                    self.usage.invocations[name] += 1
                    seconds = self.usage.invocation_seconds.get(name, 0.0)
                    self.usage.invocation_seconds[name] = seconds + time.perf_counter() - began

        setattr(LambdaSimpleBackend, "invoke", invoke)  # noqa: B010 (undone on uninstall)
        self._undo.append(lambda: setattr(LambdaSimpleBackend, "invoke", routed))
        return self.uninstall

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    @staticmethod
    def _mark_sms(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["metered_sms"] = bool(params.get("PhoneNumber"))

    def _counter(self, kind: str) -> Callable[..., None]:
        def count(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            with self._lock:
                if kind == "email":
                    self.usage.emails += 1
                elif context.get("metered_sms"):
                    self.usage.sms += 1
                else:
                    self.usage.publishes += 1

        return count

    @staticmethod
    def _request(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["metered_params"] = json.loads(params.get("body") or b"{}")

    def _dynamodb(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        operation = model.name
        params = context.get("metered_params", {})
        body = json.loads(http_response.content or b"{}")  # low-level, before boto3's resource layer
        with self._lock:
            self.usage.requests[operation] += 1
            if operation in WRITES:
                # Billed on the item's size (the larger of before and after; after is what is at hand).
                stored = _stored_item(params["TableName"], params.get("Key") or params.get("Item", {}))
                item = stored or params.get("Item") or params.get("Key", {})
                self.usage.write_units += max(1, math.ceil(item_size(item) / WRITE_UNIT_BYTES))
                if http_response.status_code == 200 and self._index_attribute in item:
                    projected = item_size(self._index_projected(item))
                    self.usage.index_write_units += max(1, math.ceil(projected / WRITE_UNIT_BYTES))
            elif operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
                items = body.get("Items") or ([body["Item"]] if body.get("Item") else [])
                if operation == "BatchGetItem":
                    items = [item for found in body.get("Responses", {}).values() for item in found]
                size = sum(item_size(item) for item in items)
                factor = 1.0 if params.get("ConsistentRead") else 0.5
                self.usage.read_units += factor * max(1, math.ceil(size / READ_UNIT_BYTES))
            elif operation == "TransactWriteItems":
                for entry in params.get("TransactItems", []):
                    ((_, spec),) = entry.items()
                    size = item_size(spec.get("Item") or spec.get("Key", {}))
                    self.usage.write_units += 2 * max(1, math.ceil(size / WRITE_UNIT_BYTES))  # two per write


def _stored_item(table_name: str, key_or_item: dict[str, Any]) -> dict[str, Any] | None:
    """The item as moto stores it now (low-level), looked up in-process by its key."""
    from moto.dynamodb.models import dynamodb_backends

    from leadflow.local.events import ACCOUNT_ID, REGION
    from leadflow.store.table import PARTITION_KEY, SORT_KEY

    key = {name: key_or_item[name] for name in (PARTITION_KEY, SORT_KEY) if name in key_or_item}
    try:
        item = dynamodb_backends[ACCOUNT_ID][REGION].get_item(table_name, key)
    except Exception:
        return None
    return dict(item.to_json()["Attributes"]) if item is not None else None


@dataclass(frozen=True)
class CostPer1000:
    step_functions: float
    lambda_: float
    dynamodb: float
    ses: float
    sns: float
    api: float

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_ + self.dynamodb + self.ses + self.sns + self.api

    @property
    def without_ses(self) -> float:
        return self.total - self.ses


def cost_per_1000(usage: Usage, leads: int, transitions: int, api_requests: int) -> CostPer1000:
    """Dollars per 1,000 leads from a run's counts."""
    scale = 1000 / leads
    lambda_cost = sum(
        usage.invocations[name] * PRICES["lambda_per_request"]
        + math.ceil(usage.invocation_seconds[name] * 1000)
        / 1000
        * FUNCTION_MEMORY_MB.get(name, 512)
        / 1024
        * PRICES["lambda_per_gb_second_arm64"]
        for name in usage.invocations
    )
    dynamodb = (usage.write_units + usage.index_write_units) * PRICES[
        "dynamodb_per_write_unit"
    ] + usage.read_units * PRICES["dynamodb_per_read_unit"]
    return CostPer1000(
        step_functions=transitions * PRICES["step_functions_per_transition"] * scale,
        lambda_=lambda_cost * scale,
        dynamodb=dynamodb * scale,
        ses=usage.emails * PRICES["ses_per_email"] * scale,
        sns=(usage.sms * PRICES["sns_sms_us"] + usage.publishes * PRICES["sns_per_publish"]) * scale,
        api=api_requests * PRICES["api_gateway_rest_per_request"] * scale,
    )
