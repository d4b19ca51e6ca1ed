"""Machine reports about our mail: bounces (DSNs and the non-standard formats), complaints (ARF)
and notices (success DSNs, SES delivery events, list-manager notes) that ask nothing of anyone.

Bounces are recognised from, in order: an RFC 3464 delivery-status part; an Amazon SES
bounce or complaint notification forwarded as email (SNS email and email-json
subscriptions); the detectors of `flufl.bounce` (Mailman's, for Postfix, Exim, qmail,
Exchange, Yahoo, GroupWise, Sendmail and many more), trusted only on mail that comes
from a mail system; and the subject lines mail systems use. Permanence comes from the
DSN action and status, the SES bounce type, or flufl's temporary/permanent split; a
bounce whose permanence cannot be told is treated as transient (recorded, nothing stops).

Mail from a mail system (mailer-daemon, postmaster) or a mailing-list manager (fml, Mailman,
majordomo...) and every multipart/report is a machine's: it is a bounce when its words say so
(also Japanese carrier bounces), else a notice, never a person's reply.
"""

from __future__ import annotations

import base64
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
# Mailing-list managers: their local parts alone, or a list role plus a list manager's header.
_LIST_MANAGER_SENDER = re.compile(
    r"^(?:majordomo|listserv|listproc|mailman|fml|sympa|ezmlm|owner-[^@]+|[^@]+-(?:request|bounces|owner))@",
    re.IGNORECASE,
)
_LIST_ROLE_SENDER = re.compile(r"^[^@]+-(?:admin|ctl|error|errors)@", re.IGNORECASE)
_LIST_MANAGER_HEADERS = ("X-ML-Server", "X-MLServer", "List-Software", "X-ML-Name", "X-Mailman-Version")
# A list manager refusing or failing to distribute our mail (fml, Mailman, majordomo; English and Japanese).
_LIST_ERROR = re.compile(
    r"not a member|only members (?:can|may) post|post(?:ing)? (?:is )?denied|rejected your (?:mail|message)|"
    r"is not delivered|was not delivered|could not be delivered|no such (?:list|mailing list)|"
    r"メンバーではない|配送されませんでした|配信されませんでした|投稿できません",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$", re.I
)
# "<user@host> (expanded from <alias@host>): reason" lines of a Postfix bounce without a DSN part.
_POSTFIX_RECIPIENT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>(?: \(expanded from <([^<>\s]+@[^<>\s]+)>\))?:", re.M)
# Our own tokens and SES ids quoted in a returned message's text (when no headers part returns it).
_QUOTED_REPLY_TO = re.compile(r"^>?\s*(Reply-To|From|Message-ID):\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|delivery (?:has )?fail|delivery failure|"
    r"failure (?:notice|delivery)|returned mail|mail delivery (?:failed|failure|problem)|"
    r"could not be deliver|non[- ]?delivery|not delivered|delivery report|delivery notification|"
    r"mail (?:system )?error|failed mail|delayed mail|message delayed|mail delivery warning|"
    r"delivery (?:status|problem)|returning message to sender|permanent delivery failure|"
    r"processing error|automatically rejected mail|"
    r"unzustellbar|nicht zustellbar|non remis|non distribuable|échec de (?:la )?remise|"
    r"onbestelbaar|non recapitabile|mancato recapito|no se puede entregar|no entregado|"
    r"não entregue|olevererbart|недостав|не доставлено|"
    r"送信エラー|配信エラー|配送エラー|配信不能|配送不能|不達|エラーメール|メールエラー|返送されました|届きませんでした",
    re.IGNORECASE,
)
_TRANSIENT_WORDS = re.compile(
    r"\bdelay(?:ed)?\b|warning|not yet been delivered|still (?:being )?(?:retried|trying)|"
    r"will (?:continue to )?(?:retry|try)|temporar|mailbox (?:is )?full|over quota|\b4\.\d{1,3}\.\d{1,3}\b|"
    r"warning only|will be retried|一杯|満杯|容量|しばらくしてから",
    re.IGNORECASE,
)
_PERMANENT_WORDS = re.compile(
    r"\b5\.\d{1,3}\.\d{1,3}\b|\b55[0-4]\b|user unknown|unknown user|no such (?:user|mailbox|recipient)|"
    r"does not exist|doesn't exist|doesn't have a|mailbox unavailable|recipient (?:address )?rejected|"
    r"failed permanently|permanent (?:fatal )?error|address rejected|invalid recipient|not found|"
    r"account (?:has been )?(?:disabled|closed|suspended)|unrouteable|unroutable|(?:mailbox|user) .{0,40}"
    r"is disabled|not a member|only members (?:can|may) post|post(?:ing)? (?:is )?denied|"
    r"存在しません|存在しない|宛先不明|メンバーではない",
    re.IGNORECASE,
)


