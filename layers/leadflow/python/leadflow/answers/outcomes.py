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

The stop, alert, mail and suppression modules are imported by the functions that use them: the
SES events function's most frequent calls (deliveries, opens) only record an event, and its cold
start skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, Any

from leadflow import clock, keys
from leadflow.config import operator_config, settings
from leadflow.models import (
    ContactStatus,
    EngagementKind,
    Enrollment,
    Lead,
    Meeting,
    MeetingStatus,
    RunStatus,
    StopReason,
    Touch,
    TouchStatus,
)
from leadflow.observability import logger
from leadflow.store import enrollment_items, event_items, lead_items

if TYPE_CHECKING:
    from leadflow.operator_config import Rep

ALERT_TEXT_LIMIT = 1500  # characters of the reply quoted in a rep alert
# A booking that gives a start but no end (a rep's task, some webhooks) lasts this long.
DEFAULT_MEETING_LENGTH = timedelta(minutes=30)


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
    from leadflow.intake import contacts

    if not operator_config().answers.account_level_stop:
        return []
    return contacts.stop_colleagues(lead.id, lead.email)


def owner_rep(lead: Lead) -> Rep:
    """The lead's owning rep (the one its emails come from)."""
    return operator_config().owning_rep(lead.owner)


def enroll_for_meeting(lead: Lead, cadence: str, meeting: Meeting, reason: str) -> Enrollment | None:
    """Enroll the lead in the post-meeting (or rebook) cadence about `meeting`; None if refused."""
    from leadflow.cadence.enrollments import EnrollmentRefused, enroll

    try:
        return enroll(lead.id, cadence, reason=reason, meeting=meeting)
    except (EnrollmentRefused, KeyError) as error:
        logger.warning(
            "no meeting enrollment", extra={"lead_id": lead.id, "cadence": cadence, "why": str(error)}
        )
        return None


def meeting_enrollment(lead_id: str) -> Enrollment | None:
    """The running enrollment on a booked meeting's clock (post-meeting), if any."""
    return next(
        (
            enrollment
            for enrollment in enrollment_items.enrollments(lead_id)
            if enrollment.run_status is RunStatus.RUNNING
            and enrollment.meeting is not None
            and enrollment.meeting.status is MeetingStatus.BOOKED
        ),
        None,
    )


def _stop_one(enrollment: Enrollment, reason: StopReason) -> None:
    from leadflow.cadence import executions

    stopped = enrollment_items.stop_enrollment(enrollment.lead_id, enrollment.number, reason, clock.now())
    execution = executions.arn_of(stopped) if stopped else None
    if execution:
        executions.stop(execution, cause=reason.value)


def local_time(lead: Lead, moment: datetime, zone: str | None) -> str:
    """A time as the owner reads it in an alert: on the owner's clock, then the lead's (issue 25: no
    bare UTC in an alert)."""
    from zoneinfo import ZoneInfo

    from leadflow.send.alerts import hours_of
    from leadflow.send.alerts import local_time as on_clock

    config = operator_config()
    owner_hours = hours_of(lead.owner, config) if lead.owner else None
    owner_zone = owner_hours.timezone if owner_hours else config.reps[0].hours.timezone
    text = on_clock(moment, owner_zone)
    if zone and zone != owner_zone:
        text += f", {moment.astimezone(ZoneInfo(zone)):%a %H:%M} their time ({zone})"
    return text


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
    subject: str = "",
) -> list[Enrollment]:
    """A human answered: stop, record, tell the owner (the mail itself, and an alert with its text),
    then act on what the reply says (answers.reply_actions: its intent decides)."""
    from leadflow.answers import reply_actions
    from leadflow.answers.intent import POSITIVE, Intent
    from leadflow.cadence import stops
    from leadflow.send import alerts

    reading = reply_actions.read_reply(lead, text, subject, at)
    details = reply_actions.event_details(reading)
    if reading.intent is Intent.UNSUBSCRIBE:
        # A written removal request (a model's, or an SMS in words): what the one-click link does.
        return opted_out(
            lead, StopReason.UNSUBSCRIBE, at=at, source=source, via=via, attribution=attribution, text=text
        )
    stopped = stops.stop_lead(
        lead.id,
        ContactStatus.REPLIED,
        StopReason.REPLY,
        at=at,
        event=event_fields(attribution, at, source=source, via=via, **details),
    )
    account_stop(lead)
    if not event_items.first_time(lead.id, f"answer#{answer_id}"):
        return stopped  # a redelivered notification: the owner already knows
    reply_actions.remember(lead, reading, at)
    where = attribution.label if attribution else "before any touch"
    if raw_mail is not None:
        _forward_to_owner(lead, raw_mail, where)
    enrollment = attribution.touch.enrollment if attribution else max(lead.enrollments, 1)
    action = reply_actions.act(lead, reading, at=at, enrollment=enrollment)
    said = f"Intent: {reading.intent.value}" + ("" if reading.sure else " (unsure: read it)")
    if reading.line:
        said += f', from "{reading.line}"'
    said += f".\nWrong? Correct it in one click: {reply_actions.correction_link(lead.id)}"
    alerts.alert_owner(
        lead,
        alerts.AlertKind.HOT_REPLY if reading.intent in POSITIVE else alerts.AlertKind.REPLIED,
        f"{describe(lead)} replied by {via} to {where}. Their cadence is stopped.\n{said}\n{action}\n\n"
        f"{text[:ALERT_TEXT_LIMIT] or '(no text of their own)'}",
    )
    return stopped


