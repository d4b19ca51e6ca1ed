"""Cadences as data: a YAML file per cadence, validated into pydantic models.

The cadence file is the single source of truth for a sequence: it drives the
state machine definition (asl.py), the CDK stack, the schedule, routing and the
docs. `cadences/cadence.schema.json` is exported from these models
(`leadflow schema`) so editors can check the files while they are written. The vocabulary the models
use (channels, weekdays, fit bands, where the files live) is in terms.py.
"""

# No `from __future__ import annotations` in this module: its models' field annotations stay objects,
# which pydantic reads as they are, instead of compiling each one from its string on every cold start
# (models, operator_config and cadence.model: ~25M instructions, ~3.5 ms, of the intake's and the
# step's imports).

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import time
from functools import cache
from pathlib import Path
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from leadflow.cadence.terms import (
    CADENCE_NAME,
    DEFAULT_CADENCE_DIR,
    DEFAULT_EFFORT,
    SLUG,
    SMS_EARLIEST,
    SMS_LATEST,
    Channel,
    Effort,
    FitBand,
    Weekday,
    YamlFileError,
    read_yaml,
)
from leadflow.fields import IanaZone


class Variant(BaseModel):
    """One arm of a touch's A/B test: the touch's own template, another subject, or another template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=20, description="Recorded on the touch.")
    subject: str | None = Field(
        None, min_length=1, max_length=200, description="Jinja subject line replacing the template's."
    )
    template: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$",
        description="Template path under templates/, without .j2, replacing the touch's.",
    )


class Touch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int = Field(ge=1, le=365, description="Playbook day: 1 is the day the lead arrives.")
    channel: Channel = Field(
        description="email and sms are sent by leadflow; call, linkedin and video become rep tasks; "
        "manual_email puts a draft rendered from the template in the owner's queue, sent or skipped by "
        "the rep from the task page (the execution does not wait for it)."
    )
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=30, description="Short label, e.g. value-add."
    )
    template: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$",
        description="Template path under templates/, without .j2. Defaults to <cadence>/<name>. "
        "Required to exist for email, sms and manual_email; optional for rep tasks.",
    )
    instruction: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="What the rep should do or say: the talking points of a call, LinkedIn or video task.",
    )
    effort: Effort | None = Field(
        None,
        description="low, medium or high. Defaults by channel: email and sms low, call, linkedin and "
        "manual_email medium, video high.",
    )
    requires_consent: bool | None = Field(
        None,
        description="SMS only, and always true: an SMS goes only to leads who consented to SMS "
        "and have a valid phone number; otherwise the touch is recorded as skipped.",
    )

    # Messages (issue 4): A/B variants, and whether an email leaves the first email's thread.
    variants: tuple[Variant, ...] = Field(
        (),
        max_length=5,
        description="A/B test arms; each lead gets one, by a hash of lead, cadence and touch. "
        "An arm without subject or template is the touch's own message.",
    )
    new_thread: bool = Field(
        False, description="Email only: start a new thread instead of replying in the first email's."
    )

    @model_validator(mode="after")
    def _variants_distinct(self) -> Self:
        if not self.variants:
            return self
        names = [variant.name for variant in self.variants]
        if len(self.variants) < 2 or len(set(names)) != len(names):
            raise ValueError(f"variants need at least two distinct names, got {names}")
        arms = [(variant.subject, variant.template) for variant in self.variants]
        if len(set(arms)) != len(arms):
            raise ValueError("two variants send the same message")
        return self

    @model_validator(mode="before")
    @classmethod
    def _channel_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("channel") in set(Channel):
            channel = Channel(data["channel"])
            data = dict(data)
            data.setdefault("effort", DEFAULT_EFFORT[channel].value)
            if channel is Channel.SMS:
                data.setdefault("requires_consent", True)
        return data

    @model_validator(mode="after")
    def _consent_only_for_sms(self) -> Self:
        if self.channel is Channel.SMS and self.requires_consent is not True:
            raise ValueError("requires_consent: SMS touches always require the lead's SMS consent")
        if self.channel is not Channel.SMS and self.requires_consent is not None:
            raise ValueError("requires_consent: only SMS touches take this field")
        return self

    @property
    def automated(self) -> bool:
        return self.channel.automated


class MatchRule(BaseModel):
    """Conditions that must all hold; an empty list means any value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: tuple[str, ...] = Field((), description="Lead sources, e.g. webinar, g2, partner.")
    forms: tuple[str, ...] = Field((), description="Form ids, e.g. demo-request, ebook-ai.")
    bands: tuple[FitBand, ...] = Field((), description="Fit-score bands: low, medium, high.")
    types: tuple[str, ...] = Field(
        (), description="Lead types, e.g. inbound (every public post), dormant, customer."
    )

    @field_validator("sources", "forms", "types")
    @classmethod
    def _slugs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not re.match(SLUG, value):
                raise ValueError(f"{value!r} must be lowercase letters, digits, - or _")
        return values

    def matches(self, *, source: str | None, form: str | None, band: FitBand, lead_type: str) -> bool:
        return (
            (not self.sources or source in self.sources)
            and (not self.forms or form in self.forms)
            and (not self.bands or band in self.bands)
            and (not self.types or lead_type in self.types)
        )


