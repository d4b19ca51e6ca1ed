"""Human speed to lead: a rep calls a lead who asked to talk to someone within minutes.

For a cadence with `speed_to_lead: true`, touch 1 of an intake enrollment whose form's intent is
demo, pricing or contact-sales opens a call task (touch 0 of the enrollment) for the owner: due
`due_minutes` after the post inside the owner's business hours, at their next start outside
them. The alerts then follow a chain, each reaching a person inside their own hours (working
days, their country's public holidays off): the owner when the task opens; the owner again
`escalate_after_minutes` later; the next rep in the owner's rotation; the manager
(`speed_to_lead.manager`) last. A link whose person is off then passes to the next one at work;
nobody at work, the chain waits for the first of them to start. An outcome (or a stop, which
cancels the task) ends it.

The lead-facing cadence never waits on the chain: it runs outside the execution, on one-shot
schedules (send.escalations triggers each alert; this module decides who and when). The intake
asks only `wants_a_call`: the task store and the links of the alerts are imported by the functions
of the chain, which the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from leadflow import clock
from leadflow.config import operator_config
from leadflow.models import Enrollment, Lead, Task, TaskStatus, task_id
from leadflow.operator_config import BusinessHours, OperatorConfig
from leadflow.send.alerts import MANAGER, AlertKind, alert_owner, local_time, next_rep, waited

if TYPE_CHECKING:  # annotations only: a hot reply's stand-in (alerts) needs no cadence model
    from leadflow.cadence.model import Cadence

SPEED_TOUCH = 0  # the task's touch number: before the cadence's own touches
INSTRUCTION = (
    "They asked to talk to someone: call now. Reference the form they sent and what it said, ask what "
    "prompted it, and book the next step while you are on the phone. No answer: a 20-second voicemail "
    "and a short email from your own inbox."
)


@dataclass(frozen=True)
class Link:
    """One alert of the chain: its name (recorded on the task) and who gets it."""

    step: str
    person: str  # a rep id, or MANAGER
    hours: BusinessHours


def chain(lead: Lead, owner: str, config: OperatorConfig) -> list[Link]:
    """The alerts of an unworked call task, in order: owner, owner again, next rep, manager."""
    owner_hours = config.rep(owner).hours
    links = [Link("owner", owner, owner_hours), Link("owner again", owner, owner_hours)]
    other = next_rep(lead, owner, config)
    if other != owner:
        links.append(Link("next rep", other, config.rep(other).hours))
    manager = config.speed_to_lead.manager
    if manager is not None:
        links.append(Link("manager", MANAGER, manager.hours))
    return links


def wants_a_call(lead: Lead, cadence: Cadence, enrollment: Enrollment, config: OperatorConfig) -> bool:
    form = config.form(lead.form)
    return (
        cadence.speed_to_lead
        and enrollment.reason in ("intake", "posted again")
        and form is not None
        and form.intent.wants_a_human
    )


@dataclass(frozen=True)
class Next:
    """When the chain's next alert is due; `noted`: the write that opened the task or recorded the
    alert already noted it on the task (escalate_at), so the caller only creates its schedule."""

    at: datetime
    noted: bool = False


def open_call(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, now: datetime, next_at: datetime | None
) -> Next | None:
    """Open the call task; alert the owner if at work. Returns when the chain goes on, or None.

    One write: the task is stored with the owner's first alert recorded and the next alert's time
    noted (or, with the owner off, their start noted). A retried open finds it stored and alerts
    nobody: the put is conditional, so the first alert goes out once.
    """
    config = operator_config()
    if not wants_a_call(lead, cadence, enrollment, config):
        return None
    owner = config.rep(lead.owner) if lead.owner else config.reps[0]
    opens = owner.hours.opening(now)
    speed = config.speed_to_lead
    due = opens + timedelta(minutes=speed.due_minutes) if opens == now else opens
    links = chain(lead, owner.id, config)
    first = links[0] if opens == now else None  # the owner's, in their hours
    # Off now: the owner's first alert waits for their start.
    then = _before_next_touch(opens, next_at) if first is None else _after_alert(first, links, now, next_at)
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
        created_at=now,
        escalate_at=then,
        escalations=[{"at": clock.iso(now), "rep": first.person, "step": first.step}] if first else [],
    )
    from leadflow.store import task_items

    if not task_items.put_task(task):
        return None  # stored by an earlier attempt, with its first alert
    if first is not None:
        alert_owner(lead, AlertKind.SPEED_TO_LEAD, _detail(task, first, now), rep=first.person)
    return Next(then, noted=True) if then else None


def escalate(
    lead: Lead, enrollment: Enrollment, now: datetime, next_at: datetime | None, task: Task | None = None
) -> Next | None:
    """The chain's next alert, to the first person due who is at work; returns when to go on. `task`:
    the call task as the caller just read it (else read here); the alert's conditional write on the
    alerts it holds refuses a stale one."""
    from leadflow.store import task_items

    config = operator_config()
    if task is None:
        task = task_items.get_task(lead.id, enrollment.number, SPEED_TOUCH)
    if task is None or task.status is not TaskStatus.OPEN:
        return None
    return _alert(lead, task, chain(lead, task.owner or config.reps[0].id, config), now, next_at)


def resume(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, now: datetime, next_at: datetime | None
) -> Next | None:
    """After a later touch: when the unworked call's chain goes on, or None."""
    if not cadence.speed_to_lead or next_at is None:
        return None
    from leadflow.store import task_items

    config = operator_config()
    task = task_items.get_task(lead.id, enrollment.number, SPEED_TOUCH)
    if task is None or task.status is not TaskStatus.OPEN:
        return None
    done = {escalation.get("step") for escalation in task.escalations}
    if not [link for link in chain(lead, task.owner or config.reps[0].id, config) if link.step not in done]:
        return None
    if task.escalations:
        after = timedelta(minutes=config.speed_to_lead.escalate_after_minutes)
        due = clock.parse_iso(task.escalations[-1]["at"]) + after
    else:
        due = task.due_at
    moment = _before_next_touch(max(now, due), next_at)
    return Next(moment) if moment else None


