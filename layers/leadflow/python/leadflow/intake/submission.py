"""Accept a lead: score and route it (cadence, owner), store it with its consent record, then
start, resume or skip its cadence, and alert its owner.

Every valid post gets the same answer (a fresh submission id) whatever happened here, so the
endpoint never tells a stranger whether an address is known, enrolled or suppressed.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from leadflow import aws, clock, keys
from leadflow.cadence import executions, versions
from leadflow.cadence.enrollments import START_LEASE, plan_for, start
from leadflow.config import cadences, operator_config, settings
from leadflow.intake import contacts, limits, sms_opt_in
from leadflow.intake.routing import choose_cadence, choose_owner, fit_score
from leadflow.models import (
    CONTACTABLE,
    Enrollment,
    HeldPost,
    Lead,
    LeadSubmission,
    RequestOrigin,
    RunStatus,
    StopReason,
    SubmissionOutcome,
    SubmissionRecord,
)
from leadflow.observability import LeadEvent, logger, publish_events
from leadflow.send import speed
from leadflow.send.alerts import AlertKind, alert_owner
from leadflow.store import enrollment_items, lead_items

__all__ = [
    "START_LEASE",
    "Accepted",
    "IdempotencyConflict",
    "LeadBeingWritten",
    "SubmissionRejected",
    "accept",
    "accept_once",
]


class SubmissionRejected(ValueError):
    """A field the domain rejects beyond the model's own validation (answered with a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def route(lead: Lead) -> str:
    """The cadence for a lead: by source or form, fit band and type (routing.choose_cadence)."""
    return choose_cadence(lead, cadences(), operator_config())


def new_lead(
    submission: LeadSubmission, client: str | None, now: datetime, lead_id: str | None = None
) -> Lead:
    """The lead as stored: the posted fields, a server-side fit score and band, type and owner.

    Only an authenticated server-to-server caller (`client`) may set score, lead type or owner;
    a public post's values for them are ignored.
    """
    config = operator_config()
    lead = Lead(
        id=lead_id or keys.new_lead_id(),
        email=submission.email,
        created_at=now,
        last_submitted_at=now,
        posted_by=client,
        **submission.lead_fields(),
    )
    trusted = client is not None
    if not trusted and (submission.score is not None or submission.lead_type or submission.owner):
        logger.info("ignored score, type or owner in a public post", extra={"lead_id": lead.id})
    if trusted and submission.owner and submission.owner not in {rep.id for rep in config.reps}:
        raise SubmissionRejected("owner", f"no rep {submission.owner!r}")
    trusted_score = submission.score if trusted else None
    lead.score = trusted_score if trusted_score is not None else fit_score(lead, config.scoring)
    lead.band = config.scoring.bands.band(lead.score)
    if trusted and submission.lead_type:
        lead.lead_type = submission.lead_type
    return lead


class Accepted(NamedTuple):
    """A random id for the answer (it reveals nothing about the lead) and what the post did (for metrics)."""

    submission_id: str
    outcome: SubmissionOutcome