class SendWindow(BaseModel):
    """When touches may land, in the lead's local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekdays: tuple[Weekday, ...] = Field(
        (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI), min_length=1
    )
    start: time = Field(time(9, 0), description="Local start, HH:MM.")
    end: time = Field(time(17, 0), description="Local end, HH:MM (exclusive).")
    timezone: IanaZone = Field(
        "America/New_York",
        description="IANA time zone for leads that give neither a time zone nor a country.",
    )
    skip_holidays: bool = Field(True, description="Skip the public holidays of the lead's country.")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        # Unquoted 09:00 is a base-60 integer in YAML 1.1 (540): demand the quoted form.
        if not isinstance(value, str | time) or (
            isinstance(value, str) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value)
        ):
            raise ValueError(f'write the time as a quoted "HH:MM" string, got {value!r}')
        return value

    @field_serializer("start", "end")
    def _as_written(self, value: time) -> str:
        """HH:MM, as the file writes it: a stored cadence version reads back as it was."""
        return value.strftime("%H:%M")

    @field_validator("weekdays")
    @classmethod
    def _unique_days(cls, values: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if len(set(values)) != len(values):
            raise ValueError("weekdays repeat")
        return values

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M}")
        return self

    @property
    def weekday_numbers(self) -> frozenset[int]:
        return frozenset(day.number for day in self.weekdays)

    def sms_hours(self) -> tuple[time, time] | None:
        """The part of the window SMS may use (08:00-21:00 local), or None if they do not overlap."""
        start, end = max(self.start, SMS_EARLIEST), min(self.end, SMS_LATEST)
        return (start, end) if start < end else None


class MeetingAnchor(BaseModel):
    """A cadence on a booked meeting's clock: entered with the meeting's times, never by routing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    after_end_minutes: int = Field(
        60,
        ge=0,
        le=23 * 60,
        description="Touch 1 (the recap) goes out this long after the meeting ends, so a no-show "
        "marked in that time sends none; day 1 is the day the meeting ends.",
    )


