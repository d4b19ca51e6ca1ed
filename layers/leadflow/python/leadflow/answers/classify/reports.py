"""Machine reports about our mail: bounces (DSNs and the non-standard formats) and complaints (ARF).

Bounces are recognised from, in order: an RFC 3464 delivery-status part; an Amazon SES
bounce or complaint notification forwarded as email (SNS email and email-json
subscriptions); the detectors of `flufl.bounce` (Mailman's, for Postfix, Exim, qmail,
Exchange, Yahoo, GroupWise, Sendmail and many more), trusted only on mail that comes
from a mail system; and the subject lines mail systems use. Permanence comes from the
DSN action and status, the SES bounce type, or flufl's temporary/permanent split; a
bounce whose permanence cannot be told is treated as transient (recorded, nothing stops).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from leadflow.answers.classify.text import full_text, header

_MAIL_SYSTEM_SENDER = re.compile(
    r"mailer-daemon|postmaster|mail delivery (?:system|subsystem|service)|mail administrator|"
    r"^mdaemon@|delivery subsystem|^ndr@|^bounce[s]?@|no-?reply@amazonses\.com|"
    r"^mail\.delivery\.system@|^e500_smtp_mail_service@|system administrator",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|delivery (?:has )?fail|delivery failure|"
    r"failure (?:notice|delivery)|returned mail|mail delivery (?:failed|failure|problem)|"
    r"could not be deliver|non[- ]?delivery|not delivered|delivery report|delivery notification|"
    r"mail (?:system )?error|failed mail|delayed mail|message delayed|mail delivery warning|"
    r"delivery (?:status|problem)|returning message to sender|permanent delivery failure|"
    r"processing error|automatically rejected mail|"
    r"unzustellbar|nicht zustellbar|non remis|non distribuable|échec de (?:la )?remise|"
    r"onbestelbaar|non recapitabile|mancato recapito|no se puede entregar|no entregado|"
    r"não entregue|olevererbart|недостав|не доставлено",
    re.IGNORECASE,
)
_TRANSIENT_WORDS = re.compile(
    r"\bdelay(?:ed)?\b|warning|not yet been delivered|still (?:being )?(?:retried|trying)|"
    r"will (?:continue to )?(?:retry|try)|temporar|mailbox (?:is )?full|over quota|\b4\.\d{1,3}\.\d{1,3}\b",
    re.IGNORECASE,
)
_PERMANENT_WORDS = re.compile(
    r"\b5\.\d{1,3}\.\d{1,3}\b|\b55[0-4]\b|user unknown|unknown user|no such (?:user|mailbox|recipient)|"
    r"does not exist|doesn't exist|doesn't have a|mailbox unavailable|recipient (?:address )?rejected|"
    r"failed permanently|permanent (?:fatal )?error|address rejected|invalid recipient|not found|"
    r"account (?:has been )?(?:disabled|closed|suspended)|unrouteable|unroutable",
    re.IGNORECASE,
)


@dataclass
class Report:
    """A bounce or complaint found in a message."""

    kind: str  # "bounce" or "complaint"
    evidence: str
    permanent: bool = True
    recipients: list[str] = field(default_factory=list)
    # Headers of our original message when the report returns it (for matching the lead).
    original: dict[str, list[str]] = field(default_factory=dict)


def _parts(message: Message) -> list[Message]:
    try:
        return list(message.walk())
    except Exception:
        return [message]


def _report_type(message: Message) -> str:
    for part in _parts(message):
        if part.get_content_type() == "multipart/report":
            return (part.get_param("report-type") or "").__str__().lower()
    return ""


def original_headers(message: Message) -> dict[str, list[str]]:
    """Headers of the message a report returns (message/rfc822 or text/rfc822-headers part)."""
    for part in _parts(message):
        content_type = part.get_content_type()
        original: Message | None = None
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                original = payload[0]
        elif content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                original = message_from_bytes(raw, policy=policy.compat32)
        if original is not None:
            return {
                name: [str(value) for value in original.get_all(name, [])]
                for name in ("Message-ID", "In-Reply-To", "References", "Reply-To", "To", "From")
                if original.get_all(name)
            }
    return {}


def _status_blocks(message: Message, content_type: str) -> list[Message]:
    """The header blocks of every part of `content_type` (delivery-status, feedback-report)."""
    blocks: list[Message] = []
    for part in _parts(message):
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks.extend(block for block in payload if isinstance(block, Message))
        elif isinstance(payload, str):
            # Some MTAs send the report as one text blob; parse its blank-line-separated blocks.
            blocks.extend(
                message_from_bytes(chunk.strip().encode(), policy=policy.compat32)
                for chunk in re.split(r"\n\s*\n", payload.replace("\r\n", "\n"))
                if chunk.strip()
            )
    return blocks


def _address(field_value: str) -> str:
    """`rfc822; user@example.com` -> `user@example.com`."""
    value = field_value.partition(";")[2] if ";" in field_value else field_value
    return parseaddr(value.strip())[1].lower()


def _delivery_status(message: Message) -> Report | None:
    blocks = _status_blocks(message, "message/delivery-status")
    if not blocks and _report_type(message) != "delivery-status":
        return None
    failed: list[str] = []
    delayed: list[str] = []
    statuses: list[str] = []
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        recipient = _address(str(block.get("Original-Recipient") or block.get("Final-Recipient") or ""))
        statuses.append(status)
        if action.startswith(("fail", "error")) or (not action and status.startswith("5")):
            failed.append(recipient)
        elif action.startswith("delay") or (not action and status.startswith("4")):
            delayed.append(recipient)
    if not failed and not delayed:
        if any(status.startswith("5") for status in statuses):
            return Report("bounce", "dsn", permanent=True)
        if blocks and all(
            str(block.get("Action", "")).strip().lower() in ("delivered", "relayed", "expanded", "")
            for block in blocks
        ):
            return None  # a success notification, not a bounce
        return Report("bounce", "dsn", permanent=False)
    return Report(
        "bounce",
        "dsn",
        permanent=bool(failed),
        recipients=[address for address in failed or delayed if address],
    )


def _json_documents(text: str) -> list[dict[str, Any]]:
    start = text.find("{")
    if start < 0:
        return []
    try:
        document = json.loads(text[start : text.rfind("}") + 1])
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    documents = [document]
    if isinstance(document.get("Message"), str):  # SNS email-json envelope
        documents.extend(_json_documents(document["Message"]))
    return documents


def _ses_notification(message: Message) -> Report | None:
    """An SES bounce or complaint notification delivered by an SNS email subscription."""
    for document in _json_documents(full_text(message)):
        kind = document.get("notificationType") or document.get("eventType")
        mail: dict[str, Any] = document["mail"] if isinstance(document.get("mail"), dict) else {}
        # SES ids appear in headers as <id@email.amazonses.com> (or <id@REGION.amazonses.com>).
        original = (
            {"Message-ID": [f"<{mail['messageId']}@email.amazonses.com>"]} if mail.get("messageId") else {}
        )
        if kind == "Bounce" and isinstance(document.get("bounce"), dict):
            bounce = document["bounce"]
            return Report(
                "bounce",
                "ses-notification",
                permanent=bounce.get("bounceType") == "Permanent",
                recipients=[
                    str(entry.get("emailAddress", "")).lower()
                    for entry in bounce.get("bouncedRecipients", [])
                    if isinstance(entry, dict)
                ],
                original=original,
            )
        if kind == "Complaint" and isinstance(document.get("complaint"), dict):
            return Report(
                "complaint",
                "ses-notification",
                recipients=[
                    str(entry.get("emailAddress", "")).lower()
                    for entry in document["complaint"].get("complainedRecipients", [])
                    if isinstance(entry, dict)
                ],
                original=original,
            )
    return None


def _feedback_report(message: Message) -> Report | None:
    """An ARF complaint (RFC 5965)."""
    blocks = _status_blocks(message, "message/feedback-report")
    if not blocks and _report_type(message) != "feedback-report":
        return None
    recipients = [
        _address(str(block.get("Original-Rcpt-To", ""))) for block in blocks if block.get("Original-Rcpt-To")
    ]
    return Report("complaint", "arf", recipients=[address for address in recipients if address])


def _flufl(raw: bytes) -> tuple[list[str], list[str]]:
    """Mailman's detectors: (temporary, permanent) failed recipients."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message_from_bytes(raw, policy=policy.compat32))
    except Exception:  # a detector choking on odd mail is no verdict
        return [], []

    def decode(addresses: frozenset[bytes]) -> list[str]:
        return sorted(address.decode("ascii", "replace").lower() for address in addresses)

    return decode(temporary), decode(permanent)


