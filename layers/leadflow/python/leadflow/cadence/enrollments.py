"""Enroll a lead in a cadence: plan its touches in the lead's time zone, store, start the execution.

`enroll()` is the one entry point for every later enrollment (a meeting booked, re-engagement,
a re-posted form); intake stores a new lead and its first enrollment atomically with `plan_for`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from leadflow import aws, clock
from leadflow.cadence import executions, first_moment, versions
from leadflow.cadence.model import Cadence
from leadflow.cadence.schedule import Locale, locale_for, opening_offset, plan
from leadflow.config import cadences, operator_config, settings
from leadflow.models import CONTACTABLE, Enrollment, Intent, Lead, Meeting, RunStatus, TouchStatus
from leadflow.observability import logger, publish_event
from leadflow.store import enrollment_items, lead_items

ENROLL_ATTEMPTS = 5
# The caller who creates an enrollment starts its execution; a later post may take over the start
# (after a crash between the write and the start) only once this lease has run out.
START_LEASE = timedelta(seconds=30)


class EnrollmentRefused(Exception):
    """The lead cannot be enrolled: unknown, or no longer contactable (opted out, bounced)."""


def busy_days(lead_id: str, locale: Locale) -> frozenset[date]:
    """Local days on which the lead already has an automated touch: sent, or planned by a running cadence."""
    tz = locale.tz
    known = cadences()
    days = {
        touch.sent_at.astimezone(tz).date()
        for touch in enrollment_items.touches(lead_id)
        if touch.status is TouchStatus.SENT and touch.channel in ("email", "sms")
    }
    for enrollment in enrollment_items.enrollments(lead_id):
        if enrollment.run_status is not RunStatus.RUNNING or enrollment.cadence not in known:
            continue
        cadence = versions.cadence_of(enrollment)
        for number, due in enumerate(enrollment.schedule, start=1):
            if number > enrollment.last_touch and cadence.touch(number).automated:
                days.add(due.astimezone(tz).date())
    return frozenset(days)


def plan_for(
    lead: Lead, cadence: Cadence, start: datetime, *, known_lead: bool, answers_a_meeting: bool = False
) -> tuple[list[datetime], str]:
    """The touches' due times for this lead, and the zone they were planned in.

    A cadence that answers a meeting (the recap after it, a new time after a cancellation) sends
    its first touch at `start` even on a day another cadence already used: the answer comes first.
    Later touches avoid busy days.
    """
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    busy = busy_days(lead.id, locale) if known_lead else frozenset()
    if answers_a_meeting:
        busy -= {start.astimezone(locale.tz).date()}
    return plan(cadence, start, locale, busy, opening_offset(lead.id)), locale.zone


def first_touch_at(cadence: Cadence, meeting: Meeting | None, now: datetime) -> datetime:
    """When day 1 begins: now, or on a meeting's clock the meeting's end plus the cadence's delay."""
    if cadence.meeting is None:
        return now
    if meeting is None:
        raise EnrollmentRefused(f"cadence {cadence.name} runs on a meeting's clock: give the meeting's times")
    return max(now, meeting.ends_at + timedelta(minutes=cadence.meeting.after_end_minutes))


def start(enrollment: Enrollment) -> bool:
    """Start the enrollment's execution (idempotent by its name), remember its ARN, then hand its
    first moment to the step (cadence.first_moment: the execution starts at the second moment).

    When Step Functions is unavailable or throttles, the enrollment is marked `pending` and
    `leadflow sweep` starts it within minutes: the caller (a form's post) still succeeds.
    Returns False then.
    """
    # Late (pending for days, resumed long after its execution died): the touches whose time passed
    # would go out back to back; their schedule moves to now first. (reschedule imports this module.)
    from leadflow.cadence.reschedule import caught_up

    enrollment = caught_up(enrollment, clock.now())
    cadence = versions.cadence_of(enrollment)
    try:
        arn = executions.start(settings().state_machine_arns[enrollment.cadence], enrollment, cadence)
    except Exception as error:
        if aws.transient(error) is None:
            raise
        enrollment_items.mark_pending(enrollment.lead_id, enrollment.number)
        logger.warning(
            "StartExecution failed: the enrollment is pending, the sweep starts it",
            extra={
                "lead_id": enrollment.lead_id,
                "enrollment": enrollment.number,
                "error": str(aws.transient(error)),
            },
        )
        return False
    started(enrollment, cadence, arn)
    return True


