"""Optional bot check on public posts: Cloudflare Turnstile or Google reCAPTCHA, verified server-side.

Off unless config/leadflow.yaml sets `abuse.captcha` (provider and the Secrets Manager name of its
secret key). The form's widget adds its token field (`cf-turnstile-response` or
`g-recaptcha-response`); intake sends it, with the client's IP, to the provider's siteverify
endpoint. A post without a passing token gets the same 202 as any post and is dropped (metric
`Posts` with outcome `captcha_failed`). If the provider cannot be reached the post is taken (a lead
is never lost to someone else's outage) and `CaptchaUnavailable` is counted. Only a token the
provider verified counts as a person for the human-burst rule (intake.limits).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadflow import aws
from leadflow.config import operator_config
from leadflow.observability import logger, metrics

VERIFY_URLS = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}
# The fields the providers' widgets add to the form; neither is a lead field.
TOKEN_FIELDS = ("cf-turnstile-response", "g-recaptcha-response", "captcha_token")
TIMEOUT_SECONDS = 3.0


class SiteVerify(BaseModel):
    """The providers' siteverify answer (both share these fields; `score` is reCAPTCHA v3's)."""

    # Built on first use: only a post on a configuration with a captcha validates it.
    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True)

    success: bool
    score: float | None = None
    error_codes: list[str] = Field(default_factory=list, alias="error-codes")


def siteverify(url: str, secret: str, token: str, remote_ip: str | None) -> dict[str, Any]:
    """The adapter: POST the token to the provider, return its JSON (tests replace this function)."""
    form = {"secret": secret, "response": token, **({"remoteip": remote_ip} if remote_ip else {})}
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        answer = json.loads(response.read())
    return answer if isinstance(answer, dict) else {}


@cache
def _secret(name: str) -> str:
    return str(aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]).strip()


def take_token(fields: dict[str, Any]) -> str | None:
    """Remove the widget's token from the posted fields (it is no lead data) and return it."""
    found = [fields.pop(name) for name in TOKEN_FIELDS if name in fields]
    tokens = [value for value in found if isinstance(value, str) and value.strip()]
    return tokens[0].strip() if tokens else None


class Check(StrEnum):
    """What the bot check says of a post: only VERIFIED is proof of a person (the human-burst rule,
    intake.limits); OFF and UNAVAILABLE let the post through without proving anything."""

    OFF = "off"
    VERIFIED = "verified"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


def check(token: str | None, remote_ip: str | None) -> Check:
    """OFF when no check is configured; VERIFIED when the provider confirms the token (and, for
    reCAPTCHA v3, its score reaches `min_score`); UNAVAILABLE when the provider cannot be reached."""
    config = operator_config().abuse.captcha
    if config is None:
        return Check.OFF
    if not token or len(token) > 2048:
        return Check.FAILED
    try:
        answer = SiteVerify.model_validate(
            siteverify(VERIFY_URLS[config.provider], _secret(config.secret), token, remote_ip)
        )
    except (OSError, ValueError, ValidationError) as error:
        logger.warning("captcha provider unreachable: post taken", extra={"error": type(error).__name__})
        metrics.add_metric(name="CaptchaUnavailable", unit="Count", value=1)
        return Check.UNAVAILABLE
    if not answer.success:
        logger.info("captcha refused", extra={"codes": answer.error_codes[:5]})
        return Check.FAILED
    return Check.VERIFIED if answer.score is None or answer.score >= config.min_score else Check.FAILED
