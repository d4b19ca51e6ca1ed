"""Inbound answers through SNS: mail (SES receiving stores it in S3 and notifies) and two-way SMS.

Mail is classified (leadflow.answers.classify), matched to a lead, and acted on (leadflow.answers.outcomes).
The lead is found, in this order, by:
1. the signed token of the recipient plus-address (`reply+<token>@`, `unsubscribe+<token>@`),
   which names the lead, the enrollment and the touch;
2. `In-Reply-To`/`References` (or, in a bounce or complaint, the returned original's
   Message-ID) against the SES Message-IDs of what we sent;
3. the sender's address, or for a bounce or complaint, the address it reports.

Before acting, the mail must prove itself (the trust model, docs/decisions.md; `trust`):
- a valid signed token (reply or unsubscribe address) is proof by itself, whatever the verdicts;
- otherwise a reply or unsubscribe acts only when DMARC passes for its From domain, or SPF or
  DKIM passes for a domain aligned with it (leadflow.answers.verdicts reads the domains);
- a bounce or complaint acts only when the report quotes a message we sent to that lead (its
  Message-ID, or the signed token of its Reply-To): an address in a body is never enough;
- a probable answer that proves nothing (no check passed or failed for its From; in our thread
  but unaligned or flagged as spam) is held: the cadence pauses, the owner confirms or dismisses
  (leadflow.answers.held);
- anything else is recorded on the lead's record and changes nothing; mail that fails its
  checks (DMARC, SPF and DKIM, spam, virus) or passes only for another domain also alerts the
  owner, once a day.
Bounces and complaints from SES's own event publishing (the primary source) do not come here.

Anything that cannot be acted on (another topic, an unhandled notification type, malformed
or empty mail, an unknown sender) is logged without personal data and ignored: the handler
returns normally so SNS does not retry it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from leadflow import aws, clock, fields, keys, tokens
from leadflow.answers import outcomes
from leadflow.answers.classify import HUMAN_KINDS, Classification, Kind, classify
from leadflow.answers.verdicts import ALL_PASS, FAIL, Verdicts
from leadflow.config import operator_config, settings
from leadflow.models import EngagementKind, HeldMail, Lead, ServiceText, StopReason
from leadflow.observability import logger
from leadflow.send import alerts, mail
from leadflow.store import enrollment_items, event_items, lead_items

# The SMS modules come with the first text, the held-mail store with the first mail held: a reply by
# mail, the most frequent call, imports neither.
if TYPE_CHECKING:
    from leadflow.answers.sms_inbound import InboundSms

# Classifier verdicts that mean there was no mail to speak of.
_MALFORMED = {"empty", "unparseable", "no headers"}


class S3Action(BaseModel):
    type: Literal["S3"]
    bucketName: str
    objectKey: str


class Receipt(BaseModel):
    action: S3Action
    recipients: list[str] = []
    timestamp: datetime | None = None


class ReceiptNotification(BaseModel):
    """The SES receipt notification (the SNS message body) for an S3 action."""

    notificationType: Literal["Received"]
    receipt: Receipt


@dataclass(frozen=True)
class Match:
    lead: Lead
    via: Literal["token", "thread", "address", "phone"]
    enrollment: int | None = None
    touch: int | None = None


def handle_notification(topic_arn: str, message: str) -> str:
    """Handle one SNS message; returns what was done, for logs, metrics and tests."""
    config = settings()
    if config.inbound_mail_topic_arn and topic_arn == config.inbound_mail_topic_arn:
        return _handle_receipt(message)
    if config.sms_inbound_topic_arn and topic_arn == config.sms_inbound_topic_arn:
        return handle_sms(message)
    logger.warning("ignored SNS message from a topic this function does not handle")
    return "other_topic"


def _handle_receipt(message: str) -> str:
    try:
        document = json.loads(message)
    except ValueError:
        logger.warning("ignored SNS message that is not JSON")
        return "malformed_notification"
    notification_type = document.get("notificationType") if isinstance(document, dict) else None
    if notification_type != "Received":
        logger.warning(
            "ignored unhandled notification type", extra={"notification_type": str(notification_type)}
        )
        return "unhandled_notification"
    try:
        notification = ReceiptNotification.model_validate(document)
    except ValidationError:
        logger.warning("ignored receipt notification without an S3 action")
        return "malformed_notification"
    action = notification.receipt.action
    try:
        raw = aws.client("s3").get_object(Bucket=action.bucketName, Key=action.objectKey)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
        logger.warning("ignored receipt notification whose mail is gone (retention or a replay)")
        return "missing_mail"
    verdicts = Verdicts.from_receipt(document["receipt"]).reading(raw)
    return handle_raw_mail(raw, notification.receipt.recipients, notification.receipt.timestamp, verdicts)


def handle_raw_mail(
    raw: bytes,
    recipients: list[str] | None = None,
    received_at: datetime | None = None,
    verdicts: Verdicts = ALL_PASS,
) -> str:
    """Classify one raw message, match its lead and act on it, if its verdicts allow (see module doc)."""
    result = classify(raw, recipients or [])
    if result.kind is Kind.UNKNOWN and result.evidence in _MALFORMED:
        logger.warning("ignored malformed mail", extra={"evidence": result.evidence})
        return "malformed"
    match = match_lead(result)
    if match is None:
        logger.info("ignored mail from an unknown sender", extra={"kind": result.kind.value})
        return "unknown_sender"
    at = received_at or clock.now()
    lead = match.lead
    attribution = outcomes.attribute(
        lead.id, at, enrollment=match.enrollment, touch=match.touch, channel="email"
    )
    logger.info(
        "inbound mail",
        extra={
            "lead_id": lead.id,
            "kind": result.kind.value,
            "matched_by": match.via,
            "evidence": result.evidence,
            "failed": verdicts.failures(),
        },
    )
    refused = trust(result, match, verdicts)
    if refused in ("unproven", "spam") and result.kind in HUMAN_KINDS:
        _hold(lead, result, match, refused, at, _mail_id(raw), attribution)
        return "held"
    if refused:
        _record_untrusted(lead, result, match, verdicts, refused, at, _mail_id(raw), attribution)
        return refused
    if result.kind is Kind.REPLY:
        outcomes.replied(
            lead,
            at=at,
            answer_id=_mail_id(raw),
            source="inbound-mail",
            via="email",
            text=result.text,
            attribution=attribution,
            raw_mail=raw,
            subject=result.subject,
        )
    elif result.kind in (Kind.UNSUBSCRIBE, Kind.COMPLAINT):
        reason = StopReason.COMPLAINT if result.kind is Kind.COMPLAINT else StopReason.UNSUBSCRIBE
        written = result.text if result.kind is Kind.UNSUBSCRIBE else None
        outcomes.opted_out(
            lead, reason, at=at, source="inbound-mail", via="email", attribution=attribution, text=written
        )
    elif result.kind is Kind.BOUNCE:
        outcomes.bounced(
            lead,
            permanent=_bounced_here(result, lead),
            at=at,
            source="inbound-mail",
            attribution=attribution,
            event_id=_mail_id(raw),
            detail=result.evidence,
        )
    elif result.kind is Kind.AUTO_REPLY:
        outcomes.auto_replied(lead, at=at, return_date=result.return_date, attribution=attribution)
    else:
        logger.info("ignored mail without text of its own", extra={"lead_id": lead.id})
    return result.kind.value


def trust(result: Classification, match: Match, verdicts: Verdicts) -> str | None:
    """None when the mail may act; else why not (docs/decisions.md, "Trust model for inbound mail").

    "suspicious" (it fails its checks), "unaligned" (SPF or DKIM passed for another domain only),
    "unproven" (nothing proves its sender) and "spam" (in our thread, flagged as spam). A reply or
    unsubscribe refused as "unproven" or "spam" is held for the owner; the others are recorded.
    """
    if verdicts.virus == FAIL:
        return "suspicious"  # never acted on, never forwarded, whatever it carries
    if result.kind in (Kind.BOUNCE, Kind.COMPLAINT):
        if match.via not in ("thread", "token") or not _about_lead(result, match.lead):
            return "unproven"  # it names an address; it does not quote a message we sent to it
        return "suspicious" if verdicts.suspicious else None
    if match.via == "token":
        return None
    if verdicts.proves_from and not verdicts.suspicious:
        return None
    if match.via == "thread" and verdicts.dmarc != FAIL:
        # Our Message-ID is quoted, so it probably answers our email; forwarding and list
        # rewriting break the checks, and SES's spam filter errs.
        return "spam" if verdicts.spam == FAIL else "unproven"
    if verdicts.suspicious:
        return "suspicious"
    if verdicts.foreign_pass:
        return "unaligned"
    return "unproven"


def _about_lead(result: Classification, lead: Lead) -> bool:
    """A report about the lead's own address (or naming none: the quoted message was sent to them)."""
    return not result.recipients or keys.normalize_email(lead.email) in result.recipients


