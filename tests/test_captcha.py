"""Optional Turnstile / reCAPTCHA check on public posts (issue 17): off by default, server-side,
through an adapter (`captcha.siteverify`) the tests replace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from leadflow import aws
from leadflow.intake import captcha

pytestmark = pytest.mark.email_cadence

SECRET = "0x4AAAAAAAturnstile-secret"


@pytest.fixture
def verified(sb, tmp_path, monkeypatch):
    """Turn Turnstile on (config + secret) and fake Cloudflare: "good" passes, anything else fails."""
    config = yaml.safe_load(Path(os.environ["CONFIG_FILE"]).read_text())
    config.setdefault("abuse", {})["captcha"] = {"provider": "turnstile", "secret": "leadflow/turnstile"}
    path = tmp_path / "captcha.yaml"
    path.write_text(yaml.safe_dump(config))
    sb.set_environment({"CONFIG_FILE": str(path)})
    aws.client("secretsmanager").create_secret(Name="leadflow/turnstile", SecretString=SECRET)
    captcha._secret.cache_clear()
    calls = []

    def fake(url, secret, token, remote_ip):
        calls.append((url, secret, token, remote_ip))
        if token == "down":
            raise OSError("connection refused")
        return {
            "success": token == "good",
            "error-codes": [] if token == "good" else ["invalid-input-response"],
        }

    monkeypatch.setattr(captcha, "siteverify", fake)
    yield calls
    captcha._secret.cache_clear()


def test_off_by_default_no_token_needed(sb):
    assert sb.post("/leads", json={"email": "ada@example.com"}).status_code == 202
    assert sb.find_lead("ada@example.com") is not None


def test_a_post_without_a_passing_token_is_answered_alike_and_dropped(sb, verified):
    missing = sb.post("/leads", json={"email": "bot1@example.com"})
    wrong = sb.post("/leads", data={"email": "bot2@example.com", "cf-turnstile-response": "forged"})
    assert (missing.status_code, wrong.status_code) == (202, 202), "answered like any post"
    assert sb.find_lead("bot1@example.com") is None
    assert sb.find_lead("bot2@example.com") is None
    assert sb.metric_total("Posts", outcome="captcha_failed") == 2
    assert verified == [(captcha.VERIFY_URLS["turnstile"], SECRET, "forged", "203.0.113.10")], (
        "no token: no call; the client IP goes along"
    )


def test_a_passing_token_is_taken_and_not_kept_as_lead_data(sb, verified):
    sb.post("/leads", data={"email": "ada@example.com", "cf-turnstile-response": "good"})
    lead = sb.find_lead("ada@example.com")
    assert lead is not None
    assert "cf-turnstile-response" not in lead["custom_fields"]


def test_an_authenticated_client_needs_no_token(sb, verified):
    sb.post("/leads", json={"email": "crm@example.com"}, headers={"X-Api-Key": sb.api_key})
    assert sb.find_lead("crm@example.com") is not None
    assert verified == []


def test_the_provider_down_takes_the_post(sb, verified):
    sb.post("/leads", json={"email": "ada@example.com", "captcha_token": "down"})
    assert sb.find_lead("ada@example.com") is not None
    assert sb.metric_total("CaptchaUnavailable") == 1


def test_a_recaptcha_v3_score_below_the_minimum_fails(sb, monkeypatch, tmp_path):
    config = yaml.safe_load(Path(os.environ["CONFIG_FILE"]).read_text())
    config.setdefault("abuse", {})["captcha"] = {"provider": "recaptcha", "secret": "leadflow/recaptcha"}
    path = tmp_path / "recaptcha.yaml"
    path.write_text(yaml.safe_dump(config))
    sb.set_environment({"CONFIG_FILE": str(path)})
    aws.client("secretsmanager").create_secret(Name="leadflow/recaptcha", SecretString="s")
    captcha._secret.cache_clear()
    monkeypatch.setattr(captcha, "siteverify", lambda url, secret, token, ip: {"success": True, "score": 0.1})
    sb.post("/leads", json={"email": "low@example.com", "g-recaptcha-response": "t"})
    monkeypatch.setattr(captcha, "siteverify", lambda url, secret, token, ip: {"success": True, "score": 0.9})
    sb.post("/leads", json={"email": "high@example.com", "g-recaptcha-response": "t"})
    assert (sb.find_lead("low@example.com"), sb.find_lead("high@example.com") is not None) == (None, True)
    captcha._secret.cache_clear()
