"""Pure aggregation: every number of the report, defined once, from plain records.

Leads are people: a segment counts each lead once, however many of its
enrollments fall in it (a lead in two cadences counts in each cadence's row, and
once overall); enrollments are counted apart. Every rate is per lead, never per
message. A window holds the enrollments that started in it; their touches and
events count up to the moment the facts are built for (the window's end).

The funnel, per lead: enrolled >= contacted (received a touch, or answered) >=
responded (a reply, a connected call or a meeting) >= meeting; replied and
connected are kinds of response. Sales stages (SQL, opportunity, won) come from
the CRM; a later stage implies the earlier ones.

Each response or exit is attributed to the delivered touch that drew it: the
touch the writer named, else the last delivered touch on the event's channel
before it, else the last delivered touch before it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from operator import attrgetter
from typing import TypeVar

from leadflow.report.records import (
    ANY_FORM,
    DELIVERED,
    ENGAGEMENT,
    EXITS,
    OPT_OUTS,
    PIPELINE,
    REPLY_TOUCH,
    RESPONSES,
    SPEED_TOUCH,
    STAGES,
    CadencePlan,
    Dataset,
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    TouchRecord,
    TouchState,
    in_sequence,
)

# Dimensions of the breakdowns; the first ones belong to the lead, the last two to its touches.
LEAD_DIMENSIONS = ("cadence", "source", "form", "utm_campaign", "fit_band", "owner")
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
    intent: str | None = None  # a human reply's intent


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
    response_step: int | None  # the number of the touch that drew the first response, if one did
    # Sales stages the lead reached after this enrollment began: kind -> (when, amount).
    stages: dict[EventKind, EventRecord]
    # Booked a meeting within MEETING_BUSINESS_DAYS of arriving; None until that time has passed.
    meeting_in_time: bool | None
    counted: int = 0  # the counters it adds to a segment of enrollments (bits of COUNTERS), computed once
    # By delivered touch, the counters it adds to a segment of touches (`_touch_counted`), when needed.
    touch_counted: tuple[int, ...] | None = None
    # The deal's value: the last amount the CRM's stage events gave (answers.stages), None if none did.
    deal_amount: float | None = None
    # The last step that came due (0: none yet): where the enrollment is, or where it ended.
    terminal_step: int = 0


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
    leads: int  # people
    enrollments: int
    contacted: int  # received a delivered touch, or answered
    responded: int  # a reply, a connected call or a meeting: the playbook's "contact"
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
    sql: int = 0  # reached SQL or a later stage
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    won_amount: float = 0.0  # the deals' values (Facts.deal_amount) of the leads who won
    # Pipeline created: the deals' values of the leads who reached an opportunity (won, lost or open).
    pipeline_amount: float = 0.0
    meetings_in_time: int = 0  # booked within 10 business days of arriving...
    aged: int = 0  # ...out of the leads whose 10 business days have passed
    # New leads: their first enrollment (intake) is in the segment. `leads` also counts earlier leads
    # enrolled again (a post-meeting or not-now cadence).
    arrived: int = 0

    @property
    def contact_rate(self) -> float | None:
        return rate(self.responded, self.leads)

    @property
    def sql_rate(self) -> float | None:
        return rate(self.sql, self.leads)

    @property
    def meeting_in_time_rate(self) -> float | None:
        return rate(self.meetings_in_time, self.aged)

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
    """One step of a cadence's drop-off table, counting enrollments.

    Each enrollment ends up at its last step (the last one that came due) in exactly one of
    responded, left, account_stops, waiting and finished, so
    due(n) = due(n+1) + responded + left + account_stops + waiting + finished.
    Of those the step came due for, `reached` got its touch (sent, or a task done); the others were
    skipped (no consent, no number...) or have an open task: reached <= due, and never more than the
    touches the channel delivered.
    """

    step: int
    channel: str
    due: int  # still enrolled when the step came due
    reached: int  # ...and got this step's touch: sent, or a rep task done
    responded: int  # answered while this was their last step
    opted_out: int  # left at this step without responding: unsubscribe or complaint
    bounced: int
    other_stops: int
    account_stops: int  # stopped because a colleague answered: not a loss
    waiting: int  # no outcome yet, and the next step has not come due
    finished: int  # ran the whole sequence without an outcome (last step only)
    open_tasks: int
    skipped: int
    replies: int = 0  # first replies this step's touch drew
    reply_share: float | None = None  # ...of the cadence's first replies drawn by a touch

    @property
    def left(self) -> int:
        return self.opted_out + self.bounced + self.other_stops

    @property
    def continued(self) -> int:
        return self.due - self.responded - self.left - self.account_stops - self.waiting - self.finished

    @property
    def drop_rate(self) -> float | None:
        return rate(self.left, self.due)

    @property
    def response_rate(self) -> float | None:
        return rate(self.responded, self.due)


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
    # By cadence and by owner, over complete cohorts only (see `Cohort`): the rates the bands judge.
    settled: dict[str, dict[str, SegmentStats]]
    cohorts: dict[str, Cohort] = field(default_factory=dict)  # by cadence: who `settled` counts
    cohort: SegmentStats | None = None  # every cadence's complete cohort together (opens, touches)
    # By cadence, in its complete cohort: the leads who received its break-up touch, and the replies
    # that touch drew.
    breakup: dict[str, SegmentStats] = field(default_factory=dict)
    not_started: dict[str, int] = field(default_factory=dict)  # by cadence: first step not due yet
    stages_tracked: bool = False  # a CRM reported at least one stage for these leads
    intents: dict[str, IntentMix] = field(default_factory=dict)  # by cadence: what the replies said
    # (cadence, step, variant) -> its segment: the variant breakdown's rows and the A/B tests' arms.
    variants: dict[tuple[str, int, str], SegmentStats] = field(default_factory=dict)


# Intents of a reply that count as positive (the rep answers at once): answers.intent.POSITIVE.
POSITIVE_INTENTS = frozenset({"interested", "question"})


@dataclass(frozen=True, slots=True)
class IntentMix:
    """What one cadence's human replies said, by the step that drew them (step 0: before any)."""

    leads: int
    replied: int  # leads who replied (SegmentStats.replied)
    positive: int  # leads whose first reply was interested or a question
    by_step: dict[int, dict[str, int]]  # step -> intent -> leads (a written opt-out counts as unsubscribe)

    @property
    def reply_rate(self) -> float | None:
        return rate(self.replied, self.leads)

    @property
    def positive_reply_rate(self) -> float | None:
        return rate(self.positive, self.leads)


