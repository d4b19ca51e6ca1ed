"""Domain models: a lead's contact status and each enrollment's run status, kept apart.

Every function imports this module; the models most of their calls never validate (a form post, a
rep task, held posts and mail, meetings, the step's rarer requests) say `defer_build=True`: each
builds its validator on first use, by the call that needs it, not at every cold start (~45M
instructions, ~6 ms, of each function's import and first call; bench/coldstart.py).
"""

# No `from __future__ import annotations` in this module: its models' field annotations stay objects,
# which pydantic reads as they are, instead of compiling each one from its string on every cold start
# (models, operator_config and cadence.model: ~25M instructions, ~3.5 ms, of the intake's and the
# step's imports).

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadflow import fields
from leadflow.cadence.terms import ContactStatus, FitBand

# A lead who replied or booked may still get a later cadence (post-meeting follow-up).
CONTACTABLE = frozenset({ContactStatus.ACTIVE, ContactStatus.REPLIED, ContactStatus.MEETING_BOOKED})


class RunStatus(StrEnum):
    """Where one enrollment of a lead in a cadence stands."""

    RUNNING = "running"
    # Stored, but StartExecution failed (Step Functions unavailable): `leadflow sweep` starts it.
    PENDING = "pending"
    STOPPED = "stopped"
    COMPLETED = "completed"
    # The execution gave up on a touch (an error retries could not fix): see failure_error and
    # failed_touch. `leadflow sweep` retries it when the error was transient.
    FAILED = "failed"


class Intent(StrEnum):
    """What a human reply says (answers.intent reads it; cadence.enrollments holds enrollment on it)."""

    INTERESTED = "interested"
    QUESTION = "question"
    NOT_NOW = "not_now"
    REFERRAL = "referral"
    WRONG_PERSON = "wrong_person"
    NOT_INTERESTED = "not_interested"
    UNSUBSCRIBE = "unsubscribe"


class StopReason(StrEnum):
    REPLY = "reply"
    # A rep's call task: the lead picked up.
    CONNECTED = "connected"
    MEETING_BOOKED = "meeting_booked"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    BOUNCE = "bounce"
    OPERATOR = "operator"
    CONSENT_WITHDRAWN = "consent_withdrawn"  # a later post said email_consent=false
    # Another contact at the same company answered or booked (account-level stop).
    ACCOUNT = "account"
    # A post-meeting enrollment whose meeting moved (a new enrollment follows the new time),
    # was cancelled, or was missed (both start the rebook cadence instead).
    RESCHEDULED = "rescheduled"
    MEETING_CANCELED = "meeting_canceled"
    NO_SHOW = "no_show"


Text = str

# The honeypot: hidden from people by the form's CSS, filled in by bots. A name browsers do not autofill.
HONEYPOT_FIELD = "fax"
MAX_CUSTOM_FIELDS = 20
CUSTOM_FIELD_NAME = r"^[^\x00-\x1f\x7f]{1,64}$"
MAX_CUSTOM_VALUE = 500
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Form controls, not lead data: where to send the browser after the post.
CONTROL_FIELDS = frozenset({"redirect", "error_redirect", HONEYPOT_FIELD})
TRUSTED_FIELDS = frozenset({"score", "lead_type", "owner"})

Email = Annotated[
    str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(fields.email_address)
]
CustomFields = dict[
    Annotated[str, StringConstraints(pattern=CUSTOM_FIELD_NAME)],
    Annotated[str, StringConstraints(max_length=MAX_CUSTOM_VALUE)],
]


CONSENT_FIELDS = ("email_consent", "sms_consent")
FORM_TRUE = frozenset({"on", "true", "1", "yes"})
FORM_FALSE = frozenset({"off", "false", "0", "no"})


