"""SNS adapter for text messages to leads (rep alerts go through leadflow.send.alerts).

Publishing to a phone number needs `sns:Publish` on "*" (a number has no ARN): only the step
function holds it. The inbound and intake functions ask the step for one of the fixed service
texts (`request_service_text`), with `lambda:InvokeFunction` on the step alone.
"""

from __future__ import annotations

from leadflow import aws
from leadflow.config import operator_config, settings
from leadflow.models import ServiceText, ServiceTextRequest


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


def service_text(kind: ServiceText) -> str:
    company = operator_config().company
    if kind is ServiceText.HELP:
        return f"{company.name}: sales follow-up messages. Reply STOP to opt out. Info: {company.website}"
    return f"{company.name}: reply YES to get text messages about your request. Reply STOP to opt out."


def request_service_text(kind: ServiceText, phone_e164: str) -> None:
    """Ask the step function to send a service text (asynchronously: Lambda retries it twice, and the
    step's errors alarm covers the rest)."""
    step = settings().step_function_name
    if not step:
        raise RuntimeError("STEP_FUNCTION_NAME is not set: only the step function may text a number")
    request = ServiceTextRequest(service_text=kind, to=phone_e164)
    aws.client("lambda").invoke(
        FunctionName=step,
        InvocationType="Event",
        Payload=request.model_dump_json().encode(),
    )


def send_service_text(request: ServiceTextRequest) -> dict[str, str]:
    """The step's side: send the fixed text to the number (never logged)."""
    return {
        "service_text": request.service_text.value,
        "message_id": send_sms(request.to, service_text(request.service_text)),
    }
