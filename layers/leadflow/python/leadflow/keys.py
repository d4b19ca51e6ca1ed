"""Keyed hashes and ids: addresses never appear as keys, lead ids are random."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

from leadflow import aws, clock
from leadflow.config import operator_config, settings

# Server-to-server keys are re-read this often, so a rotation takes effect without a deploy.
API_KEYS_MAX_AGE_SECONDS = 300
_api_keys: tuple[float, dict[str, str]] | None = None


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


class TaskLink(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def _task_mac(task_id: str, issued: int) -> str:
    key = hmac.new(hmac_key(), b"leadflow task links", hashlib.sha256).digest()
    return hmac.new(key, f"{task_id}.{issued}".encode(), hashlib.sha256).hexdigest()


def task_token(task_id: str, issued_at: datetime | None = None) -> str:
    """The token of a task's outcome link: `<issued, unix seconds>.<HMAC of task id and issue time>`.

    The issue time is signed, so a link cannot be made younger; it expires after the configured days.
    """
    issued = int((issued_at or clock.now()).timestamp())
    return f"{issued}.{_task_mac(task_id, issued)}"


def task_link_status(task_id: str, token: str | None) -> TaskLink:
    """Whether a task link's token is genuine and still young enough (operator config `tasks`)."""
    issued_text, _, mac = (token or "").partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12 or len(mac) != 64:
        return TaskLink.INVALID
    if not hmac.compare_digest(_task_mac(task_id, int(issued_text)), mac):
        return TaskLink.INVALID
    age = clock.now() - datetime.fromtimestamp(int(issued_text), UTC)
    if age > timedelta(days=operator_config().tasks.link_expiry_days):
        return TaskLink.EXPIRED
    return TaskLink.VALID


def queue_token(rep_id: str, version: int) -> str:
    """The token of a rep's queue link: the link is the credential. Rotate it by raising the rep's
    `queue_link_version` in config/leadflow.yaml: every older link stops working."""
    key = hmac.new(hmac_key(), b"leadflow queue links", hashlib.sha256).digest()
    return hmac.new(key, f"{rep_id}.{version}".encode(), hashlib.sha256).hexdigest()


def valid_queue_token(rep_id: str, version: int, token: str | None) -> bool:
    return hmac.compare_digest(queue_token(rep_id, version), token or "")


def valid_task_token(task_id: str, token: str | None) -> bool:
    return task_link_status(task_id, token) is TaskLink.VALID


def held_mail_token(held_id: str) -> str:
    """The token of held mail's confirm and dismiss links: an HMAC of its id.

    It does not expire: confirming late is still right (the lead did answer), and a decided
    mail answers every later click with "already decided".
    """
    key = hmac.new(hmac_key(), b"leadflow held mail links", hashlib.sha256).digest()
    return hmac.new(key, held_id.encode(), hashlib.sha256).hexdigest()


def valid_held_mail_token(held_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(held_mail_token(held_id), str(token))


def _load_api_keys() -> dict[str, str]:
    secret_id = operator_config().api_keys_secret
    if not secret_id:
        return {}
    value = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    if not isinstance(value, dict) or not all(isinstance(key, str) and key for key in value.values()):
        raise ValueError(f"secret {secret_id}: expected a JSON object of client name -> key")
    return {str(client): str(key) for client, key in value.items()}


def api_client(presented: str | None) -> str | None:
    """The name of the server-to-server client whose API key was presented, or None."""
    global _api_keys
    if not presented:
        return None
    if _api_keys is None or time.monotonic() - _api_keys[0] > API_KEYS_MAX_AGE_SECONDS:
        _api_keys = (time.monotonic(), _load_api_keys())
    for client, key in _api_keys[1].items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            return client
    return None


def forget_api_keys() -> None:
    global _api_keys
    _api_keys = None
