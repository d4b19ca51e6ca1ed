"""Human speed to lead: a rep calls a lead who asked to talk to someone within minutes.

For a cadence with `speed_to_lead: true`, touch 1 of an intake enrollment whose form's intent is
demo, pricing or contact-sales opens a call task (touch 0 of the enrollment) for the owner: due
`due_minutes` after the post inside the owner's business hours, at their next start outside
them; the owner is alerted at once. The state machine then waits `escalate_after_minutes` after
the task's window opened: still no outcome, the owner is alerted again; as long again later, the
next rep in the owner's rotation. An outcome (or a stop, which cancels the task) ends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadflow import clock
from leadflow.cadence.model import Cadence
from leadflow.config import operator_config
from leadflow.models import Enrollment, Lead, Task, TaskStatus, task_id
from leadflow.operator_config import OperatorConfig
from leadflow.send.alerts import AlertKind, alert_owner
from leadflow.send.tasks import task_link
from leadflow.store import task_items

SPEED_TOUCH = 0  # the task's touch number: before the cadence's own touches
INSTRUCTION = (
    "They asked to talk to someone: call now. Reference the form they sent and what it said, ask what "
    "prompted it, and book the next step while you are on the phone. No answer: a 20-second voicemail "
    "and a short email from your own inbox."
)
# Escalations after the first alert: the owner again, then the next rep in rotation.
ESCALATIONS = 2


def wants_a_call(lead: Lead, cadence: Cadence, enrollment: Enrollment, config: OperatorConfig) -> bool:
    form = config.form(lead.form)
    return (
        cadence.speed_to_lead
        and enrollment.reason in ("intake", "posted again")
        and form is not None
        and form.intent.wants_a_human
    )


def open_call(lead: Lead, cadence: Cadence, enrollment: Enrollment, now: datetime) -> str | None:
    """Open the call task and alert the owner; returns when to escalate it (ISO), or None."""
    config = operator_config()
    if not wants_a_call(lead, cadence, enrollment, config):
        return None
    owner = config.rep(lead.owner) if lead.owner else config.reps[0]
    opens = owner.hours.opening(now)
    speed = config.speed_to_lead
    due = opens + timedelta(minutes=speed.due_minutes) if opens == now else opens
    task = Task(
        id=task_id(lead.id, enrollment.number, SPEED_TOUCH),
        lead_id=lead.id,
        enrollment=enrollment.number,
        touch=SPEED_TOUCH,
        cadence=cadence.name,
        channel="call",
        name="speed-to-lead",
        instruction=INSTRUCTION,
        owner=owner.id,
        due_at=due,
    )
    task_items.put_task(task)
    inside = "" if opens == now else " (outside your business hours: due when they start)"
    alert_owner(lead, AlertKind.SPEED_TO_LEAD, _detail(task, f"Call due by {clock.iso(due)}{inside}."))
    return clock.iso(opens + timedelta(minutes=speed.escalate_after_minutes))


def escalate(lead: Lead, enrollment: Enrollment, now: datetime) -> str | None:
    """Escalate the unworked call task once; returns when to escalate again (ISO), or None."""
    config = operator_config()
    task = task_items.get_task(lead.id, enrollment.number, SPEED_TOUCH)
    if task is None or task.status is not TaskStatus.OPEN or len(task.escalations) >= ESCALATIONS:
        return None
    owner = task.owner or config.reps[0].id
    rep = owner if not task.escalations else next_rep(lead, owner, config)
    if not task_items.add_escalation(task, now, rep):
        return None  # worked in the meantime
    waited = int((now - task.due_at).total_seconds() // 60) + config.speed_to_lead.due_minutes
    who = "You are the next rep in rotation: please call. " if rep != owner else ""
    alert_owner(
        lead,
        AlertKind.SPEED_TO_LEAD_ESCALATED,
        _detail(task, f"{who}Nobody has called yet; the lead has waited about {max(waited, 0)} minutes."),
        rep=rep,
    )
    if len(task.escalations) + 1 >= ESCALATIONS:
        return None
    return clock.iso(now + timedelta(minutes=config.speed_to_lead.escalate_after_minutes))


def next_rep(lead: Lead, owner: str, config: OperatorConfig) -> str:
    """The rep after the owner in the rotation the owner rule gives the lead (else every rep)."""
    rule = next(
        (
            rule
            for rule in config.owners
            if rule.matches(country=lead.country, source=lead.source, form=lead.form, band=lead.band)
        ),
        None,
    )
    rotation = list(rule.reps) if rule and len(rule.reps) > 1 else [rep.id for rep in config.reps]
    if owner not in rotation:
        return rotation[0]
    return rotation[(rotation.index(owner) + 1) % len(rotation)]


def _detail(task: Task, headline: str) -> str:
    link = task_link(task.id)
    return "\n".join(
        [
            f"SPEED TO LEAD: {headline}",
            "",
            task.instruction,
            "",
            "Record the outcome (connected, no_answer, voicemail, meeting_booked, done):",
            f"  open {link}",
        ]
    )