def _forward_to_owner(lead: Lead, raw_mail: bytes, where: str) -> None:
    """The reply, to the owner's inbox: from us on the lead's behalf, Reply-To the lead, same thread."""
    from leadflow.send import mail

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
    text: str | None = None,
) -> list[Enrollment]:
    """Unsubscribe or complaint: suppress every address we hold for the lead, then stop.

    `text`: the request was written in a reply; its intent (unsubscribe) and the line that said
    so are kept on the lead and the event, as for every human reply.
    """
    from leadflow.cadence import stops

    suppress(lead, reason.value, at)
    details: dict[str, Any] = {}
    if text is not None:
        from leadflow.answers import reply_actions
        from leadflow.answers.intent import Intent

        reading = reply_actions.read_reply(lead, text, "", at)
        if reading.intent is not Intent.UNSUBSCRIBE:  # the subject said it, or the address did
            reading = reading.model_copy(update={"intent": Intent.UNSUBSCRIBE, "sure": True})
        reply_actions.remember(lead, reading, at)
        details = reply_actions.event_details(reading)
    return stops.stop_lead(
        lead.id,
        ContactStatus.OPTED_OUT,
        reason,
        at=at,
        event=event_fields(attribution, at, source=source, via=via, **details),
    )


def suppress(lead: Lead, reason: str, at: datetime) -> None:
    """Suppress the lead's address, and its phone number when it has one (SMS STOP means everything)."""
    from leadflow.store import suppression_items

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
    from leadflow.cadence import stops
    from leadflow.store import suppression_items

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
    if not return_date:
        return 0
    from leadflow.cadence import reschedule

    return reschedule.after_return(lead, return_date)


def meeting_booked(
    lead: Lead,
    *,
    at: datetime,
    booking_id: str,
    provider: str,
    starts_at: datetime | None,
    ends_at: datetime | None = None,
) -> list[Enrollment]:
    """Stop every running cadence; with the meeting's time, enroll the post-meeting cadence on its clock.

    Without a time (a rep's task outcome, a webhook that gives none) nothing is planned yet: the
    owner is asked for the time (the task page has a field), or the calendar's webhook brings it.
    A second, different booking while post-meeting runs restarts it on the new meeting's clock.
    """
    from leadflow.cadence import stops
    from leadflow.send import alerts

    running = meeting_enrollment(lead.id)
    if running and running.meeting and running.meeting.booking == booking_id:
        return []  # a redelivered webhook
    stopped: list[Enrollment] = []
    if lead.status is not ContactStatus.MEETING_BOOKED or any(
        enrollment.run_status is RunStatus.RUNNING for enrollment in enrollment_items.enrollments(lead.id)
    ):
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
    cadence = operator_config().routing.meeting_booked_cadence
    if starts_at is None:
        if event_items.first_time(lead.id, f"booking-untimed#{booking_id}"):
            alerts.alert_owner(
                lead,
                alerts.AlertKind.MEETING_BOOKED,
                f"{describe(lead)} booked a meeting ({provider}), but no time came with it. Their cadence is "
                "stopped. Record the meeting's time on the task page (or let the calendar's webhook bring "
                f"it): the post-meeting follow-up ({cadence}) runs on the meeting's clock.",
            )
        return stopped
    if not event_items.first_time(lead.id, f"booking#{booking_id}"):
        return stopped  # a redelivered webhook
    lead_items.index_contact("BOOKING", booking_id, lead.id)
    meeting = Meeting(
        starts_at=starts_at, ends_at=ends_at or starts_at + DEFAULT_MEETING_LENGTH, booking=booking_id
    )
    enrolled = enroll_for_meeting(lead, cadence, meeting, "meeting booked") if cadence else None
    zone = enrolled.zone if enrolled else lead.timezone
    alerts.alert_owner(
        lead,
        alerts.AlertKind.MEETING_BOOKED,
        f"{describe(lead)} booked a meeting for {local_time(lead, starts_at, zone)} ({provider}). "
        "Their cadence is stopped"
        + (f"; the post-meeting follow-up ({cadence}) starts after the meeting ends." if enrolled else "."),
    )
    return stopped


