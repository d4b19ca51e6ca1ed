"""Signed tokens for Reply-To plus-addresses and unsubscribe links.

A token names a lead, an enrollment and the touch that carried it, and is
HMAC-signed with a key from Secrets Manager (`keys.token_keys`). It is
lowercase base32, so it survives mail systems that change the case of a local
part, and short: `unsubscribe+<token>` stays well under the 64-character limit.
Tokens do not expire: mail clients use unsubscribe links long after sending.
Rotating the key keeps old links working while the old key stays in the secret.

Layout (23 bytes, 37 characters): lead id (10 bytes, the 20 hex digits of
`keys.new_lead_id`), enrollment (2 bytes), touch (1 byte), MAC (10 bytes).
The MAC covers a purpose byte, so a reply token never works as an unsubscribe token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from email.utils import parseaddr
from enum import Enum

from pydantic import BaseModel

from leadflow.keys import token_keys

LEAD_ID = re.compile(r"^[0-9a-f]{20}$")
MAC_BYTES = 10
TOKEN_LENGTH = 37
REPLY_PREFIX = "reply+"
UNSUBSCRIBE_PREFIX = "unsubscribe+"


class Purpose(Enum):
    REPLY = b"r"
    UNSUBSCRIBE = b"u"
    MESSAGE = b"m"  # our own Message-ID header: it names its touch without an index item


class TokenTarget(BaseModel):
    """What a valid token points at."""

    lead_id: str
    enrollment: int
    touch: int


def _mac(key: bytes, purpose: Purpose, payload: bytes) -> bytes:
    return hmac.new(key, purpose.value + payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(purpose: Purpose, lead_id: str, enrollment: int, touch: int) -> str:
    if not LEAD_ID.match(lead_id) or not 0 < enrollment < 2**16 or not 0 < touch < 2**8:
        raise ValueError("tokens cover 20-hex-digit lead ids, enrollments < 65536 and touches < 256")
    payload = bytes.fromhex(lead_id) + enrollment.to_bytes(2, "big") + touch.to_bytes(1, "big")
    raw = payload + _mac(token_keys()[0], purpose, payload)
    return base64.b32encode(raw).decode().rstrip("=").lower()


def verify(purpose: Purpose, token: str | None) -> TokenTarget | None:
    """The target of a genuine token, else None (missing, malformed or tampered)."""
    if not token or len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = base64.b32decode(token.upper() + "===")
    except (binascii.Error, ValueError):
        return None
    # 37 characters carry 185 bits for 184: the spare bit must be zero, or two spellings
    # (a tampered last character) would decode to the same token.
    if base64.b32encode(raw).decode().rstrip("=") != token.upper():
        return None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not any(hmac.compare_digest(mac, _mac(key, purpose, payload)) for key in token_keys()):
        return None
    return TokenTarget(
        lead_id=payload[:10].hex(),
        enrollment=int.from_bytes(payload[10:12], "big"),
        touch=payload[12],
    )


def reply_address(lead_id: str, enrollment: int, touch: int, domain: str) -> str:
    """`reply+<token>@<domain>`: replies to it resolve to the lead, enrollment and touch."""
    return f"{REPLY_PREFIX}{sign(Purpose.REPLY, lead_id, enrollment, touch)}@{domain}"


def unsubscribe_token(lead_id: str, enrollment: int, touch: int) -> str:
    return sign(Purpose.UNSUBSCRIBE, lead_id, enrollment, touch)


def _token_in(address: str, prefix: str) -> str | None:
    """The token in `prefix<token>@domain`, given as a bare address, a header value or a local part."""
    if "@" in address:
        address = parseaddr(address)[1]
    local = address.strip().rpartition("@")[0] if "@" in address else address.strip()
    local = local.lower()
    return local[len(prefix) :] if local.startswith(prefix) else None


def parse_reply_token(address: str) -> TokenTarget | None:
    """Resolve `reply+<token>@…` (an address, a header value like `Name <…>`, or the local part),
    in any case, to its target.

    Inbound mail handling calls this for each recipient; None means not ours or forged.
    """
    return verify(Purpose.REPLY, _token_in(address, REPLY_PREFIX))


def parse_unsubscribe_address(address: str) -> TokenTarget | None:
    """Resolve the List-Unsubscribe mailto recipient `unsubscribe+<token>@…` to its target."""
    return verify(Purpose.UNSUBSCRIBE, _token_in(address, UNSUBSCRIBE_PREFIX))


def own_message_id(lead_id: str, enrollment: int, touch: int, domain: str) -> str:
    """The Message-ID we write into a touch's email: `<token.random@domain>`. SES replaces it with
    its own, but our id stays in References (and some replies quote only that): the signed token
    resolves it to its touch without a stored index entry; the random part keeps a resend unique."""
    return f"<{sign(Purpose.MESSAGE, lead_id, enrollment, touch)}.{secrets.token_hex(6)}@{domain}>"


def parse_own_message_id(message_id: str) -> TokenTarget | None:
    """The touch a Message-ID made by `own_message_id` names (with or without <>), else None."""
    local = message_id.strip().strip("<>").rpartition("@")[0]
    return verify(Purpose.MESSAGE, local.partition(".")[0].lower())