def intent_mix(facts: list[Facts], by_cadence_stats: dict[str, SegmentStats]) -> dict[str, IntentMix]:
    """By cadence: each lead's first reply by intent and step, and the positive reply rate."""
    by_cadence: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        by_cadence[fact.enrollment.cadence].append(fact)
    mixes = {}
    for cadence, group in sorted(by_cadence.items()):
        steps: dict[int, Counter[str]] = defaultdict(Counter)
        positive: set[str] = set()
        for fact in group:
            said = fact.outcomes.get(EventKind.REPLY) or fact.outcomes.get(EventKind.UNSUBSCRIBE)
            if said is None or said.intent is None:
                continue
            steps[said.touch.number if said.touch else 0][said.intent] += 1
            if said.kind is EventKind.REPLY and said.intent in POSITIVE_INTENTS:
                positive.add(fact.lead.lead_id)
        stats = by_cadence_stats.get(cadence) or segment(group)
        mixes[cadence] = IntentMix(
            leads=stats.leads,
            replied=stats.replied,
            positive=len(positive),
            by_step={step: dict(counts) for step, counts in sorted(steps.items())},
        )
    return mixes


# -- facts -----------------------------------------------------------------


def _attribute(event: EventRecord, touches: list[TouchRecord], delivered: list[TouchRecord]) -> Outcome:
    if event.touch is not None:
        named = next((t for t in touches if t.number == event.touch and t.delivered), None)
        if named is not None:
            return Outcome(event.kind, event.at, named, event.intent)
    before = [t for t in delivered if t.at is not None and t.at <= event.at]
    if event.channel is not None:
        on_channel = [t for t in before if t.channel == event.channel]
        if on_channel:
            return Outcome(event.kind, event.at, on_channel[-1], event.intent)
    return Outcome(event.kind, event.at, before[-1] if before else None, event.intent)


def _enrollment_for(event: EventRecord, enrollments: list[EnrollmentRecord]) -> EnrollmentRecord | None:
    if event.enrollment is not None:
        named = next((e for e in enrollments if e.number == event.enrollment), None)
        if named is not None:
            return named
    # Strictly before: the meeting that starts a post-meeting enrollment belongs to the one before it.
    started = [e for e in enrollments if e.started_at < event.at]
    return started[-1] if started else None


