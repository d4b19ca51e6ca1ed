"""Run one touch of an enrollment: claim, then send it on its channel, then record it.

Email goes through SES; SMS through SNS, only with consent, a valid number in an allowed country
(abuse.sms_countries) and outside quiet hours (else the touch is recorded as skipped, with the
reason); call, LinkedIn and video become rep tasks. Whatever happens, the step returns the next
touch's time: nothing blocks the cadence.

A cold start imports what an email touch needs; the modules of the other channels, of speed to
lead, of drafts and of failures are imported where they are used (~100 kB of source, ~14 ms).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from leadflow import aws, clock, fields, keys, tokens
from leadflow.cadence import asl, variants, versions
from leadflow.cadence.model import SMS_EARLIEST, SMS_LATEST, Cadence, Channel
from leadflow.cadence.schedule import country_of_zone, holiday_name, locale_for, open_days
from leadflow.config import operator_config, settings
from leadflow.models import (
    CONTACTABLE,
    Enrollment,
    Lead,
    RunStatus,
    Touch,
    TouchRequest,
    TouchResult,
    TouchStatus,
    task_id,
)
from leadflow.observability import logger, metrics
from leadflow.send import first_moment, guard, mail, messages
from leadflow.store import enrollment_items, lead_items, suppression_items


class EnrollmentStopped(Exception):
    """The enrollment no longer runs or the lead may not be contacted; the state machine ends quietly."""


class NotDueYet(Exception):
    """The touch's stored due time moved later (out-of-office); the message is the new due time.

    The state machine catches it and waits again (asl.NOT_DUE_YET).
    """


class TouchUnsettled(Exception):
    """An earlier attempt claimed this touch and its outcome is not known yet (in doubt).

    The state machine retries it (asl.TOUCH_UNSETTLED, backing off to hourly) until SES's Send
    event settles it or IN_DOUBT_BOUND passes; the execution holds its place meanwhile.
    """


# A Wait can end up to a second early (whole-second timestamps): only a real move re-waits.
DUE_TOLERANCE = timedelta(minutes=1)
# An attempt that died after it went to call SES leaves the touch in doubt: SES may have accepted
# it. Its Send event (tagged with lead, enrollment and touch) settles it; with none this long after
# the call, nothing went out and the touch is sent. Far beyond the event's path: our own events
# pipeline gives up on a message after 5 receives x 6 min (30 min, then its DLQ alarms); AWS
# publishes no latency figure for SES event publishing. See docs/decisions.md (in-doubt bound).
IN_DOUBT_BOUND = timedelta(hours=6)

assert EnrollmentStopped.__name__ == asl.ENROLLMENT_STOPPED
assert NotDueYet.__name__ == asl.NOT_DUE_YET
assert TouchUnsettled.__name__ == asl.TOUCH_UNSETTLED
assert (aws.Throttled.__name__, aws.ServiceUnavailable.__name__) == (asl.THROTTLED, asl.SERVICE_UNAVAILABLE)


class _Claim:
    """A touch's claim: taken before a task is created, just before the provider call for an email
    or a text (the same write records the call), or before a skip is stored. Released on an error,
    unless the provider may have accepted the message."""

    def __init__(
        self, lead_id: str, enrollment: int, touch: int, at: datetime, execution_arn: str | None = None
    ) -> None:
        self.lead_id, self.enrollment, self.touch, self.at = lead_id, enrollment, touch, at
        self.execution_arn = execution_arn  # touch 1's claim stores it (enrollments.started)
        self.claim_id: str | None = None
        self.provider_call_at: datetime | None = None
        self.may_release = True

    def take(self, provider_call_at: datetime | None = None) -> None:
        """Raises ClaimRejected (stopped, or claimed or done by another attempt)."""
        self.claim_id = enrollment_items.claim_touch(
            self.lead_id,
            self.enrollment,
            self.touch,
            self.at,
            provider_call_at=provider_call_at,
            execution_arn=self.execution_arn,
        )
        self.provider_call_at = provider_call_at

    def release(self) -> None:
        if self.claim_id is not None:
            enrollment_items.release_touch(
                self.lead_id, self.enrollment, self.touch, self.claim_id, self.provider_call_at
            )


# Channels whose touch calls a provider: claimed with that call, once the message is ready.
PROVIDER_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})


def run_moment(request: TouchRequest, escalation_target: str | None = None) -> list[TouchResult]:
    """Run the touches `touch`..`through` that share a send moment (one Task, cadence.asl.moments).

    Each is run_touch on its own: its claim, its record, its own channel's rules (a text to a lead
    without SMS consent is recorded as skipped, no provider call). A member due later than the
    others (pushed by its channel's hours) raises NotDueYet after the earlier ones are recorded;
    the state machine waits and runs the moment again, and the recorded ones settle without
    being sent twice. `escalation_target`: the function speed-to-lead schedules invoke (the step's
    own ARN, send.escalations).
    """
    last = request.through or request.touch
    return [
        run_touch(request.model_copy(update={"touch": number, "through": None}), escalation_target)
        for number in range(request.touch, last + 1)
    ]


def run_touch(request: TouchRequest, escalation_target: str | None = None) -> TouchResult:
    """Run one touch; a transient AWS error is raised by name for the state machine to retry."""
    try:
        return _run_touch(request, escalation_target)
    except Exception as error:
        named = aws.transient(error)
        if named is None:
            raise
        logger.warning(
            "transient error, the state machine retries",
            extra={"lead_id": request.lead_id, "touch": request.touch, "error": str(named)},
        )
        raise named from error


def _run_touch(request: TouchRequest, escalation_target: str | None) -> TouchResult:
    # Templates are linted when the stack is synthesized (infra/app.py) and when the Sandbox starts,
    # not here: a cold start of the step function does not pay for the lint.
    # The version this execution started on, not necessarily the one deployed now.
    cadence = versions.cadence_at(request.cadence, request.version)
    # The claim's state as stored: it matters only when an earlier attempt claimed this touch (or the
    # first moment is still open: before_second_moment), resolved then (resolve_claim).
    lead, enrollment = lead_items.get_lead_and_enrollment(request.lead_id, request.enrollment)
    if enrollment is None or lead is None:
        raise LookupError(f"no enrollment {request.enrollment} for lead {request.lead_id}")
    last = request.touch == len(cadence.touches)
    next_at = None if last else clock.iso(enrollment.schedule[request.touch])
    now = clock.now()
    if request.escalate:
        # An execution started before issue 28 reached its escalation state: the chain goes on by
        # schedule from here (its Choice then takes the next moment).
        if enrollment.run_status is RunStatus.RUNNING and lead.status in CONTACTABLE:
            from leadflow.send import escalations

            escalations.escalate_now(lead, enrollment, now, escalation_target)
        return TouchResult(next_at=next_at, outcome="escalated")
    if request.touch > 1:  # never a later touch before the first moment, sent outside the execution
        enrollment = first_moment.before_second_moment(request, cadence, enrollment, escalation_target)
    if enrollment.last_touch >= request.touch:
        enrollment = enrollment_items.resolve_claim(enrollment)
    if enrollment.last_touch > request.touch or (
        enrollment.last_touch == request.touch
        and enrollment.touch_state != enrollment_items.TouchState.RELEASED
    ):
        # An earlier attempt got this far: settle what it left, never send again.
        earlier = _earlier_attempt(request, cadence, enrollment, next_at, now)
        if earlier is not None:
            return earlier
    due = enrollment.schedule[request.touch - 1]
    if enrollment.run_status is RunStatus.RUNNING and due - now > DUE_TOLERANCE:
        raise NotDueYet(clock.iso(due))
    _ensure_contactable(lead)
    if cadence.touch(request.touch).channel is Channel.EMAIL:
        # Paused, or over the sending domain's cap today: the touch (and the later ones) moved.
        held = guard.admit_email(lead, cadence, enrollment, request.touch, now)
        if held is not None:
            raise NotDueYet(clock.iso(held))
    if any(touch.channel is Channel.MANUAL_EMAIL for touch in cadence.touches[: request.touch - 1]):
        from leadflow.send import drafts

        drafts.expire_drafts(lead.id, enrollment.number, request.touch, now)  # too late once this one runs
    execution = None
    if request.touch == 1:  # its claim stores the execution's ARN; a later touch's needs none
        from leadflow.cadence import executions

        execution = executions.arn_of(enrollment)
    claim = _Claim(lead.id, enrollment.number, request.touch, now, execution)
    try:
        if cadence.touch(request.touch).channel not in PROVIDER_CHANNELS:
            claim.take()  # before the task exists: a stop stored first wins
        record, stored = _dispatch(cadence, request.touch, lead, enrollment, now, claim)
        if claim.claim_id is None:
            claim.take()  # a skip: nothing went out, nothing is stored yet
        record.claimed_at = clock.parse_iso(clock.iso(now))  # as claim_touch stored it
        claim.may_release = False
        enrollment_items.record_touch(record, complete=last, stored=stored)
    except enrollment_items.ClaimRejected:
        current = enrollment_items.get_enrollment(request.lead_id, request.enrollment)
        if current is None:
            raise LookupError(f"no enrollment {request.enrollment} for lead {request.lead_id}") from None
        earlier = _earlier_attempt(request, cadence, current, next_at, now)
        if earlier is not None:
            return earlier
        raise TouchUnsettled(f"touch {request.touch} of {lead.id}: claimed meanwhile") from None
    except BaseException:
        if claim.may_release:
            claim.release()
        raise
    logger.info(
        "touch done",
        extra={
            "lead_id": lead.id,
            "touch": request.touch,
            "channel": record.channel,
            "status": record.status.value,
            "skip_reason": record.skip_reason,
        },
    )
    if request.touch == 1:  # speed to lead: its chain runs on schedules, outside the execution
        from leadflow.send import escalations

        escalations.open_call(lead, cadence, enrollment, now, escalation_target)
    return TouchResult(next_at=next_at, outcome=record.status.value)


def _ensure_contactable(lead: Lead) -> None:
    if lead.status not in CONTACTABLE:
        raise EnrollmentStopped(f"lead {lead.id} is {lead.status.value}")
    if suppression_items.suppression(keys.email_key(lead.email)):
        # Suppression is global: it outlives statuses and covers every cadence and enrollment.
        raise EnrollmentStopped(f"lead {lead.id}: address suppressed")


def _dispatch(
    cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime, claim: _Claim
) -> tuple[Touch, bool]:
    """The touch's record, and whether it is stored already (a rep task carries it)."""
    touch = cadence.touch(number)
    if touch.channel is Channel.EMAIL:
        return _send_email(cadence, number, lead, enrollment, now, claim), False
    if touch.channel is Channel.SMS:
        return _send_sms(cadence, number, lead, enrollment, now, claim), False
    from leadflow.send import drafts, tasks

    draft = (
        drafts.compose_draft(lead, cadence, enrollment, number, now)
        if touch.channel is Channel.MANUAL_EMAIL
        else None
    )
    record = _record(
        cadence,
        number,
        lead,
        enrollment,
        now,
        status=TouchStatus.TASK,
        task_id=task_id(lead.id, enrollment.number, number),
        claimed_at=clock.parse_iso(clock.iso(now)),  # as claim_touch stored it
    )
    task = tasks.create_task(lead, cadence, enrollment.number, number, now, draft, record)
    return record, task.sent_at is not None


def _provider_call(claim: _Claim, send: Callable[[], str]) -> str:
    """Re-check the lead, claim the touch, then call SES or SNS; returns the provider's message id.

    The lead's consistent read catches a change recorded while the message was rendered; the claim
    (a conditional write: still running, the touch neither claimed nor done) orders us against any
    stop recorded before it and records the provider call in the same write. What remains is the
    window from that write to the provider accepting: measured as StopWindowMs, see
    docs/decisions.md (delivery guarantee). A refusal (a ClientError) means nothing went out, so
    the claim may be released; any other failure (a timeout, a lost connection, a crash) may follow
    acceptance: the claim is kept, in doubt, and a later attempt settles it (_settle_unknown).
    """
    lead = lead_items.get_lead(claim.lead_id)
    if lead is None:
        raise EnrollmentStopped(f"lead {claim.lead_id} is gone")
    _ensure_contactable(lead)
    claim.take(provider_call_at=clock.now())
    checked = time.perf_counter()
    try:
        message_id = send()
    except ClientError:
        raise
    except BaseException:
        claim.may_release = False
        raise
    claim.may_release = False
    metrics.add_metric(
        name="StopWindowMs", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - checked) * 1000
    )
    return message_id


