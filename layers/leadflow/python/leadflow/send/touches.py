"""Run one touch of an enrollment: claim, then send it on its channel, then record it.

Email goes through SES; SMS through SNS, only with consent, a valid number and outside quiet
hours (else the touch is recorded as skipped, with the reason); call, LinkedIn and video become
rep tasks. Whatever happens, the step returns the next touch's time: nothing blocks the cadence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow import clock, fields, keys, tokens
from leadflow.cadence import asl, variants
from leadflow.cadence.model import SMS_EARLIEST, SMS_LATEST, Cadence, Channel
from leadflow.cadence.schedule import country_of_zone
from leadflow.config import cadences, operator_config, settings
from leadflow.models import (
    CONTACTABLE,
    Enrollment,
    Lead,
    RunStatus,
    Touch,
    TouchRequest,
    TouchResult,
    TouchStatus,
)
from leadflow.observability import logger
from leadflow.send import lint, mail, messages, sms, tasks
from leadflow.store import enrollment_items, lead_items, suppression_items


class EnrollmentStopped(Exception):
    """The enrollment no longer runs or the lead may not be contacted; the state machine ends quietly."""


class NotDueYet(Exception):
    """The touch's stored due time moved later (out-of-office); the message is the new due time.

    The state machine catches it and waits again (asl.NOT_DUE_YET).
    """


# A Wait can end up to a second early (whole-second timestamps): only a real move re-waits.
DUE_TOLERANCE = timedelta(minutes=1)

assert EnrollmentStopped.__name__ == asl.ENROLLMENT_STOPPED
assert NotDueYet.__name__ == asl.NOT_DUE_YET


def run_touch(request: TouchRequest) -> TouchResult:
    config = settings()
    # Load-time lint, once per process: broken templates fail loudly instead of reaching a lead.
    lint.ensure_clean(config.cadence_dir, config.template_dir, config.config_file)
    cadence = cadences()[request.cadence]
    enrollment = enrollment_items.get_enrollment(request.lead_id, request.enrollment)
    lead = lead_items.get_lead(request.lead_id)
    if enrollment is None or lead is None:
        raise LookupError(f"no enrollment {request.enrollment} for lead {request.lead_id}")
    last = request.touch == len(cadence.touches)
    next_at = None if last else clock.iso(enrollment.schedule[request.touch])
    now = clock.now()
    due = enrollment.schedule[request.touch - 1]
    if enrollment.run_status is RunStatus.RUNNING and due - now > DUE_TOLERANCE:
        raise NotDueYet(clock.iso(due))
    if lead.status not in CONTACTABLE:
        raise EnrollmentStopped(f"lead {lead.id} is {lead.status.value}")
    if suppression_items.suppression(keys.email_key(lead.email)):
        # Suppression is global: it outlives statuses and covers every cadence and enrollment.
        raise EnrollmentStopped(f"lead {lead.id}: address suppressed")
    try:
        enrollment_items.claim_touch(lead.id, enrollment.number, request.touch, now)
    except enrollment_items.ClaimRejected:
        current = enrollment_items.get_enrollment(request.lead_id, request.enrollment)
        current_lead = lead_items.get_lead(request.lead_id)
        if (
            current is None
            or current.run_status is not RunStatus.RUNNING
            or current_lead is None
            or current_lead.status not in CONTACTABLE
        ):
            raise EnrollmentStopped(f"enrollment {request.enrollment} of {request.lead_id} stopped") from None
        # Claimed by an earlier attempt of this task: never send twice.
        logger.warning("touch already claimed", extra={"lead_id": lead.id, "touch": request.touch})
        return TouchResult(next_at=next_at, outcome="already_claimed")

    touch = cadence.touch(request.touch)
    if touch.channel is Channel.EMAIL:
        record = _send_email(cadence, request.touch, lead, enrollment, now)
    elif touch.channel is Channel.SMS:
        record = _send_sms(cadence, request.touch, lead, enrollment, now)
    else:
        task = tasks.create_task(lead, cadence, enrollment.number, request.touch, now)
        record = _record(
            cadence, request.touch, lead, enrollment, now, status=TouchStatus.TASK, task_id=task.id
        )
    enrollment_items.record_touch(record, complete=last)
    logger.info(
        "touch done",
        extra={
            "lead_id": lead.id,
            "touch": request.touch,
            "channel": touch.channel.value,
            "status": record.status.value,
            "skip_reason": record.skip_reason,
        },
    )
    return TouchResult(next_at=next_at, outcome=record.status.value)


def _record(
    cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime, **fields: object
) -> Touch:
    return Touch.model_validate(
        {
            "lead_id": lead.id,
            "enrollment": enrollment.number,
            "number": number,
            "cadence": cadence.name,
            "channel": cadence.touch(number).channel.value,
            "template": cadence.template(number),
            "sent_at": now,
            **fields,
        }
    )


def sms_number(lead: Lead, zone: str) -> str | None:
    """The lead's number in E.164 if valid (intake stores E.164; imported data may not be).

    A national number is read in the lead's country, else in the country of the zone in use.
    """
    try:
        return fields.phone_number(lead.phone, lead.country or country_of_zone(zone)) if lead.phone else None
    except ValueError:
        return None


def sms_skip_reason(lead: Lead, zone: str, now: datetime) -> str | None:
    """Why an SMS may not go to this lead now, or None."""
    if not lead.sms_consent:
        return "no_sms_consent"
    if not lead.phone:
        return "no_phone"
    if sms_number(lead, zone) is None:
        return "invalid_phone"
    if not SMS_EARLIEST <= now.astimezone(ZoneInfo(zone)).time() < SMS_LATEST:
        return "quiet_hours"
    return None


def _send_sms(cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime) -> Touch:
    zone = enrollment.zone or "UTC"
    reason = sms_skip_reason(lead, zone, now)
    if reason is None and lead.phone and suppression_items.suppression(keys.email_key(lead.phone)):
        reason = "phone_suppressed"  # the number texted STOP
    if reason:
        return _record(cadence, number, lead, enrollment, now, status=TouchStatus.SKIPPED, skip_reason=reason)
    phone = sms_number(lead, zone)
    assert phone is not None
    operator = operator_config()
    values = messages.context(
        lead,
        messages.owning_rep(lead, operator),
        operator,
        cadence=cadence,
        touch=number,
        unsubscribe_url=f"{settings().public_url.rstrip('/')}/unsubscribe",
        variant=None,
    )
    rendered = messages.compose(settings().template_dir, cadence, number, None, values)
    message_id = sms.send_sms(phone, rendered.text)
    return _record(cadence, number, lead, enrollment, now, message_id=message_id)


def _send_email(cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime) -> Touch:
    """Render the lead's variant of an email touch, thread it, send it; returns the record to store."""
    config, operator = settings(), operator_config()
    rep = messages.owning_rep(lead, operator)
    variant = variants.assign(lead.id, cadence.name, number, cadence.touch(number).variants)
    token = tokens.unsubscribe_token(lead.id, enrollment.number, number)
    unsubscribe_url = f"{settings().public_url.rstrip('/')}/unsubscribe?token={token}"
    values = messages.context(
        lead, rep, operator, cadence=cadence, touch=number, unsubscribe_url=unsubscribe_url, variant=variant
    )
    rendered = messages.compose(config.template_dir, cadence, number, variant, values)
    parent = _thread_parent(cadence, number, lead.id, enrollment.number)
    subject = messages.reply_subject(parent.subject) if parent and parent.subject else rendered.subject
    reply_to = tokens.reply_address(lead.id, enrollment.number, number, config.reply_domain)
    message = mail.build_message(
        sender=mail.format_address(rep.name, str(rep.email)),
        to=lead.email,
        subject=subject,
        text=rendered.text,
        html=rendered.html,
        headers=mail.automated_headers(
            reply_to=mail.format_address(rep.name, reply_to),
            unsubscribe_url=unsubscribe_url,
            unsubscribe_mailto=f"{tokens.UNSUBSCRIBE_PREFIX}{token}@{config.reply_domain}",
        ),
        in_reply_to=parent.ses_message_id if parent else None,
    )
    tags = {"cadence": cadence.name, "touch": str(number)}
    if variant:
        tags["variant"] = variant.name
    ses_id = mail.send(message, tags)
    return Touch(
        lead_id=lead.id,
        enrollment=enrollment.number,
        number=number,
        cadence=cadence.name,
        channel=cadence.touch(number).channel.value,
        template=messages.template_path(cadence, number, variant).removesuffix(".j2"),
        sent_at=now,
        message_id=ses_id,
        variant=variant.name if variant else None,
        subject=subject,
        ses_message_id=mail.ses_message_id(ses_id),
        own_message_id=str(message["Message-ID"]),
        in_reply_to=parent.ses_message_id if parent else None,
    )


def _thread_parent(cadence: Cadence, number: int, lead_id: str, enrollment: int) -> Touch | None:
    """The sent first email a follow-up replies to; None for thread starters (or if it never went out)."""
    root = cadence.thread_root(number)
    parent = enrollment_items.get_touch(lead_id, enrollment, root) if root else None
    return parent if parent and parent.ses_message_id else None
