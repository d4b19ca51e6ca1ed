"""What a function's first call costs in round trips to AWS (issue 28: cold starts near boto3).

Each test pins one cut as a countable fact, counted with a botocore hook on the Sandbox's clients, so
that undoing the cut fails it: requests merged into one, reads that run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from leadflow import aws, keys
from leadflow.aws import started_pool
from leadflow.cadence import executions, sweep
from leadflow.config import settings
from leadflow.local import events
from leadflow.store import enrollment_items


@contextmanager
def _item_reads() -> Iterator[tuple[list[list[tuple[str, str]]], list[tuple[str, str]]]]:
    """The table's reads while the block runs: each consistent BatchGetItem's keys, and each GetItem's."""
    batches: list[list[tuple[str, str]]] = []
    gets: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetItem":
            gets.append((params["Key"]["pk"], params["Key"]["sk"]))
        else:
            for request in params["RequestItems"].values():
                batches.append([(key["pk"], key["sk"]) for key in request["Keys"]])
                assert request["ConsistentRead"] is True

    events = aws.table(settings().table_name).meta.client.meta.events
    for operation in ("GetItem", "BatchGetItem"):
        events.register(f"provide-client-params.dynamodb.{operation}", record)
    try:
        yield batches, gets
    finally:
        for operation in ("GetItem", "BatchGetItem"):
            events.unregister(f"provide-client-params.dynamodb.{operation}", record)