def _earlier_attempt(
    request: TouchRequest, cadence: Cadence, enrollment: Enrollment, next_at: str | None, now: datetime
) -> TouchResult | None:
    """The touch was claimed before. Store what an accepted attempt left; settle or wait for an
    attempt whose outcome is unknown; None when the touch is free to claim again. Otherwise the
    touch is done (never sent twice), or the enrollment stopped."""
    last = request.touch == len(cadence.touches)
    if enrollment.last_touch == request.touch:
        state = enrollment.touch_state
        if state == enrollment_items.TouchState.RELEASED:
            return None
        if state == enrollment_items.TouchState.ACCEPTED and enrollment.pending_touch is not None:
            # Left by an earlier version, which kept the accepted record on the enrollment.
            enrollment_items.record_touch(
                Touch.model_validate(enrollment.pending_touch), complete=last, accepted=True
            )
            logger.warning("touch settled from its accepted record", extra=_ids(request))
            return TouchResult(next_at=next_at, outcome="settled")
        if state == enrollment_items.TouchState.SENT and last and enrollment.run_status is RunStatus.RUNNING:
            # The last touch is stored (that settled it) and its attempt died before the completion.
            recorded = enrollment_items.get_touch(request.lead_id, request.enrollment, request.touch)
            if recorded is not None:
                enrollment_items.settle_touch(recorded, complete=True)
                return TouchResult(next_at=next_at, outcome="settled")
        if state == enrollment_items.TouchState.CLAIMED:
            settled = _settle_unknown(request, cadence, enrollment, now)
            if settled is None:
                return None
            settled.claimed_at = enrollment.claimed_at
            enrollment_items.record_touch(settled, complete=last)
            logger.warning("touch settled after its attempt died", extra=_ids(request))
            return TouchResult(next_at=next_at, outcome="settled")
    lead = lead_items.get_lead(request.lead_id)
    if (
        enrollment.last_touch < request.touch
        or enrollment.run_status is RunStatus.STOPPED
        or lead is None
        or lead.status not in CONTACTABLE
    ):
        raise EnrollmentStopped(f"enrollment {request.enrollment} of {request.lead_id} stopped")
    # Done by an earlier attempt of this task: never send twice.
    logger.warning("touch already claimed", extra=_ids(request))
    return TouchResult(next_at=next_at, outcome="already_claimed")


