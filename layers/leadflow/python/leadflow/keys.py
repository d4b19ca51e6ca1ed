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


@cache
def token_keys() -> tuple[bytes, ...]:
    """Keys for reply and unsubscribe tokens: the first signs, every one verifies.

    The secret holds whitespace-separated keys, newest first, so a rotated key
    keeps verifying the links in mail sent long ago.
    """
    config = settings()
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=config.token_secret_arn or config.hmac_secret_arn
    )
    keys = tuple(key.encode() for key in str(secret["SecretString"]).split())
    if not keys:
        raise ValueError("the token secret is empty")
    return keys


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
