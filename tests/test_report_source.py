"""The report's data access: stored items -> records, tolerant of fields not written yet; reads by
the by_day index, page by page; fetches the leads of re-enrollments by key."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from leadflow import aws
from leadflow.clock import iso
from leadflow.config import settings
from leadflow.report.metrics import Window
from leadflow.report.records import (
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    TouchRecord,
    TouchState,
)
from leadflow.report.source import dataset_from_items, load_dataset
from leadflow.store import event_items, items
from leadflow.store.table import BY_DAY_SHARDS


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_items_as_the_walking_skeleton_writes_them():
    dataset = dataset_from_items(
        [
            {
                "sk": "LEAD",
                "kind": "lead",
                "id": "lead1",
                "created_at": "2026-11-16T09:00:00Z",
                "status": "replied",
                "status_reason": "reply",
                "status_at": "2026-11-17T10:00:00Z",
            },
            {
                "sk": "ENROLLMENT#001",
                "lead_id": "lead1",
                "number": Decimal(1),
                "cadence": "inbound-demo-request",
                "started_at": "2026-11-16T09:00:00Z",
                "stop_reason": "reply",
                "stopped_at": "2026-11-17T10:00:00Z",
                "stopped_after_touch": Decimal(2),
            },
            {
                "sk": "TOUCH#001#01",
                "kind": "touch",
                "lead_id": "lead1",
                "enrollment": Decimal(1),
                "number": Decimal(1),
                "channel": "email",
                "sent_at": "2026-11-16T09:00:00Z",
            },
            {
                "sk": "EVENT#2026-11-17T10:00:00Z#reply",
                "kind": "event",
                "lead_id": "lead1",
                "type": "reply",
                "at": "2026-11-17T10:00:00Z",
                "enrollment": Decimal(1),
                "touch": Decimal(2),
            },
        ]
    )
    assert dataset.leads == {"lead1": LeadRecord("lead1", at("2026-11-16T09:00"))}
    lead = dataset.leads["lead1"]
    assert (lead.source, lead.fit_band, lead.owner, lead.lead_type) == (
        "unknown",
        "unknown",
        "unassigned",
        "inbound",
    )
    assert dataset.enrollments == [
        EnrollmentRecord("lead1", 1, "inbound-demo-request", at("2026-11-16T09:00"))
    ]
    assert dataset.touches == [TouchRecord("lead1", 1, 1, "email", TouchState.SENT, at("2026-11-16T09:00"))]
    # The same reply from three places: the lead's status, the enrollment's stop, the event. Per-lead
    # metrics count it once.
    reply = at("2026-11-17T10:00")
    assert sorted(dataset.events, key=lambda e: (e.enrollment or 0, e.touch or 0)) == [
        EventRecord("lead1", EventKind.REPLY, reply),
        EventRecord("lead1", EventKind.REPLY, reply, 1, 2),
        EventRecord("lead1", EventKind.REPLY, reply, 1, 2),
    ]
    assert dataset.skipped == {}


def test_items_with_the_fields_the_cadence_engine_and_messages_add():
    base = {"lead_id": "lead2", "enrollment": 1}
    dataset = dataset_from_items(
        [
            {
                "kind": "lead",
                "id": "lead2",
                "created_at": "2026-11-16T09:00:00Z",
                "source": "webinar",
                "band": "high",
                "owner": "alex",
                "lead_type": "dormant",
            },
            {
                **base,
                "kind": "touch",
                "number": 1,
                "channel": "email",
                "sent_at": "2026-11-16T09:00:01Z",
                "status": "sent",
                "variant": "b",
            },
            {
                **base,
                "kind": "touch",
                "number": 2,
                "channel": "sms",
                "sent_at": "2026-11-17T09:00:00Z",
                "status": "skipped",
                "skip_reason": "no_consent",
            },
            {
                **base,
                "kind": "touch",
                "number": 3,
                "channel": "call",
                "sent_at": "2026-11-18T09:00:00Z",
                "status": "task",
                "task_id": "lead2-1-3",
            },
            {
                **base,
                "kind": "task",
                "touch": 3,
                "channel": "call",
                "status": "connected",
                "outcome_at": "2026-11-18T11:30:00Z",
            },
            {
                **base,
                "kind": "touch",
                "number": 4,
                "channel": "linkedin",
                "sent_at": "2026-11-19T09:00:00Z",
                "status": "task",
            },
            {
                **base,
                "kind": "task",
                "touch": 5,
                "channel": "video",
                "status": "cancelled",
                "due_at": "2026-11-20T09:00:00Z",
            },
        ]
    )
    lead = dataset.leads["lead2"]
    assert (lead.source, lead.fit_band, lead.owner, lead.lead_type) == ("webinar", "high", "alex", "dormant")
    touches = {t.number: (t.channel, t.state, t.at, t.variant, t.outcome) for t in dataset.touches}
    assert touches == {
        1: ("email", TouchState.SENT, at("2026-11-16T09:00:01"), "b", None),
        2: ("sms", TouchState.SKIPPED, at("2026-11-17T09:00"), None, None),
        3: ("call", TouchState.TASK_DONE, at("2026-11-18T11:30"), None, "connected"),
        4: ("linkedin", TouchState.TASK_OPEN, at("2026-11-19T09:00"), None, None),
        5: ("video", TouchState.SKIPPED, None, None, None),
    }
    # A connected call is a response, drawn by that very task.
    assert dataset.events == [EventRecord("lead2", EventKind.CONNECTED, at("2026-11-18T11:30"), 1, 3, "call")]


def test_labels_that_could_carry_a_leads_details_are_masked():
    dataset = dataset_from_items(
        [
            {
                "kind": "lead",
                "id": "lead3",
                "created_at": "2026-11-16T09:00:00Z",
                "source": "ada@example.com",
                "owner": "<script>",
            }
        ]
    )
    assert (dataset.leads["lead3"].source, dataset.leads["lead3"].owner) == ("other", "other")


def test_items_that_cannot_be_used_are_counted_not_fatal():
    dataset = dataset_from_items(
        [
            {"kind": "lead", "id": "lead4"},
            {"kind": "enrollment", "lead_id": "lead4", "cadence": "x"},
            {"kind": "touch", "lead_id": "lead4", "enrollment": 1, "number": 1, "channel": "email"},
            {"kind": "touch", "lead_id": "lead4", "channel": "email", "sent_at": "2026-11-16T09:00:00Z"},
            {"kind": "event", "lead_id": "lead4", "type": "reply"},
            {"kind": "event", "lead_id": "lead4", "type": "operator", "at": "2026-11-16T09:00:00Z"},
            {"kind": "event", "lead_id": "lead4", "type": "auto_reply", "at": "2026-11-16T09:00:00Z"},
            {"kind": "submission", "lead_id": "lead4"},
        ]
    )
    assert (dataset.leads, dataset.enrollments, dataset.touches, dataset.events) == ({}, [], [], [])
    assert dataset.skipped == {
        "lead without id or created_at": 1,
        "enrollment without lead, number or started_at": 1,
        "sent touch without sent_at": 1,
        "touch without lead, enrollment or number": 1,
        "event without lead or time": 1,
    }


def test_a_local_week_spans_the_utc_months_it_touches():
    chicago = ZoneInfo("America/Chicago")
    week = Window("w", datetime(2026, 11, 24, tzinfo=chicago), datetime(2026, 12, 1, tzinfo=chicago))
    shards = range(BY_DAY_SHARDS)
    assert event_items.index_partitions(iso(week.start), iso(week.end)) == [
        *(f"MONTH#2026-11#{shard}" for shard in shards),
        *(f"MONTH#2026-12#{shard}" for shard in shards),  # midnight in Chicago is 06:00 UTC
    ]
    utc = Window("w", at("2026-11-24T00:00"), at("2026-12-01T00:00"))
    november = [f"MONTH#2026-11#{shard}" for shard in shards]
    assert event_items.index_partitions(iso(utc.start), iso(utc.end)) == november


def test_loading_pages_through_the_index_and_fetches_re_enrolled_leads(sb, monkeypatch):
    for number in range(4):
        sb.post("/leads", json={"email": f"page{number}@example.com", "source": "webinar"})
        sb.advance(600)
    old = sb.find_lead("page0@example.com")
    sb.advance_to("2026-12-20T09:00:00Z")
    # A lead that arrived before the window, enrolled again inside it (a re-engagement cadence).
    restart = at("2026-12-20T09:00")
    aws.table(settings().table_name).put_item(
        Item={
            "pk": items.lead_pk(old["id"]),
            "sk": items.enrollment_sk(2),
            **items.by_day_keys(restart, old["id"], "enrollment"),
            "lead_id": old["id"],
            "number": 2,
            "cadence": "inbound-demo-request",
            "started_at": "2026-12-20T09:00:00Z",
        }
    )
    everything = Window("all", at("2026-11-23T00:00"), at("2026-12-21T00:00"))
    whole = load_dataset(everything)
    client, pages = aws.client("dynamodb"), []
    query = client.query
    monkeypatch.setattr(client, "query", lambda **kwargs: pages.append(kwargs) or query(**kwargs))
    paged = load_dataset(everything, page_size=1, workers=1)
    assert len(pages) > 4 + 5 + 4 * 6  # one item per page, and an empty last page per day
    assert {page["IndexName"] for page in pages} == {"by_day"}
    assert len(whole.leads) == 4 and len(whole.enrollments) == 5 and len(whole.touches) == 4 * 6
    assert sorted(map(repr, paged.touches)) == sorted(map(repr, whole.touches))
    assert paged.leads == whole.leads
    # Only the re-enrollment is inside a later window: its lead comes by key, from before the window.
    later = load_dataset(Window("later", at("2026-12-20T00:00"), at("2026-12-21T00:00")))
    assert [e.number for e in later.enrollments] == [2]
    assert list(later.leads) == [old["id"]]
    assert later.leads[old["id"]].source == "webinar"


def test_an_account_level_stop_is_read_as_such():
    dataset = dataset_from_items(
        [
            {
                "kind": "enrollment",
                "lead_id": "lead5",
                "number": 1,
                "cadence": "c",
                "started_at": "2026-11-16T09:00:00Z",
                "stop_reason": "account",
                "stopped_at": "2026-11-17T09:00:00Z",
                "stopped_after_touch": 2,
            },
            {
                "kind": "enrollment",
                "lead_id": "lead6",
                "number": 1,
                "cadence": "c",
                "started_at": "2026-11-16T09:00:00Z",
                "stop_reason": "consent_withdrawn",
                "stopped_at": "2026-11-17T09:00:00Z",
                "stopped_after_touch": 1,
            },
        ]
    )
    assert [(e.lead_id, e.kind, e.touch) for e in dataset.events] == [
        ("lead5", EventKind.ACCOUNT, 2),
        ("lead6", EventKind.OTHER_STOP, 1),
    ]


attribute_values = st.recursive(
    st.none()
    | st.booleans()
    | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9)
    | st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(attribute_values)
def test_the_lean_deserializer_reads_values_as_boto3_does(value):
    wire = TypeSerializer().serialize(value)
    assert event_items.plain(wire) == TypeDeserializer().deserialize(wire)


def test_the_report_query_returns_pages_as_botocore_parses_them():
    """The report's Query hands botocore only the page's rest to parse (`_lift_items`): the items it
    returns, deserialized, are those of botocore's own parse, for every attribute type."""
    import json

    import boto3
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    values = ["text", "", 7, Decimal("-1.25"), True, None, {"a", "b"}, {Decimal(1), Decimal(2)}]
    values += [b"\x00bytes", {b"x", b"y"}, [1, "two", [None]], {"nested": {"n": 3, "s": "t"}}]
    serializer = TypeSerializer()
    wire = [{"kind": {"S": "event"}, "value": serializer.serialize(value)} for value in values]
    for item in wire:  # on the wire, binary values are base64 text
        if "B" in item["value"]:
            item["value"] = {"B": "AGJ5dGVz"}
        if "BS" in item["value"]:
            item["value"] = {"BS": ["eA==", "eQ=="]}
    more = {"gsi1pk": {"S": "DAY#2026-11-20#3"}, "gsi1sk": {"S": "2026-11-20T10:00:00Z#lead1"}}
    body = json.dumps({"Items": wire, "Count": len(wire), "ScannedCount": 9, "LastEvaluatedKey": more})

    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    headers = HTTPHeaders.from_dict({"content-type": "application/x-amz-json-1.0"})

    class Raw:
        def stream(self, **_):
            yield body.encode()

    client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: AWSResponse(request.url, 200, headers, Raw())
    )
    kwargs = {
        "TableName": "t",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "x"}},
    }
    parsed = client.query(**kwargs)
    lifted = event_items._query(client, kwargs)
    assert lifted["LastEvaluatedKey"] == parsed["LastEvaluatedKey"] == more
    assert (lifted["Count"], lifted["ScannedCount"]) == (parsed["Count"], parsed["ScannedCount"])
    read = [
        [{n: event_items.plain(v) for n, v in item.items()} for item in page["Items"]]
        for page in (lifted, parsed)
    ]
    assert read[0] == read[1]
    assert [item["value"] for item in read[0]] == [
        *values[:8],
        TypeDeserializer().deserialize({"B": b"\x00bytes"}),
        TypeDeserializer().deserialize({"BS": [b"x", b"y"]}),
        *values[10:],
    ]
    assert client.query(**kwargs)["Items"][8]["value"] == {"B": b"\x00bytes"}  # other Queries: untouched


