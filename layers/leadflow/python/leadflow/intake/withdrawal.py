"""Consent withdrawal by a public form post needs proof: anyone can type someone else's address.

A public post with `email_consent=false` for a known, running lead stops nothing by itself. The
address gets one email (at most one a day) with its one-click unsubscribe link; the cadence stops
when that link is used. An authenticated server-to-server post (API key) is proof and is honoured
at once (intake.submission).
"""

from __future__ import annotations

from datetime import datetime

from leadflow import tokens
from leadflow.config import operator_config, settings
from leadflow.models import Enrollment, Lead
from leadflow.observability import logger
from leadflow.send import mail
from leadflow.store import event_items


def confirmation(lead: Lead, unsubscribe_url: str) -> tuple[str, str, str]:
    """Subject, text and HTML of the confirmation email: only what is true whoever posted."""
    company = operator_config().company
    subject = f"Confirm: no more emails from {company.name}"
    text = (
        f"Someone asked on a {company.name} form to stop our emails to {lead.email}.\n\n"
        f"If that was you, confirm here and we will not email you again:\n{unsubscribe_url}\n\n"
        "If it was not you, ignore this email: nothing changes.\n\n"
        f"{company.name} · {company.postal_address}\n"
    )
    html = (
        f"<p>Someone asked on a {company.name} form to stop our emails to {lead.email}.</p>"
        f'<p>If that was you, <a href="{unsubscribe_url}">confirm here</a> and we will not email you '
        "again.</p><p>If it was not you, ignore this email: nothing changes.</p>"
        f"<p>{company.name} · {company.postal_address}</p>"
    )
    return subject, text, html


def ask_to_confirm(lead: Lead, running: list[Enrollment], now: datetime) -> bool:
    """Send the confirmation email, once per lead and day (no mail bombing through this door either)."""
    if not event_items.first_time(lead.id, f"withdrawal#{now.date().isoformat()}"):
        return False
    latest = max(running, key=lambda enrollment: enrollment.number)
    token = tokens.unsubscribe_token(lead.id, latest.number, max(latest.last_touch, 1))
    url = f"{settings().public_url.rstrip('/')}/unsubscribe?token={token}"
    subject, text, html = confirmation(lead, url)
    message = mail.build_message(
        sender=settings().sender,
        to=lead.email,
        subject=subject,
        text=text,
        html=html,
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    mail.send(message, {"kind": "withdrawal-confirmation"})
    logger.info("consent withdrawal awaits confirmation", extra={"lead_id": lead.id})
    return True
