"""What a lead's answer does, whichever way it came (mail, SES event, SMS, calendar webhook).

- reply: the lead becomes `replied`, every running enrollment stops, colleagues at the same
  company stop too (account-level stop), the owner gets the reply in their inbox (Reply-To the
  lead) and an alert with the reply's own text.
- unsubscribe / complaint: `opted_out` with that reason, a suppression entry, a stop.
- permanent bounce: `bounced`, a suppression entry, a stop; a transient bounce is only recorded.
- out-of-office: the cadence goes on, moved past a stated return date.
- meeting booked: `meeting_booked`, a stop, the account-level stop, the post-meeting cadence.

Every outcome is also an engagement record attributed to the touch that drew it (issue 6's
report reads them). Side effects are idempotent, so a redelivered notification is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from leadflow import clock, contacts, keys, mail, notify, reschedule, stops, store
from leadflow.config import operator_config, settings
from leadflow.models import (
    ContactStatus,
    Engagement,
    EngagementKind,
    Enrollment,
    Lead,
    StopReason,
    Touch,
    TouchStatus,
)
from leadflow.observability import logger

ALERT_TEXT_LIMIT = 1500  # characters of the reply quoted in a rep alert


@dataclass(frozen=True)
class Attribution:
    """The touch an answer is attributed to."""

    touch: Touch

    def fields(self, at: datetime) -> dict[str, object]:
        return {
            "enrollment": self.touch.enrollment,
            "touch": self.touch.number,
            "cadence": self.touch.cadence,
            "touch_channel": self.touch.channel,
            "template": self.touch.template,
            "variant": getattr(self.touch, "variant", None),
            "touch_sent_at": self.touch.sent_at,
            "seconds_after_touch": max(0, int((at - self.touch.sent_at).total_seconds())),
        }


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
    touches = store.touches(lead_id)
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


def record(
    lead_id: str,
    kind: EngagementKind,
    at: datetime,
    *,
    event_id: str,
    source: str,
    channel: str,
    attribution: Attribution | None,
    detail: str | None = None,
    message_id: str | None = None,
) -> bool:
    """Store the engagement event once; False if this event was already recorded."""
    event = Engagement(
        id=event_id,
        lead_id=lead_id,
        kind=kind,
        at=at,
        source=source,
        channel=channel,
        detail=detail,
        message_id=message_id,
        **(attribution.fields(at) if attribution else {}),  # type: ignore[arg-type]
    )
    return store.record_engagement(event)


def _account_stop(lead: Lead) -> list[Enrollment]:
    if not operator_config().account_level_stop:
        return []
    return contacts.stop_colleagues(lead.id, lead.email)


def _describe(lead: Lead) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or lead.email
    return f"{name} ({lead.company})" if lead.company else name


def _touch_label(attribution: Attribution | None) -> str:
    if attribution is None:
        return "before any touch"
    touch = attribution.touch
    return f"touch {touch.number} ({touch.template}, {touch.channel})"


def replied(
    lead: Lead,
    *,
    at: datetime,
    event_id: str,
    source: str,
    channel: str,
    text: str,
    attribution: Attribution | None,
    raw_mail: bytes | None = None,
) -> list[Enrollment]:
    """A human answered: stop, record, tell the owner (the mail itself, and an alert with its text)."""
    stopped = stops.stop_lead(lead.id, ContactStatus.REPLIED, StopReason.REPLY)
    first_time = record(
        lead.id,
        EngagementKind.REPLY,
        at,
        event_id=event_id,
        source=source,
        channel=channel,
        attribution=attribution,
    )
    _account_stop(lead)
    if not first_time:
        return stopped  # a redelivered notification: the owner already knows
    if raw_mail is not None:
        _forward_to_owner(lead, raw_mail, attribution)
    notify.alert_rep(
        rep=lead.owner,
        kind="reply",
        lead_id=lead.id,
        subject=f"{_describe(lead)} replied",
        message=f"{_describe(lead)} replied by {channel} to {_touch_label(attribution)}:\n\n"
        f"{text[:ALERT_TEXT_LIMIT] or '(no text of their own)'}\n\nReply to: {lead.email}",
    )
    return stopped


def _forward_to_owner(lead: Lead, raw_mail: bytes, attribution: Attribution | None) -> None:
    """The reply, to the owner's inbox: From us on the lead's behalf, Reply-To the lead, same thread."""
    config = operator_config()
    owner = config.rep(lead.owner) if lead.owner else config.reps[0]
    original = message_from_bytes(raw_mail, policy=policy.default)
    sender_address = parseaddr(settings().sender)[1]
    lead_name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    forward = EmailMessage()
    forward["From"] = formataddr((f"{lead_name or lead.email} via leadflow", sender_address))
    forward["To"] = formataddr((owner.name, str(owner.email)))
    forward["Reply-To"] = formataddr((lead_name, lead.email))
    forward["Subject"] = str(original.get("Subject", "") or "Reply from a lead")
    forward["Date"] = clock.now().strftime("%a, %d %b %Y %H:%M:%S +0000")
    if original.get("Message-ID"):
        # Answering this keeps the rep in the lead's thread.
        forward["In-Reply-To"] = str(original["Message-ID"])
        forward["References"] = " ".join(
            part for part in (str(original.get("References", "")), str(original["Message-ID"])) if part
        )
    forward.set_content(
        f"{_describe(lead)} replied to {_touch_label(attribution)}. Their cadence is stopped.\n"
        f"Answer this email to reply to them; the original is attached.\n\n"
    )
    forward.add_attachment(original)
    mail.send(forward, tags={"kind": "reply-forward"})


def opted_out(
    lead: Lead,
    reason: StopReason,
    *,
    at: datetime,
    event_id: str,
    source: str,
    channel: str,
    attribution: Attribution | None,
) -> list[Enrollment]:
    """Unsubscribe or complaint: suppress every address we hold for the lead, then stop."""
    kind = EngagementKind.COMPLAINT if reason is StopReason.COMPLAINT else EngagementKind.UNSUBSCRIBE
    suppress(lead, reason.value, at)
    stopped = stops.stop_lead(lead.id, ContactStatus.OPTED_OUT, reason)
    record(lead.id, kind, at, event_id=event_id, source=source, channel=channel, attribution=attribution)
    return stopped


def suppress(lead: Lead, reason: str, at: datetime) -> None:
    store.suppress(keys.email_key(lead.email), reason, at)
    if lead.phone_e164:
        store.suppress(keys.email_key(lead.phone_e164), reason, at)


def bounced(
    lead: Lead,
    *,
    permanent: bool,
    at: datetime,
    event_id: str,
    source: str,
    attribution: Attribution | None,
    detail: str = "",
    message_id: str | None = None,
) -> list[Enrollment]:
    """A permanent bounce suppresses the address and stops the lead; a transient one is recorded only."""
    record(
        lead.id,
        EngagementKind.BOUNCE,
        at,
        event_id=event_id,
        source=source,
        channel="email",
        attribution=attribution,
        detail=("permanent" if permanent else "transient") + (f": {detail}" if detail else ""),
        message_id=message_id,
    )
    if not permanent:
        return []
    store.suppress(keys.email_key(lead.email), StopReason.BOUNCE.value, at)
    return stops.stop_lead(lead.id, ContactStatus.BOUNCED, StopReason.BOUNCE)


def auto_replied(
    lead: Lead,
    *,
    at: datetime,
    event_id: str,
    return_date: date | None,
    attribution: Attribution | None,
) -> int:
    """The cadence goes on; a stated return date moves the next touch past it. Returns touches moved."""
    record(
        lead.id,
        EngagementKind.AUTO_REPLY,
        at,
        event_id=event_id,
        source="inbound-mail",
        channel="email",
        attribution=attribution,
        detail=return_date.isoformat() if return_date else None,
    )
    return reschedule.after_return(lead, return_date) if return_date else 0


def meeting_booked(
    lead: Lead,
    *,
    at: datetime,
    event_id: str,
    provider: str,
    starts_at: datetime | None,
) -> list[Enrollment]:
    """Stop every running cadence, then enroll the lead in the post-meeting cadence."""
    from leadflow.enrollments import EnrollmentRefused, enroll

    stopped = stops.stop_lead(lead.id, ContactStatus.MEETING_BOOKED, StopReason.MEETING_BOOKED)
    first_time = record(
        lead.id,
        EngagementKind.MEETING_BOOKED,
        at,
        event_id=event_id,
        source="meeting-webhook",
        channel="calendar",
        attribution=attribute(lead.id, at),
        detail=provider,
    )
    _account_stop(lead)
    cadence = settings().post_meeting_cadence
    try:
        enroll(lead.id, cadence, reason="meeting booked")
    except (EnrollmentRefused, KeyError) as error:
        logger.warning("no post-meeting enrollment", extra={"lead_id": lead.id, "why": str(error)})
    if first_time:
        when = f" for {clock.iso(starts_at)}" if starts_at else ""
        notify.alert_rep(
            rep=lead.owner,
            kind="meeting_booked",
            lead_id=lead.id,
            subject=f"Meeting booked: {_describe(lead)}",
            message=f"{_describe(lead)} booked a meeting{when} ({provider}). Their cadence is stopped and "
            f"the post-meeting follow-up ({cadence}) started.",
        )
    return stopped