class Cadence(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "title": "leadflow cadence",
            "$id": "https://leadflow.example/cadence.schema.json",
        },
    )

    name: str = Field(pattern=CADENCE_NAME.pattern, description="Equal to the file name without .yaml.")
    description: str = Field(min_length=1)
    match: tuple[MatchRule, ...] = Field(
        (),
        description="Routing: a new lead enters this cadence when any rule matches (all conditions of a "
        "rule must hold). No rules: only entered by enrollment (meeting booked, re-engagement, API).",
    )
    priority: int = Field(
        100, ge=1, le=1000, description="Routing order: lower numbers are tried first; ties by name."
    )
    window: SendWindow = Field(default_factory=lambda: SendWindow.model_validate({}))
    speed_to_lead: bool = Field(
        False,
        description="After touch 1, a lead whose form asks to talk to someone (demo, pricing, contact "
        "sales) gets a call task for its owner due within minutes in their business hours, escalated "
        "when unworked (config speed_to_lead).",
    )
    meeting: MeetingAnchor | None = Field(
        None,
        description="On a booked meeting's clock (post-meeting): day 1 is the day the meeting ends and "
        "touch 1 follows its end; a reschedule moves every touch, a cancellation stops them.",
    )
    touches: tuple[Touch, ...] = Field(min_length=1, max_length=30)

    @model_validator(mode="before")
    @classmethod
    def _default_templates(cls, data: Any) -> Any:
        """A touch's template defaults to <cadence>/<touch name>."""
        if isinstance(data, dict) and isinstance(data.get("touches"), list | tuple):
            name = data.get("name")
            data = dict(data)
            data["touches"] = [
                {**touch, "template": f"{name}/{touch['name']}"}
                if isinstance(touch, dict) and "template" not in touch and isinstance(touch.get("name"), str)
                else touch
                for touch in data["touches"]
            ]
        return data

    @property
    def version(self) -> str:
        """A short hash of the whole definition: an execution runs on the version it started with."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    @model_validator(mode="after")
    def _touches_consistent(self) -> Self:
        seen: set[str] = set()
        automated_days: dict[int, int] = {}
        for number, touch in enumerate(self.touches, start=1):
            if number > 1 and touch.day < self.touches[number - 2].day:
                previous = self.touches[number - 2]
                raise ValueError(
                    f"touch {number} ({touch.name}): day {touch.day} comes before day {previous.day} "
                    f"of touch {number - 1}"
                )
            if touch.name in seen:
                raise ValueError(f"touch {number} ({touch.name}): name repeats an earlier touch")
            seen.add(touch.name)
            if touch.automated:
                if touch.day in automated_days:
                    raise ValueError(
                        f"touch {number} ({touch.name}): day {touch.day} already has an automated touch "
                        f"(touch {automated_days[touch.day]}); at most one email or SMS per day"
                    )
                automated_days[touch.day] = number
            if touch.channel is Channel.SMS and self.window.sms_hours() is None:
                raise ValueError(
                    f"touch {number} ({touch.name}): the window never overlaps SMS hours 08:00-21:00"
                )
        return self

    @model_validator(mode="after")
    def _meeting_not_routed(self) -> Self:
        if self.meeting is not None and self.match:
            raise ValueError("a cadence on a meeting's clock is entered with a meeting, never by match rules")
        return self

    @model_validator(mode="after")
    def _threading(self) -> Self:
        for number, touch in enumerate(self.touches, start=1):
            subject_variants = any(variant.subject for variant in touch.variants)
            if touch.channel is not Channel.EMAIL and (touch.new_thread or subject_variants):
                raise ValueError(
                    f"touch {number} ({touch.name}): new_thread and subject variants are for emails only"
                )
            if touch.channel is Channel.MANUAL_EMAIL and touch.variants:
                raise ValueError(f"touch {number} ({touch.name}): a rep writes a manual_email; no variants")
            if subject_variants and not self.starts_thread(number):
                raise ValueError(
                    f"touch {number} ({touch.name}): a follow-up in the first email's thread goes out as"
                    " 'Re: <first subject>'; vary its subject only with new_thread: true"
                )
        return self

    def touch(self, number: int) -> Touch:
        """The touch by its 1-based number."""
        return self.touches[number - 1]

    def starts_thread(self, number: int) -> bool:
        """True for the first email of the cadence and for emails marked new_thread."""
        touch = self.touch(number)
        return touch.channel is Channel.EMAIL and (touch.new_thread or self.thread_root(number) is None)

    def thread_root(self, number: int) -> int | None:
        """The number of the email a follow-up email replies to (the cadence's first email), if any."""
        touch = self.touch(number)
        if touch.channel is not Channel.EMAIL or touch.new_thread:
            return None
        first = next(n for n, t in enumerate(self.touches, start=1) if t.channel is Channel.EMAIL)
        return first if first < number else None

    def template(self, number: int) -> str:
        """The touch's template path (without .j2)."""
        return self.touch(number).template or f"{self.name}/{self.touch(number).name}"

    def state_name(self, number: int) -> str:
        """Readable Step Functions state name, e.g. "Day 04 · email · value-add"."""
        touch = self.touch(number)
        return f"Day {touch.day:02d} · {touch.channel.value} · {touch.name}"

    @property
    def routable(self) -> bool:
        return bool(self.match)


def describe_rule(rule: MatchRule) -> str:
    """A match rule as people read it: "form demo-request, pricing and band high"."""
    parts = [
        f"{label} {', '.join(str(value) for value in values)}"
        for label, values in (
            ("form", rule.forms),
            ("source", rule.sources),
            ("band", rule.bands),
            ("type", rule.types),
        )
        if values
    ]
    return " and ".join(parts) or "any lead"


def first_match(
    cadences: Iterable[Cadence], *, source: str | None, form: str | None, band: FitBand, lead_type: str
) -> tuple[Cadence, MatchRule] | None:
    """The first routable cadence (by priority, then name) with a rule the lead meets, and that rule."""
    for cadence in sorted((c for c in cadences if c.routable), key=lambda c: (c.priority, c.name)):
        for rule in cadence.match:
            if rule.matches(source=source, form=form, band=band, lead_type=lead_type):
                return cadence, rule
    return None


class CadenceFileError(ValueError):
    """A cadence file that cannot be used; the message names the file, the touch and the field."""


def _touch_label(raw: Any, index: int) -> str:
    touches = raw.get("touches") if isinstance(raw, dict) else None
    name = None
    if isinstance(touches, list) and index < len(touches) and isinstance(touches[index], dict):
        name = touches[index].get("name")
    return f"touch {index + 1}" + (f" ({name})" if isinstance(name, str) else "")


def _describe(error: ValidationError, path: Path, raw: Any) -> str:
    lines = [f"{path}: invalid cadence"]
    for problem in error.errors():
        location = list(problem["loc"])
        where = []
        if len(location) >= 2 and location[0] == "touches" and isinstance(location[1], int):
            where.append(_touch_label(raw, location[1]))
            location = location[2:]
        if location:
            where.append("field " + ".".join(str(part) for part in location))
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"  {', '.join(where)}: {message}" if where else f"  {message}")
    return "\n".join(lines)


