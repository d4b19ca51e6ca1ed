"""Consent withdrawal needs proof (issue 17).

Acceptance: a public consent-withdrawal post for a known address stops nothing until confirmed.
"""

from __future__ import annotations

import re

import pytest

from leadflow import keys
from leadflow.store import lead_items, suppression_items
from tests.helpers import to_lead

pytestmark = pytest.mark.email_cadence

ADA = "ada@analytical.example"


def _audit_clean(sb):
    """Every abuse case ends with `leadflow audit`'s invariants (nothing lost, twice, or after a stop)."""
    report = sb.audit()
    assert report.clean, report.lines()


def _running_lead(sb):
    sb.post("/leads", json={"email": ADA, "first_name": "Ada"})
    lead_id = sb.find_lead(ADA)["id"]
    sb.advance_to("2026-11-24T12:00:00Z")  # touches 1 and 2 went out
    return lead_id


def _confirmations(sb):
    return [m for m in sb.outbox() if m["tags"].get("kind") == "withdrawal-confirmation"]


def _run_status(sb, lead_id):
    return [e["run_status"] for e in sb.lead(lead_id)["enrollments_detail"]]


def test_a_public_withdrawal_stops_nothing_until_the_address_confirms(sb):
    lead_id = _running_lead(sb)

    answer = sb.post("/leads", data={"email": ADA, "email_consent": "false"})

    assert answer.status_code == 202
    assert _run_status(sb, lead_id) == ["running"]
    assert sb.execution(lead_id)["status"] == "RUNNING"
    lead = sb.lead(lead_id)
    assert lead["email_consent"] is not False, "an unproven no is not the lead's consent"
    assert lead_items.submissions(lead_id)[-1].outcome == "withdrawal_unconfirmed"
    assert lead_items.submissions(lead_id)[-1].email_consent is False, "the post itself is on record"
    [confirmation] = _confirmations(sb)
    assert confirmation["to"] == ADA
    assert "If it was not you, ignore this email: nothing changes." in confirmation["text"]
    sb.advance_to("2026-11-26T12:00:00Z")
    assert [m["touch"] for m in to_lead(sb, lead_id)] == [1, 2, 3], "the cadence goes on"

    # The address's owner clicks: the one-click unsubscribe stops and suppresses.
    url = re.search(r"\S+/unsubscribe\?token=\w+", confirmation["text"])
    assert url
    page = sb.post(url.group(0), data="List-Unsubscribe=One-Click")
    assert page.status_code == 200
    assert _run_status(sb, lead_id) == ["stopped"]
    assert sb.lead(lead_id)["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key(ADA)) is not None
    sent = len(to_lead(sb, lead_id))
    sb.advance(30 * 86400)
    assert len(to_lead(sb, lead_id)) == sent
    _audit_clean(sb)


def test_repeated_withdrawal_posts_send_one_confirmation_a_day(sb):
    _running_lead(sb)
    for n in range(4):
        sb.post("/leads", json={"email": ADA, "email_consent": False}, source_ip=f"198.51.100.{n}")
    assert len(_confirmations(sb)) == 1
    sb.advance(86400)
    sb.post("/leads", json={"email": ADA, "email_consent": False})
    assert len(_confirmations(sb)) == 2
    _audit_clean(sb)


def test_an_authenticated_client_withdraws_at_once(sb):
    lead_id = _running_lead(sb)
    sb.post("/leads", json={"email": ADA, "email_consent": False}, headers={"X-Api-Key": sb.api_key})
    enrollment = sb.lead(lead_id)["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", "consent_withdrawn")
    assert _confirmations(sb) == []


def test_a_later_post_without_a_consent_field_does_not_act_on_the_unproven_no(sb):
    lead_id = _running_lead(sb)
    sb.post("/leads", json={"email": ADA, "email_consent": False})
    sb.post("/leads", json={"email": ADA, "first_name": "Ada"}, source_ip="192.0.2.9")
    assert _run_status(sb, lead_id) == ["running"]

    _audit_clean(sb)
