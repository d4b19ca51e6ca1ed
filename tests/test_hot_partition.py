"""No hot partition (issue 13): the by_day index is write-sharded and projects only what the report
reads; touches placed at a window's opening spread over its first minutes, deterministically per lead."""

from collections import Counter
from datetime import datetime, timedelta

from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import OPENING_SPREAD, locale_for, opening_offset, plan
from leadflow.clock import parse_iso
from leadflow.keys import new_lead_id
from leadflow.local.sandbox import Sandbox
from leadflow.report.source import PROJECTION
from leadflow.store import event_items
from leadflow.store.items import by_day_keys, by_day_shard
from leadflow.store.table import (
    BY_DAY_ATTRIBUTES,
    BY_DAY_PARTITION_KEY,
    BY_DAY_SHARDS,
    BY_DAY_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    create_table_kwargs,
)
from tests.intake_helpers import stored_items

IDS = [f"{number:020x}" for number in range(2000)] + [new_lead_id() for _ in range(2000)]


def test_the_by_day_key_is_the_utc_month_and_the_lead_s_shard_sorted_by_time():
    keys = by_day_keys(parse_iso("2026-11-23T23:59:59Z"), "0123456789abcdef0123", "touch")
    shard = by_day_shard("0123456789abcdef0123")
    assert keys[BY_DAY_PARTITION_KEY] == f"MONTH#2026-11#{shard}"
    assert keys[BY_DAY_SORT_KEY] == "2026-11-23T23:59:59Z#0123456789abcdef0123"
    assert 0 <= shard < BY_DAY_SHARDS
    assert all(by_day_shard(lead_id) == by_day_shard(lead_id) for lead_id in IDS[:50])  # stable


def test_a_day_s_writes_spread_evenly_over_every_shard():
    shards = Counter(by_day_shard(lead_id) for lead_id in IDS)
    assert set(shards) == set(range(BY_DAY_SHARDS))
    even = len(IDS) / BY_DAY_SHARDS
    assert all(0.8 * even < count < 1.2 * even for count in shards.values()), shards


def test_the_index_projects_exactly_what_the_report_reads():
    index = create_table_kwargs("t")["GlobalSecondaryIndexes"][0]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(BY_DAY_ATTRIBUTES)}
    table_keys = {PARTITION_KEY, SORT_KEY}  # always projected
    assert set(PROJECTION) - table_keys == set(BY_DAY_ATTRIBUTES)
    assert not {"email", "first_name", "last_name", "phone", "company"} & set(BY_DAY_ATTRIBUTES)


def test_the_report_reads_every_shard_of_a_day():
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        for number in range(24):
            sb.post("/leads", json={"email": f"shard{number}@example.com", "form": "demo-request"})
        indexed = [item for item in stored_items() if "gsi1pk" in item and item["kind"]["S"] == "lead"]
        assert len({item["gsi1pk"]["S"] for item in indexed}) > 4  # 24 leads land in several shards
        read = [
            item
            for page in event_items.items_between(
                "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", ("kind", "id")
            )
            for item in page
        ]
    assert sorted(item["id"] for item in read if item["kind"] == "lead") == sorted(
        item["id"]["S"] for item in indexed
    )


def test_the_opening_offset_is_deterministic_whole_seconds_inside_the_spread():
    offsets = [opening_offset(lead_id) for lead_id in IDS]
    assert offsets == [opening_offset(lead_id) for lead_id in IDS]
    assert all(timedelta(0) <= offset < OPENING_SPREAD and offset.microseconds == 0 for offset in offsets)
    assert len({offset // timedelta(minutes=1) for offset in offsets}) == OPENING_SPREAD // timedelta(
        minutes=1
    )


def test_touches_of_leads_who_posted_overnight_spread_over_the_window_s_first_minutes():
    cadence = load_cadences()["inbound-demo-request"]
    locale = locale_for("America/New_York", "US", cadence.window)
    posted = parse_iso("2026-11-24T07:30:00Z")  # 02:30 in New York, outside the window
    opens = cadence.window.start
    firsts = []
    for lead_id in IDS[:300]:
        schedule = plan(cadence, posted, locale, opening=opening_offset(lead_id))
        assert schedule == plan(cadence, posted, locale, opening=opening_offset(lead_id))  # deterministic
        # Touch 1 goes at once (email is allowed at any hour); the others at the opening + offset.
        opening = (datetime.combine(posted.date(), opens) + opening_offset(lead_id)).time()
        for due in schedule[1:]:
            assert due.astimezone(locale.tz).time() == opening
            assert opens <= opening < cadence.window.end  # inside the window
        firsts.append(schedule[1])
    assert len(set(firsts)) > 250  # not one burst at 09:00:00
    assert max(firsts) - min(firsts) < OPENING_SPREAD


def test_a_lead_who_posts_inside_the_window_keeps_touch_1_at_once():
    cadence = load_cadences()["inbound-demo-request"]
    locale = locale_for("America/New_York", "US", cadence.window)
    posted = parse_iso("2026-11-24T15:12:07Z")  # 10:12 in New York
    assert plan(cadence, posted, locale, opening=opening_offset(IDS[0]))[0] == posted
