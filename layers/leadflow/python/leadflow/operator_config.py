"""Operator configuration (config/leadflow.yaml): company identity, the sales reps, the weekly
report, intake rules, scoring and routing.

Loaded once per cold start and validated; a broken file fails loudly, naming the file.
"""

# No `from __future__ import annotations` in this module: its models' field annotations stay objects,
# which pydantic reads as they are, instead of compiling each one from its string on every cold start
# (models, operator_config and cadence.model: ~25M instructions, ~3.5 ms, of the intake's and the
# step's imports).

import re
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from leadflow.cadence.hours import LOCAL_TIME, MANAGER, BusinessHours
from leadflow.cadence.terms import (
    CADENCE_NAME,
    SLUG,
    ContactStatus,
    FitBand,
    Weekday,
    YamlFileError,
    read_yaml,
)
from leadflow.fields import IanaZone
from leadflow.store.retention import Retention

# Validation context of a configuration a build already validated in full (leadflow.compiled).
PREVALIDATED = "prevalidated"


def _email(value: str, info: ValidationInfo) -> str:
    """pydantic's EmailStr check and normalization, skipped for a prevalidated configuration: a Lambda
    cold start loading the compiled configuration does not import email_validator (~60 ms)."""
    if info.context and info.context.get(PREVALIDATED):
        return value
    from pydantic.networks import validate_email

    return validate_email(value)[1]


EmailStr = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]

# Lead fields a scoring rule may look at; email_domain is the part after the @.
ScoredField = Literal["title", "email_domain", "company", "country", "source", "form", "phone", "message"]


class Company(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    website: HttpUrl
    postal_address: str = Field(min_length=10, max_length=300)


class Rep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    title: str = Field("", max_length=100)
    # Email signature, one line per line; default: name, "title, company", website.
    signature: str | None = Field(None, max_length=500)
    # Where the rep's alerts (new leads, tasks, replies) go: an SNS subscription each, filtered to
    # this rep. Email defaults to `email`; SMS only when a number is given (E.164).
    alert_email: EmailStr | None = None
    alert_sms: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$", description="E.164, e.g. +14155550100")
    # The rep's booking page (Calendly, Cal.com...): copy offers it where the playbook asks for a time.
    scheduling_url: HttpUrl | None = None
    # The rep's business hours: speed-to-lead call tasks are due within minutes inside them,
    # at their next start outside them.
    hours: BusinessHours = Field(default_factory=lambda: BusinessHours.model_validate({}))
    # The rep's queue page link (GET /queue/{id}?token=...) is signed with this number: raise it to
    # rotate the link (a leaked one stops working at the next deploy).
    queue_link_version: int = Field(1, ge=1)


class ReportSchedule(BaseModel):
    """When the weekly report goes out, in the operator's time zone (EventBridge Scheduler)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekday: Weekday = Weekday.MON
    time: str = Field("08:00", pattern=LOCAL_TIME, description='Local time, "HH:MM".')
    timezone: IanaZone = Field("UTC", description="IANA time zone, e.g. America/Chicago.")

    @property
    def expression(self) -> str:
        """The EventBridge Scheduler cron expression (evaluated in `timezone`)."""
        hour, minute = self.time.split(":")
        return f"cron({int(minute)} {int(hour)} ? * {self.weekday.value.upper()} *)"


class ReportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Who gets the weekly report; empty means every rep.
    recipients: tuple[EmailStr, ...] = ()
    schedule: ReportSchedule = Field(default_factory=lambda: ReportSchedule.model_validate({}))


def web_origin(value: str) -> str:
    """`scheme://host[:port]`, lowercased, default port dropped: what browsers send as `Origin`."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) origin like https://www.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r}: an origin has no path, query or user, e.g. https://www.example.com")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default_port) else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


Origin = Annotated[str, AfterValidator(web_origin)]


ReenrollableStatus = Literal[ContactStatus.ACTIVE, ContactStatus.REPLIED, ContactStatus.MEETING_BOOKED]


