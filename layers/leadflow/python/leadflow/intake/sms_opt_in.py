"""SMS double opt-in (abuse.sms_double_opt_in): in the listed countries, a form's SMS consent counts
only once the number itself texts YES. Right after the post, the number gets one request; cadence
texts are skipped (`awaiting_sms_opt_in`) until the answer comes (answers.inbound confirms it).
"""

from __future__ import annotations

from leadflow import fields, keys
from leadflow.config import operator_config
from leadflow.models import Lead, ServiceText
from leadflow.observability import logger
from leadflow.send.sms import request_service_text
from leadflow.store import suppression_items


def needs_confirmation(lead: Lead) -> bool:
    """The lead's number is in a double opt-in country and has not confirmed yet."""
    if not lead.phone or lead.sms_confirmed_at is not None:
        return False
    return fields.phone_country(lead.phone) in operator_config().abuse.sms_double_opt_in


def ask(lead: Lead) -> bool:
    """Have the step text the opt-in request once, for a new lead with SMS consent that needs it;
    True when asked."""
    if not lead.sms_consent or not lead.phone or not needs_confirmation(lead):
        return False
    if fields.phone_country(lead.phone) not in operator_config().sms_countries:
        return False
    if suppression_items.suppression(keys.email_key(lead.phone)):
        return False
    request_service_text(ServiceText.SMS_OPT_IN, lead.phone)
    logger.info("SMS opt-in requested", extra={"lead_id": lead.id})
    return True