def _alert(lead: Lead, task: Task, links: list[Link], now: datetime, next_at: datetime | None) -> Next | None:
    from leadflow.store import task_items

    done = {escalation.get("step") for escalation in task.escalations}
    pending = [link for link in links if link.step not in done]
    if not task.escalations and pending and pending[0].step == "owner":
        pending = pending[:1]  # the first alert is the owner's: the task is due in their hours
    at_work = next((link for link in pending if link.hours.working(now)), None)
    if at_work is None:
        if not pending:
            return None
        opening = _before_next_touch(min(link.hours.opening(now) for link in pending), next_at)
        return Next(opening) if opening else None
    then = _after_alert(at_work, links, now, next_at)
    # The alert's record notes the next one's time (or ends the chain) in the same write.
    if not task_items.add_escalation(task, now, at_work.person, at_work.step, then):
        return None  # worked in the meantime
    kind = AlertKind.SPEED_TO_LEAD if at_work.step == "owner" else AlertKind.SPEED_TO_LEAD_ESCALATED
    alert_owner(lead, kind, _detail(task, at_work, now), rep=at_work.person)
    return Next(then, noted=True) if then else None


def _after_alert(link: Link, links: list[Link], now: datetime, next_at: datetime | None) -> datetime | None:
    """When the chain goes on after `link`'s alert: None after the last link."""
    if link is links[-1]:
        return None
    minutes = operator_config().speed_to_lead.escalate_after_minutes
    return _before_next_touch(now + timedelta(minutes=minutes), next_at)


def _before_next_touch(moment: datetime, next_at: datetime | None) -> datetime | None:
    """`moment` if it comes before the cadence's next touch: the cadence never waits on the chain."""
    if next_at is not None and moment >= next_at:
        return None
    return moment


def _detail(task: Task, link: Link, now: datetime) -> str:
    from leadflow.send.queue import queue_link
    from leadflow.send.tasks import task_link

    zone = link.hours.timezone
    since = task.created_at or task.due_at
    if link.step == "owner":
        headline = f"Call due by {local_time(task.due_at, zone)}."
    else:
        who = {
            "owner again": "",
            "next rep": "You are the next rep in rotation: please call. ",
            "manager": "Nobody on the team has called: please see that someone does. ",
        }[link.step]
        headline = (
            f"{who}Nobody has called yet: the lead has waited {waited(since, now)} "
            f"(since {local_time(since, zone)}); the call was due {local_time(task.due_at, zone)}."
        )
    return "\n".join(
        [
            f"SPEED TO LEAD: {headline}",
            "",
            task.instruction,
            "",
            "Record the outcome (connected, no_answer, voicemail, meeting_booked, done):",
            f"  open {task_link(task.id)}",
            *([] if link.person == MANAGER else ["", f"All your open tasks: {queue_link(link.person)}"]),
        ]
    )
