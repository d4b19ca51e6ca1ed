"""Classify inbound mail: a pure function from raw bytes to what the mail is.

    classify(raw, recipients=("reply+abc@reply.example",)) -> Classification

Machines are told apart before people are: complaints (ARF), then bounces (their
reports carry `Auto-Submitted` too) and machine notices (success DSNs, SES delivery
events, list-manager notes: `unknown`), then automatic replies. Mail from a mail system
or a list manager, and any multipart/report, is never a `reply`. Only then is the writer's
own text read, with quoted history, signatures and footers cut first, so a quoted or
footer "unsubscribe" decides nothing. "Not interested", "wrong person" and "try me in
Q3" are replies: they stop the cadence and suppress nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from leadflow import clock
from leadflow.answers.classify.autoreply import auto_reply_evidence, own_subject
from leadflow.answers.classify.dates import return_date
from leadflow.answers.classify.reports import find_report
from leadflow.answers.classify.text import header, own_text

__all__ = ["BounceType", "Classification", "Kind", "classify", "message_ids", "reply_tokens"]

# Plus-addresses carrying a signed lead token: replies (Reply-To) and mailto unsubscribes.
_TOKEN = re.compile(r"\b(?:reply|unsubscribe)\+([a-z0-9]{4,60})@", re.IGNORECASE)
_UNSUBSCRIBE_ADDRESS = re.compile(r"\bunsubscribe\+[a-z0-9]{4,60}@", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_TOKEN_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Forwarded-To")


class Kind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    UNKNOWN = "unknown"


# Kinds a person wrote; the others come from machines and never count as an answer.
HUMAN_KINDS = frozenset({Kind.REPLY, Kind.UNSUBSCRIBE})


class BounceType(StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    # What decided the kind, e.g. "dsn", "arf", "header:Auto-Submitted", "subject", "text".
    evidence: str
    lead_token: str | None = None
    return_date: date | None = None
    # The writer's own words (human and automatic replies), for the owner's alert.
    text: str = ""
    subject: str = ""
    sender: str = ""
    written_at: datetime | None = None
    bounce_type: BounceType | None = None
    # Addresses a bounce or complaint reports (several per report are common).
    recipients: tuple[str, ...] = ()
    # Message-IDs this mail refers to: In-Reply-To, References, and those of a returned original.
    references: tuple[str, ...] = ()
    # Sent to a List-Unsubscribe mailto address (unsubscribe+<token>@): an unsubscribe, whatever it says.
    mailto_unsubscribe: bool = False


def message_ids(values: Iterable[str]) -> list[str]:
    """Message-IDs in header values, without angle brackets, in order, de-duplicated."""
    found: list[str] = []
    for value in values:
        for message_id in _MESSAGE_ID.findall(value):
            if message_id not in found:
                found.append(message_id)
    return found


def reply_tokens(addresses: Iterable[str]) -> list[str]:
    """Tokens of `reply+<token>@…` addresses, lowercased (mail systems may change case)."""
    found: list[str] = []
    for address in addresses:
        for token in _TOKEN.findall(address):
            if token.lower() not in found:
                found.append(token.lower())
    return found


def _all(message: Message, name: str) -> list[str]:
    """Every value of a header, RFC 2047 words decoded (some clients encode long Message-IDs)."""
    try:
        values = [str(value) for value in message.get_all(name) or []]
    except Exception:
        return []
    decoded = []
    for value in values:
        try:
            decoded.append(str(make_header(decode_header(value))))
        except Exception:  # undecodable: keep it as it came
            decoded.append(value)
    return decoded


def _written_at(message: Message) -> datetime | None:
    try:
        moment = parsedate_to_datetime(header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _wants_out(text: str, subject: str) -> bool:
    """A written removal request: the subject alone, or the reply intent rules' sure `unsubscribe`."""
    from leadflow.answers.intent import wants_out

    if re.fullmatch(r"\s*(?:unsubscribe|remove|stop|abmelden|désabonner)\s*", own_subject(subject), re.I):
        return True
    return wants_out(text)


def classify(raw: bytes, recipients: Sequence[str] = ()) -> Classification:
    """What a raw inbound message is. Never raises on bad input: it is `unknown` then."""
    if not raw or not raw.strip():
        return Classification(kind=Kind.UNKNOWN, evidence="empty")
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
    except Exception:
        return Classification(kind=Kind.UNKNOWN, evidence="unparseable")
    if not message.keys():
        return Classification(kind=Kind.UNKNOWN, evidence="no headers")

    subject = header(message, "Subject")
    sender = parseaddr(header(message, "From"))[1].lower()
    written_at = _written_at(message)
    references = message_ids(_all(message, "In-Reply-To") + _all(message, "References"))
    token_sources = list(recipients) + [
        address for name in _TOKEN_HEADERS for _, address in getaddresses(_all(message, name))
    ]
    base = Classification(
        kind=Kind.UNKNOWN, evidence="", subject=subject, sender=sender, written_at=written_at
    )

    report = find_report(message, raw)
    if report is not None and report.kind == "notice":
        # A machine's note that asks nothing (success DSN, SES delivery event, list notice): no answer.
        tokens = reply_tokens(token_sources + report.original.get("Reply-To", []))
        return base.model_copy(
            update={
                "evidence": report.evidence,
                "lead_token": tokens[0] if tokens else None,
                "references": tuple(message_ids(report.original.get("Message-ID", []))),
            }
        )
    if report is not None:
        original = report.original
        tokens = reply_tokens(token_sources + original.get("Reply-To", []) + original.get("From", []))
        is_bounce = report.kind == "bounce"
        return base.model_copy(
            update={
                "kind": Kind.BOUNCE if is_bounce else Kind.COMPLAINT,
                "evidence": report.evidence,
                "lead_token": tokens[0] if tokens else None,
                "bounce_type": (BounceType.PERMANENT if report.permanent else BounceType.TRANSIENT)
                if is_bounce
                else None,
                "recipients": tuple(dict.fromkeys(report.recipients)),
                "references": tuple(
                    message_ids(
                        original.get("Message-ID", [])
                        + original.get("In-Reply-To", [])
                        + original.get("References", [])
                    )
                ),
            }
        )

    tokens = reply_tokens(token_sources)
    mailto_unsubscribe = any(_UNSUBSCRIBE_ADDRESS.search(address) for address in token_sources)
    text = own_text(message)
    base = base.model_copy(
        update={"lead_token": tokens[0] if tokens else None, "references": tuple(references), "text": text}
    )
    # Mail to the List-Unsubscribe address is an opt-out even when a client's button sends it
    # marked Auto-Submitted; reports (bounces, complaints) were told apart above.
    if mailto_unsubscribe:
        return base.model_copy(
            update={
                "kind": Kind.UNSUBSCRIBE,
                "evidence": "list-unsubscribe mailto",
                "mailto_unsubscribe": True,
            }
        )
    evidence = auto_reply_evidence(message, text)
    if evidence is not None:
        reference_day = (written_at or clock.now()).date()
        return base.model_copy(
            update={
                "kind": Kind.AUTO_REPLY,
                "evidence": evidence,
                "return_date": return_date(text, reference_day),
            }
        )
    if _wants_out(text, subject):
        return base.model_copy(update={"kind": Kind.UNSUBSCRIBE, "evidence": "text"})
    if text:
        return base.model_copy(update={"kind": Kind.REPLY, "evidence": "text"})
    return base.model_copy(update={"evidence": "no text of its own"})
