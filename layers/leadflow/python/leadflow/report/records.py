"""The plain records the report aggregates: no boto3, no pydantic, no personal data.

The data-access adapter (`leadflow.report.source`) maps stored items to these;
tests and the benchmark build them directly. A field the writers do not record
yet is absent (None or "unknown"), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

UNKNOWN = "unknown"
ANY_FORM = "*"
UNASSIGNED = "unassigned"
NO_CAMPAIGN = "none"  # a post without utm_campaign

# Channels worked by a rep as a task; the others are sent automatically.
REP_TASK_CHANNELS = frozenset({"call", "linkedin", "video"})


class EventKind(StrEnum):
    REPLY = "reply"
    CONNECTED = "connected"
    MEETING = "meeting"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    BOUNCE = "bounce"
    OTHER_STOP = "other_stop"
    # Stopped because a colleague at the same company answered: neither a response nor a loss.
    ACCOUNT = "account"
    OPEN = "open"
    CLICK = "click"
    # Sales stages a CRM (or `leadflow stage`) sets on the lead: not tied to any enrollment or touch.
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"


# A response is a human answer: a reply, a connected call, or a meeting.
RESPONSES = frozenset({EventKind.REPLY, EventKind.CONNECTED, EventKind.MEETING})
OPT_OUTS = frozenset({EventKind.UNSUBSCRIBE, EventKind.COMPLAINT})
# Ways a lead leaves a sequence without responding.
EXITS = frozenset({EventKind.UNSUBSCRIBE, EventKind.COMPLAINT, EventKind.BOUNCE, EventKind.OTHER_STOP})
ENGAGEMENT = frozenset({EventKind.OPEN, EventKind.CLICK})
# Ordered: a lead at a later stage has passed the earlier ones (a CRM may skip straight to a deal).
PIPELINE = (EventKind.SQL, EventKind.OPPORTUNITY, EventKind.WON)
STAGES = frozenset({*PIPELINE, EventKind.LOST})


# Rep tasks that ride on an enrollment without being one of its cadence's steps: the speed-to-lead
# call (send.speed.SPEED_TOUCH) and the answer to a reply (answers.reply_actions.REPLY_TOUCH).
SPEED_TOUCH = 0
REPLY_TOUCH = 99


def in_sequence(number: int) -> bool:
    """A cadence step's touch, not a task the engine added around it."""
    return SPEED_TOUCH < number < REPLY_TOUCH


class TouchState(StrEnum):
    SENT = "sent"  # an automated send went out
    SKIPPED = "skipped"  # due, but not sent (no consent, invalid number, ...)
    TASK_DONE = "task_done"  # a rep task whose outcome is recorded: it counts as a touch
    TASK_OPEN = "task_open"  # a rep task without an outcome yet: shown apart


DELIVERED = frozenset({TouchState.SENT, TouchState.TASK_DONE})


@dataclass(frozen=True, slots=True)
class LeadRecord:
    lead_id: str
    created_at: datetime
    source: str = UNKNOWN
    fit_band: str = UNKNOWN
    owner: str = UNASSIGNED
    # "inbound" for every public post; "dormant", "cold", "customer"... from server-to-server sources.
    lead_type: str = "inbound"
    form: str = UNKNOWN
    utm_campaign: str = NO_CAMPAIGN


@dataclass(frozen=True, slots=True)
class EnrollmentRecord:
    lead_id: str
    number: int
    cadence: str
    started_at: datetime
    # A hash of the cadence file and its templates when the lead was enrolled (None: not recorded).
    version: str | None = None


# Touches and events are built over a million times per report at 100k leads: NamedTuples, immutable
# like the frozen dataclasses beside them and built ~3x faster (a frozen dataclass sets each field
# through object.__setattr__).
class TouchRecord(NamedTuple):
    lead_id: str
    enrollment: int
    number: int
    channel: str
    state: TouchState
    # When it went out (sent) or when the rep recorded the outcome (task); None for open/skipped ones.
    at: datetime | None
    variant: str | None = None
    outcome: str | None = None
    # Rep tasks: when the task fell due.
    due: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.state in DELIVERED


class EventRecord(NamedTuple):
    lead_id: str
    kind: EventKind
    at: datetime
    # The enrollment and touch that drew it, when the writer knew them.
    enrollment: int | None = None
    touch: int | None = None
    channel: str | None = None
    amount: float | None = None  # a deal's value, for stage events
    # A human reply's intent (answers.intent; a rep's correction replaces it), None for other events.
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class SnoozeRecord:
    """A not-now lead due back on `due` (its not-now cadence's first day)."""

    lead_id: str
    due: datetime
    owner: str = UNASSIGNED


@dataclass(frozen=True, slots=True)
class CadenceStep:
    channel: str
    effort: int  # rank: 1 low, 2 medium, 3 high
    name: str = ""
    # The forms (UNKNOWN: no form; ANY_FORM: every lead) whose leads this step sends a break-up, as
    # the copy rule reads its message (send.lint.break_up_forms); empty: no break-up.
    break_up_forms: frozenset[str] = frozenset()


# What a cadence is for, which decides the bands it is judged by (report.diagnostics.FLOW_BANDS).
FLOWS = ("new-lead", "re-engagement", "not-now", "post-meeting", "rebook")


@dataclass(frozen=True, slots=True)
class CadencePlan:
    """A cadence as the report needs it: its steps' channels and effort ranks, and its flow."""

    name: str
    steps: tuple[CadenceStep, ...]
    # One of FLOWS, from the routing config (meeting booked / missed, re-engagement, not now);
    # "" for a cadence routing enters (new leads: inbound, cold or dormant by the leads' type).
    flow: str = ""
    days: int = 0  # the playbook day of its last touch (day 1: the lead arrives); 0: not known


@dataclass(slots=True)
class Dataset:
    """Everything the report reads for one run; `skipped` counts items it could not use, by reason."""

    leads: dict[str, LeadRecord] = field(default_factory=dict)
    enrollments: list[EnrollmentRecord] = field(default_factory=list)
    touches: list[TouchRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