def meeting_moved(
    lead: Lead, *, booking_id: str, provider: str, starts_at: datetime, ends_at: datetime | None
) -> bool:
    """A reschedule: the post-meeting enrollment restarts on the new time. True when it moved."""
    from leadflow.send import alerts

    running = meeting_enrollment(lead.id)
    ends_at = ends_at or starts_at + DEFAULT_MEETING_LENGTH
    if (
        running
        and running.meeting
        and (running.meeting.starts_at, running.meeting.ends_at) == (starts_at, ends_at)
    ):
        return False  # a redelivered webhook
    if running is None and lead.status is not ContactStatus.MEETING_BOOKED:
        # Nothing booked that we know of: a reschedule of an unknown booking books it.
        meeting_booked(
            lead,
            at=clock.now(),
            booking_id=booking_id,
            provider=provider,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        return True
    if running is not None:
        _stop_one(running, StopReason.RESCHEDULED)
    cadence = operator_config().routing.meeting_booked_cadence
    meeting = Meeting(starts_at=starts_at, ends_at=ends_at, booking=booking_id)
    lead_items.index_contact("BOOKING", booking_id, lead.id)
    enrolled = enroll_for_meeting(lead, cadence, meeting, "meeting rescheduled") if cadence else None
    record(lead.id, EngagementKind.MEETING_RESCHEDULED, clock.now(), details={"provider": provider})
    zone = enrolled.zone if enrolled else lead.timezone
    alerts.alert_owner(
        lead,
        alerts.AlertKind.MEETING_BOOKED,
        f"{describe(lead)} moved their meeting to {local_time(lead, starts_at, zone)} ({provider})."
        + (" The post-meeting follow-up moved with it." if enrolled else ""),
    )
    return True


def meeting_missed(lead: Lead, *, booking_id: str | None, provider: str, status: MeetingStatus) -> bool:
    """A cancellation or a no-show: no recap; the rebook cadence starts instead. True when it acted.

    Only a meeting whose post-meeting enrollment still runs (its recap waits for the meeting to end,
    plus the cadence's delay, so a no-show marked in that time stops it).
    """
    from leadflow.send import alerts

    running = meeting_enrollment(lead.id)
    if running is None or running.meeting is None:
        return False
    if booking_id and running.meeting.booking and running.meeting.booking != booking_id:
        return False  # about another booking than the one the follow-up is on
    reason = StopReason.NO_SHOW if status is MeetingStatus.NO_SHOW else StopReason.MEETING_CANCELED
    _stop_one(running, reason)
    now = clock.now()
    lead_items.set_contact_status(lead.id, ContactStatus.ACTIVE, reason.value, now)
    record(lead.id, EngagementKind(reason.value), now, details={"provider": provider})
    cadence = operator_config().routing.meeting_missed_cadence
    meeting = running.meeting.model_copy(update={"status": status})
    enrolled = enroll_for_meeting(lead, cadence, meeting, reason.value) if cadence else None
    what = "did not show up for" if status is MeetingStatus.NO_SHOW else "cancelled"
    alerts.alert_owner(
        lead,
        alerts.AlertKind.MEETING_MISSED,
        f"{describe(lead)} {what} the meeting of {local_time(lead, running.meeting.starts_at, running.zone)} "
        f"({provider}). No recap goes out"
        + (f"; the rebook cadence ({cadence}) offers a new time." if enrolled else "."),
    )
    return True
