"""Issue 22 item 5: the step is the one function allowed to text any number (sns:Publish on "*").
The inbound function (the HELP answer) and intake (the SMS opt-in request) invoke it for one of two
fixed service texts; what they may ask for is that and nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow.local.events import ACCOUNT_ID, REGION


def _texts(number: str) -> list[str]:
    from moto.sns.models import sns_backends

    return [text for to, text, *_ in sns_backends[ACCOUNT_ID][REGION].sms_messages.values() if to == number]


def test_the_step_sends_a_service_text_and_nothing_else(sb):
    result = sb.invoke("step", {"service_text": "help", "to": "+12065550143"})
    assert result["service_text"] == "help" and result["message_id"]
    (text,) = _texts("+12065550143")
    assert "Reply STOP to opt out" in text
    # No free text, no other kind, no number that is not E.164: the step refuses before texting.
    for request in (
        {"service_text": "help", "to": "+12065550143", "text": "Your account is locked, call us"},
        {"service_text": "promo", "to": "+12065550143"},
        {"service_text": "help", "to": "206-555-0143"},
    ):
        with pytest.raises(ValidationError):
            sb.invoke("step", request)
    assert len(_texts("+12065550143")) == 1


def test_a_help_text_from_a_lead_is_answered_through_the_step(sb, monkeypatch):
    from leadflow import aws

    invoked = []
    lambda_client = aws.client("lambda")
    original = lambda_client.invoke

    def recording(**request):
        invoked.append((request["FunctionName"], request["InvocationType"]))
        return original(**request)

    monkeypatch.setattr(lambda_client, "invoke", recording)
    assert sb.deliver_sms("+12065550143", "HELP") == {"outcomes": ["sms_help"]}
    assert invoked == [("leadflow-step", "Event")]
    (text,) = _texts("+12065550143")
    assert "Reply STOP to opt out" in text