def _ids(request: TouchRequest) -> dict[str, object]:
    return {"lead_id": request.lead_id, "enrollment": request.enrollment, "touch": request.touch}


def _settle_unknown(
    request: TouchRequest, cadence: Cadence, enrollment: Enrollment, now: datetime
) -> Touch | None:
    """A claim without an outcome: its attempt died (or lost its claim) before recording one.

    Never called the provider (no `provider_call_at`): nothing went out; released at once.
    Otherwise the touch is in doubt. Email: SES's Send event for the touch (tagged with lead,
    enrollment and touch) proves it went out and settles it; without one, TouchUnsettled until
    IN_DOUBT_BOUND after the call, then the claim is released and the touch sent. SMS: SNS
    publishes no such event; the touch is recorded as skipped ("unconfirmed"), never sent twice
    (at most once). Tasks and skips are stored by key: released and done again. Returns the
    record to store, or None once released.
    """
    lead = lead_items.get_lead(request.lead_id)
    if lead is None:
        raise LookupError(f"no lead {request.lead_id}")
    called_at = enrollment.provider_call_at
    if enrollment.claim_id is None:  # claimed before claims had ids: it may have called at its claim
        called_at = called_at or enrollment.claimed_at
    channel = cadence.touch(request.touch).channel
    if called_at is not None and channel is Channel.EMAIL:
        events = enrollment_items.send_events(lead.id, enrollment.number, request.touch)
        if events:
            message_id = str(events[0]["message_id"])
            record = _record(cadence, request.touch, lead, enrollment, called_at, message_id=message_id)
            record.ses_message_id = mail.ses_message_id(message_id)
            return record
        if now - called_at < IN_DOUBT_BOUND:
            raise TouchUnsettled(f"touch {request.touch} of {lead.id}: in doubt, no Send event yet")
        logger.warning("touch in doubt past its bound, no Send event: sending it", extra=_ids(request))
        metrics.add_metric(name="InDoubtTouchResent", unit=MetricUnit.Count, value=1)
        opening = _next_window_opening(lead, cadence, request.touch, now)
        if opening is not None:
            _defer_resend(request, lead, cadence, enrollment, opening)
    elif called_at is not None and channel is Channel.SMS:
        return _record(
            cadence,
            request.touch,
            lead,
            enrollment,
            called_at,
            status=TouchStatus.SKIPPED,
            skip_reason="unconfirmed",
        )
    released = enrollment_items.release_touch(
        lead.id, enrollment.number, request.touch, enrollment.claim_id, enrollment.provider_call_at
    )
    if not released:
        raise TouchUnsettled(f"touch {request.touch} of {lead.id}: its claim changed meanwhile")
    return None


