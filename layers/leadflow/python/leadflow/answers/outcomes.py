"""What a lead's answer does, whichever way it came (mail, SES event, SMS, calendar webhook).

- reply: the lead becomes `replied`, every running enrollment stops, colleagues at the same
  company stop too (account-level stop), the owner gets the reply in their inbox (Reply-To the
  lead) and an alert with the reply's own text.
- unsubscribe / complaint: `opted_out` with that reason, a suppression entry, a stop.
- permanent bounce: `bounced`, a suppression entry, a stop; a transient bounce is only recorded.
- out-of-office: the cadence goes on, moved past a stated return date.
- meeting booked: `meeting_booked`, a stop, the account-level stop, the post-meeting cadence.

Each is also an event (event_items.record_event) attributed to the touch that drew it, with the
time since that touch: the weekly report reads them. Everything is idempotent per answer, so a
redelivered notification changes nothing and alerts nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from leadflow import clock, keys
from leadflow.cadence import reschedule, stops
from leadflow.config import operator_config, settings
from leadflow.intake import contacts
from leadflow.models import ContactStatus, EngagementKind, Enrollment, Lead, StopReason, Touch, TouchStatus
from leadflow.observability import logger
from leadflow.operator_config import Rep
from leadflow.send import alerts, mail, messages
from leadflow.store import enrollment_items, event_items, suppression_items

ALERT_TEXT_LIMIT = 1500  # characters of the reply quoted in a rep alert


@dataclass(frozen=True)
class Attribution:
    """The touch an answer is attributed to."""

    touch: Touch

    def event_fields(self, at: datetime) -> dict[str, Any]:
        """record_event keywords naming this touch, and how long after it the answer came."""
        touch = self.touch
        return {
            "enrollment": touch.enrollment,
            "touch": touch.number,
            "channel": touch.channel,
            "details": {
                "cadence": touch.cadence,
                "template": touch.template,
                "variant": touch.variant,
                "touch_sent_at": clock.iso(touch.sent_at),
                "seconds_after_touch": max(0, int((at - touch.sent_at).total_seconds())),
            },
        }

    @property
    def label(self) -> str:
        return f"touch {self.touch.number} ({self.touch.template}, {self.touch.channel})"


def attribute(
    lead_id: str,
    at: datetime,
    *,
    enrollment: int | None = None,
    touch: int | None = None,
    channel: str | None = None,
) -> Attribution | None:
    """The touch that drew an answer: the one it names (token, In-Reply-To), else the latest before it.

    Without a named touch, the latest touch on the answer's channel wins (an SMS reply answers
    an SMS), then the latest of any channel. Skipped touches drew nothing.
    """
    touches = enrollment_items.touches(lead_id)
    if enrollment is not None and touch is not None:
        named = [t for t in touches if (t.enrollment, t.number) == (enrollment, touch)]
        if named:
            return Attribution(named[0])
    before = sorted(
        (t for t in touches if t.status is not TouchStatus.SKIPPED and t.sent_at <= at),
        key=lambda t: t.sent_at,
    )
    same_channel = [t for t in before if t.channel == channel]
    latest = (same_channel or before)[-1:]
    return Attribution(latest[0]) if latest else None


def event_fields(
    attribution: Attribution | None,
    at: datetime,
    *,
    source: str,
    via: str,
    event_id: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """record_event keywords for an answer: its attribution, where it came from, and details."""
    fields = attribution.event_fields(at) if attribution else {"details": {}}
    fields["details"] = {**fields["details"], "source": source, "via": via, **details}
    if event_id:
        fields["event_id"] = event_id
    return fields


def record(lead_id: str, kind: EngagementKind, at: datetime, *, once: bool = False, **fields: Any) -> bool:
    """Record an event that stops nothing (auto-reply, delivery, open, click, transient bounce...)."""
    return event_items.record_event(lead_id, kind.value, at, once=once, **fields)


def account_stop(lead: Lead) -> list[Enrollment]:
    """Stop colleagues at the same company domain too, when the operator wants that (answers config)."""
    if not operator_config().answers.account_level_stop:
        return []
    return contacts.stop_colleagues(lead.id, lead.email)


def owner_rep(lead: Lead) -> Rep:
    """The lead's owning rep (the one its emails come from)."""
    return messages.owning_rep(lead, operator_config())


def enroll_after_meeting(lead: Lead, cadence: str) -> bool:
    """Enroll the lead in the post-meeting cadence, if one is deployed; True when it started."""
    try:
        from leadflow.cadence.enrollments import EnrollmentRefused, enroll
    except ImportError:
        logger.warning("no enrollment engine: post-meeting cadence not started", extra={"lead_id": lead.id})
        return False
    try:
        enroll(lead.id, cadence, reason="meeting booked")
    except (EnrollmentRefused, KeyError) as error:
        logger.warning("no post-meeting enrollment", extra={"lead_id": lead.id, "why": str(error)})
        return False
    return True


def describe(lead: Lead) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or lead.email
    return f"{name} ({lead.company})" if lead.company else name


