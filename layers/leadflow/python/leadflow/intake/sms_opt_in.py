"""SMS double opt-in (abuse.sms_double_opt_in): in the listed countries, a form's SMS consent counts
only once the number itself texts YES. Right after the post, the number gets one request; cadence
texts are skipped (`awaiting_sms_opt_in`) until the answer comes (answers.inbound confirms it).
"""

from __future__ import annotations

from leadflow import fields, keys
from leadflow.config import operator_config
from leadflow.models import Lead
from leadflow.observability import logger
from leadflow.send.sms import send_sms
from leadflow.store import suppression_items


def request_text() -> str:
    company = operator_config().company.name
    return f"{company}: reply YES to get text messages about your request. Reply STOP to opt out."


def needs_confirmation(lead: Lead) -> bool:
    """The lead's number is in a double opt-in country and has not confirmed yet."""
    if not lead.phone or lead.sms_confirmed_at is not None:
        return False
    return fields.phone_country(lead.phone) in operator_config().abuse.sms_double_opt_in


def ask(lead: Lead) -> bool:
    """Text the opt-in request once, for a new lead with SMS consent that needs it; True when sent."""
    if not lead.sms_consent or not lead.phone or not needs_confirmation(lead):
        return False
    if fields.phone_country(lead.phone) not in operator_config().sms_countries:
        return False
    if suppression_items.suppression(keys.email_key(lead.phone)):
        return False
    send_sms(lead.phone, request_text())
    logger.info("SMS opt-in requested", extra={"lead_id": lead.id})
    return True
