"""Inbound mail acts only when SES's receipt verdicts allow it (issue 17).

Acceptance: each spoof case (a forged reply, a forged unsubscribe, a forged bounce), delivered with
failing verdicts, leaves the lead `active`, its enrollment running, no suppression entry and no
forward from our identity; the same messages with passing verdicts behave as before.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadflow import keys, tokens
from leadflow.answers.verdicts import ALL_PASS, Verdicts
from leadflow.local.events import ses_receipt_notification
from leadflow.store import event_items, suppression_items
from tests.helpers import fixture_mail, rep_alerts, reply_mime, to_lead

pytestmark = pytest.mark.email_cadence

# What a forger's mail gets from SES: every check fails.
FORGED = {"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL", "spam": "FAIL", "virus": "FAIL"}
# A sender without SPF, DKIM or DMARC records: nothing fails, nothing passes.
UNPROVEN = {"spf": "GRAY", "dkim": "GRAY", "dmarc": "GRAY"}
BOUNCED = "jordan.lee@northwind-traders.example"  # the address the DSN fixture reports


def _audit_clean(sb):
    """Every abuse case ends with `leadflow audit`'s invariants (nothing lost, twice, or after a stop)."""
    report = sb.audit()
    assert report.clean, report.lines()


def _leads(sb, *emails):
    ids = []
    for email in emails:
        sb.post("/leads", json={"email": email, "first_name": "Ada"})
        ids.append(sb.find_lead(email)["id"])
    sb.advance_to("2026-11-24T12:00:00Z")  # touches 1 and 2 went out
    return ids


def _untouched(sb, lead_id):
    lead = sb.lead(lead_id)
    assert lead["status"] == "active"
    assert [e["run_status"] for e in lead["enrollments_detail"]] == ["running"]
    assert sb.executions(lead_id)[-1]["status"] == "RUNNING"
    assert suppression_items.suppression(keys.email_key(lead["email"])) is None


def _forwards(sb):
    return [message for message in sb.outbox() if message["tags"].get("kind") == "reply-forward"]


def _untrusted_events(lead_id):
    return [event for event in event_items.events(lead_id) if event["type"] == "untrusted_mail"]


# -- the three spoof cases, failing and passing ------------------------------------------------------


def test_a_forged_reply_stops_nobody_and_is_not_forwarded(sb):
    ada, grace = _leads(sb, "ada@contoso.example", "grace@contoso.example")
    raw = reply_mime("Ada <ada@contoso.example>", body="Yes, call me on Tuesday.", at=sb.now())

    assert sb.deliver_email(raw, verdicts=FORGED) == {"outcomes": ["suspicious"]}

    _untouched(sb, ada)
    _untouched(sb, grace)
    assert _forwards(sb) == []
    [event] = _untrusted_events(ada)
    assert (event["classified_as"], event["refused"], event["matched_by"]) == (
        "reply",
        "suspicious",
        "address",
    )
    assert event["verdicts"]["dmarc"] == "FAIL"
    [alert] = [alert for alert in rep_alerts(sb) if alert["kind"] == "suspicious_mail"]
    assert "failed authentication (dmarc, spam, virus)" in alert["message"]
    assert "Yes, call me" not in alert["message"], "a forger's words are not relayed to the rep"
    sb.advance(3 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2, 3], "the cadence goes on"
    _audit_clean(sb)


def test_the_same_reply_passing_stops_the_lead_and_colleagues_and_is_forwarded(sb):
    ada, grace = _leads(sb, "ada@contoso.example", "grace@contoso.example")
    raw = reply_mime("Ada <ada@contoso.example>", body="Yes, call me on Tuesday.", at=sb.now())

    assert sb.deliver_email(raw) == {"outcomes": ["reply"]}

    assert sb.lead(ada)["status"] == "replied"
    assert sb.lead(grace)["enrollments_detail"][0]["stop_reason"] == "account"
    assert len(_forwards(sb)) == 1
    assert _untrusted_events(ada) == []