def _hold(
    lead: Lead,
    result: Classification,
    match: Match,
    why: str,
    at: datetime,
    mail_id: str,
    attribution: outcomes.Attribution | None,
) -> None:
    """Keep a probable answer for the owner's decision (leadflow.answers.held), and on the record."""
    from leadflow.answers import held

    held.hold(
        lead,
        HeldMail(
            lead_id=lead.id,
            mail_id=mail_id,
            answer=result.kind.value,
            why=why,
            held_at=at,
            paused_until=held.held_until(at),
            enrollment=match.enrollment,
            touch=match.touch,
            subject=result.subject[:200],
            text=result.text[: outcomes.ALERT_TEXT_LIMIT],
        ),
    )
    outcomes.record(
        lead.id,
        EngagementKind.HELD_MAIL,
        at,
        once=True,
        **outcomes.event_fields(
            attribution,
            at,
            source="inbound-mail",
            via="email",
            event_id=mail_id,
            classified_as=result.kind.value,
            matched_by=match.via,
            held=why,
        ),
    )


def _record_untrusted(
    lead: Lead,
    result: Classification,
    match: Match,
    verdicts: Verdicts,
    refused: str,
    at: datetime,
    mail_id: str,
    attribution: outcomes.Attribution | None,
) -> None:
    """Keep the mail on the lead's record (the rep sees it), change nothing, forward nothing.

    Suspicious mail also alerts the owner, once per lead and day (a forger cannot flood them).
    """
    fields = outcomes.event_fields(
        attribution,
        at,
        source="inbound-mail",
        via="email",
        event_id=mail_id,
        classified_as=result.kind.value,
        matched_by=match.via,
        refused=refused,
        verdicts=verdicts.model_dump(),
    )
    outcomes.record(lead.id, EngagementKind.UNTRUSTED_MAIL, at, once=True, **fields)
    logger.warning(
        "inbound mail not acted on",
        extra={"lead_id": lead.id, "refused": refused, "failed": verdicts.failures()},
    )
    alarming = refused in ("suspicious", "unaligned")
    if alarming and event_items.first_time(lead.id, f"suspicious#{at.date().isoformat()}"):
        failed = ", ".join(verdicts.failures())
        what = (
            f"failed authentication ({failed})"
            if refused == "suspicious"
            else f"was authenticated for another domain ({_passed_for(verdicts)}), not for theirs"
        )
        alerts.alert_owner(
            lead,
            alerts.AlertKind.SUSPICIOUS_MAIL,
            f"Mail claiming to be about {outcomes.describe(lead)} {what}. "
            "Nothing was done: their cadence goes on, nothing was suppressed or forwarded. "
            "If you think it is genuine, contact them from your own mailbox.",
        )


