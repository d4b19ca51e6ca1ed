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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadflow.store.table import PARTITION_KEY, SORT_KEY

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
    # EventBridge Scheduler: speed to lead's one-shot escalation schedules, billed per invocation.
    "scheduler_per_invocation": 1.00 / 1_000_000,
}
# infra/constructs/functions.py: memory of each function (MB); Lambda bills per ms.
FUNCTION_MEMORY_MB = {"intake": 512, "step": 512, "inbound": 512, "events": 256, "report": 1769}

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
Item = dict[str, Any]  # a low-level item ({"name": {"S": "..."}})


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


def item_size(item: Item) -> int:
    return sum(len(name) + attribute_size(value) for name, value in item.items())


def units(size: int) -> int:
    """Write units of `size` bytes: one per started kilobyte, at least one."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


@dataclass(frozen=True)
class Index:
    """A global secondary index as the meter needs it: its key attributes, the table's keys (every
    index entry carries them) and its projected non-key attributes (None: ALL)."""

    name: str
    keys: tuple[str, ...]
    table_keys: tuple[str, ...]
    projected: frozenset[str] | None

    def entry(self, item: Item | None) -> Item | None:
        """The item's entry in the index; None when it is not in it (sparse: a key attribute missing)."""
        if item is None or any(name not in item for name in self.keys):
            return None
        if self.projected is None:
            return dict(item)
        stored = {*self.keys, *self.table_keys, *self.projected}
        return {name: value for name, value in item.items() if name in stored}


def table_indexes(table_kwargs: dict[str, Any]) -> tuple[Index, ...]:
    """The indexes of a `create_table` definition (store.table.create_table_kwargs: the one the
    Sandbox creates and CDK mirrors)."""
    table_keys = tuple(key["AttributeName"] for key in table_kwargs["KeySchema"])
    found = []
    for index in table_kwargs.get("GlobalSecondaryIndexes", []):
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        found.append(
            Index(
                name=index["IndexName"],
                keys=tuple(key["AttributeName"] for key in index["KeySchema"]),
                table_keys=table_keys,
                projected=None
                if kind == "ALL"
                else frozenset(projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else []),
            )
        )
    return tuple(found)


def write_units(before: Item | None, after: Item | None) -> int:
    """Write units of one PutItem, UpdateItem or DeleteItem on the table: the larger of the item's
    size before and after the write, per started kilobyte."""
    return units(max(item_size(before or {}), item_size(after or {})))


def index_write_units(index: Index, before: Item | None, after: Item | None) -> int:
    """Write units a successful write costs in one index, by DynamoDB's rules: nothing when neither
    a key nor a projected attribute of the index changed; one write when an entry appears,
    disappears or changes its projected attributes; two (a delete and a put) when its key changes.
    Each write is sized on its index entry."""
    old, new = index.entry(before), index.entry(after)
    if old == new:
        return 0
    if old is None or new is None:
        return units(item_size(old or new or {}))
    if any(old[name] != new[name] for name in index.keys):
        return units(item_size(old)) + units(item_size(new))
    return units(max(item_size(old), item_size(new)))


def item_kind(key: Item) -> str:
    """What an item is, from its key: the sort key's prefix in a lead's partition (ENROLLMENT,
    TOUCH, MSG...), else the partition's prefix and the sort key's (SENDING/SENDS, MSG/MSG)."""
    partition = str(next(iter(key.get(PARTITION_KEY, {"S": "?"}).values())))
    sort = str(next(iter(key.get(SORT_KEY, {"S": ""}).values())))
    if partition.startswith("LEAD#"):
        return sort.partition("#")[0]
    return f"{partition.partition('#')[0]}/{sort.partition('#')[0]}"


@dataclass
class Usage:
    write_units: float = 0.0
    index_write_units: float = 0.0
    read_units: float = 0.0
    # Write units by item kind (item_kind), and by kind and index ("TOUCH@by_day").
    writes_by_kind: Counter[str] = field(default_factory=Counter)
    write_requests_by_kind: Counter[str] = field(default_factory=Counter)
    index_writes_by_kind: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    invocation_seconds: dict[str, float] = field(default_factory=dict)
    emails: int = 0
    sms: int = 0
    publishes: int = 0
    schedules: int = 0  # one-shot schedules created (each fires once: one invocation)


