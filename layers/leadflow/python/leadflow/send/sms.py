"""SNS adapter for text messages to leads (rep alerts go through leadflow.send.alerts)."""

from __future__ import annotations

from leadflow import aws
from leadflow.config import settings


def _attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def send_sms(phone_e164: str, text: str) -> str:
    """Send one SMS straight to a phone number; returns the SNS message id."""
    # Transactional: the lead asked to be contacted; SNS routes these for reliability, not cost.
    attributes = {"AWS.SNS.SMS.SMSType": _attribute("Transactional")}
    origination = settings().sms_origination_number
    if origination:
        attributes["AWS.MM.SMS.OriginationNumber"] = _attribute(origination)
    response = aws.client("sns").publish(PhoneNumber=phone_e164, Message=text, MessageAttributes=attributes)
    return str(response["MessageId"])
