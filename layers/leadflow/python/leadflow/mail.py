"""Build MIME messages and send them through SES v2 (the only module that touches SES)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr

from leadflow import aws, clock
from leadflow.config import settings


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


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
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(clock.now().timestamp(), usegmt=True)
    message["Message-ID"] = f"<{uuid.uuid4()}@{sender_domain(sender)}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def send(message: EmailMessage, tags: dict[str, str]) -> str:
    """Send a raw MIME message; returns the SES MessageId."""
    config = settings()
    request: dict[str, object] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [address for _, address in getaddresses([str(message["To"])])]},
        "Content": {"Raw": {"Data": message.as_bytes()}},
        "EmailTags": [{"Name": name, "Value": value} for name, value in tags.items()],
    }
    if config.configuration_set:
        request["ConfigurationSetName"] = config.configuration_set
    response = aws.client("sesv2").send_email(**request)
    return str(response["MessageId"])


def parseaddr_name(address: str) -> str:
    """The display name of an address ("Alex Rivera <alex@x>" -> "Alex Rivera"), else the local part."""
    name, email = parseaddr(address)
    return name or email.partition("@")[0]