class UsageMeter:
    """Counts DynamoDB units (botocore hooks on our clients, the item read in-process from moto
    before and after each write), SES/SNS calls and Lambda invocations with each handler's own time."""

    def __init__(self, indexes: tuple[Index, ...] | None = None):
        from leadflow.store.table import create_table_kwargs

        self.usage = Usage()
        self._lock = threading.Lock()
        self._indexes = indexes if indexes is not None else table_indexes(create_table_kwargs("leadflow"))
        self._undo: list[Callable[[], None]] = []

    def install(self, sandbox: Any) -> Callable[[], None]:
        """Meter the calls of a running Sandbox (`leadflow.local.Sandbox`)."""
        from leadflow import aws
        from leadflow.config import settings

        dynamodb = aws.client("dynamodb")
        table_client = aws.table(settings().table_name).meta.client
        for client in (dynamodb, table_client):
            hooks: tuple[tuple[str, Callable[..., None]], ...] = (
                ("before-call.dynamodb", self._request),
                ("after-call.dynamodb", self._dynamodb),
            )
            for event, hook in hooks:
                client.meta.events.register(event, hook)
                self._undo.append(functools.partial(client.meta.events.unregister, event, hook))
        for service, operation, kind in (
            ("sesv2", "SendEmail", "email"),
            ("sns", "Publish", "publish"),
            ("scheduler", "CreateSchedule", "schedule"),
        ):
            client = aws.client(service)
            for event, hook in (
                (f"provide-client-params.{service}.{operation}", self._mark_sms),
                (f"after-call.{service}.{operation}", self._counter(kind)),
            ):
                client.meta.events.register(event, hook)
                self._undo.append(functools.partial(client.meta.events.unregister, event, hook))
        # Lambda bills each invocation's own duration: the Sandbox reports the time a handler ran,
        # not the time its call waited for the Sandbox's one-at-a-time lock (no Lambda waits so).
        sandbox.on_handler_done = self._handler_done
        self._undo.append(lambda: setattr(sandbox, "on_handler_done", None))
        return self.uninstall

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _handler_done(self, name: str, seconds: float) -> None:
        with self._lock:
            self.usage.invocations[name] += 1
            self.usage.invocation_seconds[name] = self.usage.invocation_seconds.get(name, 0.0) + seconds

    @staticmethod
    def _mark_sms(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["metered_sms"] = bool(params.get("PhoneNumber"))

    def _counter(self, kind: str) -> Callable[..., None]:
        def count(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            with self._lock:
                if kind == "email":
                    self.usage.emails += 1
                elif kind == "schedule":
                    self.usage.schedules += 1
                elif context.get("metered_sms"):
                    self.usage.sms += 1
                else:
                    self.usage.publishes += 1

        return count

    @staticmethod
    def _request(params: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        context["metered_params"] = body
        if model.name in WRITES:  # the before image
            context["metered_before"] = _stored_item(body["TableName"], body.get("Key") or body["Item"])

    def _dynamodb(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        operation = model.name
        params = context.get("metered_params", {})
        body = json.loads(http_response.content or b"{}")  # low-level, before boto3's resource layer
        with self._lock:
            self.usage.requests[operation] += 1
            if operation in WRITES:
                key = params.get("Key") or params["Item"]
                before = context.get("metered_before")
                succeeded = http_response.status_code == 200
                after = _stored_item(params["TableName"], key) if succeeded else before
                # A put is sized on the item it carries even when its condition refused it.
                proposed = params.get("Item") if operation == "PutItem" else after
                kind = item_kind(key)
                written = units(
                    max(item_size(before or {}), item_size(after or {}), item_size(proposed or {}))
                )
                self.usage.write_units += written
                self.usage.writes_by_kind[kind] += written
                self.usage.write_requests_by_kind[kind] += 1
                if succeeded:
                    for index in self._indexes:
                        indexed = index_write_units(index, before, after)
                        self.usage.index_write_units += indexed
                        if indexed:
                            self.usage.index_writes_by_kind[f"{kind}@{index.name}"] += indexed
            elif operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
                items = body.get("Items") or ([body["Item"]] if body.get("Item") else [])
                if operation == "BatchGetItem":  # charged per item read, as GetItems of them
                    for table, wanted in params.get("RequestItems", {}).items():
                        found = body.get("Responses", {}).get(table, [])
                        factor = 1.0 if wanted.get("ConsistentRead") else 0.5
                        keys = len(wanted.get("Keys", []))
                        sizes = [item_size(item) for item in found] + [0] * max(0, keys - len(found))
                        self.usage.read_units += sum(
                            factor * max(1, math.ceil(size / READ_UNIT_BYTES)) for size in sizes
                        )
                else:
                    size = sum(item_size(item) for item in items)
                    factor = 1.0 if params.get("ConsistentRead") else 0.5
                    self.usage.read_units += factor * max(1, math.ceil(size / READ_UNIT_BYTES))
            elif (
                operation == "TransactWriteItems"
            ):  # unused by leadflow; two units per write, sized on the request
                for entry in params.get("TransactItems", []):
                    ((_, spec),) = entry.items()
                    written = 2 * units(item_size(spec.get("Item") or spec.get("Key", {})))
                    self.usage.write_units += written
                    self.usage.writes_by_kind[item_kind(spec.get("Key") or spec.get("Item", {}))] += written


def _stored_item(table_name: str, key_or_item: Item) -> Item | None:
    """The item as moto stores it now (low-level), looked up in-process by its key."""
    from moto.dynamodb.models import dynamodb_backends

    from leadflow.local.events import ACCOUNT_ID, REGION

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
    scheduler: float = 0.0

    @property
    def total(self) -> float:
        return (
            self.step_functions
            + self.lambda_
            + self.dynamodb
            + self.ses
            + self.sns
            + self.api
            + self.scheduler
        )

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
        scheduler=usage.schedules * PRICES["scheduler_per_invocation"] * scale,
    )
