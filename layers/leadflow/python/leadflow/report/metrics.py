"""Pure aggregation: the report's numbers from plain records.

The unit is one enrollment of one lead (a lead in two cadences counts in each),
and every rate is per lead, never per message. A window holds the enrollments
that started in it; their touches and events count up to the window's end.

Each response or exit is attributed to the delivered touch that drew it: the
touch the writer named, else the last delivered touch on the event's channel
before it, else the last delivered touch before it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadflow.report.records import (
    ENGAGEMENT,
    EXITS,
    OPT_OUTS,
    RESPONSES,
    CadencePlan,
    Dataset,
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    TouchRecord,
    TouchState,
)

# Dimensions of the breakdowns; the first four belong to the lead, the last two to its touches.
LEAD_DIMENSIONS = ("cadence", "source", "fit_band", "owner")
TOUCH_DIMENSIONS = ("channel", "variant")
DIMENSIONS = LEAD_DIMENSIONS + TOUCH_DIMENSIONS


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: EventKind
    at: datetime
    touch: TouchRecord | None  # the delivered touch that drew it, None if it came before any


@dataclass(slots=True)
class Facts:
    """What happened to one enrollment, derived once and aggregated many times."""

    lead: LeadRecord
    enrollment: EnrollmentRecord
    touches: list[TouchRecord]  # every record of the enrollment, by number
    delivered: list[TouchRecord]  # delivered touches, by time
    outcomes: dict[EventKind, Outcome]  # the first of each kind
    first_response: Outcome | None
    exit: Outcome | None  # left without having responded first
    speed_to_lead: float | None  # seconds from form post to the first delivered touch
    first_human_touch: float | None  # seconds from form post to the first completed rep task
    touches_to_response: int | None  # delivered touches up to the one that drew the first response
    counted: tuple[str, ...] = ()  # what it adds to a lead-level segment, computed once


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        ordered = sorted(values)
        mean = sum(ordered) / len(ordered) if ordered else None
        return cls(len(ordered), mean, percentile(ordered, 0.5), percentile(ordered, 0.9))


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class SegmentStats:
    leads: int
    responded: int
    replied: int
    connected: int
    meetings: int
    unsubscribes: int
    complaints: int
    bounces: int
    emailed: int
    opened: int
    clicked: int
    speed_to_lead: Summary
    first_human_touch: Summary
    touches_to_response: Summary
    response_step: Summary  # the step (touch number) of the first response

    @property
    def contact_rate(self) -> float | None:
        return rate(self.responded, self.leads)

    @property
    def reply_rate(self) -> float | None:
        return rate(self.replied, self.leads)

    @property
    def meeting_rate(self) -> float | None:
        return rate(self.meetings, self.leads)

    @property
    def opt_outs(self) -> int:
        return self.unsubscribes + self.complaints

    @property
    def open_rate(self) -> float | None:
        return rate(self.opened, self.emailed)

    @property
    def click_rate(self) -> float | None:
        return rate(self.clicked, self.emailed)


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step of a cadence's drop-off table."""

    step: int
    channel: str
    reached: int  # still enrolled when the step came due
    responded: int  # first response drawn by this step
    opted_out: int  # left at this step without responding: unsubscribe or complaint
    bounced: int
    other_stops: int
    account_stops: int  # stopped because a colleague answered: not a loss
    open_tasks: int
    skipped: int

    @property
    def left(self) -> int:
        return self.opted_out + self.bounced + self.other_stops

    @property
    def continued(self) -> int:
        return self.reached - self.responded - self.left - self.account_stops

    @property
    def drop_rate(self) -> float | None:
        return rate(self.left, self.reached)

    @property
    def response_rate(self) -> float | None:
        return rate(self.responded, self.reached)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel: str
    touches: int  # delivered touches (a rep task once its outcome is recorded)
    responses: int  # first responses drawn by this channel
    open_tasks: int
    skipped: int
    touch_share: float | None
    response_share: float | None


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    window: Window
    overall: SegmentStats
    breakdowns: dict[str, dict[str, SegmentStats]]
    dropoff: dict[str, list[StepRow]]  # by cadence
    channel_mix: list[ChannelRow]
    touches_histogram: dict[int, int]  # touches to first response -> leads
    engagement_tracked: bool
    first_enrollment: dict[str, datetime]  # by cadence: the earliest enrollment in the window
    lead_types: dict[str, str]  # by cadence: the type most of its leads have (inbound, cold, ...)
    # By cadence and by owner, over finished enrollments only: the rates the bands judge.
    settled: dict[str, dict[str, SegmentStats]]


# -- facts -----------------------------------------------------------------


