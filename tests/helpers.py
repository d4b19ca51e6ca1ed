"""Small builders shared by tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadflow import clock
from leadflow.local.events import reply_email
from leadflow.local.serve import start_aws_endpoint

MAIL_FIXTURES = Path(__file__).parent / "fixtures" / "mail"
LEADFLOW = str(Path(sys.executable).parent / "leadflow")
# A demo-request post with everything a whole cadence uses (email, SMS with consent, a phone for calls).
DEMO_REQUEST = {
    "email": "grace@hopper.example",
    "first_name": "Grace",
    "company": "Hopper",
    "form": "demo-request",
    "phone": "(415) 555-2671",
    "sms_consent": True,
}


@pytest.fixture
def endpoint(sb: Any) -> Iterator[Any]:
    """The Sandbox's AWS endpoint, for a `leadflow` process of its own (import it as a fixture)."""
    server = start_aws_endpoint()
    yield server
    server.stop()


def cli(
    endpoint: Any, *argv: str, expect: int = 0, now: bool = True, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """`leadflow ...` in another process; only the endpoint and, with `now`, the simulated time (--now)
    connect it to the Sandbox. `env`: variables to set for it (None: to leave out)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    at = ["--now", clock.iso(clock.now())] if now else []
    done = subprocess.run(
        [LEADFLOW, *argv, "--endpoint-url", endpoint.url, *at],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == expect, done.stderr
    return done


def reply_mime(
    sender: str,
    to: str = "alex@mail.leadflow.example",
    subject: str = "Re: Your demo request",
    body: str = "Yes, Tuesday works. Send an invite.",
    headers: dict[str, str] | None = None,
    at: datetime | None = None,
) -> bytes:
    return reply_email(sender, to=to, subject=subject, body=body, at=at or datetime.now(UTC), headers=headers)


def to_lead(sb, lead_id: str) -> list[dict]:
    """What went out to the lead (touches), leaving out what went to reps (forwards, alerts)."""
    return [message for message in sb.outbox() if message.get("lead_id") == lead_id]


def fixture_mail(kind: str, name: str, replacements: dict[str, str] | None = None) -> bytes:
    """A corpus message, with addresses or ids swapped for the test's own."""
    text = (MAIL_FIXTURES / kind / name).read_bytes()
    for old, new in (replacements or {}).items():
        text = text.replace(old.encode(), new.encode())
    return text


def rep_alerts(sb) -> list[dict]:
    """What was published to the rep alerts topic (moto keeps it): subject, message, attributes."""
    from moto.sns.models import sns_backends

    from leadflow.local.events import ACCOUNT_ID, REGION

    topic = sns_backends[ACCOUNT_ID][REGION].topics[sb.rep_alerts_topic_arn]
    return [
        {
            "subject": subject,
            "message": message,
            "kind": (attributes or {}).get("kind", {}).get("Value"),
            "lead_id": (attributes or {}).get("lead_id", {}).get("Value"),
        }
        for _id, message, subject, attributes, _group in topic.sent_notifications
    ]