def _passed_for(verdicts: Verdicts) -> str:
    passed = dict.fromkeys([verdicts.spf_domain, *verdicts.dkim_domains])
    return ", ".join(domain for domain in passed if domain)


def _mail_id(raw: bytes) -> str:
    """Stable per message: a redelivered notification of the same mail gets the same id."""
    return hashlib.sha256(raw).hexdigest()[:16]


def _bounced_here(result: Classification, lead: Lead) -> bool:
    """A permanent bounce counts for the lead only if it reports the lead's own address (or none).

    A bounce from a mailbox the lead forwards to says nothing about the lead's address.
    """
    if result.bounce_type is None or result.bounce_type.value != "permanent":
        return False
    return not result.recipients or keys.normalize_email(lead.email) in result.recipients


def _token_target(token: str) -> tokens.TokenTarget | None:
    """What a signed reply or unsubscribe token names (lead, enrollment, touch), or None."""
    return tokens.verify(tokens.Purpose.REPLY, token) or tokens.verify(tokens.Purpose.UNSUBSCRIBE, token)


def match_lead(result: Classification) -> Match | None:
    """The lead a classified message is about: token, then thread, then address."""
    if result.lead_token:
        target = _token_target(result.lead_token)
        lead = lead_items.get_lead(target.lead_id) if target else None
        if target and lead:
            return Match(lead, "token", target.enrollment, target.touch)
    for message_id in result.references:
        for key in dict.fromkeys(filter(None, (mail.ses_id_from_message_id(f"<{message_id}>"), message_id))):
            owner = enrollment_items.message_owner(key)
            lead = lead_items.get_lead(str(owner["lead_id"])) if owner else None
            if owner and lead:
                return Match(lead, "thread", int(owner["enrollment"]), int(owner["touch"]))
    reporting = result.kind in (Kind.BOUNCE, Kind.COMPLAINT)
    for address in result.recipients if reporting else (result.sender,):
        lead_id = lead_items.lead_id_for_email(keys.email_key(address)) if address else None
        lead = lead_items.get_lead(lead_id) if lead_id else None
        if lead:
            return Match(lead, "address")
    return None