def replied(
    lead: Lead,
    *,
    at: datetime,
    answer_id: str,
    source: str,
    via: str,
    text: str,
    attribution: Attribution | None,
    raw_mail: bytes | None = None,
) -> list[Enrollment]:
    """A human answered: stop, record, tell the owner (the mail itself, and an alert with its text)."""
    stopped = stops.stop_lead(
        lead.id,
        ContactStatus.REPLIED,
        StopReason.REPLY,
        at=at,
        event=event_fields(attribution, at, source=source, via=via),
    )
    account_stop(lead)
    if not event_items.first_time(lead.id, f"answer#{answer_id}"):
        return stopped  # a redelivered notification: the owner already knows
    where = attribution.label if attribution else "before any touch"
    if raw_mail is not None:
        _forward_to_owner(lead, raw_mail, where)
    alerts.alert_owner(
        lead,
        alerts.AlertKind.REPLIED,
        f"{describe(lead)} replied by {via} to {where}. Their cadence is stopped.\n\n"
        f"{text[:ALERT_TEXT_LIMIT] or '(no text of their own)'}",
    )
    return stopped


def _forward_to_owner(lead: Lead, raw_mail: bytes, where: str) -> None:
    """The reply, to the owner's inbox: from us on the lead's behalf, Reply-To the lead, same thread."""
    owner = owner_rep(lead)
    original = message_from_bytes(raw_mail, policy=policy.default)
    lead_name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    forward = EmailMessage()
    forward["From"] = formataddr((f"{lead_name or lead.email} via leadflow", parseaddr(settings().sender)[1]))
    forward["To"] = formataddr((owner.name, str(owner.email)))
    forward["Reply-To"] = formataddr((lead_name, lead.email))
    forward["Subject"] = " ".join(str(original.get("Subject", "") or "Reply from a lead").split())
    forward["Date"] = format_datetime(clock.now())
    if original.get("Message-ID"):
        # Answering this keeps the rep in the lead's thread.
        forward["In-Reply-To"] = str(original["Message-ID"])
        references = str(original.get("References", "") or "")
        forward["References"] = f"{references} {original['Message-ID']}".strip()
    forward.set_content(
        f"{describe(lead)} replied to {where}. Their cadence is stopped.\n"
        "Answer this email to reply to them; their message is attached.\n"
    )
    forward.add_attachment(original)
    mail.send(forward, tags={"kind": "reply-forward"})


def opted_out(
    lead: Lead,
    reason: StopReason,
    *,
    at: datetime,
    source: str,
    via: str,
    attribution: Attribution | None,
) -> list[Enrollment]:
    """Unsubscribe or complaint: suppress every address we hold for the lead, then stop."""
    suppress(lead, reason.value, at)
    return stops.stop_lead(
        lead.id,
        ContactStatus.OPTED_OUT,
        reason,
        at=at,
        event=event_fields(attribution, at, source=source, via=via),
    )


def suppress(lead: Lead, reason: str, at: datetime) -> None:
    """Suppress the lead's address, and its phone number when it has one (SMS STOP means everything)."""
    suppression_items.suppress(keys.email_key(lead.email), reason, at)
    if lead.phone:
        suppression_items.suppress(keys.email_key(lead.phone), reason, at)


def bounced(
    lead: Lead,
    *,
    permanent: bool,
    at: datetime,
    source: str,
    attribution: Attribution | None,
    event_id: str | None = None,
    detail: str = "",
    message_id: str | None = None,
) -> list[Enrollment]:
    """A permanent bounce suppresses the address and stops the lead; a transient one is recorded only."""
    fields = event_fields(
        attribution,
        at,
        source=source,
        via="email",
        event_id=event_id,
        bounce_type="permanent" if permanent else "transient",
        detail=detail or None,
        message_id=message_id,
    )
    if not permanent:
        # Not "bounce": the report counts those as leads lost; a transient bounce loses nobody.
        record(lead.id, EngagementKind.TRANSIENT_BOUNCE, at, **fields)
        return []
    suppression_items.suppress(keys.email_key(lead.email), StopReason.BOUNCE.value, at)
    return stops.stop_lead(lead.id, ContactStatus.BOUNCED, StopReason.BOUNCE, at=at, event=fields)


def auto_replied(
    lead: Lead, *, at: datetime, return_date: date | None, attribution: Attribution | None
) -> int:
    """The cadence goes on; a stated return date moves the next touch past it. Returns touches moved."""
    fields = event_fields(
        attribution,
        at,
        source="inbound-mail",
        via="email",
        return_date=return_date.isoformat() if return_date else None,
    )
    record(lead.id, EngagementKind.AUTO_REPLY, at, **fields)
    return reschedule.after_return(lead, return_date) if return_date else 0


def meeting_booked(
    lead: Lead,
    *,
    at: datetime,
    booking_id: str,
    provider: str,
    starts_at: datetime | None,
) -> list[Enrollment]:
    """Stop every running cadence, then enroll the lead in the post-meeting cadence."""
    stopped = stops.stop_lead(
        lead.id,
        ContactStatus.MEETING_BOOKED,
        StopReason.MEETING_BOOKED,
        at=at,
        event=event_fields(
            attribute(lead.id, at), at, source="meeting-webhook", via="calendar", provider=provider
        ),
    )
    account_stop(lead)
    if not event_items.first_time(lead.id, f"booking#{booking_id}"):
        return stopped  # a redelivered webhook
    cadence = operator_config().routing.meeting_booked_cadence
    enrolled = enroll_after_meeting(lead, cadence) if cadence else False
    when = f" for {clock.iso(starts_at)}" if starts_at else ""
    alerts.alert_owner(
        lead,
        alerts.AlertKind.MEETING_BOOKED,
        f"{describe(lead)} booked a meeting{when} ({provider}). Their cadence is stopped"
        + (f" and the post-meeting follow-up ({cadence}) started." if enrolled else "."),
    )
    return stopped
