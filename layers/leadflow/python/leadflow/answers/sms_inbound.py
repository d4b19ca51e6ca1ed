"""Two-way SMS: what a lead texts back, as SNS delivers it (the documented inbound message JSON).

    {"originationNumber": "+14255550182", "destinationNumber": "+12125550142",
     "messageKeyword": "KEYWORD_123456789012", "messageBody": "stop",
     "previousPublishedMessageId": "…", "inboundMessageId": "…"}

Opt-out keywords are the carriers' (CTIA) list, matched alone, in any case, with spaces and
closing punctuation around them; HELP and INFO get the help reply; anything else is a reply.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# An answer to the SMS opt-in request (abuse.sms_double_opt_in).
YES_KEYWORDS = frozenset({"YES", "Y", "JA", "OUI", "SI", "SÍ", "START"})


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    HELP = "help"
    REPLY = "reply"


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore")

    originationNumber: str
    destinationNumber: str
    messageBody: str
    inboundMessageId: str
    messageKeyword: str | None = None
    previousPublishedMessageId: str | None = None


def says_yes(body: str) -> bool:
    return body.strip().rstrip(".!").strip().upper() in YES_KEYWORDS


def intent(body: str) -> Intent:
    word = body.strip().rstrip(".!").strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return Intent.OPT_OUT
    if word in HELP_KEYWORDS:
        return Intent.HELP
    return Intent.REPLY