def test_an_intake_post_publishes_accepted_and_enrolled_in_one_put_events(sb):
    """Two events, one PutEvents request: a post's first call pays one EventBridge round trip."""
    requests: list[list[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append([entry["DetailType"] for entry in params.get("Entries", [])])

    client = aws.client("events")
    client.meta.events.register("provide-client-params.events.PutEvents", record)
    try:
        assert sb.post("/leads", json={"email": "ada@example.com", "first_name": "Ada"}).status_code == 202
    finally:
        client.meta.events.unregister("provide-client-params.events.PutEvents", record)

    published = [request for request in requests if "lead.accepted" in request]
    assert published == [["lead.accepted", "lead.enrolled"]]


class _SideBySide:
    """Wraps a read: its first `parties` calls each wait until all of them have begun. Calls made one
    after another never get there, and the wait's timeout fails the sweep."""

    def __init__(self, read: Any, parties: int) -> None:
        self.read, self.parties = read, parties
        self.barrier = threading.Barrier(parties, timeout=10)
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self.lock:
            self.calls += 1
            waits = self.calls <= self.parties
        if waits:
            self.barrier.wait()
        return self.read(*args)


def test_the_sweep_lists_ended_executions_and_its_index_keys_side_by_side(sb, monkeypatch):
    """ListExecutions per state machine, then a Query per index key (START, the seven first-touch days,
    FAILED): each group runs at once, not one round trip after another."""
    sb.post("/leads", json={"email": "bo@example.com", "first_name": "Bo"})
    listings = _SideBySide(executions.ended_early, parties=min(len(sb.state_machine_arns), sweep.READERS))
    queries = _SideBySide(enrollment_items.needing_attention, parties=8)
    monkeypatch.setattr(executions, "ended_early", listings)
    monkeypatch.setattr(enrollment_items, "needing_attention", queries)

    report = sb.sweep()

    assert listings.calls == len(sb.state_machine_arns) >= 2
    assert queries.calls == 9
    assert report["started"] == report["first_touches"] == 0
    assert sb.audit().clean


def test_a_started_pool_runs_every_thread_before_its_first_task():
    """Started while no read runs, a thread starts at once; started by a submit, behind running reads,
    it waits for the GIL (leadflow.aws.started_pool)."""
    pool = started_pool(3)
    try:
        prefix = f"{pool._thread_name_prefix}_"
        assert sum(thread.name.startswith(prefix) for thread in threading.enumerate()) == 3
        assert list(pool.map(str, range(5))) == ["0", "1", "2", "3", "4"]
        assert sum(thread.name.startswith(prefix) for thread in threading.enumerate()) == 3
    finally:
        pool.shutdown()


def test_the_sweep_s_two_groups_of_reads_share_one_pool_started_before_them(sb, monkeypatch):
    """The executions that ended early and the index keys are read on the same READERS threads, all
    running before the first read: a sweep starts its threads once, none of them behind a read."""
    sb.post("/leads", json={"email": "bo@example.com", "first_name": "Bo"})
    seen: list[tuple[str, int]] = []

    def watched(read: Any) -> Any:
        def watching(*args: Any) -> Any:
            prefix = threading.current_thread().name.rpartition("_")[0] + "_"
            seen.append((prefix, sum(thread.name.startswith(prefix) for thread in threading.enumerate())))
            return read(*args)

        return watching

    monkeypatch.setattr(executions, "ended_early", watched(executions.ended_early))
    monkeypatch.setattr(enrollment_items, "needing_attention", watched(enrollment_items.needing_attention))

    sb.sweep()

    assert len(seen) == len(sb.state_machine_arns) + 9
    assert set(seen) == {(seen[0][0], sweep.READERS)}


def test_an_intake_post_reads_its_address_index_and_suppression_in_one_batch_get_item(sb):
    """A post's first two reads (is the address a lead? is it suppressed?) are one consistent
    BatchGetItem, and the post reads neither again by a GetItem (the step's touch 1, handed over
    asynchronously, runs in another thread and checks the suppression before its send)."""
    reads: list[tuple[str, Any]] = []
    posting = threading.get_ident()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if threading.get_ident() != posting:
            return
        if model.name == "GetItem":
            reads.append(("GetItem", params["Key"]["pk"]))
        else:
            (wanted,) = [request["Keys"] for request in params["RequestItems"].values()]
            reads.append(("BatchGetItem", [key["pk"] for key in wanted]))

    client = aws.table(settings().table_name).meta.client
    client.meta.events.register("provide-client-params.dynamodb.GetItem", record)
    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", record)
    try:
        assert sb.post("/leads", json={"email": "cy@example.com", "first_name": "Cy"}).status_code == 202
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.GetItem", record)
        client.meta.events.unregister("provide-client-params.dynamodb.BatchGetItem", record)

    address = keys.email_key("cy@example.com")
    assert reads[0] == ("BatchGetItem", [f"EMAIL#{address}", f"SUPPRESS#{address}"])
    assert not [read for read in reads[1:] if address in str(read[1])]


def test_a_reply_stops_the_lead_without_reading_its_last_claim_s_record(sb):
    """A reply reads the lead's enrollments for its zone and for the stop, and stops each one: none
    of these looks at the last claim's state, so none reads that touch's record (the step does,
    where the claim's state decides: store.enrollment_items.resolve_claim)."""
    sb.post("/leads", json={"email": "di@example.com", "first_name": "Di"})
    lead = sb.find_lead("di@example.com")
    (sent,) = [message for message in sb.outbox() if message["lead_id"] == lead["id"]]
    (stored,) = enrollment_items.enrollments(lead["id"], settled=False)
    assert stored.touch_state == "claimed", "the claim of touch 1 as stored: its record settles it"
    record_reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if str(params["Key"]["sk"]).startswith(("TOUCH#", "TASK#")):
            record_reads.append(str(params["Key"]["sk"]))

    reply = events.reply_email(
        "Di <di@example.com>",
        to=sent["headers"].get("Reply-To", sent["headers"]["From"]),
        subject=f"Re: {sent['subject']}",
        body="Thanks, Tuesday works.",
        at=sb.now(),
        headers={"In-Reply-To": sent["headers"].get("Message-ID", "")},
    )
    client = aws.table(settings().table_name).meta.client
    client.meta.events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        assert sb.deliver_email(reply) == {"outcomes": ["reply"]}
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.GetItem", record)

    assert record_reads == []
    (stopped,) = enrollment_items.enrollments(lead["id"])
    assert (stopped.run_status, stopped.stop_reason, stopped.stopped_after_touch) == ("stopped", "reply", 1)
    assert sb.find_lead("di@example.com")["status"] == "replied"
    assert sb.audit().clean


def test_an_email_s_guard_reads_the_sending_pause_and_its_reserved_slot_in_one_batch_get_item(sb):
    """Every email touch asks the guard: is automated email paused, and was this touch's slot reserved
    on an earlier day? Both are one consistent BatchGetItem, neither a GetItem of its own."""
    with _item_reads() as (batches, gets):
        sb.post("/leads", json={"email": "eve@example.com", "first_name": "Eve"})

    lead = sb.find_lead("eve@example.com")
    assert [message["lead_id"] for message in sb.outbox()] == [lead["id"]]  # touch 1, an email
    guard_reads = [batch for batch in batches if ("SENDING", "PAUSE") in batch]
    assert guard_reads == [[("SENDING", "PAUSE"), (f"LEAD#{lead['id']}", "SLOT#001#01")]]
    assert not [key for key in gets if key == ("SENDING", "PAUSE") or key[1].startswith("SLOT#")]


def test_a_touch_reads_its_lead_and_enrollment_in_one_batch_get_item(sb):
    """A touch's first two reads (the lead, and its enrollment with the claim's state as stored) are
    one consistent BatchGetItem: the enrollment is never read by a GetItem of its own."""
    with _item_reads() as (batches, gets):
        sb.post("/leads", json={"email": "fay@example.com", "first_name": "Fay"})
        sb.advance(3 * 86400)  # touch 2 too, from the execution

    lead = sb.find_lead("fay@example.com")
    partition = f"LEAD#{lead['id']}"
    (enrollment,) = enrollment_items.enrollments(lead["id"])
    assert enrollment.last_touch >= 2
    first_reads = [batch for batch in batches if (partition, "ENROLLMENT#001") in batch]
    assert first_reads == [[(partition, "LEAD"), (partition, "ENROLLMENT#001")]] * enrollment.last_touch
    assert (partition, "ENROLLMENT#001") not in gets
    assert sb.audit().clean


def test_the_report_archives_its_three_objects_side_by_side_and_reads_no_daily_cap(sb):
    """The weekly run puts its HTML, text and CSV in S3 at once (each put waits until all three have
    begun: one after another never gets there), and reads the guard's pause and rates but not today's
    per-domain caps (the report does not show them)."""
    sb.post("/leads", json={"email": "gus@example.com", "first_name": "Gus"})
    puts = _SideBySide(lambda: None, parties=3)
    cap_reads: list[str] = []

    def put(**_: Any) -> None:
        puts()

    def record(params: dict[str, Any], **_: Any) -> None:
        if str(params["Key"]["sk"]).startswith("DAY#"):
            cap_reads.append(str(params["Key"]["pk"]))

    s3, table = aws.client("s3"), aws.table(settings().table_name).meta.client
    s3.meta.events.register("before-call.s3.PutObject", put)
    table.meta.events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        run = sb.run_report(sb.now() + timedelta(days=7))
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", put)
        table.meta.events.unregister("provide-client-params.dynamodb.GetItem", record)

    assert run["status"] == "sent"
    assert puts.calls == 3
    assert all(sb.archived(key) for key in run["keys"].values())
    assert cap_reads == []


def test_the_sweep_reads_no_claim_record_for_an_execution_a_stop_ended(sb):
    """A stop aborts the execution, and the sweep lists it among the executions that ended early (for
    15 minutes past its cursor, on every run): the stopped enrollment is read as stored, its last
    claim's touch record not at all (only a resume that fails the enrollment needs it settled)."""
    from leadflow.cadence import stops
    from leadflow.models import StopReason

    sb.post("/leads", json={"email": "hal@example.com", "first_name": "Hal"})
    lead = sb.find_lead("hal@example.com")
    (stored,) = enrollment_items.enrollments(lead["id"], settled=False)
    assert stored.touch_state == "claimed", "touch 1's claim as stored: its record settles it"
    stops.stop_enrollments(lead["id"], StopReason.REPLY)
    sb.clock.settle()
    assert sb.execution(lead["id"])["status"] == "ABORTED"
    record_reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if str(params["Key"]["sk"]).startswith(("TOUCH#", "TASK#")):
            record_reads.append(str(params["Key"]["sk"]))

    client = aws.table(settings().table_name).meta.client
    client.meta.events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        report = sb.sweep()
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.GetItem", record)

    assert record_reads == []
    assert report["resumed"] == report["started"] == 0
    assert sb.audit().clean
