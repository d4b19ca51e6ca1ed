"""The signed Reply-To token is the first and strongest way to match a reply to its lead."""

from __future__ import annotations

import pytest

from leadflow.local.sandbox import REPLY_DOMAIN
from tests.helpers import reply_mime, to_lead

tokens = pytest.importorskip("leadflow.tokens", reason="signed reply tokens come with the messages issue")


def _post(sb, email, **fields):
    sb.post("/leads", json={"email": email, **fields})
    return sb.find_lead(email)


def _reply_to_token(message):
    """The signed reply token in a sent touch's Reply-To."""
    return message["headers"]["Reply-To"].partition("+")[2].partition("@")[0]


def test_the_reply_token_wins_even_from_another_address(sb):
    lead = _post(sb, "ada@analytical.example")
    first = to_lead(sb, lead["id"])[0]
    token = _reply_to_token(first)
    assert tokens.parse_reply_token(first["headers"]["Reply-To"]).lead_id == lead["id"]

    # Forwarded to a colleague's phone and answered from a personal address, subject rewritten.
    raw = reply_mime("ada.private@gmail.com", to=f"reply+{token.upper()}@{REPLY_DOMAIN}", subject="hi")
    assert sb.deliver_email(raw) == {"outcomes": ["reply"]}
    assert sb.lead(lead["id"])["status"] == "replied"


def test_a_forged_token_falls_back_to_the_sender(sb):
    victim = _post(sb, "victim@analytical.example")
    sender = _post(sb, "sender@analytical.example")
    forged = "a" * 37
    raw = reply_mime("sender@analytical.example", to=f"reply+{forged}@{REPLY_DOMAIN}")
    sb.deliver_email(raw)
    assert sb.lead(victim["id"])["status"] == "active"
    assert sb.lead(sender["id"])["status"] == "replied"
