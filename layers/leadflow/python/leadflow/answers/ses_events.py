"""SES event publishing: the JSON the configuration set sends through SNS and SQS to the events function.

Every event type SES publishes is handled deliberately (the documented shapes of "Contents of event
data that Amazon SES publishes to Amazon SNS"); one event may name several recipients:
- Send settles a touch in doubt; Delivery, Open and Click are engagement; Bounce and Complaint stop.
- Reject (SES found a virus) and Rendering Failure (a template could not be rendered) are touches that
  never reached anyone: the touch is marked undelivered, ops are alerted, and the audit flags it.
- DeliveryDelay is recorded on the touch; one neither delivered nor bounced DELAY_BOUND after its
  first delay is flagged by the audit.
- Subscription belongs to SES contact lists, which leadflow does not use (its own unsubscribe is
  List-Unsubscribe): ignored, counted.
The older identity notifications (`notificationType` instead of `eventType`) have the same parts and
are accepted too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from leadflow import clock, keys
from leadflow.answers import outcomes
from leadflow.config import settings
from leadflow.models import EngagementKind, Lead, StopReason
from leadflow.observability import logger
from leadflow.store import enrollment_items, event_items, lead_items

# A click this soon after delivery is a mail gateway fetching the link, not a person.
SCANNER_WINDOW = timedelta(seconds=20)


class EventType(StrEnum):
    SEND = "Send"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    REJECT = "Reject"
    OPEN = "Open"
    CLICK = "Click"
    RENDERING_FAILURE = "Rendering Failure"
    DELIVERY_DELAY = "DeliveryDelay"
    SUBSCRIPTION = "Subscription"


# The event's detail object, by event type (SES names it after the type, but for these).
_PART_NAMES = {EventType.RENDERING_FAILURE: "failure", EventType.DELIVERY_DELAY: "deliveryDelay"}


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Mail(_Part):
    messageId: str
    timestamp: datetime
    destination: list[str] = []
    # Message tags: {"cadence": ["inbound-demo-request"], "touch": ["2"], ...}
    tags: dict[str, list[str]] = {}

    def tag(self, name: str) -> str | None:
        values = self.tags.get(name) or []
        return values[0] if values else None


class Recipient(_Part):
    emailAddress: str
    status: str | None = None
    diagnosticCode: str | None = None


class Bounce(_Part):
    bounceType: str  # Permanent, Transient, Undetermined
    bounceSubType: str = ""
    bouncedRecipients: list[Recipient]
    timestamp: datetime


class Complaint(_Part):
    complainedRecipients: list[Recipient]
    timestamp: datetime
    complaintFeedbackType: str | None = None


class Delivery(_Part):
    timestamp: datetime
    recipients: list[str]


class Send(_Part):
    """SES accepted the message (the part is empty; the mail's tags say which touch it was)."""


class Reject(_Part):
    reason: str = ""


class Failure(_Part):
    """A Rendering Failure: the template and what was missing from its data."""

    errorMessage: str = ""
    templateName: str = ""


class DeliveryDelay(_Part):
    timestamp: datetime
    delayType: str = (
        ""  # InternalFailure, General, MailboxFull, SpamDetected, TransientCommunicationFailure...
    )
    expirationTime: datetime | None = None  # when SES stops trying (then a Bounce follows)
    delayedRecipients: list[Recipient] = []


class Subscription(_Part):
    """A contact-list preference change: not leadflow's unsubscribe mechanism."""


class Open(_Part):
    timestamp: datetime
    userAgent: str = ""
    ipAddress: str = ""


class Click(_Part):
    timestamp: datetime
    link: str
    userAgent: str = ""
    ipAddress: str = ""


class SesEvent(_Part):
    event_type: str = Field(validation_alias=AliasChoices("eventType", "notificationType"))
    mail: Mail
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    delivery: Delivery | None = None
    reject: Reject | None = None
    send: Send | None = None
    open: Open | None = None
    click: Click | None = None
    failure: Failure | None = None
    deliveryDelay: DeliveryDelay | None = None
    subscription: Subscription | None = None

    @property
    def handled(self) -> bool:
        return self.event_type in set(EventType) and self.part is not None

    @property
    def part(self) -> _Part | None:
        if self.event_type not in set(EventType):
            return None
        kind = EventType(self.event_type)
        return getattr(self, _PART_NAMES.get(kind, kind.value.lower()), None)

    @property
    def occurred_at(self) -> datetime:
        moment = getattr(self.part, "timestamp", None)
        return moment if isinstance(moment, datetime) else self.mail.timestamp

    def recipients(self) -> list[str]:
        """The recipients this event is about (the message's destinations when it doesn't say)."""
        if self.bounce is not None:
            return [recipient.emailAddress for recipient in self.bounce.bouncedRecipients]
        if self.complaint is not None:
            return [recipient.emailAddress for recipient in self.complaint.complainedRecipients]
        if self.delivery is not None:
            return list(self.delivery.recipients)
        if self.deliveryDelay is not None and self.deliveryDelay.delayedRecipients:
            return [recipient.emailAddress for recipient in self.deliveryDelay.delayedRecipients]
        return list(self.mail.destination)

    def event_id(self, recipient: str) -> str:
        """Stable per event and recipient: a redelivered SQS message maps to the same id."""
        detail = self.click.link if self.click else ""
        seed = "|".join(
            [self.mail.messageId, self.event_type, recipient.lower(), self.occurred_at.isoformat()]
        )
        return hashlib.sha256(f"{seed}|{detail}".encode()).hexdigest()[:16]


@cache
def scanner_agents() -> tuple[str, ...]:
    """User-agent fragments of link scanners and previewers (data: link_scanners.txt), lowercased."""
    text = (resources.files("leadflow") / "data" / "link_scanners.txt").read_text(encoding="utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def scanner_click(click: Click, delivered_at: datetime) -> str | None:
    """Why a click is a machine's (a reason for logs and metrics), or None for a person's."""
    if click.timestamp - delivered_at < SCANNER_WINDOW:
        return "seconds after delivery"
    agent = click.userAgent.lower()
    if not agent.strip():
        return "no user agent"
    if any(fragment in agent for fragment in scanner_agents()):
        return "scanner user agent"
    return None


def parse(document: Any) -> SesEvent:
    return SesEvent.model_validate(document)


def handle_body(body: str) -> list[str]:
    """One SQS message body: an SNS envelope around the SES event JSON (or the bare JSON, with raw
    message delivery). What is not an SES event from our topic is logged and ignored."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and "TopicArn" in document:
            topic = settings().ses_events_topic_arn
            if document.get("Type") != "Notification" or (topic and document["TopicArn"] != topic):
                logger.warning("ignored SNS message that is not an SES event notification of our topic")
                return ["other_message"]
            document = json.loads(document["Message"])
        event = parse(document)
    except (ValueError, TypeError, ValidationError):
        logger.warning("ignored SQS message that is not an SES event")
        return ["malformed_event"]
    return handle(event)


_KINDS = {
    EventType.DELIVERY: EngagementKind.DELIVERY,
    EventType.REJECT: EngagementKind.REJECT,
    EventType.OPEN: EngagementKind.OPEN,
    EventType.CLICK: EngagementKind.CLICK,
}


def handle(event: SesEvent) -> list[str]:
    """Apply one SES event to every recipient it names; returns an outcome per recipient."""
    if not event.handled:
        logger.info("ignored SES event type", extra={"event_type": event.event_type})
        return ["unhandled_event"]
    if event.event_type == EventType.SEND:
        return [_record_send(event)]
    if event.event_type == EventType.SUBSCRIPTION:
        logger.info("ignored SES contact-list subscription event")
        return ["subscription_ignored"]
    owner = enrollment_items.message_owner(event.mail.messageId)
    if event.event_type == EventType.RENDERING_FAILURE:
        return [_undelivered(event, owner)]
    if event.event_type == EventType.DELIVERY_DELAY:
        return [_delayed(event, owner)]
    undelivered = [_undelivered(event, owner)] if event.event_type == EventType.REJECT else []
    return undelivered + [_handle_recipient(event, recipient, owner) for recipient in event.recipients()]


def _undelivered(event: SesEvent, owner: dict[str, Any] | None) -> str:
    """A Reject or Rendering Failure: the touch reached nobody. Mark it, alert ops once (ids only)."""
    if owner is None:
        logger.warning(
            "SES failed a message that is no touch of ours", extra={"event_type": event.event_type}
        )
        return "unknown_message"
    if event.failure is not None:
        why = f"Rendering Failure of template {event.failure.templateName!r}: {event.failure.errorMessage}"
    else:
        why = f"Reject: {event.reject.reason if event.reject else ''}"
    lead_id, enrollment, touch = str(owner["lead_id"]), int(owner["enrollment"]), int(owner["touch"])
    if not enrollment_items.mark_undelivered(lead_id, enrollment, touch, why[:500], event.occurred_at):
        return "undelivered_again"
    from leadflow.send import alerts

    alerts.alert_ops(
        f"leadflow: touch not delivered (SES {event.event_type})",
        f"SES did not deliver touch {touch} of enrollment {enrollment} of lead {lead_id}: {why[:500]}. "
        "The cadence goes on; fix the template or content, then check `leadflow audit`.",
        {"lead_id": lead_id, "enrollment": str(enrollment), "touch": str(touch), "kind": "touch_undelivered"},
    )
    return "touch_undelivered"


def _delayed(event: SesEvent, owner: dict[str, Any] | None) -> str:
    """Keep when the touch was first delayed, why, and until when SES keeps trying."""
    delay = event.deliveryDelay
    if owner is None or delay is None:
        return "unknown_message"
    enrollment_items.note_delay(
        str(owner["lead_id"]),
        int(owner["enrollment"]),
        int(owner["touch"]),
        at=delay.timestamp,
        delay_type=delay.delayType,
        expires=delay.expirationTime,
    )
    return "delivery_delayed"


def _record_send(event: SesEvent) -> str:
    """Keep SES's proof that a touch was accepted, by its lead, enrollment and touch tags."""
    lead_id, enrollment, touch = (event.mail.tag(name) for name in ("lead", "enrollment", "touch"))
    if not (lead_id and enrollment and touch and enrollment.isdigit() and touch.isdigit()):
        return "untagged_send"
    message_id, at = event.mail.messageId, event.mail.timestamp
    enrollment_items.record_send_event(lead_id, int(enrollment), int(touch), message_id, at)
    return "send_recorded"


def _lead_for(recipient: str, owner: dict[str, Any] | None, single_recipient: bool) -> Lead | None:
    """The lead by the recipient's address, else the lead the message was sent to (when it had one
    recipient: ours always do, and an address may come back differently spelled)."""
    lead_id = lead_items.lead_id_for_email(keys.email_key(recipient))
    if lead_id is None and owner is not None and single_recipient:
        lead_id = str(owner["lead_id"])
    return lead_items.get_lead(lead_id) if lead_id else None


def _handle_recipient(event: SesEvent, recipient: str, owner: dict[str, Any] | None) -> str:
    lead = _lead_for(recipient, owner, len(event.mail.destination) == 1)
    if lead is None:
        logger.info("ignored SES event for an unknown recipient", extra={"event_type": event.event_type})
        return "unknown_recipient"
    at = event.occurred_at
    ours = owner is not None and str(owner["lead_id"]) == lead.id
    attribution = outcomes.attribute(
        lead.id,
        at,
        enrollment=int(owner["enrollment"]) if ours and owner else None,
        touch=int(owner["touch"]) if ours and owner else None,
        channel="email",
    )
    event_id = event.event_id(recipient)
    if event.bounce is not None:
        permanent = event.bounce.bounceType == "Permanent"
        if attribution is not None:  # the touch's fate is known: a delay on it is over
            enrollment_items.count_on_touch(
                lead.id, attribution.touch.enrollment, attribution.touch.number, "bounce", at
            )
        outcomes.bounced(
            lead,
            permanent=permanent,
            at=at,
            source="ses-event",
            attribution=attribution,
            event_id=event_id,
            detail=event.bounce.bounceSubType,
            message_id=event.mail.messageId,
        )
        if permanent:
            from leadflow.send import guard  # bounces and complaints only (deliveries are most events)

            guard.note_outcome("bounces", event_id, at, lead)
        return "bounce_permanent" if permanent else "bounce_transient"
    if event.complaint is not None:
        outcomes.opted_out(
            lead, StopReason.COMPLAINT, at=at, source="ses-event", via="email", attribution=attribution
        )
        from leadflow.send import guard

        guard.note_outcome("complaints", event_id, at, lead)
        return "complaint"
    kind = _KINDS[EventType(event.event_type)]
    if event.click is not None:
        why = scanner_click(event.click, _delivered_at(lead.id, event))
        if why:
            logger.info("ignored link-scanner click", extra={"lead_id": lead.id, "why": why})
            return "scanner_click"
    fields = outcomes.event_fields(
        attribution,
        at,
        source="ses-event",
        via="email",
        event_id=event_id,
        message_id=event.mail.messageId,
        link=event.click.link if event.click else None,
        reason=event.reject.reason if event.reject else None,
    )
    new = outcomes.record(lead.id, kind, at, once=True, **fields)
    if new and attribution is not None:
        enrollment_items.count_on_touch(
            lead.id, attribution.touch.enrollment, attribution.touch.number, kind.value, at
        )
    if new and event.click is not None and event_items.first_time(lead.id, f"hot#{at.date().isoformat()}"):
        _hot_lead_alert(lead, event.click.link, attribution)
    return kind.value


def _delivered_at(lead_id: str, event: SesEvent) -> datetime:
    """When the clicked message reached the mailbox (its Delivery event), else when it was sent."""
    deliveries = [
        clock.parse_iso(str(item["at"]))
        for item in event_items.events(lead_id)
        if item.get("type") == EngagementKind.DELIVERY.value
        and item.get("message_id") == event.mail.messageId
    ]
    return min(deliveries, default=event.mail.timestamp)


def _hot_lead_alert(lead: Lead, link: str, attribution: outcomes.Attribution | None) -> None:
    from leadflow.send import alerts

    where = f" in {attribution.label}" if attribution else ""
    alerts.alert_owner(
        lead,
        alerts.AlertKind.HOT_LEAD,
        f"{outcomes.describe(lead)} clicked {link}{where}. A good moment to call.",
    )