def test_a_forged_unsubscribe_suppresses_nothing(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    raw = reply_mime("ada@analytical.example", subject="unsubscribe", body="unsubscribe", at=sb.now())
    assert sb.deliver_email(raw, verdicts=FORGED) == {"outcomes": ["suspicious"]}
    _untouched(sb, ada)

    assert sb.deliver_email(raw) == {"outcomes": ["unsubscribe"]}
    assert sb.lead(ada)["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key("ada@analytical.example"))["reason"] == "unsubscribe"
    _audit_clean(sb)


def test_a_forged_mailto_unsubscribe_with_a_genuine_token_still_does_nothing(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    mailto = f"{tokens.UNSUBSCRIBE_PREFIX}{tokens.unsubscribe_token(ada, 1, 2)}@reply.leadflow.example"
    raw = reply_mime("ada@analytical.example", to=mailto, subject="unsubscribe", body="", at=sb.now())
    assert sb.deliver_email(raw, verdicts={"dmarc": "FAIL"}) == {"outcomes": ["suspicious"]}
    _untouched(sb, ada)
    assert sb.deliver_email(raw) == {"outcomes": ["unsubscribe"]}
    assert sb.lead(ada)["status"] == "opted_out"


def test_a_forged_bounce_suppresses_nothing(sb):
    [lead] = _leads(sb, BOUNCED)
    raw = fixture_mail("bounce", "amazon-ses-dsn.eml")
    assert sb.deliver_email(raw, ["bounces@reply.leadflow.example"], verdicts=FORGED) == {
        "outcomes": ["suspicious"]
    }
    _untouched(sb, lead)

    assert sb.deliver_email(raw, ["bounces@reply.leadflow.example"]) == {"outcomes": ["bounce"]}
    assert sb.lead(lead)["status"] == "bounced"
    assert suppression_items.suppression(keys.email_key(BOUNCED))["reason"] == "bounce"
    _audit_clean(sb)


def test_a_forged_arf_complaint_opts_nobody_out(sb):
    [lead] = _leads(sb, "pat.jones@comcast.net")
    raw = fixture_mail("complaint", "comcast-arf-rfc822-headers.eml")
    assert sb.deliver_email(raw, ["fbl@reply.leadflow.example"], verdicts=FORGED) == {
        "outcomes": ["suspicious"]
    }
    _untouched(sb, lead)
    _audit_clean(sb)


# -- what needs a passing verdict, and what a token or thread proves --------------------------------


def test_a_reply_matched_by_its_from_address_alone_needs_a_pass(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    raw = reply_mime("ada@analytical.example", body="Yes, let's talk.", at=sb.now())
    assert sb.deliver_email(raw, verdicts=UNPROVEN) == {"outcomes": ["unauthenticated"]}
    _untouched(sb, ada)
    assert _untrusted_events(ada)[0]["refused"] == "unauthenticated"
    assert [a for a in rep_alerts(sb) if a["kind"] == "suspicious_mail"] == [], "not failing: no alarm"
    # SPF alone passing, no DMARC published: authenticated enough.
    assert sb.deliver_email(raw, verdicts={**UNPROVEN, "spf": "PASS"}) == {"outcomes": ["reply"]}
    assert sb.lead(ada)["status"] == "replied"
    _audit_clean(sb)


def test_a_reply_naming_its_token_acts_without_a_pass(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    reply_to = tokens.reply_address(ada, 1, 2, "reply.leadflow.example")
    raw = reply_mime("ada@analytical.example", to=reply_to, body="Yes, let's talk.", at=sb.now())
    assert sb.deliver_email(raw, verdicts=UNPROVEN) == {"outcomes": ["reply"]}
    assert sb.lead(ada)["status"] == "replied"
    assert len(_forwards(sb)) == 1


def test_a_reply_in_our_thread_acts_without_a_pass(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    second = to_lead(sb, ada)[1]
    raw = reply_mime(
        "ada@analytical.example",
        body="Yes, let's talk.",
        headers={"In-Reply-To": f"<{second['message_id']}@email.amazonses.com>"},
        at=sb.now(),
    )
    assert sb.deliver_email(raw, verdicts=UNPROVEN) == {"outcomes": ["reply"]}


def test_a_token_does_not_excuse_a_failing_dmarc(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    reply_to = tokens.reply_address(ada, 1, 2, "reply.leadflow.example")
    raw = reply_mime("ada@analytical.example", to=reply_to, body="Stop everything.", at=sb.now())
    assert sb.deliver_email(raw, verdicts={"dmarc": "FAIL"}) == {"outcomes": ["suspicious"]}
    _untouched(sb, ada)


def test_a_bounce_report_needs_its_reporting_mta_to_pass(sb):
    [lead] = _leads(sb, BOUNCED)
    raw = fixture_mail("bounce", "amazon-ses-dsn.eml")
    recipients = ["bounces@reply.leadflow.example"]
    assert sb.deliver_email(raw, recipients, verdicts=UNPROVEN) == {"outcomes": ["unauthenticated"]}
    _untouched(sb, lead)
    assert sb.deliver_email(raw, recipients, verdicts={**UNPROVEN, "dkim": "PASS"}) == {
        "outcomes": ["bounce"]
    }
    assert sb.lead(lead)["status"] == "bounced"


def test_suspicious_mail_alerts_the_owner_once_a_day(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    for body in ("one", "two", "three"):
        sb.deliver_email(reply_mime("ada@analytical.example", body=body, at=sb.now()), verdicts=FORGED)
    assert len(_untrusted_events(ada)) == 3, "each one is on the lead's record"
    assert len([a for a in rep_alerts(sb) if a["kind"] == "suspicious_mail"]) == 1
    sb.advance(86400)
    sb.deliver_email(reply_mime("ada@analytical.example", body="four", at=sb.now()), verdicts=FORGED)
    assert len([a for a in rep_alerts(sb) if a["kind"] == "suspicious_mail"]) == 2
    _audit_clean(sb)


# -- the verdict rules, as SES reports them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "failures", "authenticated"),
    [
        ({}, [], True),
        ({"dmarc": "FAIL"}, ["dmarc"], False),
        ({"dmarc": "FAIL", "spf": "PASS", "dkim": "PASS"}, ["dmarc"], False),
        ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "FAIL"}, ["spf+dkim"], False),
        ({"dmarc": "PASS", "spf": "FAIL", "dkim": "FAIL"}, [], True),  # DMARC passed on alignment
        ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "PASS"}, [], True),
        ({"dmarc": "GRAY", "spf": "GRAY", "dkim": "GRAY"}, [], False),
        ({"dmarc": "PROCESSING_FAILED", "spf": "PROCESSING_FAILED", "dkim": "GRAY"}, [], False),
        ({"spam": "FAIL"}, ["spam"], False),
        ({"virus": "FAIL"}, ["virus"], False),
    ],
)
def test_verdict_rules(verdicts, failures, authenticated):
    notification = ses_receipt_notification(
        b"From: a@b.example\r\n\r\nhi",
        bucket="b",
        key="inbound/x",
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        recipients=["reply@r.example"],
        at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        verdicts=verdicts,
    )
    read = Verdicts.from_receipt(notification["receipt"])
    assert read.failures() == failures
    assert read.authenticated is authenticated


def test_missing_verdicts_prove_nothing():
    assert Verdicts.from_receipt({}).authenticated is False
    assert Verdicts.from_receipt({}).suspicious is False
    assert ALL_PASS.authenticated is True
