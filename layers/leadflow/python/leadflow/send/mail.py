"""Build MIME messages and send them through SES v2 (the only module that touches SES).

Threading: SES replaces the Message-ID of every message it sends with
`<MessageId@email.amazonses.com>` (us-east-1) or `<MessageId@REGION.amazonses.com>`.
That rewritten id is what the lead's mail client sees and replies to, so it is what
we store (`ses_message_id`) and what follow-ups put in In-Reply-To and References.
Our own Message-ID also goes into References, which SES leaves alone, so a reply's
References names our id too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr

from leadflow import aws, clock
from leadflow.config import settings

# Folding a long List-Unsubscribe, In-Reply-To or References header would turn it into
# RFC 2047 encoded words that mail providers do not decode: write headers unfolded
# (RFC 5322 allows 998 characters a line), bodies quoted-printable at 76.
_BODY_POLICY = policy.SMTP
_WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
SES_MESSAGE_ID = re.compile(r"^<([^@<>\s]+)@(?:email|[a-z0-9-]+)\.amazonses\.com>$", re.IGNORECASE)


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def format_address(name: str, email: str) -> str:
    """`Name <local@domain>`, quoted or encoded as the name needs."""
    local, _, domain = email.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def ses_message_id(ses_id: str, region: str | None = None) -> str:
    """The Message-ID header SES writes into a message it sent with this MessageId."""
    region = region or aws.client("sesv2").meta.region_name
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_id}@{host}>"


def ses_id_from_message_id(header: str) -> str | None:
    """The SES MessageId inside a `<id@…amazonses.com>` header value, e.g. a reply's In-Reply-To."""
    match = SES_MESSAGE_ID.match(header.strip())
    return match.group(1) if match else None


def automated_headers(*, reply_to: str, unsubscribe_url: str, unsubscribe_mailto: str) -> dict[str, str]:
    """Headers of every automated email to a lead: Reply-To and one-click unsubscribe (RFC 8058)."""
    return {
        "Reply-To": reply_to,
        "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:{unsubscribe_mailto}?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. text/csv
    data: bytes


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
    in_reply_to: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A text + HTML message; `in_reply_to` (the parent's Message-ID) makes it a reply in its thread.
    `message_id`: its Message-ID (default: a random one at the sender's domain)."""
    message = EmailMessage(policy=_BODY_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(clock.now().timestamp(), usegmt=True)
    own_id = message_id or f"<{uuid.uuid4()}@{sender_domain(sender)}>"
    message["Message-ID"] = own_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        # Our id first, the parent last: clients that read References' last entry find the parent.
        message["References"] = f"{own_id} {in_reply_to}"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            # Text is UTF-8 (the report's CSV has dashes and names): say so, or clients read ASCII.
            params={"charset": "utf-8"} if maintype == "text" else None,
        )
    return message


def to_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=_WIRE_POLICY)


def send(message: EmailMessage, tags: dict[str, str]) -> str:
    """Send a raw MIME message through the configuration set, tagged; returns the SES MessageId."""
    config = settings()
    request: dict[str, object] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [address for _, address in getaddresses([str(message["To"])])]},
        "Content": {"Raw": {"Data": to_bytes(message)}},
        "EmailTags": [{"Name": name, "Value": value} for name, value in tags.items()],
    }
    if config.configuration_set:
        request["ConfigurationSetName"] = config.configuration_set
    response = aws.client("sesv2").send_email(**request)
    return str(response["MessageId"])