MEETING_BUSINESS_DAYS = 10


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` weekdays (Monday to Friday) after `start`, at the same time of day."""
    return start + _business_offset(start.weekday(), days)


@cache  # the report asks for every enrollment's deadline: 7 weekdays, one count of days
def _business_offset(weekday: int, days: int) -> timedelta:
    """How far `add_business_days` moves a moment on `weekday` (0: Monday)."""
    # Whole weeks first (any 7 days in a row hold 5 weekdays), leaving 1 to 5 to step through so
    # that the day reached is a weekday, as stepping day by day would reach.
    weeks = max(0, (days - 1) // 5)
    days -= 5 * weeks
    if days <= 0:
        return timedelta(weeks=weeks)
    return timedelta(weeks=weeks) + _business_steps(weekday, days)


def _business_steps(weekday: int, days: int) -> timedelta:
    """Calendar days from a `weekday` (0: Monday) to the `days`-th weekday after it, a day at a time."""
    calendar = 0
    while days > 0:
        calendar += 1
        if (weekday + calendar) % 7 < 5:
            days -= 1
    return timedelta(days=calendar)


def build_facts(dataset: Dataset, as_of: datetime, started_in: Window | None = None) -> list[Facts]:
    """One Facts per enrollment whose lead is known, counting what happened before `as_of`; only the
    enrollments started in `started_in`, if given (the lead's others still claim their own events)."""
    return FactsBuilder(dataset).facts(as_of, started_in)


class FactsBuilder:
    """`build_facts` for several moments over one dataset (the period, the trend periods): the touches
    are grouped and the events put in time order once."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        # By lead, in touch number order (a stable sort: an enrollment's touches are a filter of it).
        self._touches: dict[str, list[TouchRecord]] = defaultdict(list)
        for touch in dataset.touches:
            self._touches[touch.lead_id].append(touch)
        for touches in self._touches.values():
            if len(touches) > 1:
                touches.sort(key=_number)
        # In time order; at the same moment the most precise record first (a task's own outcome names
        # its touch and channel; a stop names the last touch claimed). Grouped by lead, in that order:
        # a trend period's facts read only its own leads' events.
        self._events: dict[str, list[EventRecord]] = defaultdict(list)
        for event in sorted(dataset.events, key=lambda e: (e.at, e.touch is None, e.channel is None)):
            self._events[event.lead_id].append(event)
        # The enrollments of known leads: by lead with their place in the data set (which orders the
        # facts), and by start (a trend period's are a slice).
        self._enrollments: dict[str, list[tuple[int, EnrollmentRecord]]] = defaultdict(list)
        for index, enrollment in enumerate(dataset.enrollments):
            if enrollment.lead_id in dataset.leads:
                self._enrollments[enrollment.lead_id].append((index, enrollment))
        self._by_start = sorted((e for each in self._enrollments.values() for _, e in each), key=_started)
        self._starts = [enrollment.started_at for enrollment in self._by_start]

    def facts(self, as_of: datetime, started_in: Window | None = None) -> list[Facts]:
        dataset = self.dataset
        # The wanted enrollments: started before `as_of` (and in `started_in`).
        if started_in is None:
            wanted_enrollments = self._by_start[: bisect_left(self._starts, as_of)]
        else:
            low = bisect_left(self._starts, started_in.start)
            high = bisect_left(self._starts, min(started_in.end, as_of))
            wanted_enrollments = self._by_start[low:high]
        wanted = {(enrollment.lead_id, enrollment.number) for enrollment in wanted_enrollments}
        wanted_leads = {lead_id for lead_id, _ in wanted}
        # Each wanted lead's enrollments started before `as_of`, by start (they claim its events), and
        # the lead's place: the data set's order of its first such enrollment.
        enrollments_by: dict[str, list[EnrollmentRecord]] = {}
        place: dict[str, int] = {}
        for lead_id in wanted_leads:
            own = self._enrollments[lead_id]
            if len(own) == 1:  # most leads have one, wanted: started before `as_of`
                place[lead_id] = own[0][0]
                enrollments_by[lead_id] = [own[0][1]]
                continue
            started = [(index, e) for index, e in own if e.started_at < as_of]
            place[lead_id] = started[0][0]
            enrollments_by[lead_id] = sorted((e for _, e in started), key=_started)

        facts = []
        no_touches: list[TouchRecord] = []
        for lead_id in sorted(wanted_leads, key=place.__getitem__):
            lead = dataset.leads[lead_id]
            enrollments = enrollments_by[lead_id]
            # The lead's events before `as_of`, each to the enrollment that claims it; stages apart.
            events_by: dict[int, list[EventRecord]] = {}
            stage_events: list[EventRecord] = []
            for event in self._events.get(lead_id, ()):
                if event.at >= as_of:
                    break  # in time order: the rest came later too
                if event.kind in STAGES:
                    stage_events.append(event)
                    continue
                if len(enrollments) == 1:  # most leads: `_enrollment_for` inline
                    only = enrollments[0]
                    named = event.enrollment is not None and event.enrollment == only.number
                    owner = only if named or only.started_at < event.at else None
                else:
                    owner = _enrollment_for(event, enrollments)
                if owner is not None:
                    events_by.setdefault(owner.number, []).append(event)
            lead_touches = self._touches.get(lead_id, no_touches)
            for enrollment in enrollments:
                number = enrollment.number
                if (lead_id, number) not in wanted:
                    continue
                touches = [
                    t for t in lead_touches if t.enrollment == number and (t.at is None or t.at < as_of)
                ]
                reached = [event for event in stage_events if event.at >= enrollment.started_at]
                events = events_by.get(number, [])
                facts.append(_facts(lead, enrollment, touches, events, reached, as_of))
        return facts


_number = attrgetter("number")
_at = attrgetter("at")
_at_then_number = attrgetter("at", "number")


def _started(enrollment: EnrollmentRecord) -> datetime:
    return enrollment.started_at


def _stages(events: list[EventRecord]) -> dict[EventKind, EventRecord]:
    """The stages reached, each at its first time; a later pipeline stage implies the earlier ones."""
    reached: dict[EventKind, EventRecord] = {}
    for event in events:  # in time order
        if event.kind in PIPELINE:
            for kind in PIPELINE[: PIPELINE.index(event.kind) + 1]:
                reached.setdefault(kind, event)
        else:
            reached.setdefault(event.kind, event)
    won = reached.get(EventKind.WON)
    lost = reached.get(EventKind.LOST)
    if won is not None and lost is not None:  # the CRM's last word wins
        del reached[EventKind.LOST if won.at >= lost.at else EventKind.WON]
    return reached


def _facts(
    lead: LeadRecord,
    enrollment: EnrollmentRecord,
    touches: list[TouchRecord],
    events: list[EventRecord],
    stage_events: list[EventRecord],
    as_of: datetime,
) -> Facts:
    """`touches`: the enrollment's records, by number; `events`: those it claims, in time order."""
    delivered = sorted([t for t in touches if t.state in DELIVERED], key=_at_then_number)
    outcomes: dict[EventKind, Outcome] = {}
    for event in events:  # already in time order
        if event.kind not in outcomes:
            outcomes[event.kind] = _attribute(event, touches, delivered)
        elif event.intent is not None and outcomes[event.kind].intent is None:
            # The same answer recorded twice (the stop, and the event carrying the reply's intent).
            first = outcomes[event.kind]
            outcomes[event.kind] = Outcome(first.kind, first.at, first.touch, event.intent)
    # The first of each (in the order the events came, on a tie).
    responses = [outcome for kind, outcome in outcomes.items() if kind in RESPONSES]
    first_response = min(responses, key=_at) if responses else None
    exits = [outcome for kind, outcome in outcomes.items() if kind in EXITS]
    first_exit = min(exits, key=_at) if exits else None
    if first_exit is not None and first_response is not None and first_response.at <= first_exit.at:
        first_exit = None
    arrival = enrollment.number == 1
    touches_to_response = None
    if first_response is not None:
        drawn_by = first_response.touch
        touches_to_response = (
            sum(1 for t in delivered if t.number <= drawn_by.number)
            if drawn_by is not None
            else sum(1 for t in delivered if t.at is not None and t.at <= first_response.at)
        )
    deadline = add_business_days(lead.created_at, MEETING_BUSINESS_DAYS)
    meeting = outcomes.get(EventKind.MEETING)
    # Judged once the 10 business days have passed, for those who booked as for those who did not:
    # counting an early booker at once would lift the rate over leads still in their window.
    meeting_in_time: bool | None = None
    if as_of >= deadline:
        meeting_in_time = meeting is not None and meeting.at <= deadline
    fact = Facts(
        lead=lead,
        enrollment=enrollment,
        touches=touches,
        delivered=delivered,
        outcomes=outcomes,
        first_response=first_response,
        exit=first_exit,
        speed_to_lead=_seconds(lead.created_at, delivered[0].at) if arrival and delivered else None,
        first_human_touch=_first_task_done(lead, delivered) if arrival else None,
        touches_to_response=touches_to_response,
        response_step=(
            first_response.touch.number
            if first_response is not None and first_response.touch is not None
            else None
        ),
        stages=_stages(stage_events) if stage_events else {},
        deal_amount=_deal_amount(stage_events) if stage_events else None,
        meeting_in_time=meeting_in_time,
        # By number: the last in sequence is the highest.
        terminal_step=next((t.number for t in reversed(touches) if in_sequence(t.number)), 0),
    )
    fact.counted = _counted(fact)
    return fact


def _deal_amount(stage_events: list[EventRecord]) -> float | None:
    """The last amount the stage events gave, if any did."""
    return next((e.amount for e in reversed(stage_events) if e.amount is not None), None)


def _first_task_done(lead: LeadRecord, delivered: list[TouchRecord]) -> float | None:
    """Seconds from the form post to the first rep task done, if any."""
    for touch in delivered:
        if touch.state is TouchState.TASK_DONE:
            return _seconds(lead.created_at, touch.at)
    return None


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if end is not None else None


# -- aggregation -----------------------------------------------------------

COUNTED = (*RESPONSES, *OPT_OUTS, EventKind.BOUNCE, *ENGAGEMENT)
COUNTED_KINDS = frozenset(COUNTED)
# The counters a lead adds to a segment, each one bit of an int: a lead's counters over several
# enrollments are their bits or-ed, and a segment counts its leads' distinct sets of bits.
COUNTERS = (
    *(kind.value for kind in COUNTED),
    *(kind.value for kind in sorted(STAGES)),
    "responded",
    "contacted",
    "emailed",
    "arrived",
    "aged",
    "meeting_in_time",
)
BIT = {name: 1 << place for place, name in enumerate(COUNTERS)}
_KIND_BIT = {kind: BIT[kind.value] for kind in (*COUNTED, *STAGES)}
_RESPONSE_BITS = sum(_KIND_BIT[kind] for kind in RESPONSES)


def _counted(fact: Facts) -> int:
    """The counters one enrollment adds to its lead in a segment of enrollments (see `segment`)."""
    counted = 0
    for kind in fact.outcomes:
        if kind in COUNTED_KINDS:
            counted |= _KIND_BIT[kind]
    if counted & _RESPONSE_BITS:
        counted |= BIT["responded"] | BIT["contacted"]
    elif fact.delivered:
        counted |= BIT["contacted"]
    if any(t.channel == "email" for t in fact.delivered):
        counted |= BIT["emailed"]
    if fact.enrollment.number == 1:
        counted |= BIT["arrived"]
    # Lead-level outcomes, not drawn by one touch: stages and the meeting band.
    for kind in fact.stages:
        counted |= _KIND_BIT[kind]
    if fact.meeting_in_time is not None:
        counted |= BIT["aged"] | (BIT["meeting_in_time"] if fact.meeting_in_time else 0)
    return counted


def _touch_counted(fact: Facts) -> tuple[int, ...]:
    """By delivered touch (in `fact.delivered`'s order), the counters it adds to its lead in a segment
    of touches (a channel, a variant, a step): the lead is contacted, each outcome the touch drew
    counts (a response makes the lead responded), and an email makes the lead emailed."""
    if fact.touch_counted is None:
        drawn: dict[int, int] = {}  # id of a delivered touch -> the bits of the outcomes it drew
        for kind, outcome in fact.outcomes.items():
            if kind in COUNTED_KINDS and outcome.touch is not None:  # a delivered touch (_attribute)
                drawn[id(outcome.touch)] = drawn.get(id(outcome.touch), 0) | _KIND_BIT[kind]
        counted = []
        for touch in fact.delivered:
            bits = BIT["contacted"] | drawn.get(id(touch), 0)
            if bits & _RESPONSE_BITS:
                bits |= BIT["responded"]
            if touch.channel == "email":
                bits |= BIT["emailed"]
            counted.append(bits)
        fact.touch_counted = tuple(counted)
    return fact.touch_counted


def segment(facts: Iterable[Facts]) -> SegmentStats:
    """Counts of leads (people) over enrollments: a lead counts once, with everything any of its
    enrollments in the segment counted."""
    facts = list(facts)
    won_amount: dict[str, float] = {}
    pipeline_amount: dict[str, float] = {}
    for fact in facts:
        if fact.deal_amount is not None and EventKind.OPPORTUNITY in fact.stages:
            pipeline_amount[fact.lead.lead_id] = fact.deal_amount
            if EventKind.WON in fact.stages:
                won_amount[fact.lead.lead_id] = fact.deal_amount
    return _stats(
        [fact.lead.lead_id for fact in facts],
        [fact.counted for fact in facts],
        [fact for fact in facts if fact.first_response is not None],
        speeds=[fact.speed_to_lead for fact in facts if fact.speed_to_lead is not None],
        human=[fact.first_human_touch for fact in facts if fact.first_human_touch is not None],
        won_amount=sum(won_amount.values()),
        pipeline_amount=sum(pipeline_amount.values()),
    )


TouchKey = TypeVar("TouchKey", str, int, tuple[str, int, str])


def touch_segments(
    facts: Iterable[Facts], key: Callable[[Facts, TouchRecord], TouchKey | None]
) -> dict[TouchKey, SegmentStats]:
    """Segments of touches, by the `key` of a delivered touch (None: in none), in key order.

    A lead counts in a key's segment if it received a touch with that key, and an outcome counts
    there if a touch with that key drew it.
    """
    ids: dict[TouchKey, list[str]] = defaultdict(list)
    masks: dict[TouchKey, list[int]] = defaultdict(list)
    responders: dict[TouchKey, list[Facts]] = defaultdict(list)
    for fact in facts:
        keyed: dict[TouchKey, int] = {}
        for touch, bits in zip(fact.delivered, fact.touch_counted or _touch_counted(fact), strict=False):
            found = key(fact, touch)
            if found is not None:
                keyed[found] = keyed.get(found, 0) | bits
        if not keyed:
            continue
        first = fact.first_response
        drew = key(fact, first.touch) if first is not None and first.touch is not None else None
        for found, bits in keyed.items():
            ids[found].append(fact.lead.lead_id)
            masks[found].append(bits)
            if found == drew:
                responders[found].append(fact)
    return {found: _stats(ids[found], masks[found], responders[found]) for found in sorted(ids)}


def _stats(
    lead_ids: list[str],
    counted: list[int],
    responders: list[Facts],
    *,
    speeds: Sequence[float] = (),
    human: Sequence[float] = (),
    won_amount: float = 0,
    pipeline_amount: float = 0,
) -> SegmentStats:
    """A segment from its enrollments' leads and counters (in the same order), and the enrollments
    whose first response it counts."""
    leads = len(set(lead_ids))
    if leads == len(lead_ids):  # each lead once (nearly always): its enrollment's counters
        per_lead = Counter(counted)
    else:
        by_lead: dict[str, int] = {}
        for lead_id, bits in zip(lead_ids, counted, strict=True):
            by_lead[lead_id] = by_lead.get(lead_id, 0) | bits
        per_lead = Counter(by_lead.values())
    counts = {name: sum(n for bits, n in per_lead.items() if bits & bit) for name, bit in BIT.items()}
    to_response = [f.touches_to_response for f in responders if f.touches_to_response is not None]
    steps = [f.response_step for f in responders if f.response_step is not None]
    return SegmentStats(
        leads=leads,
        enrollments=len(lead_ids),
        contacted=counts["contacted"],
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
        sql=counts[EventKind.SQL.value],
        opportunities=counts[EventKind.OPPORTUNITY.value],
        won=counts[EventKind.WON.value],
        lost=counts[EventKind.LOST.value],
        won_amount=won_amount,
        pipeline_amount=pipeline_amount,
        meetings_in_time=counts["meeting_in_time"],
        aged=counts["aged"],
        arrived=counts["arrived"],
    )


def variant_key(cadence: str, step: int, variant: str) -> str:
    return f"{cadence} · touch {step} · {variant}"


def grouped(facts: Iterable[Facts], dimension: str) -> dict[str, list[Facts]]:
    """The facts by their value of a lead dimension (the cadence: the enrollment's), in order."""
    groups: dict[str, list[Facts]] = defaultdict(list)
    if dimension == "cadence":
        for fact in facts:
            groups[fact.enrollment.cadence].append(fact)
    else:
        value = attrgetter(dimension)
        for fact in facts:
            groups[str(value(fact.lead))].append(fact)
    return groups


def breakdowns(
    facts: list[Facts], variants: dict[tuple[str, int, str], SegmentStats] | None = None
) -> dict[str, dict[str, SegmentStats]]:
    """By each dimension; `variants`: the facts' `variant_segments`, when already counted."""
    result: dict[str, dict[str, SegmentStats]] = {}
    for dimension in LEAD_DIMENSIONS:
        groups = grouped(facts, dimension)
        result[dimension] = {value: segment(group) for value, group in sorted(groups.items())}
    result["channel"] = touch_segments(facts, _channel)
    counted = variant_segments(facts) if variants is None else variants
    result["variant"] = {variant_key(*key): stats for key, stats in counted.items()}
    return result


def variant_segments(facts: list[Facts]) -> dict[tuple[str, int, str], SegmentStats]:
    """(cadence, step, variant) -> the leads who received that variant and what its touches drew: the
    variant rows and the A/B arms both read these, so an arm and its row cannot disagree."""
    return touch_segments(facts, _variant)


def _at_step(step: int) -> Callable[[Facts, TouchRecord], int | None]:
    return lambda _, touch: step if touch.number == step else None


def _channel(fact: Facts, touch: TouchRecord) -> str:
    return touch.channel


def _variant(fact: Facts, touch: TouchRecord) -> tuple[str, int, str] | None:
    return None if touch.variant is None else (fact.enrollment.cadence, touch.number, touch.variant)


def dropoff(facts: list[Facts], plans: dict[str, CadencePlan]) -> dict[str, list[StepRow]]:
    by_cadence: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        by_cadence[fact.enrollment.cadence].append(fact)
    return {cadence: _dropoff(group, plans.get(cadence)) for cadence, group in sorted(by_cadence.items())}


def _dropoff(facts: list[Facts], plan: CadencePlan | None) -> list[StepRow]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    channels: dict[int, Counter[str]] = defaultdict(Counter)
    # The sequence's length: its plan's, or the furthest any enrollment went (an older version).
    length = max([len(plan.steps) if plan else 0, *(fact.terminal_step for fact in facts)])
    ended_at: Counter[int] = Counter()  # enrollments by last step: each was due at every step up to it
    for fact in facts:
        # in_sequence(number), inline: this runs for every touch of the 90 days.
        for step in {touch.number for touch in fact.delivered if SPEED_TOUCH < touch.number < REPLY_TOUCH}:
            counts[step]["reached"] += 1
        for touch in fact.touches:
            number = touch.number
            if not SPEED_TOUCH < number < REPLY_TOUCH:
                continue
            channels[number][touch.channel] += 1
            if touch.state is TouchState.TASK_OPEN:
                counts[number]["open_tasks"] += 1
            elif touch.state is TouchState.SKIPPED:
                counts[number]["skipped"] += 1
        reply = fact.outcomes.get(EventKind.REPLY)
        if reply is not None and reply.touch is not None and in_sequence(reply.touch.number):
            counts[reply.touch.number]["replies"] += 1
        last = fact.terminal_step
        if last == 0:
            continue  # enrolled, first step not due yet: reaches no step
        ended_at[last] += 1
        counts[last][_ending(fact, last >= length)] += 1
    for last, enrollments in ended_at.items():
        for step in range(1, last + 1):
            counts[step]["due"] += enrollments
    replies = sum(row["replies"] for row in counts.values())
    rows = []
    last_step = max([*counts, length], default=0)
    for step in range(1, last_step + 1):
        if plan is not None and step <= len(plan.steps):
            channel = plan.steps[step - 1].channel
        else:
            channel = channels[step].most_common(1)[0][0] if channels[step] else "?"
        row = counts[step]
        rows.append(
            StepRow(
                step=step,
                channel=channel,
                due=row["due"],
                reached=row["reached"],
                responded=row["responded"],
                opted_out=row["opted_out"],
                bounced=row["bounced"],
                other_stops=row["other_stops"],
                account_stops=row["account_stops"],
                waiting=row["waiting"],
                finished=row["finished"],
                open_tasks=row["open_tasks"],
                skipped=row["skipped"],
                replies=row["replies"],
                reply_share=rate(row["replies"], replies),
            )
        )
    return rows


def _ending(fact: Facts, at_last_step: bool) -> str:
    """The one column an enrollment ends in, at its last step."""
    if fact.first_response is not None:
        return "responded"
    if fact.exit is not None:
        return {
            EventKind.UNSUBSCRIBE: "opted_out",
            EventKind.COMPLAINT: "opted_out",
            EventKind.BOUNCE: "bounced",
        }.get(fact.exit.kind, "other_stops")
    if EventKind.ACCOUNT in fact.outcomes:
        return "account_stops"
    return "finished" if at_last_step else "waiting"


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


# After a cadence's last touch: time for a late answer to land, and for weekends and send windows
# that push touches past their playbook day.
OUTCOME_GRACE = timedelta(days=7)
# A cadence whose length the report does not know (an older or removed one): the playbooks' longest
# sequence (21 days) and the grace.
DEFAULT_OUTCOME_WINDOW = timedelta(days=28)


def outcome_window(plan: CadencePlan | None) -> timedelta:
    """How long after enrolling a lead's outcome is settled: its cadence's span and the grace."""
    if plan is None or plan.days <= 0:
        return DEFAULT_OUTCOME_WINDOW
    return timedelta(days=plan.days - 1) + OUTCOME_GRACE


@dataclass(frozen=True, slots=True)
class Cohort:
    """The enrollments a band judges: started in the window at least one outcome window before its
    end, so each lead's outcome window has fully passed, and responders and non-responders are
    counted at the same point (the window's end). Counting leads "when they finished" instead counts
    a responder at once and a non-responder only after the last step: it inflates every rate."""

    window: Window
    outcome: timedelta

    @property
    def end(self) -> datetime:
        return max(self.window.start, self.window.end - self.outcome)

    def __contains__(self, started_at: datetime) -> bool:
        return self.window.start <= started_at and started_at + self.outcome <= self.window.end

    @property
    def label(self) -> str:
        youngest = self.outcome.days
        oldest = (self.window.end - self.window.start).days
        if youngest >= oldest:
            return f"no leads yet: none enrolled {youngest} days or more ago in the window"
        return f"leads enrolled {youngest}–{oldest} days ago (their {youngest}-day outcome window has passed)"


def window_metrics(facts: list[Facts], window: Window, plans: dict[str, CadencePlan]) -> WindowMetrics:
    inside = [fact for fact in facts if fact.enrollment.started_at in window]
    cohorts = {
        cadence: Cohort(window, outcome_window(plans.get(cadence)))
        for cadence in sorted({fact.enrollment.cadence for fact in inside})
    }
    # A lead stopped because a colleague answered is neither a response nor a loss: not judged.
    done = [
        fact
        for fact in inside
        if fact.enrollment.started_at in cohorts[fact.enrollment.cadence]
        and (fact.first_response is not None or EventKind.ACCOUNT not in fact.outcomes)
    ]
    settled = {dimension: grouped(done, dimension) for dimension in ("cadence", "owner")}
    histogram = Counter(fact.touches_to_response for fact in inside if fact.touches_to_response is not None)
    first: dict[str, datetime] = {}
    types: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in inside:
        cadence = fact.enrollment.cadence
        if cadence not in first or fact.enrollment.started_at < first[cadence]:
            first[cadence] = fact.enrollment.started_at
        types[cadence][fact.lead.lead_type] += 1
    variants = variant_segments(inside)
    broken = breakdowns(inside, variants)
    return WindowMetrics(
        window=window,
        overall=segment(inside),
        breakdowns=broken,
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
        cohorts=cohorts,
        cohort=segment(done),
        breakup=breakups(done, plans),  # a band judges it: the complete cohorts
        not_started=dict(Counter(f.enrollment.cadence for f in inside if f.terminal_step == 0)),
        stages_tracked=any(fact.stages for fact in inside),
        intents=intent_mix(inside, broken.get("cadence", {})),
        variants=variants,
    )


def breakup_step(plan: CadencePlan) -> int | None:
    """The cadence's break-up touch: its last touch whose message is a break-up for some lead."""
    found = [number for number, step in enumerate(plan.steps, start=1) if step.break_up_forms]
    return found[-1] if found else None


def breakups(facts: list[Facts], plans: dict[str, CadencePlan]) -> dict[str, SegmentStats]:
    """By cadence, the leads its break-up went to (a dormant content lead gets the nurture close at the
    same step, not a break-up) and the replies it drew."""
    result = {}
    for name, plan in sorted(plans.items()):
        step = breakup_step(plan)
        if step is None:
            continue
        forms = plan.steps[step - 1].break_up_forms
        group = [
            fact
            for fact in facts
            if fact.enrollment.cadence == name and (ANY_FORM in forms or fact.lead.form in forms)
        ]
        result[name] = touch_segments(group, _at_step(step)).get(step) or _stats([], [], [])
    return result


# -- rep activity ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepActivity:
    """One owner's week. Tasks that fell due in the window, each in one state at its end: done or still
    open (overdue), so done + overdue = due; open tasks that fell due before the window are apart."""

    owner: str
    due: int  # tasks that fell due in the window
    done: int  # ...whose outcome was recorded by the window's end
    overdue: int  # ...still open at the window's end
    first_human_touch: Summary  # new leads in the window: form post to the first task done
    within_target: int  # ...of those, reached by a person within the target
    leads: int  # leads (people) who arrived in the window
    responded: int
    earlier_open: int = 0  # tasks that fell due before the window and are still open at its end

    @property
    def contact_rate(self) -> float | None:
        return rate(self.responded, self.leads)


def rep_activity(facts: list[Facts], window: Window, target_seconds: float) -> list[RepActivity]:
    """Per owner; `facts` cover every enrollment known at the window's end (tasks of older leads too)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    people: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        owner = fact.lead.owner
        for touch in fact.touches:
            if touch.state not in (TouchState.TASK_DONE, TouchState.TASK_OPEN):
                continue
            due = touch.due or touch.at
            if due is None or due >= window.end:
                continue
            is_open = touch.state is TouchState.TASK_OPEN
            if due >= window.start:
                counts[owner]["due"] += 1
                counts[owner]["overdue" if is_open else "done"] += 1
            elif is_open:
                counts[owner]["earlier_open"] += 1
        if fact.enrollment.started_at in window:
            people[owner].append(fact)
    rows = []
    for owner in sorted(counts.keys() | people.keys()):
        stats = segment(people.get(owner, []))
        human = [f.first_human_touch for f in people.get(owner, []) if f.first_human_touch is not None]
        rows.append(
            RepActivity(
                owner=owner,
                due=counts[owner]["due"],
                done=counts[owner]["done"],
                overdue=counts[owner]["overdue"],
                first_human_touch=stats.first_human_touch,
                within_target=sum(1 for seconds in human if seconds <= target_seconds),
                leads=stats.leads,
                responded=stats.responded,
                earlier_open=counts[owner]["earlier_open"],
            )
        )
    return rows


# -- human speed to lead ---------------------------------------------------

# The speed-to-lead call task's touch number (send.speed.SPEED_TOUCH): before the cadence's own touches.
SPEED_CALL_TOUCH = 0


@dataclass(frozen=True, slots=True)
class HumanSpeed:
    """New leads owed a call within minutes (their speed-to-lead call task came due) and how fast a
    person reached them: form post to the first rep task done (Facts.first_human_touch).

    A lead never called is a miss, and counts in the median as slower than any call: it is never
    left out. `owner` is "" for everyone.
    """

    owner: str
    leads: int
    called: int
    within_target: int
    median: float | None  # seconds; math.inf when half or more were never called; None for no leads

    @property
    def misses(self) -> int:
        return self.leads - self.within_target

    @property
    def never_called(self) -> int:
        return self.leads - self.called

    @property
    def within_rate(self) -> float | None:
        return rate(self.within_target, self.leads)


def median_with_misses(seconds: Sequence[float], misses: int) -> float | None:
    """The median of `seconds` and `misses` values slower than all of them (math.inf)."""
    ordered = [*sorted(seconds), *([math.inf] * misses)]
    if not ordered:
        return None
    middle = (len(ordered) - 1) / 2
    low, high = ordered[math.floor(middle)], ordered[math.ceil(middle)]
    return math.inf if math.inf in (low, high) else (low + high) / 2


def owed_speed_call(fact: Facts) -> bool:
    """A new lead (first enrollment) whose speed-to-lead call task came due (done or still open)."""
    touches = fact.touches  # by number: without a touch numbered this low at its start, none
    return (
        fact.enrollment.number == 1
        and bool(touches)
        and touches[0].number <= SPEED_CALL_TOUCH
        and any(
            t.number == SPEED_CALL_TOUCH and t.state in (TouchState.TASK_DONE, TouchState.TASK_OPEN)
            for t in touches
        )
    )


def human_speed(facts: Iterable[Facts], window: Window, target_seconds: float) -> list[HumanSpeed]:
    """Everyone first, then each owner: the new leads of `window` owed a speed call."""
    groups: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        if fact.enrollment.started_at in window and owed_speed_call(fact):
            groups[""].append(fact)
            groups[fact.lead.owner].append(fact)
    rows: list[HumanSpeed] = []
    if not groups:
        return rows  # nobody was owed a speed call
    for owner in ["", *sorted(key for key in groups if key)]:
        group = groups.get(owner, [])
        called = [f.first_human_touch for f in group if f.first_human_touch is not None]
        rows.append(
            HumanSpeed(
                owner=owner,
                leads=len(group),
                called=len(called),
                within_target=sum(1 for seconds in called if seconds <= target_seconds),
                median=median_with_misses(called, len(group) - len(called)),
            )
        )
    return rows


# -- meetings: show rate and the recap -------------------------------------

RECAP_WITHIN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class MeetingFlow:
    """Meetings booked in the window (post-meeting enrollments started in it) and what became of them.

    Missed: a missed-meeting (rebook) enrollment of the lead followed before its next booking, as a
    cancellation or a no-show starts one. Held: not missed, and the recap came due (it waits for the
    meeting's end). The rest are still ahead. A recap is judged once sent, or once its 24 hours
    from falling due have passed: in time if it went out within them.
    """

    cadence: str
    booked: int
    held: int
    missed: int
    recaps_due: int
    recaps_in_time: int

    @property
    def show_rate(self) -> float | None:
        return rate(self.held, self.held + self.missed)

    @property
    def recap_rate(self) -> float | None:
        return rate(self.recaps_in_time, self.recaps_due)


def recap_step(plan: CadencePlan) -> int:
    """The post-meeting recap: the step named for it, else the first."""
    return next((number for number, step in enumerate(plan.steps, start=1) if "recap" in step.name), 1)


def meeting_flows(
    facts: Iterable[Facts], window: Window, plans: dict[str, CadencePlan], as_of: datetime
) -> dict[str, MeetingFlow]:
    """By post-meeting cadence (CadencePlan.flow): bookings of `window`, held, missed, recaps in time."""
    booked = {name for name, plan in plans.items() if plan.flow == "post-meeting"}
    missed_flows = {name for name, plan in plans.items() if plan.flow == "rebook"}
    by_lead: dict[str, list[Facts]] = defaultdict(list)
    for fact in facts:
        by_lead[fact.lead.lead_id].append(fact)
    counts: dict[str, Counter[str]] = {name: Counter() for name in sorted(booked)}
    for lead_facts in by_lead.values():
        lead_facts.sort(key=lambda f: f.enrollment.started_at)
        for index, fact in enumerate(lead_facts):
            cadence = fact.enrollment.cadence
            if cadence not in booked or fact.enrollment.started_at not in window:
                continue
            row = counts[cadence]
            row["booked"] += 1
            later = []
            for other in lead_facts[index + 1 :]:
                if other.enrollment.cadence in booked:
                    break  # the next booking: a miss after it is that meeting's
                later.append(other.enrollment.cadence)
            step = recap_step(plans[cadence])
            recap = next((t for t in fact.touches if t.number == step), None)
            if any(name in missed_flows for name in later):
                row["missed"] += 1
            elif recap is not None:
                row["held"] += 1
                fell_due = recap.due or recap.at
                if recap.delivered and recap.at is not None:
                    row["recaps_due"] += 1
                    if fell_due is None or recap.at - fell_due <= RECAP_WITHIN:
                        row["recaps_in_time"] += 1
                elif fell_due is None or as_of - fell_due > RECAP_WITHIN:
                    row["recaps_due"] += 1  # skipped, or still open past its 24 hours
    return {
        name: MeetingFlow(
            cadence=name,
            booked=row["booked"],
            held=row["held"],
            missed=row["missed"],
            recaps_due=row["recaps_due"],
            recaps_in_time=row["recaps_in_time"],
        )
        for name, row in counts.items()
    }