def _attribute(event: EventRecord, touches: list[TouchRecord], delivered: list[TouchRecord]) -> Outcome:
    if event.touch is not None:
        named = next((t for t in touches if t.number == event.touch and t.delivered), None)
        if named is not None:
            return Outcome(event.kind, event.at, named)
    before = [t for t in delivered if t.at is not None and t.at <= event.at]
    if event.channel is not None:
        on_channel = [t for t in before if t.channel == event.channel]
        if on_channel:
            return Outcome(event.kind, event.at, on_channel[-1])
    return Outcome(event.kind, event.at, before[-1] if before else None)


def _enrollment_for(event: EventRecord, enrollments: list[EnrollmentRecord]) -> EnrollmentRecord | None:
    if event.enrollment is not None:
        named = next((e for e in enrollments if e.number == event.enrollment), None)
        if named is not None:
            return named
    # Strictly before: the meeting that starts a post-meeting enrollment belongs to the one before it.
    started = [e for e in enrollments if e.started_at < event.at]
    return started[-1] if started else None


def build_facts(dataset: Dataset, as_of: datetime) -> list[Facts]:
    """One Facts per enrollment whose lead is known, counting what happened before `as_of`."""
    touches_by: dict[tuple[str, int], list[TouchRecord]] = defaultdict(list)
    for touch in dataset.touches:
        if touch.at is None or touch.at < as_of:
            touches_by[(touch.lead_id, touch.enrollment)].append(touch)
    enrollments_by: dict[str, list[EnrollmentRecord]] = defaultdict(list)
    for enrollment in dataset.enrollments:
        if enrollment.lead_id in dataset.leads and enrollment.started_at < as_of:
            enrollments_by[enrollment.lead_id].append(enrollment)
    for lead_enrollments in enrollments_by.values():
        lead_enrollments.sort(key=lambda e: e.started_at)
    events_by: dict[tuple[str, int], list[EventRecord]] = defaultdict(list)
    # In time order; at the same moment the most precise record first (a task's own outcome names
    # its touch and channel; a stop names the last touch claimed).
    for event in sorted(dataset.events, key=lambda e: (e.at, e.touch is None, e.channel is None)):
        if event.at >= as_of or event.lead_id not in enrollments_by:
            continue
        owner = _enrollment_for(event, enrollments_by[event.lead_id])
        if owner is not None:
            events_by[(event.lead_id, owner.number)].append(event)

    facts = []
    for lead_id, lead_enrollments in enrollments_by.items():
        lead = dataset.leads[lead_id]
        for enrollment in lead_enrollments:
            key = (lead_id, enrollment.number)
            facts.append(_facts(lead, enrollment, touches_by.get(key, []), events_by.get(key, [])))
    return facts


def _facts(
    lead: LeadRecord, enrollment: EnrollmentRecord, records: list[TouchRecord], events: list[EventRecord]
) -> Facts:
    touches = sorted(records, key=lambda t: t.number)
    delivered = sorted((t for t in touches if t.delivered), key=lambda t: (t.at, t.number))
    outcomes: dict[EventKind, Outcome] = {}
    for event in events:  # already in time order
        if event.kind not in outcomes:
            outcomes[event.kind] = _attribute(event, touches, delivered)
    responses = [outcomes[kind] for kind in RESPONSES if kind in outcomes]
    first_response = min(responses, key=lambda o: o.at) if responses else None
    exits = [outcomes[kind] for kind in EXITS if kind in outcomes]
    first_exit = min(exits, key=lambda o: o.at) if exits else None
    if first_exit is not None and first_response is not None and first_response.at <= first_exit.at:
        first_exit = None
    arrival = enrollment.number == 1
    tasks = [t for t in delivered if t.state is TouchState.TASK_DONE]
    touches_to_response = None
    if first_response is not None:
        drawn_by = first_response.touch
        touches_to_response = (
            sum(1 for t in delivered if t.number <= drawn_by.number)
            if drawn_by is not None
            else sum(1 for t in delivered if t.at is not None and t.at <= first_response.at)
        )
    fact = Facts(
        lead=lead,
        enrollment=enrollment,
        touches=touches,
        delivered=delivered,
        outcomes=outcomes,
        first_response=first_response,
        exit=first_exit,
        speed_to_lead=_seconds(lead.created_at, delivered[0].at) if arrival and delivered else None,
        first_human_touch=_seconds(lead.created_at, tasks[0].at) if arrival and tasks else None,
        touches_to_response=touches_to_response,
    )
    fact.counted = tuple(_counted(fact, None))
    return fact


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if end is not None else None


# -- aggregation -----------------------------------------------------------

