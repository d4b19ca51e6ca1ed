"""Data access for the report: stored items -> plain records.

Reads the by_day index one (month, shard) partition at a time (range Query,
paginated, a few partitions read ahead in parallel), then fetches by key the
leads of enrollments that started in the window but arrived before it
(re-enrollments). Mapping is tolerant: a field a writer does not record yet
reads as absent, and an item that cannot be used is counted in
`Dataset.skipped`, never fatal.

Only the attributes the report needs are projected: no name, address or phone
ever leaves DynamoDB for the report.
"""

from __future__ import annotations

import queue
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from leadflow import aws
from leadflow.aws import started_pool
from leadflow.clock import iso, parse_iso
from leadflow.report.metrics import Window
from leadflow.report.records import (
    NO_CAMPAIGN,
    REP_TASK_CHANNELS,
    UNASSIGNED,
    UNKNOWN,
    Dataset,
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    SnoozeRecord,
    TouchRecord,
    TouchState,
)
from leadflow.store import event_items
from leadflow.store.items import lead_pk
from leadflow.store.table import BY_DAY_ATTRIBUTES

# What the report reads: the sort key and what the by_day index projects (one list, in store.table).
PROJECTION = ("sk", *BY_DAY_ATTRIBUTES)
# Segment labels come from forms and configuration; anything else (an address typed into a source
# field, say) is shown as "other", so no lead's details can reach the report through a label.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
OTHER = "other"
DIRECT = "direct"

# Event types as writers name them (stop reasons, task outcomes, engagement) -> the report's kinds.
EVENT_KINDS = {
    "reply": EventKind.REPLY,
    "replied": EventKind.REPLY,
    "connected": EventKind.CONNECTED,
    "meeting_booked": EventKind.MEETING,
    "meeting": EventKind.MEETING,
    "unsubscribe": EventKind.UNSUBSCRIBE,
    "complaint": EventKind.COMPLAINT,
    "bounce": EventKind.BOUNCE,
    "bounced": EventKind.BOUNCE,
    "account": EventKind.ACCOUNT,
    "open": EventKind.OPEN,
    "click": EventKind.CLICK,
    "stage_sql": EventKind.SQL,
    "stage_opportunity": EventKind.OPPORTUNITY,
    "stage_won": EventKind.WON,
    "stage_lost": EventKind.LOST,
}
# Contact statuses, when no reason says more.
STATUS_KINDS = {
    "replied": EventKind.REPLY,
    "meeting_booked": EventKind.MEETING,
    "opted_out": EventKind.UNSUBSCRIBE,
    "bounced": EventKind.BOUNCE,
}
TASK_OUTCOMES = frozenset({"done", "no_answer", "voicemail", "connected", "meeting_booked"})
# How a draft the rep writes (manual_email) ended: its touch record is sent or skipped (with why).
DRAFT_OUTCOMES = frozenset({"sent", "skipped", "expired"})
DRAFT_SKIPS = {"rep_skipped": "skipped", "expired": "expired"}
# A task outcome that is a response.
TASK_RESPONSES = {"connected": EventKind.CONNECTED, "meeting_booked": EventKind.MEETING}


def label(value: Any, missing: str = UNKNOWN) -> str:
    if type(value) is str:  # nearly always: the cached label at once
        return _LABELS[value] if value else missing
    if value is None:
        return missing
    return _LABELS[str(value)]


class _Memo(dict[str, Any]):
    """A value by its stored text, computed once: a few distinct texts (labels, touch and enrollment
    numbers) repeat over a million items, and a present key is a plain dict lookup. Bounded: text
    past `size` distinct ones is computed each time."""

    def __init__(self, compute: Callable[[str], Any], size: int = 4096) -> None:
        super().__init__()
        self._compute, self._size = compute, size

    def __missing__(self, text: str) -> Any:
        value = self._compute(text)
        if len(self) < self._size:
            self[text] = value
        return value