def _next_window_opening(lead: Lead, cadence: Cadence, number: int, now: datetime) -> datetime | None:
    """None when `now` is inside the lead's send window; else the window's next opening.

    An in-doubt resend comes hours after its planned time (IN_DOUBT_BOUND): it must not go out at night.
    """
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    local = now.astimezone(locale.tz)
    window = cadence.window
    open_today = local.weekday() in window.weekday_numbers and not (
        window.skip_holidays and holiday_name(locale, local.date())
    )
    if open_today and window.start <= local.time() < window.end:
        return None
    if open_today and local.time() < window.start:
        return datetime.combine(local.date(), window.start, tzinfo=locale.tz)
    for _day, opens, _closes in open_days(cadence.touch(number), local.date(), window, locale, set()):
        return opens
    raise ValueError(f"touch {number}: no allowed day ahead in the send window")


def _defer_resend(
    request: TouchRequest, lead: Lead, cadence: Cadence, enrollment: Enrollment, opening: datetime
) -> None:
    """Move the touch (and the later ones) to `opening`, then release the in-doubt claim: the state
    machine waits (NotDueYet) and sends it then. Moved first, so an attempt that finds the touch
    released finds its new time too."""
    from leadflow.cadence.reschedule import replanned

    moved = replanned(lead, enrollment, cadence, request.touch - 1, opening)
    if not enrollment_items.catch_up_schedule(lead.id, enrollment.number, moved, request.touch):
        raise TouchUnsettled(f"touch {request.touch} of {lead.id}: settled meanwhile")
    if not enrollment_items.release_touch(
        lead.id, enrollment.number, request.touch, enrollment.claim_id, enrollment.provider_call_at
    ):
        raise TouchUnsettled(f"touch {request.touch} of {lead.id}: its claim changed meanwhile")
    logger.info(
        "in-doubt resend moved into the send window", extra={**_ids(request), "until": clock.iso(opening)}
    )
    raise NotDueYet(clock.iso(moved[request.touch - 1]))


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


