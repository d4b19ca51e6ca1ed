"""Accept a lead: store it with its enrollment, then start the cadence's execution."""

from __future__ import annotations

from leadflow import clock, executions, keys, store
from leadflow.config import cadences, settings
from leadflow.models import Enrollment, Lead, LeadSubmission, RunStatus
from leadflow.observability import logger
from leadflow.schedule import plan


def route(submission: LeadSubmission) -> str:
    """The cadence for a new lead."""
    return settings().default_cadence


def accept(submission: LeadSubmission) -> str:
    """Store and enroll a lead; returns a submission id that reveals nothing about the lead.

    A known address starts nothing new, except resuming an enrollment whose
    execution never started (a crash between the write and the start): no lead is lost.
    """
    now = clock.now()
    cadence = cadences()[route(submission)]
    lead = Lead(
        id=keys.new_lead_id(),
        email=keys.normalize_email(submission.email),
        created_at=now,
        enrollments=1,
        **submission.model_dump(exclude={"email"}, exclude_none=True),
    )
    enrollment = Enrollment(
        lead_id=lead.id, number=1, cadence=cadence.name, schedule=plan(cadence, now), started_at=now
    )
    email_key = keys.email_key(submission.email)
    if store.create_lead(lead, email_key, enrollment):
        logger.info("lead accepted", extra={"lead_id": lead.id, "cadence": cadence.name})
        _start(enrollment)
    else:
        existing = store.lead_id_for_email(email_key)
        logger.info("known lead posted again", extra={"lead_id": existing})
        if existing:
            for known in store.enrollments(existing):
                if known.run_status is RunStatus.RUNNING and not known.execution_arn:
                    _start(known)
    return keys.new_submission_id()


def _start(enrollment: Enrollment) -> None:
    arn = executions.start(settings().state_machine_arns[enrollment.cadence], enrollment)
    store.set_execution_arn(enrollment.lead_id, enrollment.number, arn)