class Reenrollment(BaseModel):
    """A known lead who posts again after their cadence ended. Opted-out and bounced leads never are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["never", "after_cooldown"] = "after_cooldown"
    cooldown_days: int = Field(default=30, ge=0, le=3650, description="Days since the last enrollment ended.")
    statuses: tuple[ReenrollableStatus, ...] = (ContactStatus.ACTIVE,)


class Intake(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Sites whose forms post here: CORS answers and thank-you redirects only for these origins.
    allowed_origins: tuple[Origin, ...] = ()
    default_phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    # A lead posting again alerts the owner at most once per this many minutes (double clicks, reloads).
    returning_alert_cooldown_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    reenrollment: Reenrollment = Field(default_factory=Reenrollment)


class AnswersConfig(BaseModel):
    """What happens around a lead's answer (replies, bookings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A reply or booking from one contact also stops colleagues at the same company domain
    # (free-mail domains never count as a company).
    account_level_stop: bool = True
    # Who reads a reply's intent: "rules" (offline, the default) or "package.module:function", a hosted
    # model's client (answers.intent explains the seam).
    intent_reader: str = Field("rules", pattern=r"^(?:rules|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")
    # The cadence a not-now lead enters on the day they named (None: the owner follows up by hand).
    not_now_cadence: str | None = Field("not-now", min_length=1, max_length=100)
    # A lead who said no gets no automated enrollment (re-engagement, imports) for this long.
    not_interested_quiet_days: int = Field(180, ge=0, le=3650)


class Warmup(BaseModel):
    """A new sending domain's ramp: the cap of its first days of sending, then the domain's daily cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    started: date = Field(description="Day 1 of the ramp (the domain's first day of sending).")
    ramp: tuple[Annotated[int, Field(ge=1)], ...] = Field(min_length=1, description="Caps of day 1, 2, ...")


class DomainSending(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_cap: int | None = Field(
        None, ge=1, description="Automated emails a day; default: sending.daily_cap."
    )
    warmup: Warmup | None = None


class Reputation(BaseModel):
    """The reputation guard: pause automated email when bounces or complaints rise (SES reviews an
    account at 5% bounces or 0.1% complaints)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_sends: int = Field(1000, ge=10, le=1_000_000, description="Rates over the last this many sends.")
    min_sends: int = Field(200, ge=1, description="No verdict on fewer sends than this in the window.")
    max_bounce_rate: float = Field(0.05, gt=0, lt=1, description="Permanent bounces per send.")
    max_complaint_rate: float = Field(0.001, gt=0, lt=1, description="Complaints per send.")


class SendingConfig(BaseModel):
    """Limits that protect the sending domains: daily caps, warm-up ramps, the reputation guard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_cap: int | None = Field(None, ge=1, description="Automated emails per sending domain per UTC day.")
    domains: dict[str, DomainSending] = Field(default_factory=dict)
    reputation: Reputation = Field(default_factory=lambda: Reputation.model_validate({}))

    def cap(self, domain: str, day: date) -> int | None:
        """The domain's cap on `day`: its warm-up ramp's while it lasts, else its daily cap (None: none)."""
        own = self.domains.get(domain.lower())
        cap = own.daily_cap if own and own.daily_cap else self.daily_cap
        if own and own.warmup:
            index = (day - own.warmup.started).days
            if 0 <= index < len(own.warmup.ramp):
                ramp = own.warmup.ramp[index]
                return min(ramp, cap) if cap else ramp
        return cap


class OpsConfig(BaseModel):
    """Operators: who gets the alarms (failed executions, function errors and throttles, DLQ depth,
    audit breaches) and failed-enrollment alerts. Each address confirms its SNS subscription once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_emails: tuple[EmailStr, ...] = ()


