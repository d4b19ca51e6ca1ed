"""The by_day index partitioned by month (issue 28): a period is one range Query per (month, shard) it
touches, month boundaries cut where the time says, the report's reader streams in a bounded way, and
`leadflow reindex` moves the entries earlier versions keyed by day (DAY#) to their month partitions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leadflow import aws
from leadflow.cli import main
from leadflow.clock import iso, parse_iso
from leadflow.config import operator_config, settings
from leadflow.local import Sandbox
from leadflow.report import source
from leadflow.report.build import fetch_window, weekly_period
from leadflow.report.metrics import Window
from leadflow.report.records import EventKind
from leadflow.report.render import render_csv
from leadflow.report.weekly import make_report
from leadflow.store import event_items, reindex
from leadflow.store.items import by_day_shard
from leadflow.store.table import BY_DAY_INDEX, BY_DAY_PARTITION_KEY, BY_DAY_SHARDS, BY_DAY_SORT_KEY
from tests.intake_helpers import stored_items

# Lead ids in four different shards: a boundary is checked in several partitions, not one.
LEADS = list({by_day_shard(lead): lead for lead in (f"{number:020x}" for number in range(40))}.values())[:4]


def at(text: str) -> datetime:
    return parse_iso(text)


def first_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The partitions of every by_day Query started (a page after the first is not a new Query)."""
    client = aws.client("dynamodb")
    original = client.query
    started: list[str] = []

    def query(**kwargs: Any) -> Any:
        if kwargs.get("IndexName") == BY_DAY_INDEX and "ExclusiveStartKey" not in kwargs:
            started.append(kwargs["ExpressionAttributeValues"][":part"]["S"])
        return original(**kwargs)

    monkeypatch.setattr(client, "query", query)
    return started


# -- the number of Queries --------------------------------------------------------------------------


def test_91_days_are_read_with_one_query_per_month_and_shard_not_per_day(sb, monkeypatch):
    sb.post("/leads", json={"email": "count@example.com", "form": "demo-request"})
    started = first_queries(monkeypatch)
    window = Window("91 days", at("2026-09-01T00:00:00Z"), at("2026-12-01T00:00:00Z"))
    assert window.end - window.start == timedelta(days=91)
    source.load_dataset(window)
    # September, October, November: 3 months x 8 shards (by day it was 91 x 8 = 728 Queries).
    assert len(started) == 3 * BY_DAY_SHARDS == 24
    assert sorted(started) == sorted(f"MONTH#2026-{m:02d}#{s}" for m in (9, 10, 11) for s in range(8))


def test_the_weekly_report_makes_at_most_56_queries_on_the_index(sb, monkeypatch):
    sb.post("/leads", json={"email": "weekly@example.com", "form": "demo-request"})
    sb.advance(3 * 86400)
    started = first_queries(monkeypatch)
    run_at = at("2026-12-07T14:00:00Z")
    period = weekly_period(run_at, operator_config().report.schedule.timezone)
    fetched = fetch_window(period)
    assert fetched.end - fetched.start >= timedelta(days=90)
    make_report(period)
    due_back = Window("due back", period.end, period.end + timedelta(days=7))
    expected = [
        *event_items.index_partitions(iso(fetched.start), iso(fetched.end)),
        *event_items.index_partitions(iso(due_back.start), iso(due_back.end)),
    ]
    assert sorted(started) == sorted(expected)
    # The trailing 90 days touch 4 or 5 months, the due-back week 1 or 2: was 92 x 8 + 8 x 8 = 800.
    assert len(started) <= (5 + 2) * BY_DAY_SHARDS == 56


# -- month boundaries -------------------------------------------------------------------------------


@pytest.fixture
def boundary_replies(sb) -> dict[str, datetime]:
    """A reply from each of four leads (four shards) on either side of two month boundaries."""
    moments = {
        "oct_last": at("2026-10-31T23:59:59Z"),
        "nov_first": at("2026-11-01T00:00:00Z"),
        "nov_last": at("2026-11-30T23:59:59Z"),
        "dec_first": at("2026-12-01T00:00:00Z"),
    }
    for lead in LEADS:
        for moment in moments.values():
            event_items.record_event(lead, "reply", moment)
    return moments