class LeadSubmission(BaseModel):
    """What a web form posts to POST /leads, as JSON or as an HTML form (x-www-form-urlencoded).

    Every string is length-capped. Blank optional fields count as not given. Fields this model
    does not name go into `custom_fields` (at most 20; longer values are cut, the rest dropped).
    """

    model_config = ConfigDict(defer_build=True, extra="ignore", str_strip_whitespace=True)

    email: Email = Field(description="Required. Syntax-checked (no DNS lookup) and lowercased.")
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    country: Annotated[str, AfterValidator(fields.country_code)] | None = Field(
        default=None, max_length=2, description="ISO 3166-1 alpha-2, e.g. US."
    )
    timezone: Annotated[str, AfterValidator(fields.time_zone)] | None = Field(
        default=None, max_length=64, description="IANA time zone, e.g. America/New_York."
    )
    # After `country`: a national number is read in the lead's country.
    phone: str | None = Field(
        default=None,
        max_length=40,
        description="Stored as E.164. Numbers without +country code are read in `country`, "
        "else in the operator's default region.",
    )
    source: str | None = Field(
        default=None,
        max_length=100,
        description="Where the lead came from, for attribution only (website, g2, partner); never routes.",
    )
    form: str | None = Field(
        default=None,
        max_length=100,
        description="Which form was filled in, e.g. demo-request: an id of the forms catalogue "
        "(config/leadflow.yaml). It routes the lead and decides what its messages may say.",
    )
    utm_source: str | None = Field(default=None, max_length=200)
    utm_medium: str | None = Field(default=None, max_length=200)
    utm_campaign: str | None = Field(default=None, max_length=200)
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)
    email_consent: bool | None = Field(
        default=None,
        description="Consent to marketing email. false: no automated email, a rep follows up by hand.",
    )
    sms_consent: bool | None = Field(default=None, description="Consent to text messages.")
    message: str | None = Field(default=None, max_length=5000)
    custom_fields: CustomFields = Field(default_factory=dict, max_length=MAX_CUSTOM_FIELDS)
    redirect: str | None = Field(
        default=None,
        max_length=2048,
        description="HTML forms: thank-you page, followed only on an allowed origin.",
    )
    error_redirect: str | None = Field(
        default=None,
        max_length=2048,
        description="HTML forms: the form page, to show field errors (allowed origin).",
    )
    fax: str | None = Field(
        default=None, max_length=1000, description="Honeypot: leave empty (hidden from people)."
    )
    # Only an authenticated server-to-server post (X-Api-Key) may set these; a public post's are ignored.
    score: int | None = Field(default=None, ge=0, le=100, description="Fit score (server-to-server only).")
    lead_type: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        max_length=40,
        description="e.g. dormant (server-to-server only; public posts are inbound).",
    )
    owner: str | None = Field(default=None, max_length=40, description="Rep id (server-to-server only).")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent_and_unknown_is_custom(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        form = bool((info.context or {}).get("form"))
        known = {name: value for name, value in data.items() if name in cls.model_fields}
        for name, value in known.items():
            blank = isinstance(value, str) and not value.strip()
            # An empty checkbox value means "not given" in a form; in JSON a consent must be a boolean.
            if blank and name != "email" and (form or name not in CONSENT_FIELDS):
                known[name] = None
        unknown = {name: value for name, value in data.items() if name not in cls.model_fields}
        if unknown and isinstance(known.get("custom_fields") or {}, dict):
            known["custom_fields"] = _custom_fields(known.get("custom_fields") or {}, unknown)
        return known

    @field_validator("score", mode="before")
    @classmethod
    def _whole_number(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON sends a number (not "92", not true); a form sends its digits as text."""
        if value is None or (info.context or {}).get("form"):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a whole number")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _one_value(cls, value: Any, info: ValidationInfo) -> Any:
        """A form that repeats a field's name (other than a consent checkbox) is ambiguous: refuse it."""
        repeated = isinstance(value, list) and (info.context or {}).get("form")
        if repeated and info.field_name not in CONSENT_FIELDS:
            raise ValueError(f"was sent {len(value)} times; send it once")
        return value

    @field_validator(*CONSENT_FIELDS, mode="before")
    @classmethod
    def _consent(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON consents are booleans; HTML forms send checkbox strings ("on", "true", "1", "yes")."""
        if value is None or isinstance(value, bool):
            return value
        if not (info.context or {}).get("form"):
            raise ValueError("must be true or false")
        # A hidden `false` before the checkbox sends the name twice: every value must be a
        # checkbox value, and the last one wins.
        values = value if isinstance(value, list) else [value]
        answers = [_checkbox(item) for item in values]
        if None in answers:
            raise ValueError("must be true or false")
        return answers[-1]

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        region = info.data.get("country") or (info.context or {}).get("default_phone_region")
        return fields.phone_number(value, region)

    @field_validator("source", "form")
    @classmethod
    def _lowercase(cls, value: str | None) -> str | None:
        return value.lower() if value else None

    def lead_fields(self) -> dict[str, Any]:
        """What the lead record keeps from the post: everything but the email, the form controls and
        the fields only a trusted caller may set (intake decides those)."""
        return self.model_dump(exclude={"email", *CONTROL_FIELDS, *TRUSTED_FIELDS}, exclude_none=True)


BLANK = {"type": "string", "pattern": r"^\s*$", "description": "Blank: the same as not given."}


def submission_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schemas of a lead post, as JSON and as an HTML form, saying what the model does.

    Both: a blank optional field counts as not given. A form sends custom fields as inputs of
    their own (there is no nested map in a form), and its consents as checkbox
    text ("on", "true", "1", "yes" / "off", "false", "0", "no", any case), possibly twice (a
    hidden `false`, then the checkbox), and the last value wins.
    """
    as_json = LeadSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, prop in as_json["properties"].items():
        if name not in {"email", "custom_fields", *CONSENT_FIELDS}:
            prop["anyOf"] = [*prop.get("anyOf", []), BLANK]
    as_form = json.loads(json.dumps(as_json))
    as_form["title"] = "LeadSubmissionForm"
    # A form has no nested map: its own extra inputs are the custom fields.
    del as_form["properties"]["custom_fields"]
    as_form["description"] = as_form["description"].replace("`custom_fields`", "the custom fields")
    checkbox = {"type": "string", "pattern": _any_case(FORM_TRUE | FORM_FALSE)}
    for name in CONSENT_FIELDS:
        prop = as_form["properties"][name]
        prop["anyOf"] = [
            {"type": "boolean"},
            checkbox,
            {"type": "array", "items": {"anyOf": [{"type": "boolean"}, checkbox]}, "minItems": 1},
            {"type": "null"},
            BLANK,
        ]
        prop["description"] += " Sent twice (a hidden false, then the checkbox): the last value wins."
    return as_json, as_form


def _any_case(words: frozenset[str]) -> str:
    """A JSON Schema pattern (no inline flags there) for these words in any case, spaces around."""
    spelled = ("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in sorted(words))
    return rf"^\s*({'|'.join(spelled)})\s*$"


def _checkbox(value: Any) -> bool | None:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in FORM_TRUE:
            return True
        if lowered in FORM_FALSE:
            return False
    return None


def _custom_fields(given: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    """Add unknown scalar fields to the custom map while it has room; values are cut to length.

    A list of strings (a multi-select, or a name a form repeats) is kept as its values joined.
    """
    merged = dict(given)
    for name, value in unknown.items():
        if len(merged) >= MAX_CUSTOM_FIELDS:
            break
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = ", ".join(item.strip() for item in value if item.strip())
        if isinstance(value, bool | int | float):
            value = json.dumps(value)
        if not isinstance(value, str) or not value.strip() or name in merged:
            continue
        if re.fullmatch(CUSTOM_FIELD_NAME, name):
            merged[name] = value.strip()[:MAX_CUSTOM_VALUE]
    return merged


class Lead(BaseModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    phone: str | None = None
    country: str | None = None
    timezone: str | None = None
    email_consent: bool | None = None
    sms_consent: bool | None = None
    message: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    custom_fields: dict[str, str] = Field(default_factory=dict)
    form: str | None = None
    lead_type: str = "inbound"
    score: int = 0
    band: FitBand = FitBand.LOW
    owner: str | None = None
    # The API client that posted the lead (server-to-server), None for a public form.
    posted_by: str | None = None
    status: ContactStatus = ContactStatus.ACTIVE
    status_reason: str | None = None
    created_at: datetime
    enrollments: int = 0
    # Why intake stored the lead without a cadence on purpose (`first_touch_limit`: its inbox or phone
    # already had today's automated first touch); `leadflow audit` does not count it as lost.
    held_back: str | None = None
    # When the lead texted YES to the SMS opt-in request (abuse.sms_double_opt_in countries only).
    sms_confirmed_at: datetime | None = None
    # Posts after the first: an engagement signal (each one is also a SUBMISSION item).
    resubmissions: int = 0
    last_submitted_at: datetime | None = None
    # The sales stage the CRM last set (sql, opportunity, won, lost), when, and the deal's value.
    stage: str | None = None
    stage_at: datetime | None = None
    amount: Decimal | None = None
    # What the latest human reply said (answers.intent): the intent, the line that decided it, who
    # decided (the rules, a model, or `rep` after a correction), when the reply came, and for
    # not_now the day the lead asked to hear from us again (their zone), for referral the person.
    reply_intent: str | None = None
    reply_intent_line: str | None = None
    reply_intent_by: str | None = None
    reply_at: datetime | None = None
    snoozed_until: date | None = None
    referral: dict[str, str] | None = None


class MeetingStatus(StrEnum):
    BOOKED = "booked"
    CANCELED = "canceled"
    NO_SHOW = "no_show"


class Meeting(BaseModel):
    """A booked meeting: its times (start and end, UTC), what became of it, and the provider's booking
    id (hashed: it may embed the invitee's address)."""

    model_config = ConfigDict(defer_build=True)

    status: MeetingStatus = MeetingStatus.BOOKED
    starts_at: datetime
    ends_at: datetime
    booking: str | None = None

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("the meeting must end after it starts")
        return self


class HeldTouch(BaseModel):
    """An email touch the sending guard moved: which, why (paused, over_cap), since its first move."""

    model_config = ConfigDict(defer_build=True)

    touch: int
    why: str
    since: datetime


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
    # Whoever holds this lease may start the execution; lets a later post resume a start that crashed.
    start_lease_until: datetime | None = None
    # The cadence version it started on (Cadence.version); its execution finishes on it.
    version: str | None = None
    completed_at: datetime | None = None
    # Why the lead entered this cadence (intake, meeting booked, re-engagement...).
    reason: str | None = None
    # The IANA zone the schedule was planned in.
    zone: str | None = None
    # Set when the execution failed (RunStatus.FAILED): the error's name and the touch it hit.
    failure_error: str | None = None
    # The claimed touch's state (store.enrollment_items.TouchState), when it was claimed (by which
    # attempt), when that attempt went to call the provider (from then the touch is in doubt until
    # settled), and the record of a touch the provider accepted that is not stored yet.
    touch_state: str | None = None
    claimed_at: datetime | None = None
    claim_id: str | None = None
    provider_call_at: datetime | None = None
    pending_touch: dict[str, Any] | None = None
    failed_touch: int | None = None
    failed_at: datetime | None = None
    # The meeting the enrollment is about: post-meeting runs on its clock, rebook follows it.
    meeting: Meeting | None = None

    # Executions run for this enrollment: a failed one retried by the sweep needs a new name.
    attempt: int = 1
    retried_at: datetime | None = None
    # The email touch the sending guard holds back (paused, or over the day's cap), since when.
    held: HeldTouch | None = None
    # An operator's pause (`leadflow lead pause`): until when, and the schedule before it, which a
    # resume restores while its next touch is still ahead. `resumes` names each restarted execution.
    paused_until: date | None = None
    planned: list[datetime] | None = None
    resumes: int = 0

    @property
    def execution_name(self) -> str:
        return execution_name(self.lead_id, self.cadence, self.number, self.attempt, self.resumes)


def execution_name(lead_id: str, cadence: str, enrollment: int, attempt: int = 1, resumes: int = 0) -> str:
    """`{lead_id}-{cadence}-{enrollment}`: unique per enrollment, stable across retried starts;
    `-r{attempt}` after it for the sweep's retries of a failed execution, `-resume{n}` for an
    operator's resumes (names stay taken 90 days)."""
    name = f"{lead_id}-{cadence}-{enrollment}"
    name = name if attempt == 1 else f"{name}-r{attempt}"
    return f"{name}-resume{resumes}" if resumes else name


def execution_enrollment(name: str, cadence: str) -> tuple[str, int] | None:
    """(lead id, enrollment number) of an execution of `cadence` named as `execution_name` names them
    (an operator's resume adds its own suffix); None for a name of any other shape."""
    lead_id, _, rest = name.partition(f"-{cadence}-")
    number = rest.split("-", 1)[0]
    return (lead_id, int(number)) if lead_id and rest and number.isdigit() else None


class SubmissionOutcome(StrEnum):
    """What a post did; never shown to the poster (every valid post gets the same answer)."""

    NEW = "new"
    MANUAL_FOLLOW_UP = "manual_follow_up"  # email_consent=false: no cadence, the owner follows up by hand
    RETURNED = "returned"  # known lead, no new enrollment (running, cooling down, or policy)
    RESUMED = "resumed"  # known lead whose execution never started: started now
    ENROLLED = "enrolled"  # known lead enrolled again (or first, after consent)
    SUPPRESSED = "suppressed"  # opted out or bounced: nothing automated, ever
    # Abuse limits (public posts): too many posts from the IP or for the inbox (stored as a held post,
    # not enrolled, until released: intake.held), or the inbox or phone already had today's
    # automated first touch (stored, no cadence).
    HELD = "held"
    FIRST_TOUCH_LIMITED = "first_touch_limited"
    CAPTCHA_FAILED = "captcha_failed"
    # A public post said email_consent=false for a running lead: a confirmation link went out.
    WITHDRAWAL_UNCONFIRMED = "withdrawal_unconfirmed"


class RequestOrigin(BaseModel):
    """Where a post came from, kept with its consent record."""

    model_config = ConfigDict(defer_build=True)

    source_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)
    page: str | None = Field(
        default=None, max_length=2048, description="The Referer: the page the form was on."
    )


class SubmissionRecord(RequestOrigin):
    """One post, stored as the consent audit trail: the flags as given, when, from which form and client."""

    lead_id: str
    submission_id: str
    received_at: datetime
    outcome: SubmissionOutcome
    form: str | None = None
    email_consent: bool | None = None
    sms_consent: bool | None = None


class HeldPost(BaseModel):
    """A public post over an abuse limit, kept whole and not enrolled until it is released (issue 22).

    `burst` names the limit's counter (kind, a prefix of its keyed hash, window): posts of one burst
    share it, and it says nothing about the address or the IP.
    """

    model_config = ConfigDict(defer_build=True)

    submission_id: str
    received_at: datetime
    limit: Literal["ip_rate", "inbox_rate"]
    burst: str
    submission: LeadSubmission
    origin: RequestOrigin = Field(default_factory=RequestOrigin)
    # Set while a release runs (intake.held.release): another release waits until it has passed.
    release_lease_until: datetime | None = None


class TouchStatus(StrEnum):
    SENT = "sent"
    # Not sent, with a reason: no SMS consent, invalid phone, quiet hours.
    SKIPPED = "skipped"
    # Handed to the owning rep as a task (call, LinkedIn, video).
    TASK = "task"


class Touch(BaseModel):
    # The step's record of a touch: an intake post never builds one (built on the step's first).
    model_config = ConfigDict(defer_build=True)

    lead_id: str
    enrollment: int
    number: int
    cadence: str
    channel: str
    template: str
    # When the touch ran: sent, skipped or handed over as a task.
    sent_at: datetime
    message_id: str | None = None  # the SES MessageId
    # Messages (issue 4): the A/B variant sent (None without variants), the subject, and threading:
    # the Message-ID header SES gave the email (`<id@…amazonses.com>`), the one we wrote, and the
    # Message-ID of the email this one replied to (None when it started a thread).
    variant: str | None = None
    subject: str | None = None
    ses_message_id: str | None = None
    own_message_id: str | None = None
    in_reply_to: str | None = None
    status: TouchStatus = TouchStatus.SENT
    skip_reason: str | None = None
    task_id: str | None = None
    # What SES said after accepting it (ses_events): rejected or not renderable (it reached nobody),
    # delayed (since when, why, until when SES tries), and the first delivery or bounce.
    undelivered: str | None = None
    delayed_since: datetime | None = None
    delay_type: str | None = None
    delay_expires: datetime | None = None
    first_delivery_at: datetime | None = None
    first_bounce_at: datetime | None = None
    # When the claim this record settles was taken (the enrollment's `claimed_at` then, whole
    # seconds): the stored record of that very claim settles it (store.enrollment_items).
    claimed_at: datetime | None = None


class TaskOutcome(StrEnum):
    DONE = "done"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    CONNECTED = "connected"
    MEETING_BOOKED = "meeting_booked"

    @property
    def stops_cadence(self) -> bool:
        """The lead answered: like a reply, the cadence stops."""
        return self in (TaskOutcome.CONNECTED, TaskOutcome.MEETING_BOOKED)


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    CONNECTED = "connected"
    MEETING_BOOKED = "meeting_booked"
    # The lead stopped (replied, opted out...) before the rep recorded an outcome.
    CANCELLED = "cancelled"
    # A draft the rep writes (manual_email): claimed by a send in progress, sent, skipped by the
    # rep, or expired (the cadence's next touch ran, or its link expired, before the rep got to it).
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class Task(BaseModel):
    """A rep task: a call, LinkedIn or video touch, with the lead's context and the instruction."""

    model_config = ConfigDict(defer_build=True)

    id: str
    lead_id: str
    enrollment: int
    touch: int
    cadence: str
    channel: str
    name: str
    instruction: str
    owner: str | None = None
    due_at: datetime
    status: TaskStatus = TaskStatus.OPEN
    outcome_at: datetime | None = None
    note: str | None = None
    # Speed to lead (touch 0): each alert of the unworked task, {"at", "rep", "step"} (step: owner,
    # owner again, next rep, manager; rep: a rep id or "_manager"); the report reads
    # created/due/outcome_at and these for time to first human touch per rep.
    escalations: list[dict[str, str]] = Field(default_factory=list)
    # When the task was opened (the lead's post, for speed to lead): the true wait counts from it.
    created_at: datetime | None = None
    # Speed to lead: when the chain's next alert is due (its one-shot schedule fires then; the sweep
    # escalates it if that schedule never fired). Set while the chain goes on (send.escalations).
    escalate_at: datetime | None = None
    # A draft the rep writes (manual_email): subject and plain-text body (greeting to signature; the
    # compliance footer is added when it is sent), as rendered and then as the rep sent it.
    subject: str | None = None
    body: str | None = None
    claim_id: str | None = None
    message_id: str | None = None  # the SES MessageId once sent
    # One item per task touch: a cadence's call, LinkedIn or video touch handed to the rep keeps its
    # touch record here (the template, when the touch ran, the claim it settles) instead of a TOUCH#
    # item of its own. None on the speed-to-lead task, on a rep's draft (its touch item is rewritten
    # when it is sent) and on a task due another UTC day than its touch ran (each keeps its day in
    # the by_day index, as the report reads them).
    template: str | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None


class HeldMailStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


HELD_MAIL_ID = re.compile(r"^(?P<lead_id>[0-9a-f]{20})-(?P<mail_id>[0-9a-f]{16})$")


class HeldMail(BaseModel):
    """Inbound mail that is probably a person's answer but proves nothing (see answers.held):
    the lead's cadence waits while the owner confirms (it acts as the answer) or dismisses it."""

    model_config = ConfigDict(defer_build=True)

    lead_id: str
    mail_id: str
    # What the mail would do, confirmed: "reply" (a stop) or "unsubscribe" (an opt-out).
    answer: str
    # Why it proves nothing: e.g. "unproven" (no check passed for its From), "spam" (in our thread).
    why: str
    held_at: datetime
    paused_until: datetime
    enrollment: int | None = None
    touch: int | None = None
    subject: str = ""
    text: str = ""
    status: HeldMailStatus = HeldMailStatus.HELD
    decided_at: datetime | None = None

    @property
    def id(self) -> str:
        """`<lead id>-<mail id>`: what its confirm and dismiss links name."""
        return f"{self.lead_id}-{self.mail_id}"


class FailureDetail(BaseModel):
    model_config = ConfigDict(defer_build=True)

    # The Step Functions error name (e.g. States.TaskFailed, Throttled, a Python exception's class).
    error: str = Field(max_length=256)


class TouchRequest(BaseModel):
    """The step function's input: ids only, as the state machine passes them."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    cadence: str
    enrollment: int = Field(ge=1)
    touch: int = Field(ge=1)
    # The cadence version the execution started on (None: enrolled before versions existed).
    version: str | None = Field(None, pattern=r"^[0-9a-f]{12}$")
    # The last touch of a moment whose touches share one Task (cadence.asl.moments); None: one touch.
    through: int | None = Field(None, ge=1)
    # Speed to lead: escalate the unworked call task touch 1 opened, instead of running the touch.
    # Only executions started before issue 28 send it (their chain then goes on by schedule).
    escalate: bool = False


# The step's event key for a first moment sent outside the execution (cadence.first_moment): here, so
# that the step's handler reads it without importing the starter's module.
FIRST_MOMENT_EVENT_KEY = "first_moment"


class FirstMomentRequest(TouchRequest):
    """The step function's input for a first moment sent outside its execution (cadence.first_moment):
    the Task's ids, from an async invoke or a one-shot schedule (no PII), and how many times a claim in
    doubt was retried by schedule (asl.UNSETTLED_RETRY's delays, as the Task retries)."""

    model_config = ConfigDict(defer_build=True)  # the step's: the intake sends the TouchRequest's fields

    attempt: int = Field(0, ge=0)


class EscalationRequest(BaseModel):
    """The step function's input from a speed-to-lead escalation schedule: ids and the due time only
    (the schedule's target input, visible in the Scheduler console: no PII)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    lead_id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    enrollment: int = Field(ge=1)
    # The escalation this schedule was created for (the task's `escalate_at` then): a stale or
    # duplicated fire finds another one pending, or this one delivered.
    due: datetime


class ServiceText(StrEnum):
    """The fixed texts the step sends for the other functions (it alone may text any number)."""

    HELP = "help"  # the answer to a text saying HELP (answers.inbound)
    SMS_OPT_IN = "sms_opt_in"  # the double opt-in request after a post (intake.sms_opt_in)


class ServiceTextRequest(BaseModel):
    """The step function's input when the inbound or intake function asks for a service text."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    service_text: ServiceText
    to: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="E.164")


class FailureReport(BaseModel):
    """The step function's input from the state machine's catch-all: which touch failed, and how."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    lead_id: str = Field(pattern=r"^[a-z0-9]{8,40}$")
    cadence: str
    enrollment: int = Field(ge=1)
    touch: int = Field(ge=1)
    execution: str
    failure: FailureDetail


class TouchResult(BaseModel):
    model_config = ConfigDict(defer_build=True)  # the step's answer: built on its first call

    next_at: str | None = None
    outcome: str
    # Always None since issue 28 (escalations run on schedules, outside the execution); executions
    # started on an earlier definition still read it after their first two moments.
    escalate_at: str | None = None


class EngagementKind(StrEnum):
    """Event types of what a lead did (store.record_event), besides the stop reasons."""

    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    BOUNCE = "bounce"
    TRANSIENT_BOUNCE = "transient_bounce"
    DELIVERY = "delivery"
    REJECT = "reject"
    OPEN = "open"
    CLICK = "click"
    MEETING_BOOKED = "meeting_booked"
    # Inbound mail that failed authentication (or could not prove it): kept on record, acted on never.
    UNTRUSTED_MAIL = "untrusted_mail"
    # Probable answers that prove nothing: the cadence paused, the owner asked (answers.held).
    HELD_MAIL = "held_mail"
    MEETING_RESCHEDULED = "meeting_rescheduled"
    MEETING_CANCELED = "meeting_canceled"
    NO_SHOW = "no_show"
    # A scheduling tool's routing form (Calendly) filled in: intent before a booking.
    ROUTING_FORM = "routing_form"


TASK_ID = re.compile(r"^(?P<lead_id>[a-z0-9]{8,40})-(?P<enrollment>\d{1,3})-(?P<touch>\d{1,2})$")


def task_id(lead_id: str, enrollment: int, touch: int) -> str:
    """One task per touch of an enrollment: `{lead_id}-{enrollment}-{touch}` (the token is the secret)."""
    return f"{lead_id}-{enrollment}-{touch}"