# -- SMS ------------------------------------------------------------------------------------------


def handle_sms(message: str) -> str:
    """A text from a lead: STOP opts out of everything, HELP gets the help text, anything else is a reply."""
    from leadflow.answers import sms_inbound
    from leadflow.intake import sms_opt_in
    from leadflow.send.sms import request_service_text

    try:
        sms = sms_inbound.InboundSms.model_validate_json(message)
    except ValidationError:
        logger.warning("ignored SNS message that is not an inbound SMS")
        return "malformed_sms"
    match = _sms_lead(sms)
    intent = sms_inbound.intent(sms.messageBody)
    if match is None:
        if intent is sms_inbound.Intent.HELP and _may_text(sms.originationNumber):
            request_service_text(ServiceText.HELP, sms.originationNumber)
            return "sms_help"
        logger.info("ignored SMS from an unknown number", extra={"intent": intent.value})
        return "unknown_sender"
    lead, at = match.lead, clock.now()
    attribution = outcomes.attribute(
        lead.id, at, enrollment=match.enrollment, touch=match.touch, channel="sms"
    )
    logger.info("inbound SMS", extra={"lead_id": lead.id, "intent": intent.value, "matched_by": match.via})
    if intent is sms_inbound.Intent.OPT_OUT:
        outcomes.opted_out(
            lead, StopReason.UNSUBSCRIBE, at=at, source="sms", via="sms", attribution=attribution
        )
        return "sms_opt_out"
    if intent is sms_inbound.Intent.HELP:
        request_service_text(ServiceText.HELP, sms.originationNumber)
        return "sms_help"
    if sms_inbound.says_yes(sms.messageBody) and sms_opt_in.needs_confirmation(lead):
        # The answer to the opt-in request, not a reply to the cadence: texts may go now.
        lead_items.confirm_sms(lead.id, at)
        return "sms_confirmed"
    outcomes.replied(
        lead,
        at=at,
        answer_id=sms.inboundMessageId,
        source="sms",
        via="sms",
        text=sms.messageBody,
        attribution=attribution,
    )
    return "sms_reply"


def _may_text(number: str) -> bool:
    """A stranger's HELP is answered only in the countries we text (no SMS pumping by inbound texts)."""
    return fields.phone_country(number) in operator_config().sms_countries


def _sms_lead(sms: InboundSms) -> Match | None:
    """The SMS we sent last to this number (SNS names it), else the lead indexed by the number."""
    if sms.previousPublishedMessageId:
        owner = enrollment_items.message_owner(sms.previousPublishedMessageId)
        lead = lead_items.get_lead(str(owner["lead_id"])) if owner else None
        if owner and lead:
            return Match(lead, "thread", int(owner["enrollment"]), int(owner["touch"]))
    from leadflow.intake import contacts

    leads = [
        lead
        for lead_id in contacts.leads_for_phone(sms.originationNumber)
        if (lead := lead_items.get_lead(lead_id))
    ]
    if leads:
        return Match(max(leads, key=lambda lead: lead.created_at), "phone")
    return None