def replies(window: Window) -> list[datetime]:
    dataset = source.load_dataset(window, page_size=1, workers=3)
    assert {event.kind for event in dataset.events} <= {EventKind.REPLY}
    assert sorted({event.lead_id for event in dataset.events}) <= sorted(LEADS)
    return sorted(event.at for event in dataset.events)


def test_a_month_keeps_its_last_second_and_the_next_its_first(boundary_replies):
    m = boundary_replies
    four = len(LEADS)
    assert len({by_day_shard(lead) for lead in LEADS}) == four
    november = Window("november", at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"))
    assert replies(november) == [m["nov_first"]] * four + [m["nov_last"]] * four
    december = Window("december", at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
    assert replies(december) == [m["dec_first"]] * four
    # One second on either side of midnight: the end is excluded, in the month before or after.
    last_second = Window("s", m["nov_last"], m["dec_first"])
    assert replies(last_second) == [m["nov_last"]] * four
    first_second = Window("s", m["dec_first"], m["dec_first"] + timedelta(seconds=1))
    assert replies(first_second) == [m["dec_first"]] * four


def test_periods_spanning_two_and_three_months_read_each_month_s_part(boundary_replies, monkeypatch):
    m = boundary_replies
    four = len(LEADS)
    started = first_queries(monkeypatch)
    two = Window("two", at("2026-11-30T12:00:00Z"), at("2026-12-01T12:00:00Z"))
    assert replies(two) == [m["nov_last"]] * four + [m["dec_first"]] * four
    assert len(started) == 2 * BY_DAY_SHARDS
    started.clear()
    three = Window("three", at("2026-10-31T23:59:59Z"), at("2026-12-01T00:00:01Z"))
    assert replies(three) == sorted(moment for moment in m.values() for _ in LEADS)
    assert set(started) == {f"MONTH#2026-{m:02d}#{s}" for m in (10, 11, 12) for s in range(8)}
    # A local week (Chicago) whose last day is the first of December in UTC until 06:00.
    chicago = ZoneInfo("America/Chicago")
    week = Window("w", datetime(2026, 11, 24, tzinfo=chicago), datetime(2026, 12, 1, tzinfo=chicago))
    assert replies(week) == [m["nov_last"]] * four + [m["dec_first"]] * four


def test_a_rep_s_queue_and_the_never_called_list_read_across_a_month_boundary():
    """The other readers of the index read a range of months too: a call due on November 30 is in the
    December 1 queue and never-called list (their look-back reaches into November)."""
    from leadflow.send import never_called, queue

    with Sandbox(start="2026-11-30T15:00:00Z") as sb:  # Monday 10:00 New York
        demo = {"form": "demo-request", "company": "BigCo", "first_name": "Ann", "phone": "+1 415 555 0142"}
        sb.post("/leads", json={**demo, "email": "ann@a.example"})
        sb.advance(60)
        lead = sb.find_lead("ann@a.example")
        december = at("2026-12-01T10:00:00Z")
        assert [task.lead_id for task in queue.open_tasks(lead["owner"], december)] == [lead["id"]]
        assert [found.id for found, _, _ in never_called.never_called(december)] == [lead["id"]]


# -- the report's reader: pages in order, a bounded read-ahead ---------------------------------------


def test_the_read_ahead_keeps_the_serial_order_and_holds_few_pages():
    partitions = [f"p{number}" for number in range(10)]
    produced = most_held = 0
    lock = threading.Lock()

    def read(partition: str) -> Iterator[list[dict[str, Any]]]:
        nonlocal produced
        for number in range(20):
            with lock:
                produced += 1
            yield [{"partition": partition, "page": number}]

    order = []
    for consumed, page in enumerate(source._read_ahead(partitions, read, workers=4, waiting=2), start=1):
        time.sleep(0.001)  # a slow consumer: readers run ahead as far as they may
        with lock:
            most_held = max(most_held, produced - consumed)
        order.append((page[0]["partition"], page[0]["page"]))
    assert order == [(partition, number) for partition in partitions for number in range(20)]
    # Each of 4 readers: 2 pages waiting and 1 in hand (the consumer's page is counted consumed); a
    # reader waits for its partition's pages to be taken before it reads another partition.
    assert 0 < most_held <= 4 * (2 + 1)


def _pool_threads() -> int:
    """How many threads the calling thread's pool has now (its threads share a name prefix)."""
    prefix = threading.current_thread().name.rpartition("_")[0] + "_"
    return sum(thread.name.startswith(prefix) for thread in threading.enumerate())


def test_the_read_ahead_s_readers_all_run_before_the_first_partition_is_read():
    """A thread started while reads run waits for the GIL behind them (leadflow.aws.started_pool): the readers
    are started first, so the first read already sees all of them."""
    seen = []

    def read(partition: str) -> Iterator[list[dict[str, Any]]]:
        seen.append(_pool_threads())
        yield [{"partition": partition}]

    assert len(list(source._read_ahead([f"p{number}" for number in range(10)], read, workers=4))) == 10
    assert seen[0] == 4
    # Never more readers than partitions.
    seen.clear()
    assert len(list(source._read_ahead(["p0", "p1"], read, workers=4))) == 2
    assert seen == [2, 2]


def test_a_reader_s_error_is_raised_at_its_turn_and_stops_the_others():
    def read(partition: str) -> Iterator[list[dict[str, Any]]]:
        if partition == "bad":
            raise RuntimeError("throttled")
        for number in range(100):
            yield [{"page": number}]

    seen = []
    with pytest.raises(RuntimeError, match="throttled"):
        for page in source._read_ahead(["good", "bad", "later"], read, workers=3):
            seen.append(page[0]["page"])
    assert seen == list(range(100))  # all of the partition before, nothing after
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]


# -- the backfill -----------------------------------------------------------------------------------


def _indexed() -> list[dict[str, Any]]:
    return [item for item in stored_items() if BY_DAY_PARTITION_KEY in item]


def _as_before_this_version() -> int:
    """Key every index entry as versions before month partitions wrote it: DAY#<utc day>#<shard>."""
    table = aws.table(settings().table_name)
    entries = _indexed()
    for item in entries:
        sort_key = item[BY_DAY_SORT_KEY]["S"]
        lead_id = sort_key.rpartition("#")[2]
        table.update_item(
            Key={"pk": item["pk"]["S"], "sk": item["sk"]["S"]},
            UpdateExpression="SET gsi1pk = :day",
            ExpressionAttributeValues={":day": f"DAY#{sort_key[:10]}#{by_day_shard(lead_id)}"},
        )
    return len(entries)


def _report_figures(period: Window) -> tuple[Any, str]:
    dataset = source.load_dataset(fetch_window(period))
    everything = (
        sorted(map(repr, dataset.leads.values())),
        sorted(map(repr, dataset.enrollments)),
        sorted(map(repr, dataset.touches)),
        sorted(map(repr, dataset.events)),
    )
    return everything, render_csv(make_report(period))


@pytest.fixture
def old_deployment(sb):
    """Leads through a week of their cadence, with a reply; the figures of the report as this version
    writes them; then every index entry keyed by day, as an earlier version wrote it."""
    for number in range(3):
        sb.post("/leads", json={"email": f"old{number}@example.com", "form": "demo-request"})
        sb.advance(600)
    sb.advance(8 * 86400)
    lead = sb.find_lead("old0@example.com")
    event_items.record_event(lead["id"], "reply", sb.now())
    period = weekly_period(sb.now() + timedelta(days=7), operator_config().report.schedule.timezone)
    figures = _report_figures(period)
    assert figures[0][2], "touches to report"
    entries = _as_before_this_version()
    assert entries > 10 and all(item[BY_DAY_PARTITION_KEY]["S"].startswith("DAY#") for item in _indexed())
    return {"sb": sb, "period": period, "figures": figures, "entries": entries}


def test_entries_keyed_by_day_reappear_in_the_report_after_reindex_and_a_second_run_does_nothing(
    old_deployment, capsys
):
    period, figures, entries = old_deployment["period"], old_deployment["figures"], old_deployment["entries"]
    assert _report_figures(period) != figures  # by day, the month partitions miss them all
    assert main(["reindex"]) == 0
    assert capsys.readouterr().out.startswith(f"leadflow reindex: {entries} items moved to month partitions")
    assert all(item[BY_DAY_PARTITION_KEY]["S"].startswith("MONTH#") for item in _indexed())
    assert _report_figures(period) == figures
    before = sorted(map(repr, stored_items()))
    assert main(["reindex"]) == 0
    assert capsys.readouterr().out.startswith("leadflow reindex: 0 items moved")
    assert sorted(map(repr, stored_items())) == before


def test_an_interrupted_reindex_run_again_finishes_the_job(old_deployment):
    class Interrupted(Exception):
        pass

    def stop_after_two_pages(done: reindex.Reindexed) -> None:
        if done.rekeyed >= 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        reindex.reindex(page_size=1, progress=stop_after_two_pages)
    left = sum(item[BY_DAY_PARTITION_KEY]["S"].startswith("DAY#") for item in _indexed())
    assert left == old_deployment["entries"] - 2
    assert reindex.reindex(page_size=7).rekeyed == left
    assert _report_figures(old_deployment["period"]) == old_deployment["figures"]


def test_reindex_leaves_an_entry_a_writer_changed_meanwhile_and_never_revives_a_deleted_one(
    old_deployment, monkeypatch
):
    """Between the Scan and the update, the new version rewrites a task (due in another month) and an
    erasure deletes an event: both stay as those writers left them."""
    table = aws.table(settings().table_name)
    entries = _indexed()
    rewritten = next(item for item in entries if item["kind"]["S"] == "task")
    deleted = next(item for item in entries if item["kind"]["S"] == "event")
    moved = {"gsi1pk": "MONTH#2027-01#0", "gsi1sk": f"2027-01-04T15:00:00Z#{rewritten['sk']['S']}"}

    class Concurrent:
        """The table, with writers that act right after the first Scan page is read."""

        def __init__(self) -> None:
            self.acted = False

        def scan(self, **kwargs: Any) -> Any:
            page = table.scan(**kwargs)
            if not self.acted:
                self.acted = True
                key = {"pk": rewritten["pk"]["S"], "sk": rewritten["sk"]["S"]}
                table.update_item(
                    Key=key,
                    UpdateExpression="SET gsi1pk = :p, gsi1sk = :s",
                    ExpressionAttributeValues={":p": moved["gsi1pk"], ":s": moved["gsi1sk"]},
                )
                table.delete_item(Key={"pk": deleted["pk"]["S"], "sk": deleted["sk"]["S"]})
            return page

        def update_item(self, **kwargs: Any) -> Any:
            return table.update_item(**kwargs)

    monkeypatch.setattr(reindex, "dynamodb_table", Concurrent)
    done = reindex.reindex()  # one page: both were in it when it was read
    assert (done.rekeyed, done.changed_meanwhile) == (old_deployment["entries"] - 2, 2)
    key = {"pk": rewritten["pk"]["S"], "sk": rewritten["sk"]["S"]}
    kept = table.get_item(Key=key)["Item"]
    assert (kept["gsi1pk"], kept["gsi1sk"]) == (moved["gsi1pk"], moved["gsi1sk"])
    assert "Item" not in table.get_item(Key={"pk": deleted["pk"]["S"], "sk": deleted["sk"]["S"]})


def test_the_old_day_key_maps_to_its_month_in_the_same_shard():
    assert reindex.month_partition("DAY#2026-11-30#7") == "MONTH#2026-11#7"
    assert reindex.month_partition("DAY#2026-12-01#0") == "MONTH#2026-12#0"