# Interned: the same few labels held by hundreds of thousands of records.
_LABELS: dict[str, str] = _Memo(lambda text: sys.intern(text) if LABEL.match(text) else OTHER)
# A stored number's text ({"N": "1"}) as an int; int() raises on other text, as before.
_INTEGERS: dict[str, int] = _Memo(int)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        # Stored times are strings: Python 3.11 parses their "Z" itself, without parse_iso's copy of
        # the text (the report parses over a million of them at 100k leads).
        moment = datetime.fromisoformat(value) if type(value) is str else parse_iso(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _wire_time(text: str) -> datetime:
    """A stored time in DynamoDB's JSON form; ValueError on other text (`add_wire` then maps the item
    by `add`, which reads it as absent)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    if type(value) is Decimal:  # a stored number, nearly always
        return int(value)
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):  # a tuple: faster than a union
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _amount(value: Any) -> float | None:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _kind(item: dict[str, Any]) -> str:
    if item.get("kind"):
        return str(item["kind"])
    sort_key = str(item.get("sk", ""))
    return {"LEAD": "lead"}.get(sort_key) or sort_key.partition("#")[0].lower()


TouchKey = tuple[str, int, int]  # lead id, enrollment, touch number


# Held back until `finish`, a few hundred thousand at 100k leads: tuples, built ~3x faster than
# frozen dataclasses.
class _TaskTouch(NamedTuple):
    channel: str
    ran_at: datetime | None
    variant: str | None
    due_at: datetime | None
    # A rep's draft (manual_email): how its touch record says it ended (sent, skipped, expired).
    draft_outcome: str | None = None


class _Task(NamedTuple):
    channel: str
    status: str
    outcome_at: datetime | None
    due_at: datetime | None


class DatasetBuilder:
    """Maps items to a Dataset as they come, page by page, in any order.

    A rep task may be stored twice, as a touch and as a task item with the outcome (or once, the
    task carrying its touch's record); the two are merged in `finish`. Only those are held back,
    in compact form.
    """

    def __init__(self) -> None:
        self.dataset = Dataset()
        self._task_touches: dict[TouchKey, _TaskTouch] = {}
        self._tasks: dict[TouchKey, _Task] = {}

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        dataset = self.dataset
        for item in items:
            kind = item.get("kind")
            if type(kind) is not str or not kind:  # a writer that stored no kind: from the sort key
                kind = _kind(item)
            if kind == "lead":
                _lead(item, dataset)
            elif kind == "enrollment":
                _enrollment(item, dataset)
            elif kind in ("touch", "task"):
                key = _touch_key(item)
                if key is None:
                    dataset.skip(f"{kind} without lead, enrollment or number")
                elif kind == "task":
                    self._task(
                        key,
                        label(item.get("channel")),
                        str(item.get("status") or "open"),
                        item.get("outcome_at"),
                        item.get("due_at"),
                        item.get("sent_at"),
                    )
                else:
                    self._touch(
                        key,
                        label(item.get("channel")),
                        str(item.get("status") or "sent"),
                        _time(item.get("sent_at")),
                        label(item["variant"]) if item.get("variant") else None,
                        item.get("due_at"),
                        item.get("skip_reason"),
                    )
            elif kind == "event":
                _event(item, dataset)

    def add_wire(self, items: Iterable[dict[str, dict[str, Any]]]) -> None:
        """Items as DynamoDB's JSON carries them ({"S": text}, {"N": digits}), mapped without a decoded
        copy of each (1.2M items at 100k leads): the shapes the writers store go straight to records;
        any other (no kind, another type where text or a number is stored) is decoded and mapped by
        `add`, so both forms map alike. Each shape is read whole before anything is recorded."""
        dataset = self.dataset
        for item in items:
            try:
                kind = item["kind"]["S"]
                if kind == "touch":
                    self._wire_touch(item)
                elif kind == "enrollment":
                    _wire_enrollment(item, dataset)
                elif kind == "lead":
                    # Text only, as writers store a lead: one dict comprehension, no per-value dispatch.
                    _lead({name: value["S"] for name, value in item.items()}, dataset)
                elif kind == "task":
                    self._wire_task(item)
                elif kind == "event":
                    _wire_event(item, dataset)
                else:
                    raise KeyError(kind)
            except (KeyError, TypeError, ValueError):
                self.add([{name: event_items.plain(value) for name, value in item.items()}])

    def _wire_touch(self, item: dict[str, dict[str, Any]]) -> None:
        key = _wire_touch_key(item)
        channel, status, sent_at = item.get("channel"), item.get("status"), item.get("sent_at")
        variant, due_at, skip_reason = item.get("variant"), item.get("due_at"), item.get("skip_reason")
        self._touch(
            key,
            _wire_label(channel),
            (status["S"] if status is not None else None) or "sent",
            _wire_time(sent_at["S"]) if sent_at is not None else None,
            _wire_label(variant, "") or None,
            due_at["S"] if due_at is not None else None,
            skip_reason["S"] if skip_reason is not None else None,
        )

    def _wire_task(self, item: dict[str, dict[str, Any]]) -> None:
        key = _wire_touch_key(item)
        channel, status, outcome_at = item.get("channel"), item.get("status"), item.get("outcome_at")
        due_at, sent_at = item.get("due_at"), item.get("sent_at")
        self._task(
            key,
            _wire_label(channel),
            (status["S"] if status is not None else None) or "open",
            outcome_at["S"] if outcome_at is not None else None,
            due_at["S"] if due_at is not None else None,
            sent_at["S"] if sent_at is not None else None,
        )

    def _task(
        self, key: TouchKey, channel: str, status: str, outcome_at: Any, due_at: Any, sent_at: Any
    ) -> None:
        self._tasks[key] = _Task(channel, status, _time(outcome_at), _time(due_at))
        if sent_at and key not in self._task_touches:
            # One item per task touch: the task carries its touch's record (a touch item, where one
            # was written, says the same).
            self._task_touches[key] = _TaskTouch(channel, _time(sent_at), None, _time(due_at))

    def _touch(
        self,
        key: TouchKey,
        channel: str,
        status: str,
        ran_at: datetime | None,
        variant: str | None,
        due_at: Any,
        skip_reason: Any,
    ) -> None:
        if channel == "manual_email":
            # A rep's draft: merged with its task, which knows when it fell due (recap within 24 h).
            ended = "sent" if status == "sent" else DRAFT_SKIPS.get(str(skip_reason))
            self._task_touches[key] = _TaskTouch(channel, ran_at, variant, _time(due_at), ended)
        elif status == "task" or (channel in REP_TASK_CHANNELS and status != "skipped"):
            self._task_touches[key] = _TaskTouch(channel, ran_at, variant, _time(due_at))
        elif status == "skipped":
            self.dataset.touches.append(TouchRecord(*key, channel, TouchState.SKIPPED, ran_at, variant))
        elif ran_at is None:
            self.dataset.skip("sent touch without sent_at")
        else:
            self.dataset.touches.append(TouchRecord(*key, channel, TouchState.SENT, ran_at, variant))

    def finish(self) -> Dataset:
        """Merge each rep task's touch with its outcome: done (a touch), open (apart), or cancelled."""
        tasks = self._tasks
        for key, touch in self._task_touches.items():
            self._task_touch(key, touch, tasks.pop(key, None))
        for key, task in tasks.items():  # a task whose touch was not read
            self._task_touch(key, None, task)
        self._task_touches, self._tasks = {}, {}
        return self.dataset

    def _task_touch(self, key: TouchKey, touch: _TaskTouch | None, task: _Task | None) -> None:
        channel = touch.channel if touch else task.channel if task else UNKNOWN
        ran_at = touch.ran_at if touch else None
        status = task.status if task else (touch.draft_outcome if touch else None) or "open"
        outcome = None
        if status in DRAFT_OUTCOMES:
            # A rep's draft: sent when its touch record says (else when the task says), or not.
            state = TouchState.SENT if status == "sent" else TouchState.SKIPPED
            sent_at = touch.ran_at if touch and touch.draft_outcome == "sent" else None
            outcome, ran_at = status, sent_at or (task.outcome_at if task else None) or ran_at
        elif status in TASK_OUTCOMES:
            state, outcome = TouchState.TASK_DONE, status
            ran_at = (task.outcome_at if task else None) or ran_at
        elif status == "open":
            state = TouchState.TASK_OPEN
            ran_at = ran_at or (task.due_at if task else None)
        else:  # cancelled: the lead stopped before the rep got to it
            state = TouchState.SKIPPED
        variant = touch.variant if touch else None
        due = (task.due_at if task else None) or (touch.due_at if touch else None)
        self.dataset.touches.append(TouchRecord(*key, channel, state, ran_at, variant, outcome, due))
        response = TASK_RESPONSES.get(outcome or "")
        if response is not None and ran_at is not None:
            self.dataset.events.append(EventRecord(key[0], response, ran_at, key[1], key[2], channel))


def _touch_key(item: dict[str, Any]) -> TouchKey | None:
    lead_id = item.get("lead_id")
    enrollment = item.get("enrollment")
    number = item.get("number", item.get("touch"))
    if type(lead_id) is str and lead_id and type(enrollment) is Decimal and type(number) is Decimal:
        return sys.intern(lead_id), int(enrollment), int(number)  # as stored: nearly always
    lead_id = str(lead_id or "")
    enrollment, number = _int(enrollment), _int(number)
    if not lead_id or enrollment is None or number is None:
        return None
    return sys.intern(lead_id), enrollment, number


def dataset_from_items(items: Iterable[dict[str, Any]]) -> Dataset:
    """Map stored items (python values, as boto3 deserializes them) to a Dataset."""
    builder = DatasetBuilder()
    builder.add(items)
    return builder.finish()


def _lead(item: dict[str, Any], dataset: Dataset) -> None:
    lead_id = str(item.get("id") or item.get("lead_id") or "")
    created = _time(item.get("created_at"))
    if not lead_id or created is None:
        dataset.skip("lead without id or created_at")
        return
    dataset.leads[lead_id] = LeadRecord(
        lead_id=lead_id,
        created_at=created,
        source=lead_source(item),
        fit_band=label(item.get("band")),
        owner=label(item.get("owner"), UNASSIGNED),
        lead_type=label(item.get("lead_type"), "inbound"),
        form=label(item.get("form")),
        utm_campaign=label(item.get("utm_campaign"), NO_CAMPAIGN),
    )
    # The contact status stands in for events a writer did not record.
    status_at = _time(item.get("status_at"))
    reason = str(item.get("status_reason") or "")
    kind = EVENT_KINDS.get(reason) or STATUS_KINDS.get(str(item.get("status") or ""))
    if kind is not None and status_at is not None:
        dataset.events.append(EventRecord(lead_id, kind, status_at))


def lead_source(item: dict[str, Any]) -> str:
    """Where the lead came from: the source a form or client named, else its UTM source, else "direct"
    for a form post without either."""
    for name in ("source", "utm_source"):
        if item.get(name):
            return label(item[name])
    return DIRECT if item.get("form") else UNKNOWN


def _enrollment(item: dict[str, Any], dataset: Dataset) -> None:
    lead_id = str(item.get("lead_id") or "")
    number = _int(item.get("number"))
    started = _time(item.get("started_at"))
    if not lead_id or number is None or started is None:
        dataset.skip("enrollment without lead, number or started_at")
        return
    version = str(item["version"]) if item.get("version") else None
    _enrollment_record(
        dataset,
        lead_id,
        number,
        started,
        version,
        label(item.get("cadence")),
        item.get("stopped_at"),
        item.get("stop_reason"),
        item.get("stopped_after_touch"),
    )


def _wire_enrollment(item: dict[str, dict[str, Any]], dataset: Dataset) -> None:
    lead_id = item["lead_id"]["S"]
    number = int(item["number"]["N"])
    started = _time(item["started_at"]["S"])
    if not lead_id or started is None:
        raise ValueError("enrollment without lead or started_at")  # add counts it skipped
    version, cadence = item.get("version"), item.get("cadence")
    stopped_at, reason, stopped_after = (
        item.get("stopped_at"),
        item.get("stop_reason"),
        item.get("stopped_after_touch"),
    )
    version_text = version["S"] if version is not None else None
    _enrollment_record(
        dataset,
        lead_id,
        number,
        started,
        version_text or None,
        label(cadence["S"] if cadence is not None else None),
        stopped_at["S"] if stopped_at is not None else None,
        reason["S"] if reason is not None else None,
        event_items.plain(stopped_after) if stopped_after is not None else None,
    )


def _enrollment_record(
    dataset: Dataset,
    lead_id: str,
    number: int,
    started: datetime,
    version: str | None,
    cadence: str,
    stopped_at: Any,
    reason: Any,
    stopped_after: Any,
) -> None:
    stopped, stop = _time(stopped_at), None
    if reason and stopped is not None:
        kind = EVENT_KINDS.get(str(reason), EventKind.OTHER_STOP)
        stop = EventRecord(lead_id, kind, stopped, number, _int(stopped_after) or None)
    # Recorded once all is read: the wire form's reader falls back to `add` on what it cannot read.
    dataset.enrollments.append(EnrollmentRecord(lead_id, number, cadence, started, version))
    if stop is not None:
        dataset.events.append(stop)


def _wire_touch_key(item: dict[str, dict[str, Any]]) -> tuple[str, int, int]:
    """(lead id, enrollment, touch number) of a touch or task item in DynamoDB's JSON form."""
    lead_id = item["lead_id"]["S"]
    if not lead_id:
        raise ValueError("no lead id")
    number = item.get("number") or item["touch"]
    return (sys.intern(lead_id), _INTEGERS[item["enrollment"]["N"]], _INTEGERS[number["N"]])


def _wire_label(value: dict[str, Any] | None, missing: str = UNKNOWN) -> str:
    """`label` of an attribute in DynamoDB's JSON form (`missing` when absent or empty)."""
    text = value["S"] if value is not None else None
    return _LABELS[text] if text else missing


def _wire_event(item: dict[str, dict[str, Any]], dataset: Dataset) -> None:
    kind = EVENT_KINDS.get(item["type"]["S"])
    if kind is None:
        return  # operator stops, auto-replies, deliveries: not report events
    lead_id, at = item["lead_id"]["S"], _time(item["at"]["S"])
    if at is None or not lead_id:
        raise ValueError("event without lead or time")  # add counts it skipped
    enrollment, touch, channel = item.get("enrollment"), item.get("touch"), item.get("channel")
    amount, intent = item.get("amount"), item.get("intent")
    channel_text = channel["S"] if channel is not None else None
    intent_text = intent["S"] if intent is not None else None
    dataset.events.append(
        EventRecord(
            lead_id,
            kind,
            at,
            int(enrollment["N"]) if enrollment is not None else None,
            int(touch["N"]) if touch is not None else None,
            label(channel_text) if channel_text else None,
            _amount(event_items.plain(amount)) if amount is not None else None,
            label(intent_text) if intent_text else None,
        )
    )


def _event(item: dict[str, Any], dataset: Dataset) -> None:
    kind = EVENT_KINDS.get(str(item.get("type") or ""))
    at = _time(item.get("at"))
    lead_id = str(item.get("lead_id") or "")
    if kind is None:
        return  # operator stops, auto-replies, deliveries: not report events
    if at is None or not lead_id:
        dataset.skip("event without lead or time")
        return
    channel = item.get("channel")
    dataset.events.append(
        EventRecord(
            lead_id,
            kind,
            at,
            _int(item.get("enrollment")),
            _int(item.get("touch")),
            label(channel) if channel else None,
            _amount(item.get("amount")),
            label(item["intent"]) if item.get("intent") else None,
        )
    )


def load_dataset(window: Window, *, page_size: int | None = None, workers: int = 8) -> Dataset:
    """Everything indexed in the window, plus the leads its enrollments need.

    One range Query per (month, shard) partition the window touches (about 32 for the 91 days the
    weekly report reads), `workers` partitions read at a time, their pages mapped one by one in
    partition order: memory holds a few pages per reader, however many items a month has.
    """
    start, end = iso(window.start), iso(window.end)

    def read(partition: str) -> Iterator[list[dict[str, Any]]]:
        return event_items.partition_pages(partition, start, end, PROJECTION, page_size, decoded=False)

    builder = DatasetBuilder()
    for page in _read_ahead(event_items.index_partitions(start, end), read, workers):
        builder.add_wire(page)
    dataset = builder.finish()
    missing = sorted({e.lead_id for e in dataset.enrollments} - dataset.leads.keys())
    if missing:
        leads = dataset_from_items(event_items.get_items([(lead_pk(i), "LEAD") for i in missing], PROJECTION))
        dataset.leads.update(leads.leads)
        dataset.events.extend(leads.events)
    return dataset


_DONE = object()


def _read_ahead(
    partitions: Sequence[str],
    read: Callable[[str], Iterator[list[dict[str, Any]]]],
    workers: int,
    waiting: int = 2,
) -> Iterator[list[dict[str, Any]]]:
    """The pages of each partition, partition after partition, as `read` yields them, while up to
    `workers` threads read the next partitions ahead: each holds at most `waiting` pages unread and one
    in hand, and takes the next partition only once the consumer has taken all of its own.

    The order is that of a serial read whatever the threads do. A reader's error is raised when its
    partition's turn comes; a consumer that stops early stops the readers.
    """
    stop = threading.Event()
    waits: list[queue.Queue[Any]] = [queue.Queue(maxsize=waiting) for _ in partitions]
    taken = [threading.Event() for _ in partitions]  # the consumer reached the partition's end

    def hand_over(slot: queue.Queue[Any], value: Any) -> bool:
        while not stop.is_set():
            try:
                slot.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def fill(index: int) -> None:
        try:
            for page in read(partitions[index]):
                if not hand_over(waits[index], page):
                    return
            end: Any = _DONE
        except Exception as error:  # raised in the consumer, at this partition's turn
            end = error
        if hand_over(waits[index], end):
            while not stop.is_set() and not taken[index].wait(0.05):
                pass  # this thread's pages still wait: no next partition's pages on top of them

    aws.client("dynamodb")  # created before the threads share it: creating a client is not thread-safe
    pool = started_pool(max(1, min(workers, len(partitions))))
    try:
        for index in range(len(partitions)):  # started in order: a partition's reader runs by its turn
            pool.submit(fill, index)
        for index, slot in enumerate(waits):
            while (page := slot.get()) is not _DONE:
                if isinstance(page, Exception):
                    raise page
                yield page
            taken[index].set()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def load_snoozes(window: Window, *, workers: int = 8) -> list[SnoozeRecord]:
    """Not-now leads due back in the window: the SNOOZE items indexed at their due time (the week's
    partitions read in parallel: 8 or 16 Queries)."""
    start, end = iso(window.start), iso(window.end)

    def read(partition: str) -> list[SnoozeRecord]:
        found = []
        for page in event_items.partition_pages(partition, start, end, PROJECTION):
            for item in page:
                due = _time(item.get("at"))
                if item.get("kind") == "snooze" and item.get("lead_id") and due is not None:
                    found.append(
                        SnoozeRecord(str(item["lead_id"]), due, label(item.get("owner"), UNASSIGNED))
                    )
        return found

    aws.client("dynamodb")  # created before the threads share it: creating a client is not thread-safe
    partitions = event_items.index_partitions(start, end)
    with started_pool(max(1, min(workers, len(partitions)))) as pool:
        read_in_order = list(pool.map(read, partitions))
    return sorted((snooze for found in read_in_order for snooze in found), key=lambda snooze: snooze.due)
