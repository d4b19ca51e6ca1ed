"""Run one touch of an enrollment: claim, render, send, record."""

from __future__ import annotations

from datetime import timedelta

from leadflow import asl, clock, keys, mail, store
from leadflow.config import cadences, settings
from leadflow.models import CONTACTABLE, RunStatus, Touch, TouchRequest, TouchResult
from leadflow.observability import logger
from leadflow.render import render_touch


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
    cadence = cadences()[request.cadence]
    enrollment = store.get_enrollment(request.lead_id, request.enrollment)
    lead = store.get_lead(request.lead_id)
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
    if store.suppression(keys.email_key(lead.email)):
        # Suppression is global: it outlives statuses and covers every cadence and enrollment.
        raise EnrollmentStopped(f"lead {lead.id}: address suppressed")
    try:
        store.claim_touch(lead.id, enrollment.number, request.touch, now)
    except store.ClaimRejected:
        current = store.get_enrollment(request.lead_id, request.enrollment)
        current_lead = store.get_lead(request.lead_id)
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
    context = {"lead": lead.model_dump(), "sender": {"name": mail.parseaddr_name(config.sender)}}
    template_cadence, _, template_name = cadence.template(request.touch).partition("/")
    rendered = render_touch(template_cadence, template_name, context)
    message = mail.build_message(
        sender=config.sender, to=lead.email, subject=rendered.subject, text=rendered.text, html=rendered.html
    )
    message_id = mail.send(message, tags={"cadence": cadence.name, "touch": str(request.touch)})
    store.record_touch(
        Touch(
            lead_id=lead.id,
            enrollment=enrollment.number,
            number=request.touch,
            cadence=cadence.name,
            channel=touch.channel.value,
            template=cadence.template(request.touch),
            sent_at=now,
            message_id=message_id,
        ),
        complete=last,
    )
    logger.info(
        "touch sent", extra={"lead_id": lead.id, "touch": request.touch, "channel": touch.channel.value}
    )
    return TouchResult(next_at=next_at, outcome="sent")
