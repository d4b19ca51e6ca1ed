"""The cost meter (bench.costs) against DynamoDB's documented write-unit rules, at their boundaries.

Sources: DynamoDB Developer Guide, "Read/write capacity mode" (one write unit per 1 KB of item,
rounded up; an update is sized on the larger of the item before and after) and "Provisioned
throughput considerations for global secondary indexes" (an index write only when a key or a
projected attribute of the index changes; a key change is a delete plus a put; a sparse index
holds only items that carry its keys).
"""

from __future__ import annotations

from typing import Any

from bench.costs import (
    Index,
    UsageMeter,
    index_write_units,
    item_kind,
    item_size,
    table_indexes,
    write_units,
)
from leadflow.store.table import create_table_kwargs

BY_DAY, ATTENTION = table_indexes(create_table_kwargs("leadflow"))


def sized(total: int, **attributes: str) -> dict[str, Any]:
    """A low-level item of exactly `total` bytes (names plus values), padded in a `pad` string."""
    item = {
        name: {"S": value} for name, value in {"pk": "LEAD#1", "sk": "ENROLLMENT#001", **attributes}.items()
    }
    item["pad"] = {"S": ""}
    item["pad"] = {"S": "x" * (total - item_size(item))}
    assert item_size(item) == total
    return item


def test_an_item_of_1024_bytes_is_one_write_unit_and_1025_bytes_are_two():
    assert write_units(None, sized(1024)) == 1
    assert write_units(None, sized(1025)) == 2
    assert write_units(None, sized(2048)) == 2
    assert write_units(None, sized(2049)) == 3


def test_an_update_is_sized_on_the_larger_of_the_item_before_and_after():
    assert write_units(sized(1025), sized(300)) == 2  # shrinking an item over 1 KB still costs 2
    assert write_units(sized(300), sized(1025)) == 2
    assert write_units(sized(1024), sized(1024)) == 1
    assert write_units(sized(1025), None) == 2  # a delete: the item as it was


def test_the_indexes_come_from_the_table_definition():
    assert (BY_DAY.name, BY_DAY.keys, ATTENTION.name, ATTENTION.keys) == (
        "by_day",
        ("gsi1pk", "gsi1sk"),
        "attention",
        ("attention", "sk"),
    )
    assert "status" in (BY_DAY.projected or ()) and "pad" not in (BY_DAY.projected or ())
    assert ATTENTION.projected == frozenset()  # KEYS_ONLY


def indexed(**attributes: str) -> dict[str, Any]:
    return sized(
        600, gsi1pk="DAY#2026-11-23#3", gsi1sk="2026-11-23T15:00:00Z#1", kind="enrollment", **attributes
    )


def test_an_update_that_touches_no_projected_attribute_costs_no_index_write():
    before = indexed(status="running", claim_id="a")
    after = {**before, "claim_id": {"S": "b"}, "pad": {"S": "y" * 300}}  # neither a key nor projected
    assert index_write_units(BY_DAY, before, after) == 0
    assert index_write_units(ATTENTION, before, after) == 0


def test_an_update_of_a_projected_attribute_is_one_index_write_sized_on_the_entry():
    before = indexed(status="running")
    after = {**before, "status": {"S": "stopped"}}
    assert index_write_units(BY_DAY, before, after) == 1
    big = {**before, "status": {"S": "s" * 1100}}  # the entry itself is over 1 KB
    assert index_write_units(BY_DAY, before, big) == 2
    # The unprojected pad does not count toward the entry's size.
    assert index_write_units(BY_DAY, before, {**after, "pad": {"S": "p" * 5000}}) == 1


def test_a_changed_index_key_is_a_delete_and_a_put():
    before = indexed(status="running")
    after = {**before, "gsi1sk": {"S": "2026-11-24T15:00:00Z#1"}}
    assert index_write_units(BY_DAY, before, after) == 2


def test_a_sparse_index_counts_entering_and_leaving_and_nothing_for_items_outside_it():
    outside = sized(300)
    inside = {**outside, "attention": {"S": "start"}}
    assert index_write_units(ATTENTION, None, inside) == 1  # a put into the index
    assert index_write_units(ATTENTION, inside, outside) == 1  # REMOVE attention: its entry goes
    assert index_write_units(ATTENTION, outside, {**outside, "pad": {"S": "z"}}) == 0
    assert index_write_units(ATTENTION, inside, None) == 1  # a delete of an indexed item
    half = sized(300, gsi1pk="DAY#2026-11-23#3")  # only one of the two key attributes: not indexed
    assert index_write_units(BY_DAY, None, half) == 0


