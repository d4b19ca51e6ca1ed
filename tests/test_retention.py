"""Retention (issue 17): every item type that holds personal data carries `expires_at` (DynamoDB TTL).

Acceptance: a Sandbox run that makes every kind of item finds `expires_at` on each kind with a
retention, at the configured number of days; suppression entries are kept.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from boto3.dynamodb.types import TypeDeserializer

from leadflow.config import operator_config
from tests.helpers import reply_mime

# Item kind (by key prefix) -> the retention setting it follows.
RETAINED = {
    "LEAD": "leads_days",
    "EMAIL": "leads_days",
    "DOMAIN": "leads_days",
    "PHONE": "leads_days",
    "ENROLLMENT": "leads_days",
    "TOUCH": "leads_days",
    "TASK": "leads_days",
    "MSG": "leads_days",
    "ONCE": "leads_days",
    "SUBMISSION": "submissions_days",
    "EVENT": "events_days",
    "HELD": "leads_days",
}
KEPT = {"SUPPRESS", "ROTATION"}
DAY = 86_400


def _kind(item):
    pk, sk = item["pk"], item["sk"]
    return sk.partition("#")[0] if pk.startswith("LEAD#") else pk.partition("#")[0]


def _items(sb):
    deserialize = TypeDeserializer().deserialize
    return [{name: deserialize(value) for name, value in item.items()} for item in sb._scan()]


def test_every_item_type_with_a_retention_expires(sb):
    # A demo request with a phone: email, SMS, call task; then a reply, an opt-out, a limit counter.
    sb.post(
        "/leads",
        json={
            "email": "ada@contoso.example",
            "first_name": "Ada",
            "form": "demo-request",
            "phone": "+1 206 555 0143",
            "sms_consent": True,
        },
    )
    sb.post("/leads", json={"email": "grace@contoso.example", "form": "demo-request"})
    sb.advance(3 * DAY)
    sb.post("/leads", json={"email": "ada@contoso.example", "message": "Any news?"})
    sb.deliver_email(reply_mime("ada@contoso.example", body="Let's talk on Tuesday.", at=sb.now()))
    sb.deliver_email(reply_mime("grace@contoso.example", body="unsubscribe", at=sb.now()))
    for n in range(6):  # the sixth post of one inbox in a day is held (issue 22)
        sb.post("/leads", json={"email": f"hal+{n}@contoso.example"}, source_ip=f"192.0.2.{n}")

    retention = operator_config().retention
    found: dict[str, list[dict]] = {}
    for item in _items(sb):
        found.setdefault(_kind(item), []).append(item)
    assert set(RETAINED) <= set(found), f"the run made every kind: missing {set(RETAINED) - set(found)}"
    now = int(sb.now().timestamp())
    for kind, setting in RETAINED.items():
        days = getattr(retention, setting)
        for item in found[kind]:
            assert "expires_at" in item, f"{kind} item without expires_at"
            expiry = int(item["expires_at"])
            if kind == "TASK":
                # A task counts from when it is due: a reply's task is due at the owner's next working
                # moment, which may be days ahead (a holiday, a weekend; issues 24 and 25).
                due = datetime.fromisoformat(item["due_at"].replace("Z", "+00:00"))
                assert expiry - days * DAY == int(due.timestamp()), f"TASK: {days} days from its due time"
                continue
            assert now - 4 * DAY <= expiry - days * DAY <= now, f"{kind}: {days} days from when it happened"
    for item in found["SUPPRESS"]:
        assert "expires_at" not in item, "suppression is kept: forgetting it would mail people who said stop"
    limits = found.get("LIMIT", []) + found.get("HELDALERT", [])
    assert limits and all(int(item["expires_at"]) - now <= 2 * DAY for item in limits), "counters go fast"
    assert found.get("HELDALERT"), "the held posts' ops alert marker"


def test_a_post_keeps_the_lead_and_its_email_index_from_now(sb):
    sb.post("/leads", json={"email": "ada@contoso.example"})
    sb.advance(40 * DAY)
    sb.post("/leads", json={"email": "ada@contoso.example"})
    expected = int(sb.now().timestamp()) + operator_config().retention.leads_days * DAY
    items = {_kind(item): item for item in _items(sb) if _kind(item) in ("LEAD", "EMAIL")}
    assert int(items["LEAD"]["expires_at"]) == expected
    assert int(items["EMAIL"]["expires_at"]) == expected


@pytest.mark.parametrize("setting", ["leads_days", "submissions_days", "events_days", "inbound_mail_days"])
def test_retention_has_safe_bounds(setting):
    from pydantic import ValidationError

    from leadflow.operator_config import Retention

    with pytest.raises(ValidationError):
        Retention.model_validate({setting: 0})
