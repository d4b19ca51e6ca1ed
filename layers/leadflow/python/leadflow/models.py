"""Domain models: a lead's contact status and each enrollment's run status, kept apart."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class ContactStatus(StrEnum):
    """Where the relationship with the lead stands, across all cadences."""

    ACTIVE = "active"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    OPTED_OUT = "opted_out"
    BOUNCED = "bounced"


# A lead who replied or booked may still get a later cadence (post-meeting follow-up).
CONTACTABLE = frozenset({ContactStatus.ACTIVE, ContactStatus.REPLIED, ContactStatus.MEETING_BOOKED})


class RunStatus(StrEnum):
    """Where one enrollment of a lead in a cadence stands."""

    RUNNING = "running"
    STOPPED = "stopped"
    COMPLETED = "completed"


class StopReason(StrEnum):
    REPLY = "reply"
    MEETING_BOOKED = "meeting_booked"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    BOUNCE = "bounce"
    OPERATOR = "operator"


Text = str


class LeadSubmission(BaseModel):
    """What a web form posts to POST /leads."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=254)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=100, description="Form or source id, e.g. demo-request.")
    message: str | None = Field(None, max_length=5000)


class Lead(BaseModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    status: ContactStatus = ContactStatus.ACTIVE
    status_reason: str | None = None
    created_at: datetime
    enrollments: int = 0


class Enrollment(BaseModel):
    lead_id: str
    number: int
    cadence: str
    run_status: RunStatus = RunStatus.RUNNING
    stop_reason: StopReason | None = None
    stopped_at: datetime | None = None
    # The touch that drew the stop (the last claimed touch when it was recorded).
    stopped_after_touch: int | None = None
    last_touch: int = 0
    schedule: list[datetime]
    execution_arn: str | None = None
    started_at: datetime

    @property
    def execution_name(self) -> str:
        return execution_name(self.lead_id, self.cadence, self.number)


def execution_name(lead_id: str, cadence: str, enrollment: int) -> str:
    """`{lead_id}-{cadence}-{enrollment}`: unique per enrollment, stable across retried starts."""
    return f"{lead_id}-{cadence}-{enrollment}"


class Touch(BaseModel):
    lead_id: str
    enrollment: int
    number: int
    cadence: str
    channel: str
    template: str
    sent_at: datetime
    message_id: str | None = None


class TouchRequest(BaseModel):
    """The step function's input: ids only, as the state machine passes them."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    cadence: str
    enrollment: int = Field(ge=1)
    touch: int = Field(ge=1)


class TouchResult(BaseModel):
    next_at: str | None = None
    outcome: str
