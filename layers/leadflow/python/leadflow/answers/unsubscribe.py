"""One-click unsubscribe (RFC 8058): a signed token in every email opts the lead out at once.

GET shows a confirmation page and changes nothing (link scanners fetch links);
POST, from the mail provider's one-click button or the page's form, opts out:
the lead's status becomes opted_out (reason unsubscribe), the address goes on the
suppression list, and every running enrollment stops. A missing, tampered or
unknown token gets a 400 page and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leadflow import clock, tokens
from leadflow.answers import outcomes
from leadflow.config import operator_config, settings
from leadflow.models import ContactStatus, Lead, StopReason
from leadflow.observability import logger
from leadflow.send.render import environment, use_precompiled
from leadflow.store import lead_items

PAGE_TEMPLATE = "_pages/unsubscribe.j2"


class Outcome(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    ALREADY = "already"


@dataclass(frozen=True)
class Unsubscriber:
    """A lead a genuine token names, and the touch whose link it was."""

    lead: Lead
    target: tokens.TokenTarget


def resolve(token: str | None) -> Unsubscriber | None:
    """The lead a genuine unsubscribe token names, if that lead exists."""
    target = tokens.verify(tokens.Purpose.UNSUBSCRIBE, token)
    lead = lead_items.get_lead(target.lead_id) if target else None
    return Unsubscriber(lead, target) if lead and target else None


def opt_out(found: Unsubscriber) -> Outcome:
    """Suppress the address and stop the lead, attributed to the touch; a repeat changes nothing."""
    lead, target = found.lead, found.target
    if lead.status is ContactStatus.OPTED_OUT:
        return Outcome.ALREADY
    at = clock.now()
    attribution = outcomes.attribute(
        lead.id, at, enrollment=target.enrollment, touch=target.touch, channel="email"
    )
    outcomes.opted_out(
        lead, StopReason.UNSUBSCRIBE, at=at, source="unsubscribe-link", via="email", attribution=attribution
    )
    logger.info("lead unsubscribed", extra={"lead_id": lead.id, "touch": target.touch})
    return Outcome.UNSUBSCRIBED


def mask(address: str) -> str:
    """Enough of the address to recognize it, not enough to harvest it: a•••@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def page(state: str, lead: Lead | None = None, token: str | None = None) -> str:
    """The HTML page for a state: confirm, unsubscribed, already or invalid."""
    pages = environment(settings().template_dir, autoescape=True, precompiled=use_precompiled())
    template = pages.get_template(PAGE_TEMPLATE)
    return template.render(
        state=state,
        token=token,
        address=mask(lead.email) if lead else None,
        company={"name": operator_config().company.name},
    )