def accept(
    submission: LeadSubmission,
    origin: RequestOrigin | None = None,
    client: str | None = None,
    *,
    cadence: str | None = None,
    human: bool = False,
    release: HeldPost | None = None,
) -> Accepted:
    """Store and enroll a lead.

    `email_consent=false` stores the lead without a cadence and alerts the owner to follow up
    by hand. A known address starts no second execution: see `_known_lead_posted`.
    `client` names the authenticated server-to-server caller, None for a public post.
    `human`: the provider verified the post's captcha (intake.limits, the human-burst rule).
    `release`: an operator releases this held post (intake.held): the same post, at its own time,
    past the post limits.
    """
    now = clock.now()
    posted_at = release.received_at if release else now
    submission_id = release.submission_id if release else keys.new_submission_id()
    public = client is None
    refused = (
        limits.refused_post(submission.email, origin, now, human=human) if public and not release else None
    )
    if refused:
        # Answered like any post; stored as held, not enrolled, never dropped.
        from leadflow.intake import held  # a refused post's: not every cold start's

        return Accepted(submission_id, held.hold(submission, origin, submission_id, refused, now))
    email_key = keys.email_key(submission.email)
    known_id, suppressed = lead_items.lead_id_and_suppression(email_key)
    # The index without its lead: its creator crashed before writing the lead (lead_items.create_lead).
    completing = known_id is not None and _creation_abandoned(email_key, known_id, now)
    if suppressed and known_id is None:
        # Suppressed without a lead (an imported list, a deleted lead): answered like any post,
        # never stored, never contacted.
        logger.info("suppressed address posted: not stored")
        return Accepted(submission_id, SubmissionOutcome.SUPPRESSED)
    lead = new_lead(submission, client, posted_at, known_id) if known_id is None or completing else None
    automated = submission.email_consent is not False
    # One automated first touch per inbox and per phone a day, across leads (plus-variants of one
    # inbox are many leads): the lead is kept, without a cadence, and without an alert per post.
    limited = bool(lead and automated and public and not limits.take_first_touch(lead, now))
    automated = automated and not limited
    # `cadence`: an operator's import names it (leadflow enroll --csv); a post is routed.
    chosen = cadence or (route(lead) if lead else "")
    enrollment = _new_enrollment(lead, 1, chosen, now, known=False) if lead and automated else None
    outcome = (
        SubmissionOutcome.NEW
        if automated
        else SubmissionOutcome.FIRST_TOUCH_LIMITED
        if limited
        else SubmissionOutcome.MANUAL_FOLLOW_UP
    )
    if lead:
        lead.enrollments = 1 if enrollment else 0
        lead.held_back = "first_touch_limit" if limited else None
        # The owner is drawn (round robin) only for a lead that is really new.
        lead.owner = (
            submission.owner if client and submission.owner else choose_owner(lead, operator_config())
        )
    if lead and lead_items.create_lead(
        lead,
        email_key,
        enrollment,
        _record(lead.id, submission_id, outcome, submission, origin, posted_at),
        completing=completing,
    ):
        logger.info("lead accepted", extra={"lead_id": lead.id, "outcome": outcome.value, "band": lead.band})
        events: list[LeadEvent] = [("accepted", lead.id, now, {"detail": lead.source, "email": lead.email})]
        if enrollment:
            enrolled = {"cadence": enrollment.cadence, "enrollment": 1, "detail": "intake"}
            events.append(("enrolled", lead.id, now, enrolled))
        publish_events(events)  # one PutEvents for both
        contacts.index_lead(lead)
        if enrollment:
            first = _claim_first_enrollment(enrollment, now) if completing else enrollment
            if first is not None:
                start(first)
            if not speed.wants_a_call(lead, cadences()[enrollment.cadence], enrollment, operator_config()):
                # A speed-to-lead lead's owner hears of it from the call task, inside their hours.
                alert_owner(lead, AlertKind.LEAD_ACCEPTED, _accepted_detail(lead, enrollment))
            sms_opt_in.ask(lead)
        elif limited:
            logger.info("first-touch limit reached: lead kept without a cadence", extra={"lead_id": lead.id})
        else:
            alert_owner(
                lead,
                AlertKind.MANUAL_FOLLOW_UP,
                "The form said no to marketing email: call or write by hand.",
            )
    else:
        known = _known_lead(email_key)
        outcome = _known_lead_posted(known, submission, now, public)
        consent = _consent_given(submission)
        if public and consent.get("email_consent") is False:
            # Unproven (anyone can type the address): kept in the submission record only.
            consent.pop("email_consent")
        lead_items.record_return(known.id, now, _blanks_to_fill(known, submission), consent, email_key)
        contacts.index_lead(known)  # a post is activity: the indexes are kept as long as the lead
        lead_items.record_submission(_record(known.id, submission_id, outcome, submission, origin, posted_at))
        logger.info("known lead posted again", extra={"lead_id": known.id, "outcome": outcome.value})
    return Accepted(submission_id, outcome)


class LeadBeingWritten(LookupError):
    """The address's index has no lead yet and its creator's lease (START_LEASE) still runs: a
    concurrent post, or one cut off mid-write by a table failure. Answered 503: a retry once the
    lease ran out completes the lead under the indexed id."""

    def __init__(self) -> None:
        super().__init__("email index without its lead: its creator is still writing it")


class IdempotencyConflict(Exception):
    """An Idempotency-Key reused: `in_progress` while the first request runs, else for another lead."""

    def __init__(self, in_progress: bool) -> None:
        super().__init__("in progress" if in_progress else "different request")
        self.in_progress = in_progress