def test_stored_times_read_as_the_clock_parses_them_and_naive_ones_as_utc():
    """The mapper parses time strings itself (a million at 100k leads); it must agree with
    leadflow.clock.parse_iso: Z, fractions, offsets; a naive time is UTC; unparseable is absent."""
    lead = {"kind": "lead", "id": "lead-1", "source": "g2"}
    for stored, expected in (
        ("2026-11-23T14:00:00Z", datetime(2026, 11, 23, 14, tzinfo=UTC)),
        ("2026-11-23T14:00:00.250Z", datetime(2026, 11, 23, 14, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-23T08:00:00-06:00", datetime(2026, 11, 23, 14, tzinfo=UTC)),
        ("2026-11-23T14:00:00", datetime(2026, 11, 23, 14, tzinfo=UTC)),
    ):
        created = dataset_from_items([lead | {"created_at": stored}]).leads["lead-1"].created_at
        assert created == expected and created.utcoffset() is not None, stored
    unusable = dataset_from_items([lead | {"created_at": "Monday morning"}])
    assert not unusable.leads and sum(unusable.skipped.values()) == 1


# -- the wire form: items mapped from DynamoDB's JSON without a decoded copy --------------------------

# Shapes as the writers store them (bench.report.stored_items, tests above), then the odd ones a writer
# or a hand edit could leave: each must map as its decoded form does.
WIRE_SHAPES = [
    {"kind": "lead", "id": "l1", "created_at": "2026-11-20T10:00:00Z", "source": "g2", "form": "demo"},
    {
        "kind": "lead",
        "id": "l2",
        "created_at": "2026-11-20T10:00:00Z",
        "status": "replied",
        "status_at": "2026-11-21T10:00:00Z",
        "utm_source": "ads",
    },
    {"kind": "lead", "id": "l3", "created_at": "2026-11-20T10:00:00Z", "score": Decimal(7)},
    {"kind": "lead", "id": "", "created_at": "2026-11-20T10:00:00Z"},
    {
        "kind": "enrollment",
        "lead_id": "l1",
        "number": Decimal(1),
        "cadence": "demo",
        "version": "v1",
        "started_at": "2026-11-20T10:00:00Z",
        "stop_reason": "meeting_booked",
        "stopped_at": "2026-11-22T10:00:00Z",
        "stopped_after_touch": Decimal(3),
    },
    {"kind": "enrollment", "lead_id": "l2", "number": "2", "started_at": "2026-11-20T10:00:00Z"},
    {"kind": "enrollment", "lead_id": "l2", "number": Decimal("1.5"), "started_at": "2026-11-20T10:00:00Z"},
    {"kind": "enrollment", "lead_id": "l3", "number": Decimal(1), "started_at": "Monday"},
    {
        "kind": "touch",
        "lead_id": "l1",
        "enrollment": Decimal(1),
        "number": Decimal(1),
        "channel": "email",
        "status": "sent",
        "sent_at": "2026-11-20T10:05:00Z",
        "variant": "b",
    },
    {
        "kind": "touch",
        "lead_id": "l1",
        "enrollment": Decimal(1),
        "number": Decimal(2),
        "channel": "email",
        "status": "skipped",
        "variant": "",
    },
    {
        "kind": "touch",
        "lead_id": "l1",
        "enrollment": Decimal(1),
        "number": Decimal(3),
        "channel": "manual_email",
        "status": "skipped",
        "skip_reason": "expired",
        "due_at": "2026-11-21T10:00:00Z",
    },
    {"kind": "touch", "lead_id": "l1", "enrollment": Decimal(1), "number": Decimal(4), "channel": None},
    {
        "kind": "touch",
        "lead_id": "l1",
        "enrollment": "1",
        "number": Decimal(5),
        "sent_at": "2026-11-20T10:05:00Z",
    },
    {"kind": "touch", "lead_id": "", "enrollment": Decimal(1), "number": Decimal(6)},
    {
        "kind": "task",
        "lead_id": "l1",
        "enrollment": Decimal(1),
        "touch": Decimal(7),
        "channel": "call",
        "status": "connected",
        "outcome_at": "2026-11-22T09:00:00Z",
        "due_at": "2026-11-21T10:00:00Z",
        "sent_at": "2026-11-21T10:00:00Z",
    },
    {"kind": "task", "lead_id": "l1", "enrollment": Decimal(1), "channel": "call"},
    {
        "kind": "event",
        "lead_id": "l1",
        "type": "stage_won",
        "at": "2026-11-23T10:00:00Z",
        "amount": Decimal("2500.5"),
        "enrollment": Decimal(1),
        "touch": Decimal(2),
        "channel": "email",
    },
    {"kind": "event", "lead_id": "l1", "type": "reply", "at": "2026-11-23T10:00:00Z", "intent": "not_now"},
    {"kind": "event", "lead_id": "l1", "type": "delivery", "at": "2026-11-23T10:00:00Z"},
    {"kind": "event", "lead_id": "l1", "type": "reply", "at": "2026-11-23T10:00:00Z", "touch": "2"},
    {"kind": "event", "type": "reply", "at": "2026-11-23T10:00:00Z"},
    {"kind": "snooze", "lead_id": "l1", "at": "2026-11-23T10:00:00Z"},
    {
        "sk": "TOUCH#1#8",
        "lead_id": "l1",
        "enrollment": Decimal(1),
        "number": Decimal(8),
        "channel": "sms",
        "sent_at": "2026-11-20T10:05:00Z",
    },
]


def test_the_wire_form_maps_as_the_decoded_form_does():
    from leadflow.report.source import DatasetBuilder

    wire = [{name: TypeSerializer().serialize(value) for name, value in item.items()} for item in WIRE_SHAPES]
    decoded, fused = DatasetBuilder(), DatasetBuilder()
    decoded.add([dict(item) for item in WIRE_SHAPES])
    fused.add_wire(wire)
    expected, found = decoded.finish(), fused.finish()
    assert found.leads == expected.leads and len(expected.leads) == 3
    assert found.enrollments == expected.enrollments and len(expected.enrollments) == 3
    assert found.touches == expected.touches and len(expected.touches) == 6
    assert found.events == expected.events and len(expected.events) == 6
    assert found.skipped == expected.skipped and sum(expected.skipped.values()) == 6