def started(enrollment: Enrollment, cadence: Cadence, execution_arn: str) -> None:
    """Its execution runs: store the ARN (the sweep's index keeps an unsent touch 1), then hand the
    first moment to the step. Every start and restart ends here.

    A touch 1 due now, of an enrollment without a stored ARN (still in the sweep's index as START from
    its creation or its take), is sent at once: its claim stores the ARN (derived from the execution's
    name, executions.arn_of) and takes the enrollment out of the index. That write does this one's
    work, which is left out: one write a lead. Until the claim the table shows no ARN: stops derive
    it, and the sweep asks Step Functions before it starts such an enrollment again (cadence.sweep).
    """
    now = clock.now()
    watch = first_moment.attention(enrollment, cadence, now)
    left_to_claim = (
        watch == enrollment_items.Attention.START
        and enrollment.execution_arn is None
        and enrollment.schedule[0] <= now
    )
    try:
        if not left_to_claim:
            enrollment_items.set_execution_arn(enrollment.lead_id, enrollment.number, execution_arn, watch)
    finally:
        # Even when the table refused the ARN (the caller answers 503): the execution runs, and the
        # enrollment is still in the sweep's index from its creation. After the write, never before:
        # the claim's removal from the index must come after it.
        if watch is not None:
            first_moment.hand_over(enrollment)


def enroll(
    lead_id: str,
    cadence_name: str,
    reason: str,
    meeting: Meeting | None = None,
    *,
    start_at: datetime | None = None,
) -> Enrollment:
    """Enroll a known lead in a cadence now; returns the new enrollment, or the running one.

    `meeting` is what the enrollment is about (post-meeting: its clock; rebook: what happened).
    `start_at` plans touch 1 no earlier than then (a not-now reply's day): the execution starts
    now and its first touch waits for its due time.

    A lead already running in this cadence is not enrolled twice. Its other running cadences
    keep going; the new schedule avoids their automated days (one per local day, in total).
    Raises EnrollmentRefused for an unknown or no longer contactable lead, KeyError for an
    unknown cadence.
    """
    cadence = cadences()[cadence_name]
    for _ in range(ENROLL_ATTEMPTS):
        lead = lead_items.get_lead(lead_id)
        if lead is None:
            raise EnrollmentRefused(f"no lead {lead_id}")
        if lead.status not in CONTACTABLE:
            raise EnrollmentRefused(f"lead {lead_id} is {lead.status.value}")
        if meeting is None:
            held = reply_hold(lead, clock.now())
            if held:
                raise EnrollmentRefused(f"lead {lead_id} is {held}")
        for running in enrollment_items.enrollments(lead_id):
            if running.cadence == cadence.name and running.run_status in (
                RunStatus.RUNNING,
                RunStatus.PENDING,
            ):
                if not running.execution_arn and enrollment_items.claim_start(
                    lead_id, running.number, clock.now(), clock.now() + START_LEASE
                ):
                    start(running)  # stored but never started (a crash in between): resume it
                return running
        now = clock.now()
        schedule, zone = plan_for(
            lead,
            cadence,
            max(first_touch_at(cadence, meeting, now), start_at or now),
            known_lead=True,
            answers_a_meeting=meeting is not None,
        )
        enrollment = Enrollment(
            meeting=meeting,
            lead_id=lead_id,
            number=lead.enrollments + 1,
            cadence=cadence.name,
            schedule=schedule,
            started_at=now,
            start_lease_until=now + START_LEASE,
            reason=reason,
            zone=zone,
            version=versions.keep(cadence),
        )
        if enrollment_items.add_enrollment(enrollment):
            start(enrollment)
            publish_event(
                "enrolled", lead_id, now, cadence=cadence.name, enrollment=enrollment.number, detail=reason
            )
            logger.info(
                "lead enrolled",
                extra={
                    "lead_id": lead_id,
                    "cadence": cadence.name,
                    "enrollment": enrollment.number,
                    "reason": reason,
                },
            )
            return enrollment
    raise RuntimeError(
        f"lead {lead_id}: enrollment number kept moving; gave up after {ENROLL_ATTEMPTS} tries"
    )


def reply_hold(lead: Lead, now: datetime) -> str | None:
    """Why an automated enrollment must wait after what the lead replied, or None."""
    if lead.reply_intent == Intent.WRONG_PERSON.value:
        return "held: wrong person"
    if lead.reply_intent == Intent.NOT_INTERESTED.value and lead.reply_at is not None:
        quiet = timedelta(days=operator_config().answers.not_interested_quiet_days)
        if now < lead.reply_at + quiet:
            return f"held: not interested until {clock.iso(lead.reply_at + quiet)}"
    return None
