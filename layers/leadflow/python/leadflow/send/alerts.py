"""Alerts to the lead's owner (the sales reps' SNS topic): what happened and who to call.

The message goes to reps, not to logs: it carries the contact details they need.

Every rep alert reaches its recipient inside their own hours (issue 25): `reps[].hours`, or the
manager's, with their country's public holidays off. Outside them a hot reply (the lead waits on
an answer) goes to the next person at work (the next rep in the owner's rotation, then the
manager); any other alert is held (store.alert_items) and delivered, one message per recipient,
by the sweep at the start of their next working period (send.held_alerts). Ops alerts are not rep
alerts: they go out at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from leadflow import aws, clock
from leadflow.cadence.hours import MANAGER, BusinessHours
from leadflow.config import operator_config, settings
from leadflow.models import Lead
from leadflow.observability import logger
from leadflow.operator_config import OperatorConfig
from leadflow.store import alert_items


def local_time(moment: datetime, zone: str) -> str:
    """A time as the recipient reads it on their own clock: "Tue 24 Nov 09:05 EST (America/New_York)"."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %H:%M} {local.tzname()} ({zone})"


def waited(since: datetime, now: datetime) -> str:
    """How long someone has waited, in words: "40 minutes", "3 h 05 min", "2 days 4 h 00 min"."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} day{'s' if days != 1 else ''} {hours} h {minutes:02d} min"


class AlertKind(StrEnum):
    MANUAL_FOLLOW_UP = "manual_follow_up"
    LEAD_RETURNED = "lead_returned"
    LEAD_REENROLLED = "lead_reenrolled"
    SUPPRESSED_LEAD_RETURNED = "suppressed_lead_returned"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    MEETING_MISSED = "meeting_missed"
    SPEED_TO_LEAD = "speed_to_lead"
    SPEED_TO_LEAD_ESCALATED = "speed_to_lead_escalated"
    HOT_LEAD = "hot_lead"
    LEAD_ACCEPTED = "lead_accepted"
    TASK = "task"
    SUSPICIOUS_MAIL = "suspicious_mail"
    NEVER_CALLED = "never_called"
    MORNING_DIGEST = "morning_digest"
    LEAD_IMPORTED = "lead_imported"
    HOT_REPLY = "hot_reply"
    HELD_MAIL = "held_mail"
    HELD_ALERTS = "held_alerts"


# SNS subjects are ASCII, one line, under 100 characters: no lead data in them.
SUBJECTS = {
    AlertKind.MANUAL_FOLLOW_UP: "New lead to follow up by hand (no email consent)",
    AlertKind.LEAD_RETURNED: "A lead came back and posted the form again",
    AlertKind.LEAD_REENROLLED: "A lead came back and starts the cadence again",
    AlertKind.SUPPRESSED_LEAD_RETURNED: "An opted-out or bounced lead posted the form again",
    AlertKind.REPLIED: "A lead replied: their cadence is stopped, answer them",
    AlertKind.MEETING_BOOKED: "A lead booked a meeting",
    AlertKind.MEETING_MISSED: "A meeting was cancelled or missed: offer a new time",
    AlertKind.SPEED_TO_LEAD: "Call this lead now: they asked to talk to someone",
    AlertKind.SPEED_TO_LEAD_ESCALATED: "Still uncalled: a lead who asked to talk is waiting",
    AlertKind.HOT_LEAD: "Hot lead: a link in your email was just clicked",
    AlertKind.LEAD_ACCEPTED: "New lead: reach out while it is hot",
    AlertKind.TASK: "A rep task is due (call, LinkedIn or video)",
    AlertKind.SUSPICIOUS_MAIL: "Suspicious mail about a lead: failed authentication, nothing done",
    AlertKind.NEVER_CALLED: "Leads who asked to talk to someone and were never called",
    AlertKind.MORNING_DIGEST: "Your tasks for today",
    AlertKind.LEAD_IMPORTED: "A lead of yours was enrolled from a list: its cadence starts now",
    AlertKind.HOT_REPLY: "Hot reply: a lead is interested or asks something, answer within minutes",
    AlertKind.HELD_MAIL: "A lead may have answered: cadence paused, confirm or dismiss",
    AlertKind.HELD_ALERTS: "While you were off: alerts held for your working hours",
}
# A lead waits on these: outside the recipient's hours they go to the next person at work, not on hold.
TIME_CRITICAL = frozenset({AlertKind.HOT_REPLY})


def alert_owner(lead: Lead, kind: AlertKind, detail: str, rep: str | None = None) -> None:
    """Alert the owner (or `rep`: an escalation to another rep, or MANAGER) inside their hours; the
    `rep` attribute lets each rep's subscription filter its own."""
    if not settings().rep_alerts_topic_arn:
        logger.warning("no rep alerts topic configured; alert not sent", extra={"lead_id": lead.id})
        return
    recipient = rep or lead.owner
    message = f"{detail}\n\n{lead_card(lead)}"
    attributes = {"lead_id": lead.id}
    if recipient is None:  # no owner: nobody's filter takes it, as before routing assigned one
        publish_alert(kind, SUBJECTS[kind], message, attributes)
    else:
        _deliver(recipient, kind, message, attributes, lead)
    logger.info("owner alerted", extra={"lead_id": lead.id, "alert": kind.value})