class TasksConfig(BaseModel):
    """Rep tasks: their signed links (call, LinkedIn, video outcomes) stop working after this many days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link_expiry_days: int = Field(default=30, ge=1, le=365)


class MessagesConfig(BaseModel):
    """What lead-facing copy may say beyond the lead's own facts (docs/cadences.md: Copy rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Statistics (percentages, "21 times likelier", benchmarks) in emails and texts. Off: the copy
    # makes its point without numbers; on: the templates quote the playbooks' published figures,
    # which you then vouch for to every lead.
    quote_statistics: bool = False


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Captcha(BaseModel):
    """Server-side check of a Cloudflare Turnstile or Google reCAPTCHA token on public posts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["turnstile", "recaptcha"]
    # Secrets Manager name or ARN of the provider's secret key (never the key itself).
    secret: str = Field(min_length=1, max_length=2048)
    # reCAPTCHA v3 scores 0.0 (bot) to 1.0 (person); v2 and Turnstile have no score.
    min_score: float = Field(0.5, ge=0.0, le=1.0)


class Abuse(BaseModel):
    """Limits that keep the public form from being a mail or SMS bomber (public posts only;
    an authenticated server-to-server client is accountable and exempt)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Automated first touches (a cadence starting) per inbox (Gmail dots and +tags folded) and per
    # phone number, per UTC day, across leads.
    first_touches_per_inbox_per_day: int = Field(1, ge=1, le=1000)
    first_touches_per_phone_per_day: int = Field(1, ge=1, le=1000)
    # Posts taken per source IP per hour and per inbox per UTC day; the rest get the same 202 and
    # are held, not enrolled, until released (intake.held).
    posts_per_ip_per_hour: int = Field(30, ge=1, le=1_000_000)
    posts_per_inbox_per_day: int = Field(5, ge=1, le=1_000_000)
    # Countries SMS may go to (ISO 3166-1 alpha-2). Unset: the owners' territories and the
    # default phone region. SMS to other countries is skipped (SMS pumping fraud).
    sms_countries: tuple[CountryCode, ...] | None = None
    # Countries whose numbers must answer YES to a first text before any cadence SMS goes out.
    sms_double_opt_in: tuple[CountryCode, ...] = ()
    # Off by default; see docs/operate.md (Abuse resistance).
    captcha: Captcha | None = None