def accept_once(
    submission: LeadSubmission,
    origin: RequestOrigin | None,
    idempotency_key: str | None,
    fingerprint: str,
    lambda_context: Any = None,
    client: str | None = None,
    human: bool = False,
) -> Accepted:
    """`accept`, made idempotent by the client's Idempotency-Key (Powertools idempotency, 24 hours).

    A retry with the same key and the same lead returns the first answer (id and outcome).
    """
    table_name = settings().idempotency_table_name
    if not idempotency_key or table_name is None:
        return accept(submission, origin, client, human=human)
    # Imported here: a cold start without the header does not pay for it.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="key", payload_validation_jmespath="fingerprint", expires_after_seconds=86_400
    )
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.client("dynamodb"))

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def accept_post(request: dict[str, str]) -> dict[str, Any]:
        return accept(submission, origin, client, human=human)._asdict()

    try:
        first = accept_post(request={"key": idempotency_key, "fingerprint": fingerprint})
        return Accepted(first["submission_id"], SubmissionOutcome(first["outcome"]))
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyConflict(in_progress=True) from None
    except IdempotencyValidationError:
        raise IdempotencyConflict(in_progress=False) from None


def _known_lead(email_key: str) -> Lead:
    lead_id = lead_items.lead_id_for_email(email_key)
    if lead_id is None:
        raise LookupError("no email index")
    lead = _wait_for_lead(lead_id)
    if lead is None:
        raise LeadBeingWritten
    return lead


# How long a post waits for a concurrent post of the same address to finish writing the lead
# (three single-item writes after the index); past it the post is answered 503 and a retry finds it.
CREATION_WAIT_SECONDS = 5.0


def _wait_for_lead(lead_id: str) -> Lead | None:
    deadline = time.monotonic() + CREATION_WAIT_SECONDS
    pause = 0.005
    while (lead := lead_items.get_lead(lead_id)) is None and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(2 * pause, 0.1)
    return lead


def _creation_abandoned(email_key: str, lead_id: str, now: datetime) -> bool:
    """True when the address's index has no lead and its creator gave up (crashed) long ago.

    A lead being written right now by a concurrent post is waited for (False once it exists).
    The creator's lease is START_LEASE, the same one that guards the execution's start.
    """
    if lead_items.get_lead(lead_id) is not None:
        return False
    claimed_at = lead_items.email_claimed_at(email_key)
    if claimed_at is None or now - claimed_at >= START_LEASE:
        return True
    if _wait_for_lead(lead_id) is None:
        raise LeadBeingWritten
    return False


def _claim_first_enrollment(written: Enrollment, now: datetime) -> Enrollment | None:
    """Completing a lead: start the stored first enrollment, ours or the crashed attempt's (its lease
    ran out with the creator's); None when another caller holds its start."""
    stored = enrollment_items.get_enrollment(written.lead_id, 1)
    if stored is None or stored.execution_arn:
        return None
    if stored.started_at == written.started_at:
        return stored
    if enrollment_items.claim_start(written.lead_id, 1, now, now + START_LEASE):
        return stored
    return None


def _known_lead_posted(
    lead: Lead, submission: LeadSubmission, now: datetime, public: bool
) -> SubmissionOutcome:
    """Decide what a known lead's new post does. Never a second execution of a running enrollment."""
    if lead.status not in CONTACTABLE:
        _alert_returning(
            lead, now, AlertKind.SUPPRESSED_LEAD_RETURNED, "Nothing automated: contact them by hand."
        )
        return SubmissionOutcome.SUPPRESSED
    enrollments = enrollment_items.enrollments(lead.id)
    # A pending enrollment (its StartExecution failed) counts as running: it is started, not doubled.
    running = [
        enrollment
        for enrollment in enrollments
        if enrollment.run_status in (RunStatus.RUNNING, RunStatus.PENDING)
    ]
    if submission.email_consent is False and public and running:
        # Anyone can type this address: ask its owner to confirm (the unsubscribe link) first.
        from leadflow.intake import withdrawal  # a returning lead's: not every cold start's

        withdrawal.ask_to_confirm(lead, running, now)
        _alert_returning(
            lead,
            now,
            AlertKind.LEAD_RETURNED,
            "A form post asked to stop emails to this lead; they were sent a link to confirm. "
            "Their cadence goes on until they do.",
        )
        return SubmissionOutcome.WITHDRAWAL_UNCONFIRMED
    if submission.email_consent is False or (
        submission.email_consent is None and lead.email_consent is False
    ):
        _withdraw(running, now)
        _alert_returning(
            lead, now, AlertKind.MANUAL_FOLLOW_UP, "No consent to marketing email: follow up by hand."
        )
        return SubmissionOutcome.MANUAL_FOLLOW_UP
    for enrollment in running:
        if not enrollment.execution_arn and enrollment_items.claim_start(
            lead.id, enrollment.number, now, now + START_LEASE
        ):
            start(enrollment)
            return SubmissionOutcome.RESUMED
    if not running and _may_enroll(lead, enrollments, now):
        if public and not limits.take_first_touch(lead, now):
            return SubmissionOutcome.FIRST_TOUCH_LIMITED
        enrollment = _new_enrollment(lead, lead.enrollments + 1, route(lead), now, known=True)
        if enrollment_items.add_enrollment(enrollment):
            start(enrollment)
            _alert_returning(lead, now, AlertKind.LEAD_REENROLLED, "Their cadence starts again from touch 1.")
            return SubmissionOutcome.ENROLLED
    _alert_returning(lead, now, AlertKind.LEAD_RETURNED, "A strong signal: consider reaching out now.")
    return SubmissionOutcome.RETURNED


