"""Compose a touch's message for a lead: personal fields with fallbacks, the sending rep, the variant.

Used by the step function to send, by `leadflow preview` to show a cadence, and by
the lint to check every template against sample leads: one code path for all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from leadflow import tokens
from leadflow.cadence.model import Cadence, Variant
from leadflow.cadence.schedule import Locale, locale_for
from leadflow.config import operator_config, settings
from leadflow.models import Enrollment, Lead, Meeting, Touch
from leadflow.operator_config import Company, OperatorConfig, Rep
from leadflow.send import days, mail
from leadflow.send.render import RenderedMessage, render

__all__ = ["Meeting", "compose", "context", "owning_rep", "reply_subject", "template_path"]


# Lead attributes that are bookkeeping, not something to write to the lead about.
INTERNAL_FIELDS = frozenset(
    {
        "id",
        "email",
        "status",
        "status_reason",
        "created_at",
        "enrollments",
        "email_consent",
        "sms_consent",
        "resubmissions",
        "last_submitted_at",
    }
)


def _clean(value: object) -> object:
    """Whitespace collapsed; blank strings become None so fallbacks apply."""
    if not isinstance(value, str):
        return value
    return " ".join(value.split()) or None


def _name(value: object) -> object:
    """A name as people write it; one typed all in lower or upper case gets capitalized."""
    value = _clean(value)
    if isinstance(value, str) and (value.islower() or value.isupper()):
        return " ".join(part[:1].upper() + part[1:].lower() for part in value.split(" "))
    return value


def lead_fields(lead: Lead) -> dict[str, Any]:
    """What templates see as `lead`: every personal field (None when missing) plus `full_name`."""
    fields = {
        name: _clean(value)
        for name, value in lead.model_dump(mode="json").items()
        if name not in INTERNAL_FIELDS
    }
    fields["first_name"] = _name(lead.first_name)
    fields["last_name"] = _name(lead.last_name)
    fields["full_name"] = " ".join(str(part) for part in (fields["first_name"], fields["last_name"]) if part)
    fields["full_name"] = fields["full_name"] or None
    return fields


def owning_rep(lead: Lead, config: OperatorConfig) -> Rep:
    """The rep who sends to this lead: its owner once routing assigns one, else the first configured rep."""
    return config.owning_rep(getattr(lead, "owner", None))  # routing assigns owners


def signature(rep: Rep, company: Company) -> list[str]:
    if rep.signature:
        return [line.rstrip() for line in rep.signature.strip().splitlines()]
    role = f"{rep.title}, {company.name}" if rep.title else company.name
    return [rep.name, role, str(company.website).rstrip("/")]


def form_facts(lead: Lead, config: OperatorConfig) -> dict[str, Any]:
    """What the lead's form shows, from the catalogue: templates may claim this and nothing more.

    A lead without a form, or with an id the catalogue does not know, has no intent and no asset.
    """
    entry = config.form(lead.form)
    asset = entry.asset if entry else None
    return {
        "id": lead.form if entry else None,
        "intent": entry.intent.value if entry else None,
        "label": entry.label if entry else None,
        "asset": {"title": asset.title, "url": str(asset.url), "value": asset.value} if asset else None,
    }


def meeting_words(meeting: Meeting, now: datetime, locale: Locale, relative: bool = True) -> dict[str, Any]:
    """The meeting's day as the lead reads it on the send day, on their calendar: `day` is "today",
    "tomorrow", "yesterday" or "Tuesday" ("the meeting set for today"); `relative` puts "on" before a
    named day ("we missed each other on Tuesday")."""
    day = days.local_day_word(meeting.starts_at, now, locale.tz, relative)
    return {"status": meeting.status.value, "day": day, "relative": days.on_day(day)}


def qualified(lead: Lead, config: OperatorConfig, cadence: Cadence, meeting: Meeting | None) -> bool:
    """A lead who showed intent: asked for a person (demo, pricing, contact sales), booked a meeting,
    or answered us (the not-now cadence holds leads who replied). Only they may get a break-up email;
    the playbook reserves it for SQLs and HQLs and moves MQLs on to nurture."""
    form = config.form(lead.form)
    return (
        (form is not None and form.intent.wants_a_human)
        or meeting is not None
        or cadence.name == config.answers.not_now_cadence
    )


def context(
    lead: Lead,
    rep: Rep,
    config: OperatorConfig,
    *,
    cadence: Cadence,
    touch: int,
    unsubscribe_url: str,
    variant: Variant | None,
    now: datetime,
    meeting: Meeting | None = None,
) -> dict[str, Any]:
    """Everything a template sees. Day words and offered days are computed from `now` on the lead's
    calendar; the offer also from the sending rep's hours."""
    company = config.company
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    # Sent at `now` (email, SMS): "today" and "tomorrow". A rep's draft goes out when they send it.
    sent_now = cadence.touch(touch).automated
    return {
        "lead": lead_fields(lead),
        "form": form_facts(lead, config),
        "offer": days.offer(now, days.lead_hours(locale), rep.hours, sent_now).words(),
        "meeting": meeting_words(meeting, now, locale, sent_now) if meeting else None,
        "qualified": qualified(lead, config, cadence, meeting),
        "quote_statistics": config.messages.quote_statistics,
        "rep": {
            "name": rep.name,
            "first_name": rep.name.split()[0],
            "title": rep.title,
            "email": str(rep.email),
            "signature": signature(rep, company),
            "scheduling_url": str(rep.scheduling_url) if rep.scheduling_url else None,
        },
        "company": {
            "name": company.name,
            "website": str(company.website).rstrip("/"),
            "postal_address": company.postal_address,
        },
        "unsubscribe_url": unsubscribe_url,
        "cadence": cadence.name,
        "touch": {"number": touch, "name": cadence.touch(touch).name, "day": cadence.touch(touch).day},
        "variant": variant.name if variant else None,
    }