TouchFilter = Callable[[TouchRecord], bool]


COUNTED = (*RESPONSES, *OPT_OUTS, EventKind.BOUNCE, *ENGAGEMENT)


def _counted(fact: Facts, touch_filter: TouchFilter | None) -> Iterator[str]:
    """The counters one enrollment adds to a segment (see `segment`)."""

    def drawn(outcome: Outcome | None) -> bool:
        if outcome is None:
            return False
        return touch_filter is None or (outcome.touch is not None and touch_filter(outcome.touch))

    if drawn(fact.first_response):
        yield "responded"
    for kind in COUNTED:
        if drawn(fact.outcomes.get(kind)):
            yield kind.value
    if any(t.channel == "email" for t in fact.delivered if touch_filter is None or touch_filter(t)):
        yield "emailed"


def segment(facts: Iterable[Facts], touch_filter: TouchFilter | None = None) -> SegmentStats:
    """Per-lead counts over enrollments.

    Without a filter every outcome counts. With one (a channel or a variant), a
    lead counts if it received a matching touch, and an outcome counts if a
    matching touch drew it.
    """
    counts: Counter[str] = Counter()
    speeds, human, to_response, steps = [], [], [], []
    for fact in facts:
        if touch_filter is None:
            counted = fact.counted
            if fact.speed_to_lead is not None:
                speeds.append(fact.speed_to_lead)
            if fact.first_human_touch is not None:
                human.append(fact.first_human_touch)
        elif any(touch_filter(t) for t in fact.delivered):
            counted = tuple(_counted(fact, touch_filter))
        else:
            continue
        counts["leads"] += 1
        counts.update(counted)
        if "responded" in counted:
            assert fact.first_response is not None
            if fact.touches_to_response is not None:
                to_response.append(fact.touches_to_response)
            if fact.first_response.touch is not None:
                steps.append(fact.first_response.touch.number)
    return SegmentStats(
        leads=counts["leads"],
        responded=counts["responded"],
        replied=counts[EventKind.REPLY.value],
        connected=counts[EventKind.CONNECTED.value],
        meetings=counts[EventKind.MEETING.value],
        unsubscribes=counts[EventKind.UNSUBSCRIBE.value],
        complaints=counts[EventKind.COMPLAINT.value],
        bounces=counts[EventKind.BOUNCE.value],
        emailed=counts["emailed"],
        opened=counts[EventKind.OPEN.value],
        clicked=counts[EventKind.CLICK.value],
        speed_to_lead=Summary.of(speeds),
        first_human_touch=Summary.of(human),
        touches_to_response=Summary.of(to_response),
        response_step=Summary.of(steps),
    )


def variant_key(cadence: str, step: int, variant: str) -> str:
    return f"{cadence} · touch {step} · {variant}"


def _lead_value(fact: Facts, dimension: str) -> str:
    if dimension == "cadence":
        return fact.enrollment.cadence
    return str(getattr(fact.lead, dimension))


def breakdowns(facts: list[Facts]) -> dict[str, dict[str, SegmentStats]]:
    result: dict[str, dict[str, SegmentStats]] = {}
    for dimension in LEAD_DIMENSIONS:
        groups: dict[str, list[Facts]] = defaultdict(list)
        for fact in facts:
            groups[_lead_value(fact, dimension)].append(fact)
        result[dimension] = {value: segment(group) for value, group in sorted(groups.items())}
    channels = sorted({t.channel for fact in facts for t in fact.delivered})
    result["channel"] = {channel: segment(facts, _on_channel(channel)) for channel in channels}
    by_variant: dict[tuple[str, int, str], list[Facts]] = defaultdict(list)
    for fact in facts:
        cadence = fact.enrollment.cadence
        for step, variant in {(t.number, t.variant) for t in fact.delivered if t.variant is not None}:
            by_variant[(cadence, step, variant)].append(fact)
    result["variant"] = {
        variant_key(*key): segment(group, _with_variant(key[1], key[2]))
        for key, group in sorted(by_variant.items())
    }
    return result


def _on_channel(channel: str) -> TouchFilter:
    return lambda touch: touch.channel == channel


def _with_variant(step: int, variant: str) -> TouchFilter:
    return lambda touch: touch.number == step and touch.variant == variant


def dropoff(facts: list[Facts], plans: dict[str, CadencePlan]) -> dict[str, list[StepRow]]:
    by_cadence: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        by_cadence[fact.enrollment.cadence].append(fact)
    return {cadence: _dropoff(group, plans.get(cadence)) for cadence, group in sorted(by_cadence.items())}