def sms_skip_reason(
    lead: Lead, zone: str, now: datetime, countries: frozenset[str], opt_in: frozenset[str] = frozenset()
) -> str | None:
    """Why an SMS may not go to this lead now, or None.

    `countries`: where SMS may go; `opt_in`: where the lead must first have texted YES.
    """
    if not lead.sms_consent:
        return "no_sms_consent"
    if not lead.phone:
        return "no_phone"
    number = sms_number(lead, zone)
    if number is None:
        return "invalid_phone"
    country = fields.phone_country(number)
    if country not in countries:
        return "country_not_allowed"  # SMS pumping: texts to premium-rate ranges abroad
    if country in opt_in and lead.sms_confirmed_at is None:
        return "awaiting_sms_opt_in"
    if not SMS_EARLIEST <= now.astimezone(ZoneInfo(zone)).time() < SMS_LATEST:
        return "quiet_hours"
    return None


def _send_sms(
    cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime, claim: _Claim
) -> Touch:
    zone = enrollment.zone or "UTC"
    operator = operator_config()
    reason = sms_skip_reason(
        lead, zone, now, operator.sms_countries, frozenset(operator.abuse.sms_double_opt_in)
    )
    if reason is None and lead.phone and suppression_items.suppression(keys.email_key(lead.phone)):
        reason = "phone_suppressed"  # the number texted STOP
    if reason:
        return _record(cadence, number, lead, enrollment, now, status=TouchStatus.SKIPPED, skip_reason=reason)
    phone = sms_number(lead, zone)
    assert phone is not None
    unsubscribe_page = f"{settings().public_url.rstrip('/')}/unsubscribe"  # a text has no token
    values = messages.touch_context(lead, cadence, enrollment, number, now, unsubscribe_url=unsubscribe_page)
    rendered = messages.compose(settings().template_dir, cadence, number, None, values)
    from leadflow.send import sms

    message_id = _provider_call(claim, lambda: sms.send_sms(phone, rendered.text))
    return _record(cadence, number, lead, enrollment, now, message_id=message_id)