def _may_enroll(lead: Lead, enrollments: list[Enrollment], now: datetime) -> bool:
    """First enrollment (consent given after a no), or re-enrollment per the operator's policy."""
    if not enrollments:
        return True
    policy = operator_config().intake.reenrollment
    if policy.policy == "never" or lead.status not in policy.statuses:
        return False
    last = max(enrollments, key=lambda enrollment: enrollment.number)
    # A failed enrollment ended when its execution gave up (issue 11): a later post re-enrolls.
    ended_at = last.stopped_at or last.completed_at or last.failed_at or last.started_at
    return now - ended_at >= timedelta(days=policy.cooldown_days)


def _withdraw(running: list[Enrollment], now: datetime) -> None:
    """The lead said no to marketing email: stop what runs (the stop is written before StopExecution)."""
    for enrollment in running:
        stopped = enrollment_items.stop_enrollment(
            enrollment.lead_id, enrollment.number, StopReason.CONSENT_WITHDRAWN, now
        )
        execution = executions.arn_of(stopped) if stopped else None
        if execution:
            executions.stop(execution, cause=StopReason.CONSENT_WITHDRAWN.value)


def _alert_returning(lead: Lead, now: datetime, kind: AlertKind, detail: str) -> None:
    """At most one alert per lead per cooldown, and none right after the first post (double submits)."""
    quiet = timedelta(minutes=operator_config().intake.returning_alert_cooldown_minutes)
    if lead_items.claim_returning_alert(lead.id, now, now - quiet):
        alert_owner(lead, kind, detail)


def _blanks_to_fill(lead: Lead, submission: LeadSubmission) -> dict[str, object]:
    """Profile fields the lead record lacks and this post gives; nothing known is overwritten."""
    known = lead.model_dump(exclude_none=True)
    given = submission.lead_fields()
    return {
        name: value
        for name, value in given.items()
        if name not in ("email_consent", "sms_consent") and value != {} and name not in known
    }


def _consent_given(submission: LeadSubmission) -> dict[str, bool]:
    """The consent flags this post states; the latest statement is the lead's current consent."""
    flags = {"email_consent": submission.email_consent, "sms_consent": submission.sms_consent}
    return {name: given for name, given in flags.items() if given is not None}


def _record(
    lead_id: str,
    submission_id: str,
    outcome: SubmissionOutcome,
    submission: LeadSubmission,
    origin: RequestOrigin | None,
    received_at: datetime,
) -> SubmissionRecord:
    return SubmissionRecord(
        lead_id=lead_id,
        submission_id=submission_id,
        received_at=received_at,
        outcome=outcome,
        form=submission.source,
        email_consent=submission.email_consent,
        sms_consent=submission.sms_consent,
        **(origin or RequestOrigin()).model_dump(),
    )


def _new_enrollment(lead: Lead, number: int, cadence_name: str, now: datetime, *, known: bool) -> Enrollment:
    """Planned in the lead's time zone; a known lead's schedule avoids days its other cadences use."""
    cadence = cadences()[cadence_name]
    schedule, zone = plan_for(lead, cadence, now, known_lead=known)
    return Enrollment(
        lead_id=lead.id,
        number=number,
        cadence=cadence.name,
        schedule=schedule,
        started_at=now,
        start_lease_until=now + START_LEASE,
        reason="intake" if number == 1 else "posted again",
        zone=zone,
        version=versions.keep(cadence),
    )


def _accepted_detail(lead: Lead, enrollment: Enrollment) -> str:
    """When they posted, on the owner's clock and in their own time, and what runs now."""
    from zoneinfo import ZoneInfo

    from leadflow.send.alerts import local_time

    config = operator_config()
    owner_zone = (config.rep(lead.owner) if lead.owner else config.reps[0]).hours.timezone
    zone = enrollment.zone or "UTC"
    local = lead.created_at.astimezone(ZoneInfo(zone))
    return (
        f"New lead, posted {local_time(lead.created_at, owner_zone)} ({local:%a %H:%M} their time, {zone}).\n"
        f"Cadence {enrollment.cadence}: the first touch is on its way; your tasks follow by alert."
    )