def test_an_index_projecting_all_attributes_stores_the_whole_item():
    everything = Index("all", ("gsi1pk",), ("pk", "sk"), None)
    before = sized(300, gsi1pk="x")
    assert index_write_units(everything, before, {**before, "pad": {"S": "changed"}}) == 1


def test_items_are_grouped_by_kind_from_their_key():
    assert item_kind({"pk": {"S": "LEAD#ab"}, "sk": {"S": "TOUCH#001#02"}}) == "TOUCH"
    assert item_kind({"pk": {"S": "LEAD#ab"}, "sk": {"S": "LEAD"}}) == "LEAD"
    assert item_kind({"pk": {"S": "MSG#0100abc"}, "sk": {"S": "MSG"}}) == "MSG/MSG"
    assert item_kind({"pk": {"S": "SENDING#example.com"}, "sk": {"S": "DAY#2026-11-23"}}) == "SENDING/DAY"


def test_the_meter_on_a_sandbox_bills_updates_by_the_rules_and_handlers_by_their_own_time(sb):
    from leadflow import aws

    meter = UsageMeter()
    uninstall = meter.install(sb)
    try:
        table = aws.table("leadflow")
        item = {
            "pk": "LEAD#m",
            "sk": "ENROLLMENT#001",
            "gsi1pk": "DAY#x#1",
            "gsi1sk": "t#m",
            "status": "running",
        }
        table.put_item(Item=item)  # 1 unit + 1 by_day entry
        table.update_item(
            Key={"pk": "LEAD#m", "sk": "ENROLLMENT#001"},
            UpdateExpression="SET claim_id = :c",
            ExpressionAttributeValues={":c": "a"},
        )  # 1 unit, no index write
        table.update_item(
            Key={"pk": "LEAD#m", "sk": "ENROLLMENT#001"},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": "stopped"},
        )
        sb.on_handler_done("step", 0.25)  # what the Sandbox reports after a routed invocation
    finally:
        uninstall()
    assert meter.usage.write_units == 3
    assert meter.usage.index_write_units == 2
    assert meter.usage.index_writes_by_kind == {"ENROLLMENT@by_day": 2}
    assert (meter.usage.invocations["step"], meter.usage.invocation_seconds["step"]) == (1, 0.25)
    assert sb.on_handler_done is None


def test_a_handler_is_timed_from_when_it_holds_the_lock_not_from_when_it_asked(sb):
    import threading
    import time

    reported: list[tuple[str, float]] = []
    sb.on_handler_done = lambda name, seconds: reported.append((name, seconds))

    def busy(event: object, context: object) -> None:  # 50 ms of the thread's own CPU time
        began = time.thread_time()
        while time.thread_time() - began < 0.05:
            pass

    handler = sb._one_at_a_time(busy, "step")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sb._handler_lock:
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    threading.Timer(0.3, release.set).start()
    began = time.perf_counter()
    handler({}, None)
    waited = time.perf_counter() - began
    holder.join()
    sb.on_handler_done = None
    ((name, seconds),) = reported
    assert name == "step"
    assert waited >= 0.3
    assert 0.05 <= seconds < 0.2  # the handler's own 50 ms, not the 300 ms spent waiting


def test_each_escalation_schedule_is_metered_and_priced_as_one_scheduler_invocation():
    from bench.costs import PRICES, cost_per_1000
    from leadflow.local.sandbox import Sandbox

    demo = {"email": "dana@bigco.example", "first_name": "Dana", "form": "demo-request"}
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York: the owner is at work
        meter = UsageMeter()
        uninstall = meter.install(sb)
        try:
            sb.post("/leads", json=demo)  # the owner's alert at once, then a schedule per later alert
            sb.advance_to("2026-11-23T16:00:00Z")  # the owner again, the next rep, the manager (last)
        finally:
            uninstall()
    assert meter.usage.schedules == 3
    cost = cost_per_1000(meter.usage, leads=1, transitions=0, api_requests=0)
    assert cost.scheduler == 3 * PRICES["scheduler_per_invocation"] * 1000
    assert cost.total >= cost.scheduler > 0
