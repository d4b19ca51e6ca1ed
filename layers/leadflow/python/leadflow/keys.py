"""Keyed hashes and ids: addresses never appear as keys, lead ids are random."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from leadflow import aws
from leadflow.config import settings


@cache
def hmac_key() -> bytes:
    """The HMAC key from Secrets Manager, read once per cold start."""
    secret = aws.client("secretsmanager").get_secret_value(SecretId=settings().hmac_secret_arn)
    return str(secret["SecretString"]).encode()


def normalize_email(address: str) -> str:
    return address.strip().lower()


def email_key(address: str) -> str:
    """HMAC-SHA256 of the normalized address: a stable index key that leaks no address."""
    return hmac.new(hmac_key(), normalize_email(address).encode(), hashlib.sha256).hexdigest()


def new_lead_id() -> str:
    """Random, not derived from the address: 20 lowercase hex characters."""
    return secrets.token_hex(10)


def new_submission_id() -> str:
    return secrets.token_hex(12)