def _dropoff(facts: list[Facts], plan: CadencePlan | None) -> list[StepRow]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    channels: dict[int, Counter[str]] = defaultdict(Counter)
    for fact in facts:
        for touch in fact.touches:
            counts[touch.number]["reached"] += 1
            channels[touch.number][touch.channel] += 1
            if touch.state is TouchState.TASK_OPEN:
                counts[touch.number]["open_tasks"] += 1
            elif touch.state is TouchState.SKIPPED:
                counts[touch.number]["skipped"] += 1
        response = fact.first_response
        if response is not None and response.touch is not None:
            counts[response.touch.number]["responded"] += 1
        left = fact.exit
        if left is not None and left.touch is not None:
            column = {
                EventKind.UNSUBSCRIBE: "opted_out",
                EventKind.COMPLAINT: "opted_out",
                EventKind.BOUNCE: "bounced",
            }.get(left.kind, "other_stops")
            counts[left.touch.number][column] += 1
        colleague = fact.outcomes.get(EventKind.ACCOUNT)
        if colleague is not None and colleague.touch is not None and response is None and left is None:
            counts[colleague.touch.number]["account_stops"] += 1
    rows = []
    last = max([*counts, len(plan.steps) if plan else 0], default=0)
    for step in range(1, last + 1):
        if plan is not None and step <= len(plan.steps):
            channel = plan.steps[step - 1].channel
        else:
            channel = channels[step].most_common(1)[0][0] if channels[step] else "?"
        row = counts[step]
        rows.append(
            StepRow(
                step=step,
                channel=channel,
                reached=row["reached"],
                responded=row["responded"],
                opted_out=row["opted_out"],
                bounced=row["bounced"],
                other_stops=row["other_stops"],
                account_stops=row["account_stops"],
                open_tasks=row["open_tasks"],
                skipped=row["skipped"],
            )
        )
    return rows


def channel_mix(facts: list[Facts]) -> list[ChannelRow]:
    touches: Counter[str] = Counter()
    open_tasks: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    responses: Counter[str] = Counter()
    for fact in facts:
        for touch in fact.touches:
            if touch.delivered:
                touches[touch.channel] += 1
            elif touch.state is TouchState.TASK_OPEN:
                open_tasks[touch.channel] += 1
            else:
                skipped[touch.channel] += 1
        if fact.first_response is not None and fact.first_response.touch is not None:
            responses[fact.first_response.touch.channel] += 1
    total_touches, total_responses = sum(touches.values()), sum(responses.values())
    return [
        ChannelRow(
            channel=channel,
            touches=touches[channel],
            responses=responses[channel],
            open_tasks=open_tasks[channel],
            skipped=skipped[channel],
            touch_share=rate(touches[channel], total_touches),
            response_share=rate(responses[channel], total_responses),
        )
        for channel in sorted(touches | open_tasks | skipped | responses)
    ]


def finished(fact: Facts, plan: CadencePlan | None) -> bool:
    """Responded, left, or reached the last step: a lead still mid-sequence would deflate the rates."""
    if fact.first_response is not None or fact.exit is not None or plan is None:
        return True
    return any(touch.number >= len(plan.steps) for touch in fact.touches)


def window_metrics(facts: list[Facts], window: Window, plans: dict[str, CadencePlan]) -> WindowMetrics:
    inside = [fact for fact in facts if fact.enrollment.started_at in window]
    done = [fact for fact in inside if finished(fact, plans.get(fact.enrollment.cadence))]
    settled: dict[str, dict[str, list[Facts]]] = {"cadence": defaultdict(list), "owner": defaultdict(list)}
    for fact in done:
        for dimension, groups in settled.items():
            groups[_lead_value(fact, dimension)].append(fact)
    histogram = Counter(fact.touches_to_response for fact in inside if fact.touches_to_response is not None)
    first: dict[str, datetime] = {}
    types: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in inside:
        cadence = fact.enrollment.cadence
        if cadence not in first or fact.enrollment.started_at < first[cadence]:
            first[cadence] = fact.enrollment.started_at
        types[cadence][fact.lead.lead_type] += 1
    return WindowMetrics(
        window=window,
        overall=segment(inside),
        breakdowns=breakdowns(inside),
        dropoff=dropoff(inside, plans),
        channel_mix=channel_mix(inside),
        touches_histogram=dict(sorted(histogram.items())),
        engagement_tracked=any(kind in fact.outcomes for fact in inside for kind in ENGAGEMENT),
        first_enrollment=first,
        lead_types={cadence: counts.most_common(1)[0][0] for cadence, counts in types.items()},
        settled={
            dimension: {value: segment(group) for value, group in sorted(groups.items())}
            for dimension, groups in settled.items()
        },
    )