def from_mail_system(message: Message) -> bool:
    sender = header(message, "From")
    return_path = header(message, "Return-Path").strip()
    addresses = " ".join(f"{name} {address}" for name, address in getaddresses([sender]))
    return bool(_MAIL_SYSTEM_SENDER.search(addresses) or _MAIL_SYSTEM_SENDER.search(sender)) or (
        return_path == "<>"
    )


def find_report(message: Message, raw: bytes) -> Report | None:
    """The bounce or complaint this message is, if it is one."""
    report = _feedback_report(message) or _delivery_status(message) or _ses_notification(message)
    machine = from_mail_system(message)
    subject_says_bounce = bool(_BOUNCE_SUBJECT.search(header(message, "Subject")))
    if report is None and (machine or subject_says_bounce):
        temporary, permanent = _flufl(raw)
        if permanent or temporary:
            report = Report(
                "bounce", "flufl.bounce", permanent=bool(permanent), recipients=permanent or temporary
            )
        elif machine and subject_says_bounce:
            body = full_text(message)
            permanent_words = bool(_PERMANENT_WORDS.search(body))
            report = Report(
                "bounce",
                "subject",
                permanent=permanent_words and not _TRANSIENT_WORDS.search(header(message, "Subject")),
            )
    if report is None:
        return None
    if report.kind == "bounce" and report.permanent and _TRANSIENT_WORDS.search(header(message, "Subject")):
        # "Warning: message delayed", "Delivery Status Notification (Delay)": the subject knows best.
        report.permanent = bool(report.evidence == "dsn" and report.recipients and _dsn_failed(message))
    if not report.original:
        report.original = original_headers(message)
    return report


def _dsn_failed(message: Message) -> bool:
    return any(
        str(block.get("Action", "")).strip().lower().startswith("fail")
        for block in _status_blocks(message, "message/delivery-status")
    )