def _send_email(
    cadence: Cadence, number: int, lead: Lead, enrollment: Enrollment, now: datetime, claim: _Claim
) -> Touch:
    """Render the lead's variant of an email touch, thread it, send it; returns the record to store."""
    config, operator = settings(), operator_config()
    rep = messages.owning_rep(lead, operator)
    variant = variants.assign(lead.id, cadence.name, number, cadence.touch(number).variants)
    unsubscribe_url = messages.unsubscribe_url(lead.id, enrollment.number, number)
    values = messages.touch_context(
        lead, cadence, enrollment, number, now, unsubscribe_url=unsubscribe_url, variant=variant
    )
    rendered = messages.compose(config.template_dir, cadence, number, variant, values)
    parent = _thread_parent(cadence, number, lead.id, enrollment.number)
    email = messages.touch_email(
        lead,
        rep,
        cadence,
        enrollment.number,
        number,
        subject=messages.reply_subject(parent.subject) if parent and parent.subject else rendered.subject,
        text=rendered.text,
        html=rendered.html,
        unsubscribe_url=unsubscribe_url,
        parent=parent,
        variant=variant,
        message_id=tokens.own_message_id(
            lead.id, enrollment.number, number, mail.sender_domain(str(rep.email))
        ),
    )
    ses_id = _provider_call(claim, lambda: mail.send(email.message, email.tags))
    return email.sent(ses_id, now)


def _thread_parent(cadence: Cadence, number: int, lead_id: str, enrollment: int) -> Touch | None:
    """The sent first email a follow-up replies to; None for thread starters (or if it never went out)."""
    root = cadence.thread_root(number)
    parent = enrollment_items.get_touch(lead_id, enrollment, root) if root else None
    return parent if parent and parent.ses_message_id else None
