"""Alerts to the lead's owner (the sales reps' SNS topic): what happened and who to call.

The message goes to reps, not to logs: it carries the contact details they need.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from leadflow import aws, clock
from leadflow.config import operator_config, settings
from leadflow.models import Lead
from leadflow.observability import logger

# The `rep` attribute of an alert for the manager (config speed_to_lead.manager): never a rep id
# (those start with a letter or digit), so no rep's subscription filter lets it through.
MANAGER = "_manager"


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
}


def alert_owner(lead: Lead, kind: AlertKind, detail: str, rep: str | None = None) -> None:
    """Publish to the reps' topic. `rep` (the owner's id, or `rep` when given: an escalation to
    another rep) lets each rep's subscription filter its own."""
    topic = settings().rep_alerts_topic_arn
    if not topic:
        logger.warning("no rep alerts topic configured; alert not sent", extra={"lead_id": lead.id})
        return
    attributes = {"kind": kind.value, "lead_id": lead.id, "at": clock.iso(clock.now())}
    if rep or lead.owner:
        attributes["rep"] = rep or lead.owner or ""
    aws.client("sns").publish(
        TopicArn=topic,
        Subject=SUBJECTS[kind],
        Message=f"{detail}\n\n{lead_card(lead)}",
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
    logger.info("owner alerted", extra={"lead_id": lead.id, "alert": kind.value})


def publish_rep_alert(rep: str, kind: AlertKind, message: str, attributes: dict[str, str]) -> None:
    """Publish an alert about no single lead (the manager's daily list) to one rep's (or MANAGER's)
    subscriptions."""
    topic = settings().rep_alerts_topic_arn
    if not topic:
        logger.warning("no rep alerts topic configured; alert not sent", extra={"alert": kind.value})
        return
    values = {**attributes, "kind": kind.value, "rep": rep, "at": clock.iso(clock.now())}
    aws.client("sns").publish(
        TopicArn=topic,
        Subject=SUBJECTS[kind],
        Message=message,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in values.items()
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
