"""Signed tokens: reply and unsubscribe tokens resolve to their lead, survive case changes, resist forgery."""

import pytest

from leadflow import keys, tokens

LEAD = "0123456789abcdef0123"


@pytest.fixture
def token_secret(monkeypatch):
    """A token key without AWS: keys.token_keys reads Secrets Manager, so stand in for it."""
    secret = ["first-key"]
    monkeypatch.setattr(keys, "token_keys", lambda: tuple(key.encode() for key in " ".join(secret).split()))
    monkeypatch.setattr(tokens, "token_keys", keys.token_keys)
    return secret


def test_a_reply_address_resolves_to_lead_enrollment_and_touch(token_secret):
    address = tokens.reply_address(LEAD, 3, 5, "reply.example.com")
    local = address.partition("@")[0]
    assert local.startswith("reply+") and len(local) <= 64 and local == local.lower()
    target = tokens.parse_reply_token(address)
    assert (target.lead_id, target.enrollment, target.touch) == (LEAD, 3, 5)
    assert tokens.parse_reply_token(f"<{address.upper()}>") == target
    assert tokens.parse_reply_token(local) == target
    assert tokens.parse_reply_token(f'"Alex Rivera" <{address}>') == target


@pytest.mark.parametrize("touch", [1, 2, 3, 4])  # different last characters, spare bit included
def test_tampered_truncated_and_foreign_tokens_resolve_to_nothing(token_secret, touch):
    token = tokens.unsubscribe_token(LEAD, 1, touch)
    assert tokens.verify(tokens.Purpose.UNSUBSCRIBE, token) is not None
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    for position in range(len(token)):
        for char in alphabet.replace(token[position], ""):
            changed = token[:position] + char + token[position + 1 :]
            assert tokens.verify(tokens.Purpose.UNSUBSCRIBE, changed) is None, (position, char)
    for bad in (None, "", token[:-1], token + "a", "0" * len(token), "!" * len(token)):
        assert tokens.verify(tokens.Purpose.UNSUBSCRIBE, bad) is None
    # A reply token is no unsubscribe token, and the reverse.
    assert tokens.verify(tokens.Purpose.REPLY, token) is None
    assert tokens.parse_unsubscribe_address(f"unsubscribe+{token}@reply.example.com").lead_id == LEAD
    assert tokens.parse_reply_token(f"reply+{token}@reply.example.com") is None
    assert tokens.parse_reply_token("someone@example.com") is None


def test_rotating_the_key_keeps_old_links_working_while_the_old_key_stays(token_secret):
    old = tokens.unsubscribe_token(LEAD, 1, 2)
    token_secret[:] = ["second-key", "first-key"]
    assert tokens.verify(tokens.Purpose.UNSUBSCRIBE, old).touch == 2
    assert tokens.unsubscribe_token(LEAD, 1, 2) != old  # new links are signed with the new key
    token_secret[:] = ["second-key"]
    assert tokens.verify(tokens.Purpose.UNSUBSCRIBE, old) is None


def test_tokens_only_cover_what_fits(token_secret):
    for lead, enrollment, touch in (("not-hex", 1, 1), (LEAD, 0, 1), (LEAD, 1, 256), (LEAD, 70000, 1)):
        with pytest.raises(ValueError):
            tokens.unsubscribe_token(lead, enrollment, touch)