def load_cadence(path: Path) -> Cadence:
    """Load and validate one cadence file; raise CadenceFileError naming file, touch and field."""
    try:
        raw = read_yaml(path)
    except YamlFileError as error:
        raise CadenceFileError(f"{path}: cannot read cadence: {error}") from error
    try:
        cadence = Cadence.model_validate(raw)
    except ValidationError as error:
        raise CadenceFileError(_describe(error, path, raw)) from error
    if cadence.name != path.stem:
        raise CadenceFileError(f"{path}: field name: {cadence.name!r} must match the file name {path.stem!r}")
    return cadence


def check_templates(cadence: Cadence, path: Path, template_dir: Path) -> None:
    """Every email and SMS touch, and every task that names one explicitly, has its template file."""
    for number, touch in enumerate(cadence.touches, start=1):
        template = cadence.template(number)
        explicit = template != f"{cadence.name}/{touch.name}"
        if (touch.channel.needs_template or explicit) and not (template_dir / f"{template}.j2").is_file():
            raise CadenceFileError(
                f"{path}: touch {number} ({touch.name}), field template: "
                f"{template_dir / (template + '.j2')} does not exist"
            )
        for variant in touch.variants:
            if variant.template and not (template_dir / f"{variant.template}.j2").is_file():
                raise CadenceFileError(
                    f"{path}: touch {number} ({touch.name}), variant {variant.name}: "
                    f"{template_dir / (variant.template + '.j2')} does not exist"
                )


@cache
def load_cadences(
    directory: Path = DEFAULT_CADENCE_DIR, template_dir: Path | None = None
) -> dict[str, Cadence]:
    """Every cadence in a directory, by name, with its templates checked.

    Templates are looked up in `template_dir`, by default the `templates/` next to the directory.
    """
    templates = template_dir or directory.parent / "templates"
    cadences = {}
    for path in sorted(directory.glob("*.yaml")):
        cadence = load_cadence(path)
        check_templates(cadence, path, templates)
        cadences[cadence.name] = cadence
    if not cadences:
        raise CadenceFileError(f"{directory}: no cadence files (*.yaml)")
    return cadences


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a cadence file, for editors (committed as cadences/cadence.schema.json)."""
    return Cadence.model_json_schema(mode="validation")


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
