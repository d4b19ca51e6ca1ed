"""Small builders shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.local.events import reply_email


def reply_mime(
    sender: str,
    to: str = "alex@mail.leadflow.example",
    subject: str = "Re: Your demo request",
    body: str = "Yes, Tuesday works. Send an invite.",
    headers: dict[str, str] | None = None,
) -> bytes:
    return reply_email(sender, to=to, subject=subject, body=body, at=datetime.now(UTC), headers=headers)