def unsubscribe_url(lead_id: str, enrollment: int, touch: int) -> str:
    """The one-click unsubscribe link of a touch's email (its signed token)."""
    token = tokens.unsubscribe_token(lead_id, enrollment, touch)
    return f"{settings().public_url.rstrip('/')}/unsubscribe?token={token}"


def touch_context(
    lead: Lead,
    cadence: Cadence,
    enrollment: Enrollment,
    touch: int,
    now: datetime,
    *,
    unsubscribe_url: str,
    variant: Variant | None = None,
) -> dict[str, Any]:
    """`context` for a touch of the lead's enrollment, from the lead's owning rep."""
    config = operator_config()
    return context(
        lead,
        owning_rep(lead, config),
        config,
        cadence=cadence,
        touch=touch,
        unsubscribe_url=unsubscribe_url,
        variant=variant,
        now=now,
        meeting=enrollment.meeting,
    )


def template_path(cadence: Cadence, touch: int, variant: Variant | None) -> str:
    """The template file (under templates/) for a touch in a variant."""
    return f"{variant.template if variant and variant.template else cadence.template(touch)}.j2"


def compose(
    template_dir: Path, cadence: Cadence, touch: int, variant: Variant | None, values: dict[str, Any]
) -> RenderedMessage:
    """Render a touch (in the lead's variant) with the values from `context`."""
    return render(
        template_dir,
        template_path(cadence, touch, variant),
        cadence.touch(touch).channel.renders_as,
        values,
        subject=variant.subject if variant else None,
    )


def reply_subject(first_subject: str) -> str:
    """The subject of a follow-up in the first email's thread."""
    return first_subject if first_subject.lower().startswith("re:") else f"Re: {first_subject}"


@dataclass(frozen=True)
class TouchEmail:
    """A touch's email as built for SES, and what its record keeps once SES accepts it."""

    lead_id: str
    cadence: Cadence
    enrollment: int
    number: int
    variant: Variant | None
    subject: str
    parent: Touch | None
    message: EmailMessage

    @property
    def tags(self) -> dict[str, str]:
        """Lead, enrollment and touch tag the SES events: a Send event settles a touch whose attempt died."""
        tags = {
            "cadence": self.cadence.name,
            "touch": str(self.number),
            "lead": self.lead_id,
            "enrollment": str(self.enrollment),
        }
        if self.variant:
            tags["variant"] = self.variant.name
        return tags

    def sent(self, ses_id: str, sent_at: datetime) -> Touch:
        """The touch's record once SES accepted the email as `ses_id`."""
        return Touch(
            lead_id=self.lead_id,
            enrollment=self.enrollment,
            number=self.number,
            cadence=self.cadence.name,
            channel=self.cadence.touch(self.number).channel.value,
            template=template_path(self.cadence, self.number, self.variant).removesuffix(".j2"),
            sent_at=sent_at,
            message_id=ses_id,
            variant=self.variant.name if self.variant else None,
            subject=self.subject,
            ses_message_id=mail.ses_message_id(ses_id),
            own_message_id=str(self.message["Message-ID"]),
            in_reply_to=self.parent.ses_message_id if self.parent else None,
        )


def touch_email(
    lead: Lead,
    rep: Rep,
    cadence: Cadence,
    enrollment: int,
    number: int,
    *,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str,
    parent: Touch | None,
    variant: Variant | None = None,
    message_id: str | None = None,
) -> TouchEmail:
    """The touch's email from the lead's rep: replies come back to the touch's reply address, the
    one-click unsubscribe headers carry its token, and a `parent` (the sent email it follows up)
    threads it. `message_id`: its Message-ID (default: a random one at the rep's domain)."""
    reply_domain = settings().reply_domain
    token = tokens.unsubscribe_token(lead.id, enrollment, number)
    reply_to = tokens.reply_address(lead.id, enrollment, number, reply_domain)
    message = mail.build_message(
        sender=mail.format_address(rep.name, str(rep.email)),
        to=lead.email,
        subject=subject,
        text=text,
        html=html,
        headers=mail.automated_headers(
            reply_to=mail.format_address(rep.name, reply_to),
            unsubscribe_url=unsubscribe_url,
            unsubscribe_mailto=f"{tokens.UNSUBSCRIBE_PREFIX}{token}@{reply_domain}",
        ),
        in_reply_to=parent.ses_message_id if parent else None,
        message_id=message_id,
    )
    return TouchEmail(lead.id, cadence, enrollment, number, variant, subject, parent, message)