def publish_rep_alert(rep: str, kind: AlertKind, message: str, attributes: dict[str, str]) -> None:
    """An alert about no single lead (the manager's daily list) to one rep (or MANAGER), in their hours."""
    if not settings().rep_alerts_topic_arn:
        logger.warning("no rep alerts topic configured; alert not sent", extra={"alert": kind.value})
        return
    _deliver(rep, kind, message, attributes, None)


def hours_of(person: str, config: OperatorConfig) -> BusinessHours | None:
    """A rep's (or MANAGER's) working hours; None for someone no longer in the config."""
    return config.alert_hours().get(person)


def _deliver(
    recipient: str, kind: AlertKind, message: str, attributes: dict[str, str], lead: Lead | None
) -> None:
    now = clock.now()
    config = operator_config()
    hours = hours_of(recipient, config)
    if hours is None or hours.working(now):
        publish_alert(kind, SUBJECTS[kind], message, {**attributes, "rep": recipient})
        return
    opening = hours.opening(now)
    if kind in TIME_CRITICAL and lead is not None:
        stand_in = _stand_in(lead, recipient, now, config)
        if stand_in is not None:
            person, zone = stand_in
            note = (
                f"{_person_name(recipient, config)} is off until {local_time(opening, zone)}: "
                "you are the next person at work, please take this one."
            )
            publish_alert(kind, SUBJECTS[kind], f"{note}\n\n{message}", {**attributes, "rep": person})
            return
    alert_items.hold(
        recipient,
        kind=kind.value,
        subject=SUBJECTS[kind],
        message=message,
        attributes=attributes,
        held_at=now,
        deliver_at=opening,
    )
    logger.info("alert held for the recipient's hours", extra={"alert": kind.value, **attributes})


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


def _stand_in(lead: Lead, recipient: str, now: datetime, config: OperatorConfig) -> tuple[str, str] | None:
    """The next person at work after `recipient` (next rep in the owner's rotation, then the manager)
    and their time zone; None when nobody is."""
    candidates = [next_rep(lead, recipient, config)] if recipient != MANAGER else []
    candidates.append(MANAGER)
    for person in candidates:
        hours = hours_of(person, config)
        if person != recipient and hours is not None and hours.working(now):
            return person, hours.timezone
    return None


def _person_name(person: str, config: OperatorConfig) -> str:
    if person == MANAGER:
        return config.speed_to_lead.manager.name if config.speed_to_lead.manager else "The manager"
    return _rep_name(person)


def publish_alert(kind: AlertKind, subject: str, message: str, attributes: dict[str, str]) -> None:
    aws.client("sns").publish(
        TopicArn=settings().rep_alerts_topic_arn,
        Subject=subject,
        Message=message,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in {**attributes, "kind": kind.value, "at": clock.iso(clock.now())}.items()
        },
    )


def lead_card(lead: Lead) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part) or "(no name given)"
    lines = [
        f"Lead: {name} <{lead.email}>",
        f"Company: {lead.company or '-'}{f' ({lead.title})' if lead.title else ''}",
        f"Phone: {lead.phone or '-'} (SMS consent: {'yes' if lead.sms_consent else 'no'})",
        f"Where: {lead.country or '-'} / {lead.timezone or '-'}",
        f"Status: {lead.status.value}",
        f"Form: {lead.form or lead.source or '-'} (source {lead.source or '-'}, type {lead.lead_type})",
        f"Fit score: {lead.score} ({lead.band.value})",
        f"Owner: {_rep_name(lead.owner)}",
    ]
    if lead.message:
        lines.append(f"Message: {lead.message[:500]}")
    lines.append(f"Lead id: {lead.id}")
    return "\n".join(lines)


def _rep_name(rep_id: str | None) -> str:
    rep = next((rep for rep in operator_config().reps if rep.id == rep_id), None)
    return rep.name if rep else "unassigned"


def alert_ops(subject: str, detail: str, attributes: dict[str, str]) -> None:
    """Publish to the operators' topic (email subscriptions from config). Ids only: no lead data."""
    topic = settings().ops_topic_arn
    if not topic:
        logger.error("no ops topic configured; ops alert not sent", extra={"subject": subject, **attributes})
        return
    aws.client("sns").publish(
        TopicArn=topic,
        Subject=subject[:99],
        Message=detail,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in {**attributes, "at": clock.iso(clock.now())}.items()
        },
    )