class ScoreRule(BaseModel):
    """Points for a lead field meeting one condition: matches, any_of, present or free_mail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: ScoredField
    points: int = Field(ge=-100, le=100)
    matches: str | None = Field(None, description="Regular expression, searched case-insensitively.")
    any_of: tuple[str, ...] | None = Field(None, description="Values compared case-insensitively.")
    present: bool | None = None
    free_mail: bool | None = Field(None, description="email_domain only: a free-mail provider or not.")

    @model_validator(mode="after")
    def _one_condition(self) -> Self:
        conditions = [self.matches, self.any_of, self.present, self.free_mail]
        if sum(condition is not None for condition in conditions) != 1:
            raise ValueError("give exactly one of matches, any_of, present, free_mail")
        if self.free_mail is not None and self.field != "email_domain":
            raise ValueError("free_mail applies to field email_domain only")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as error:
                raise ValueError(f"matches: not a regular expression: {error}") from None
        return self


class ScoreBands(BaseModel):
    """Lowest score of each band; below `medium` is low."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    medium: int = Field(40, ge=1, le=100)
    high: int = Field(70, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.medium >= self.high:
            raise ValueError(f"medium ({self.medium}) must be below high ({self.high})")
        return self

    def band(self, score: int) -> FitBand:
        return FitBand.HIGH if score >= self.high else FitBand.MEDIUM if score >= self.medium else FitBand.LOW


class Scoring(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[ScoreRule, ...] = ()
    bands: ScoreBands = Field(default_factory=lambda: ScoreBands.model_validate({}))


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_cadence: str = Field(
        "content-download", pattern=CADENCE_NAME.pattern, description="For leads no cadence's match takes."
    )
    meeting_booked_cadence: str | None = Field(
        "post-meeting", pattern=CADENCE_NAME.pattern, description="Entered when a meeting is booked."
    )
    meeting_missed_cadence: str | None = Field(
        "rebook",
        pattern=CADENCE_NAME.pattern,
        description="Entered when a booked meeting is cancelled or the lead does not show up.",
    )


class FormIntent(StrEnum):
    """What a form's lead asked for: the one fact copy may build on."""

    DEMO = "demo"
    PRICING = "pricing"
    CONTACT_SALES = "contact-sales"
    CONTENT = "content"
    WEBINAR = "webinar"
    NEWSLETTER = "newsletter"

    @property
    def wants_a_human(self) -> bool:
        """The lead asked to talk to someone: a rep calls within minutes (speed to lead)."""
        return self in (FormIntent.DEMO, FormIntent.PRICING, FormIntent.CONTACT_SALES)


class Asset(BaseModel):
    """What a content or webinar form gives: its title, the direct link, and why it is worth reading."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=80)
    url: HttpUrl
    value: str = Field(min_length=1, max_length=160, description="One line: what the lead gets from it.")


class Form(BaseModel):
    """One form that posts leads, by the id it sends in its `form` field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intent: FormIntent
    label: str = Field(min_length=1, max_length=80, description="The form's button or title, for people.")
    asset: Asset | None = None

    @model_validator(mode="after")
    def _asset_for_content(self) -> Self:
        if self.intent in (FormIntent.CONTENT, FormIntent.WEBINAR) and self.asset is None:
            raise ValueError(f"a {self.intent.value} form names its asset (title, url, value)")
        return self


class Manager(BaseModel):
    """The sales manager: the last escalation of an uncalled lead, and the daily list of the never called."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    phone: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$", description="E.164, e.g. +14155550100")
    hours: BusinessHours = Field(default_factory=lambda: BusinessHours.model_validate({}))


class SpeedToLead(BaseModel):
    """The first human touch for leads who asked to talk to someone (demo, pricing, contact sales)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Inside the owner's business hours the call task is due this many minutes after the post.
    due_minutes: int = Field(5, ge=1, le=60)
    # No outcome this many minutes after it was due: alert the owner again, then the next rep,
    # then the manager; each inside their own hours.
    escalate_after_minutes: int = Field(10, ge=1, le=24 * 60)
    manager: Manager | None = None
    # A cadence call task due within this many hours of another open call task of the same lead
    # moves to that many hours after it: a rep never has two calls to one lead in one sitting.
    call_gap_hours: float = Field(4, ge=0, le=48)


class OwnerRule(BaseModel):
    """Leads meeting every condition go to these reps in turn (round robin); an empty list means any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SLUG, max_length=40)
    countries: tuple[str, ...] = Field((), description="Territory: ISO 3166-1 alpha-2 codes.")
    sources: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    bands: tuple[FitBand, ...] = ()
    reps: tuple[str, ...] = Field(min_length=1)

    def matches(self, *, country: str | None, source: str | None, form: str | None, band: FitBand) -> bool:
        return (
            (not self.countries or country in self.countries)
            and (not self.sources or source in self.sources)
            and (not self.forms or form in self.forms)
            and (not self.bands or band in self.bands)
        )


class Reengagement(BaseModel):
    """Quarterly re-engagement of the dormant database (`leadflow reengage`, and its schedule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cadence: str = Field("re-engagement", description="The cadence dormant leads enter.")
    after_days: int = Field(90, ge=1, le=365, description="Days since a cadence ended without an answer.")
    max_per_lead: int = Field(2, ge=1, le=20, description="Re-engagements a lead gets, ever.")
    # How far back ended cadences are looked for (a quarter, and room for the schedule to slip).
    lookback_days: int = Field(120, ge=7, le=400)
    # EventBridge cron, UTC (minutes hours day-of-month month day-of-week year): quarterly by default.
    schedule: str = Field("cron(0 14 1 1,4,7,10 ? *)", pattern=r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")
    enabled: bool = True
    # StartExecution calls per second while enrolling (Standard's bucket refills at 150-300 a second).
    rate_per_second: float = Field(25.0, gt=0, le=300)


class OperatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    company: Company
    reps: tuple[Rep, ...] = Field(min_length=1)
    report: ReportConfig = Field(default_factory=lambda: ReportConfig.model_validate({}))
    intake: Intake = Field(default_factory=Intake)
    answers: AnswersConfig = Field(default_factory=lambda: AnswersConfig.model_validate({}))
    tasks: TasksConfig = Field(default_factory=lambda: TasksConfig.model_validate({}))
    messages: MessagesConfig = Field(default_factory=MessagesConfig)
    reengagement: Reengagement = Field(default_factory=lambda: Reengagement.model_validate({}))
    sending: SendingConfig = Field(default_factory=lambda: SendingConfig.model_validate({}))
    abuse: Abuse = Field(default_factory=lambda: Abuse.model_validate({}))
    retention: Retention = Field(default_factory=lambda: Retention.model_validate({}))
    ops: OpsConfig = Field(default_factory=OpsConfig)

    scoring: Scoring = Field(default_factory=Scoring)
    routing: Routing = Field(default_factory=lambda: Routing.model_validate({}))
    # Owner routing table, first matching rule wins; no match: round robin over every rep.
    owners: tuple[OwnerRule, ...] = ()
    # The forms that post leads, by the id each sends as `form`: routing and copy read it.
    forms: dict[Annotated[str, Field(pattern=SLUG, max_length=100)], Form] = Field(default_factory=dict)
    speed_to_lead: SpeedToLead = Field(default_factory=lambda: SpeedToLead.model_validate({}))
    # Secrets Manager name or ARN of the server-to-server API keys ({"client": "key", ...}).
    api_keys_secret: str | None = Field(None, min_length=1, max_length=2048)

    @model_validator(mode="after")
    def _unique_rep_ids(self) -> Self:
        ids = [rep.id for rep in self.reps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"rep ids must be unique: {ids}")
        for rule in self.owners:
            unknown = sorted(set(rule.reps) - set(ids))
            if unknown:
                raise ValueError(f"owners rule {rule.name!r}: unknown reps {unknown} (known: {ids})")
        return self

    def rep(self, rep_id: str) -> Rep:
        return next(rep for rep in self.reps if rep.id == rep_id)

    def owning_rep(self, owner: str | None) -> Rep:
        """The rep who sends to a lead with this owner: the owner once routing assigns one, else the
        first configured rep."""
        return self.rep(owner) if owner else self.reps[0]

    def alert_hours(self) -> dict[str, BusinessHours]:
        """Who gets rep alerts, with their hours: every rep by id, and the manager (MANAGER) when named."""
        manager = self.speed_to_lead.manager
        return {rep.id: rep.hours for rep in self.reps} | ({MANAGER: manager.hours} if manager else {})

    def form(self, form_id: str | None) -> Form | None:
        """The catalogue entry of a form id; None for a lead without a form or with an unknown one."""
        return self.forms.get(form_id) if form_id else None

    @property
    def sms_countries(self) -> frozenset[str]:
        """Where SMS may go: the configured list, else every owner rule's territory and the default region."""
        if self.abuse.sms_countries is not None:
            return frozenset(self.abuse.sms_countries)
        territories = {country for rule in self.owners for country in rule.countries}
        return frozenset(territories | {self.intake.default_phone_region})

    @property
    def report_recipients(self) -> tuple[str, ...]:
        return self.report.recipients or tuple(rep.email for rep in self.reps)


class OperatorConfigError(ValueError):
    """The operator configuration file cannot be used; the message names the file and the field."""


@cache
def load_operator_config(path: Path) -> OperatorConfig:
    try:
        raw = read_yaml(path)
        return OperatorConfig.model_validate(raw)
    except YamlFileError as error:
        raise OperatorConfigError(f"{path}: cannot read: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"field {'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise OperatorConfigError(f"{path}: invalid configuration: {problems}") from error