# DSN actions that report no failure: RFC 3464's delivered, relayed and expanded, and `deliverable`
# (2.1.5, the answer to a verification such as Sendmail's `-bv` or a NOTIFY=SUCCESS probe).
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded", "deliverable"})
# Sendmail breaks a line longer than SMTP's limit with "!", a line end and a space: undo it before
# reading JSON an SNS email subscription sent through such a relay.
_SENDMAIL_LINE_BREAK = re.compile(r"!\r?\n ")
# Microsoft's JMRP complaint (Outlook.com/Hotmail): not ARF, the complained message attached.
_JMRP_SUBJECT = re.compile(r"^\s*complaint about message from ", re.IGNORECASE)
# A person forwarding a bounce: the returned message's DSN fields or Sendmail's transcript, quoted.
_FORWARDED_BOUNCE = re.compile(
    r"^(?:Final-Recipient|Original-Recipient):\s*rfc822;|^Action:\s*(?:failed|delayed)\b|"
    r"-{3,} The following addresses had (?:permanent fatal|transient non-fatal) errors|"
    r"-{3,} Transcript of session follows",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTE_MARKS = re.compile(r"^(?:>+ ?)+", re.MULTILINE)


@dataclass
class Report:
    """A bounce or complaint found in a message."""

    kind: str  # "bounce", "complaint" or "notice" (a machine's note that asks nothing: success DSN...)
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
        if str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
            payload = _base64_text(payload)  # some reporters encode the report part
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


def _base64_text(payload: object) -> object:
    """A base64-encoded message/* part as text (the parser took the encoded lines for a message)."""
    encoded = payload
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        encoded = payload[0].as_string()
    if not isinstance(encoded, str):
        return payload
    try:
        return base64.b64decode("".join(encoded.split()), validate=True).decode("utf-8", "replace")
    except ValueError:
        return payload


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
        actions = {str(block.get("Action", "")).strip().lower() for block in blocks}
        if actions - {""} and actions <= SUCCESS_ACTIONS | {""}:
            return Report("notice", "dsn-success")  # delivered, relayed, expanded: nothing failed
        if blocks and actions == {""}:
            return None  # a status part without actions: other detectors decide
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
    candidate = text[start : text.rfind("}") + 1]
    try:
        document = json.loads(candidate)
    except ValueError:
        try:
            document = json.loads(_SENDMAIL_LINE_BREAK.sub("", candidate))
        except ValueError:
            return []
    if not isinstance(document, dict):
        return []
    documents = [document]
    if isinstance(document.get("Message"), str):  # SNS email-json envelope
        documents.extend(_json_documents(document["Message"]))
    return documents


# SES event and notification types that report no failure (Delivery, Send, Open, Click...).
_SES_NOTICES = frozenset(
    {"Delivery", "Send", "Open", "Click", "Reject", "Rendering Failure", "Subscription", "Received"}
)


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
        if kind == "DeliveryDelay" and isinstance(document.get("deliveryDelay"), dict):
            return Report(
                "bounce",
                "ses-notification",
                permanent=False,
                recipients=[
                    str(entry.get("emailAddress", "")).lower()
                    for entry in document["deliveryDelay"].get("delayedRecipients", [])
                    if isinstance(entry, dict)
                ],
                original=original,
            )
        if kind in _SES_NOTICES and mail:
            return Report("notice", "ses-notification", original=original)
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
        # Detectors reading a non-ASCII body (ISO-2022-JP) may return fragments: keep real addresses.
        decoded = (address.decode("ascii", "replace").lower() for address in addresses)
        return sorted(address for address in decoded if _ADDRESS.match(address))

    return decode(temporary), decode(permanent)


def from_mail_system(message: Message) -> bool:
    sender = header(message, "From")
    return_path = header(message, "Return-Path").strip()
    addresses = " ".join(f"{name} {address}" for name, address in getaddresses([sender]))
    return bool(_MAIL_SYSTEM_SENDER.search(addresses) or _MAIL_SYSTEM_SENDER.search(sender)) or (
        return_path == "<>"
    )


def from_list_manager(message: Message) -> bool:
    """Mail a mailing-list manager wrote (an error or a notice), not a member's post through a list."""
    sender = parseaddr(header(message, "From"))[1]
    if _LIST_MANAGER_SENDER.match(sender):
        return True
    list_headers = any(header(message, name) for name in _LIST_MANAGER_HEADERS)
    return bool(_LIST_ROLE_SENDER.match(sender)) and list_headers


def machine_sent(message: Message) -> bool:
    """Written by a mail system or a list manager, or a multipart/report: never a person's reply."""
    return from_mail_system(message) or from_list_manager(message) or _is_report(message)


def _is_report(message: Message) -> bool:
    return message.get_content_type() == "multipart/report"


def _returned_headers(message: Message) -> dict[str, list[str]]:
    """Our headers quoted in the text of a returned message (fml, DSN-less Postfix, carriers)."""
    found: dict[str, list[str]] = {}
    for name, value in _QUOTED_REPLY_TO.findall(full_text(message)):
        canonical = {"reply-to": "Reply-To", "from": "From", "message-id": "Message-ID"}[name.lower()]
        found.setdefault(canonical, []).append(value.strip())
    return found


def _text_bounce(message: Message, evidence: str) -> Report:
    """A bounce told by its words: permanent when they name a permanent failure and nothing temporary."""
    body = full_text(message)
    subject = header(message, "Subject")
    recipients = [address for pair in _POSTFIX_RECIPIENT.findall(body) for address in pair if address]
    permanent = bool(_PERMANENT_WORDS.search(body)) and not _TRANSIENT_WORDS.search(subject)
    if permanent and _TRANSIENT_WORDS.search(body) and not _PERMANENT_WORDS.search(subject):
        # "mailbox full ... 550": a full mailbox empties again; the transient reading wins.
        permanent = not re.search(r"一杯|満杯|容量|mailbox (?:is )?full|over quota", body, re.I)
    return Report("bounce", evidence, permanent=permanent, recipients=[a.lower() for a in recipients])


def find_report(message: Message, raw: bytes) -> Report | None:
    """The bounce, complaint or machine notice this message is, if it is one."""
    report = (
        _feedback_report(message)
        or _delivery_status(message)
        or _ses_notification(message)
        or _jmrp_complaint(message)
    )
    machine = from_mail_system(message)
    list_manager = from_list_manager(message)
    subject_says_bounce = bool(_BOUNCE_SUBJECT.search(header(message, "Subject")))
    if report is None and machine and _null_sender_auto_reply(message):
        return None  # RFC 3834 asks auto-responders for a null Return-Path: the auto-reply rules decide
    if report is None and subject_says_bounce and not machine:
        report = _forwarded_bounce(message) or _returned_with_bounce_subject(message)
    if report is None and (machine or subject_says_bounce):
        temporary, permanent = _flufl(raw)
        if permanent or temporary:
            report = Report(
                "bounce", "flufl.bounce", permanent=bool(permanent), recipients=permanent or temporary
            )
        elif machine and subject_says_bounce:
            report = _text_bounce(message, "subject")
    if report is None and list_manager:
        if _LIST_ERROR.search(full_text(message)) or subject_says_bounce:
            report = _text_bounce(message, "list-manager")
        else:
            report = Report("notice", "list-manager")
    if report is None and machine:
        # A mail system's message in no known format: a bounce only if its words say so.
        if _PERMANENT_WORDS.search(full_text(message)):
            report = _text_bounce(message, "mail-system")
        else:
            report = Report("notice", "mail-system")
    if report is None and _is_report(message) and _report_type(message) != "disposition-notification":
        report = Report("notice", "multipart/report")  # RFC 6522 reports of other kinds (e.g. TLS-RPT)
    if report is None:
        return None
    if report.kind == "bounce" and report.permanent and _TRANSIENT_WORDS.search(header(message, "Subject")):
        # "Warning: message delayed", "Delivery Status Notification (Delay)": the subject knows best.
        report.permanent = bool(report.evidence == "dsn" and report.recipients and _dsn_failed(message))
    if not report.original:
        report.original = original_headers(message) or _returned_headers(message)
    return report


def _null_sender_auto_reply(message: Message) -> bool:
    """An automatic reply sent with a null Return-Path (RFC 3834 3.3, Outlook's "Automatic reply:")
    from an ordinary address: not a mail system's report."""
    from leadflow.answers.classify.autoreply import auto_reply_evidence

    sender = header(message, "From")
    if _MAIL_SYSTEM_SENDER.search(sender) or _is_report(message):
        return False
    return auto_reply_evidence(message, "") is not None


def _jmrp_complaint(message: Message) -> Report | None:
    """Outlook.com's JMRP report: "complaint about message from <ip>", the message attached, its
    recipient in X-HmXmrOriginalRecipient."""
    if not _JMRP_SUBJECT.search(header(message, "Subject")):
        return None
    original = original_headers(message)
    if not original:
        return None
    recipients = [value.strip().lower() for value in original.get("X-HmXmrOriginalRecipient", [])]
    return Report("complaint", "jmrp", recipients=recipients, original=original)


def _forwarded_bounce(message: Message) -> Report | None:
    """A bounce a person forwarded ("Fwd: Returned mail"): its DSN fields or transcript quoted."""
    text = _QUOTE_MARKS.sub("", full_text(message))
    if not _FORWARDED_BOUNCE.search(text):
        return None
    failed = re.findall(r"^Final-Recipient:\s*rfc822;\s*(\S+@\S+)", text, re.IGNORECASE | re.MULTILINE)
    permanent = bool(_PERMANENT_WORDS.search(text)) and not re.search(
        r"^Action:\s*delayed", text, re.I | re.M
    )
    return Report("bounce", "forwarded-bounce", permanent=permanent, recipients=[a.lower() for a in failed])


def _returned_with_bounce_subject(message: Message) -> Report | None:
    """A carrier's error mail from an ordinary-looking address (au/KDDI's no-reply@…dion.ne.jp,
    "メールエラー通知"): a bounce subject and the returned message attached."""
    if not any(
        part.get_content_type() in ("message/rfc822", "text/rfc822-headers") for part in _parts(message)
    ):
        return None
    return _text_bounce(message, "subject+returned-message")


def _dsn_failed(message: Message) -> bool:
    return any(
        str(block.get("Action", "")).strip().lower().startswith("fail")
        for block in _status_blocks(message, "message/delivery-status")
    )
