"""Inbound mail acts only on proof of its sender (issues 17 and 22, item 1: the trust model of
docs/decisions.md, "Trust model for inbound mail").

A reply or unsubscribe needs DMARC to pass for its From domain, or SPF or DKIM to pass for a domain
aligned with it (read from the Authentication-Results header SES adds), or a valid signed token.
A bounce or complaint needs to quote a message we sent to that very lead; an address in a body is
never enough. Forged mail leaves the lead `active`, its enrollment running, no suppression entry and
no forward from our identity. Probable answers that prove nothing are held (tests/test_held_mail.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadflow import keys, tokens
from leadflow.answers import verdicts as verdicts_module
from leadflow.answers.verdicts import ALL_PASS, Verdicts, aligned, domains, organisational_domain
from leadflow.local.events import ses_receipt_notification, ses_received_mail
from leadflow.store import event_items, suppression_items
from tests.helpers import fixture_mail, rep_alerts, reply_mime, to_lead

pytestmark = pytest.mark.email_cadence

# What a forger's mail gets from SES: every check fails.
FORGED = {"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL", "spam": "FAIL", "virus": "FAIL"}
# A sender without SPF, DKIM or DMARC records: nothing fails, nothing passes.
UNPROVEN = {"spf": "GRAY", "dkim": "GRAY", "dmarc": "GRAY"}
# The domain an attacker owns: SPF and DKIM pass for it, as they would for anyone's own domain.
ATTACKER = "attacker.example"
BOUNCED = "jordan.lee@northwind-traders.example"  # the address the DSN fixture reports
# The returned original's Message-ID in the DSN and ARF fixtures: not one we sent.
FIXTURE_MESSAGE_ID = "0100019a5e2c0f11-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-000000"


def _audit_clean(sb):
    """Every abuse case ends with `leadflow audit`'s invariants (nothing lost, twice, or after a stop)."""
    report = sb.audit()
    assert report.clean, report.lines()


def _leads(sb, *emails):
    ids = []
    for email in emails:
        sb.post("/leads", json={"email": email, "first_name": "Ada"})
        ids.append(sb.find_lead(email)["id"])
    sb.advance_to("2026-11-24T15:00:00Z")  # touches 1 and 2 went out; 10:00 New York, the owner at work
    return ids


def _untouched(sb, lead_id):
    lead = sb.lead(lead_id)
    assert lead["status"] == "active"
    assert [e["run_status"] for e in lead["enrollments_detail"]] == ["running"]
    assert sb.executions(lead_id)[-1]["status"] == "RUNNING"
    assert suppression_items.suppression(keys.email_key(lead["email"])) is None
    assert not [e for e in event_items.events(lead_id) if e["type"] in ("paused", "held_mail")], "not paused"


def _forwards(sb):
    return [message for message in sb.outbox() if message["tags"].get("kind") == "reply-forward"]


def _untrusted_events(lead_id):
    return [event for event in event_items.events(lead_id) if event["type"] == "untrusted_mail"]


def _suspicious_alerts(sb):
    return [alert for alert in rep_alerts(sb) if alert["kind"] == "suspicious_mail"]


def _dsn(sb, lead_id, email, *, quoting_ours=True, reporter="MAILER-DAEMON@amazonses.com"):
    """The SES DSN fixture (RFC 3464) about `email`, returning our touch 2 or a message we never sent."""
    replacements = {BOUNCED: email, "MAILER-DAEMON@amazonses.com": reporter}
    if quoting_ours:
        replacements[FIXTURE_MESSAGE_ID] = to_lead(sb, lead_id)[1]["message_id"]
    return fixture_mail("bounce", "amazon-ses-dsn.eml", replacements)


def _arf(sb, lead_id, email, *, quoting_ours=True, reporter="abusedesk@mailbox-provider.example"):
    """The RFC 5965 ARF fixture about `email`, returning our touch 2 or a message we never sent."""
    replacements = {BOUNCED: email, "abusedesk@mailbox-provider.example": reporter}
    if quoting_ours:
        replacements[FIXTURE_MESSAGE_ID] = to_lead(sb, lead_id)[1]["message_id"]
    return fixture_mail("complaint", "arf-rfc5965-example.eml", replacements)


# -- the spoof cases, failing and passing ----------------------------------------------------------


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
    [alert] = _suspicious_alerts(sb)
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


def test_a_bounce_quoting_no_message_of_ours_suppresses_nothing_however_well_it_passes(sb):
    [lead] = _leads(sb, BOUNCED)
    raw = _dsn(sb, lead, BOUNCED, quoting_ours=False)
    recipients = ["bounces@reply.leadflow.example"]
    assert sb.deliver_email(raw, recipients, verdicts=UNPROVEN) == {"outcomes": ["unproven"]}
    assert sb.deliver_email(raw, recipients) == {"outcomes": ["unproven"]}, "every check passing"
    _untouched(sb, lead)
    assert {event["refused"] for event in _untrusted_events(lead)} == {"unproven"}

    genuine = _dsn(sb, lead, BOUNCED)
    assert sb.deliver_email(genuine, recipients, verdicts=UNPROVEN) == {"outcomes": ["bounce"]}
    assert sb.lead(lead)["status"] == "bounced"
    assert suppression_items.suppression(keys.email_key(BOUNCED))["reason"] == "bounce"
    _audit_clean(sb)


def test_a_genuine_bounce_that_fails_its_checks_still_acts_on_nothing(sb):
    [lead] = _leads(sb, BOUNCED)
    raw = _dsn(sb, lead, BOUNCED)
    assert sb.deliver_email(raw, ["bounces@reply.leadflow.example"], verdicts=FORGED) == {
        "outcomes": ["suspicious"]
    }
    _untouched(sb, lead)
    _audit_clean(sb)


def test_an_arf_complaint_acts_only_when_it_returns_our_message_to_that_lead(sb):
    [lead] = _leads(sb, "pat.jones@comcast.example")
    recipients = ["fbl@reply.leadflow.example"]
    forged = _arf(sb, lead, "pat.jones@comcast.example", quoting_ours=False)
    assert sb.deliver_email(forged, recipients) == {"outcomes": ["unproven"]}
    _untouched(sb, lead)

    assert sb.deliver_email(_arf(sb, lead, "pat.jones@comcast.example"), recipients) == {
        "outcomes": ["complaint"]
    }
    assert sb.lead(lead)["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key("pat.jones@comcast.example"))["reason"] == "complaint"
    _audit_clean(sb)


def test_a_report_quoting_our_message_to_someone_else_does_not_touch_the_address_it_names(sb):
    """A lead who is also an attacker quotes the message we sent *them*, naming a victim's address."""
    attacker, victim = _leads(sb, "mallory@attacker.example", "ada@analytical.example")
    recipients = ["bounces@reply.leadflow.example"]
    dsn = _dsn(sb, attacker, "ada@analytical.example", reporter=f"MAILER-DAEMON@{ATTACKER}")
    arf = _arf(sb, attacker, "ada@analytical.example", reporter=f"abuse@{ATTACKER}")
    assert sb.deliver_email(dsn, recipients) == {"outcomes": ["unproven"]}
    assert sb.deliver_email(arf, recipients) == {"outcomes": ["unproven"]}
    _untouched(sb, victim)
    _untouched(sb, attacker)
    _audit_clean(sb)


# -- issue 22: an attacker's own domain, passing every check, silences nobody ---------------------------


def _attack(sb, kind, victim_id, victim):
    """Mail from ATTACKER's own system: SPF and DKIM pass for attacker.example; the victim is named."""
    if kind == "dsn":
        return sb.deliver_email(
            _dsn(sb, victim_id, victim, quoting_ours=False, reporter=f"MAILER-DAEMON@{ATTACKER}"),
            ["bounces@reply.leadflow.example"],
            authenticated_as=ATTACKER,
        )
    if kind == "arf":
        return sb.deliver_email(
            _arf(sb, victim_id, victim, quoting_ours=False, reporter=f"abuse@{ATTACKER}"),
            ["fbl@reply.leadflow.example"],
            authenticated_as=ATTACKER,
        )
    if kind == "unsubscribe, from the attacker":
        body = f"Please unsubscribe {victim} from all your mailings."
        raw = reply_mime(f"helpdesk@{ATTACKER}", subject="unsubscribe", body=body, at=sb.now())
        return sb.deliver_email(raw, authenticated_as=ATTACKER)
    raw = reply_mime(victim, subject="unsubscribe", body="Unsubscribe me.", at=sb.now())
    return sb.deliver_email(raw, authenticated_as=ATTACKER)


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("dsn", "unproven"),
        ("arf", "unproven"),
        ("unsubscribe, from the attacker", "unknown_sender"),
        ("unsubscribe, as the victim", "unaligned"),
    ],
)
def test_an_attackers_own_passing_domain_leaves_the_victim_untouched(sb, kind, outcome):
    victim = "ada@analytical.example"
    [victim_id] = _leads(sb, victim)

    assert _attack(sb, kind, victim_id, victim) == {"outcomes": [outcome]}

    _untouched(sb, victim_id)
    assert sb.lead(victim_id)["status"] == "active"
    sb.advance(3 * 86400)
    assert [m["touch"] for m in to_lead(sb, victim_id)] == [1, 2, 3], "the cadence goes on"
    _audit_clean(sb)


def test_dkim_valid_for_another_domain_does_not_unsubscribe_and_the_owner_is_told(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    raw = reply_mime("ada@analytical.example", subject="unsubscribe", body="Remove me.", at=sb.now())

    outcome = sb.deliver_email(raw, verdicts={"spf": "GRAY"}, authenticated_as="bulk-sender.example")

    assert outcome == {"outcomes": ["unaligned"]}
    _untouched(sb, ada)
    [event] = _untrusted_events(ada)
    assert event["verdicts"]["dkim_domains"] == ["bulk-sender.example"]
    [alert] = _suspicious_alerts(sb)
    assert "authenticated for another domain (bulk-sender.example)" in alert["message"]
    _audit_clean(sb)


def test_an_authentication_results_header_the_sender_wrote_proves_nothing(sb):
    """Only the topmost Authentication-Results is SES's; one the attacker adds sits below it."""
    [ada] = _leads(sb, "ada@analytical.example")
    forged_header = {
        "Authentication-Results": "amazonses.com; spf=pass envelope-from=ada@analytical.example; "
        "dkim=pass header.i=@analytical.example; dmarc=pass header.from=analytical.example"
    }
    raw = reply_mime(
        "ada@analytical.example", subject="unsubscribe", body="x", headers=forged_header, at=sb.now()
    )
    assert sb.deliver_email(raw, authenticated_as=ATTACKER) == {"outcomes": ["unaligned"]}
    _untouched(sb, ada)


# -- what a signed token proves, whatever the verdicts ------------------------------------------------


def test_a_mailto_unsubscribe_with_a_valid_token_opts_out_although_every_check_fails(sb):
    """The lead's own server breaks SPF and DKIM (forwarding, list rewriting): the token proves who asked."""
    [ada] = _leads(sb, "ada@analytical.example")
    mailto = f"{tokens.UNSUBSCRIBE_PREFIX}{tokens.unsubscribe_token(ada, 1, 2)}@reply.leadflow.example"
    raw = reply_mime("ada@analytical.example", to=mailto, subject="unsubscribe", body="", at=sb.now())

    assert sb.deliver_email(raw, verdicts={"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL"}) == {
        "outcomes": ["unsubscribe"]
    }

    assert sb.lead(ada)["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key("ada@analytical.example"))["reason"] == "unsubscribe"
    sb.advance(7 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2], "nothing after the opt-out"
    _audit_clean(sb)


def test_a_tampered_token_proves_nothing(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    token = tokens.unsubscribe_token(ada, 1, 2)
    tampered = token[:-2] + ("aa" if token[-2:] != "aa" else "bb")
    raw = reply_mime(
        "ada@analytical.example",
        to=f"{tokens.UNSUBSCRIBE_PREFIX}{tampered}@reply.leadflow.example",
        subject="unsubscribe",
        body="",
        at=sb.now(),
    )
    assert sb.deliver_email(raw, verdicts={"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL"}) == {
        "outcomes": ["suspicious"]
    }
    _untouched(sb, ada)


def test_a_reply_naming_its_token_acts_whatever_the_verdicts(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    reply_to = tokens.reply_address(ada, 1, 2, "reply.leadflow.example")
    raw = reply_mime("ada@analytical.example", to=reply_to, body="Yes, let's talk.", at=sb.now())
    assert sb.deliver_email(raw, verdicts={"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL"}) == {
        "outcomes": ["reply"]
    }
    assert sb.lead(ada)["status"] == "replied"
    assert len(_forwards(sb)) == 1


def test_a_virus_is_never_acted_on_or_forwarded_even_with_a_token(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    reply_to = tokens.reply_address(ada, 1, 2, "reply.leadflow.example")
    raw = reply_mime("ada@analytical.example", to=reply_to, body="See attachment.", at=sb.now())
    assert sb.deliver_email(raw, verdicts={"virus": "FAIL"}) == {"outcomes": ["suspicious"]}
    _untouched(sb, ada)
    assert _forwards(sb) == []


# -- alignment: what proves a From domain ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "authenticated_as", "outcome"),
    [
        ("ada@contoso.example", "mail.contoso.example", "unsubscribe"),  # a subdomain: the same organisation
        ("ada@eu.contoso.example", "contoso.example", "unsubscribe"),
        ("ada@contoso.co.uk", "other.co.uk", "unaligned"),  # co.uk is a public suffix: two organisations
        ("ada@contoso.co.uk", "co.uk", "unaligned"),
        ("ada@contoso.example", "evil.com", "unaligned"),
        ("ada@contoso.example", "contoso.example.evil.com", "unaligned"),
    ],
)
def test_spf_and_dkim_prove_only_a_domain_aligned_with_from(sb, sender, authenticated_as, outcome):
    [ada] = _leads(sb, sender)
    raw = reply_mime(sender, subject="unsubscribe", body="unsubscribe", at=sb.now())
    # DMARC finds no policy (GRAY): only our alignment check can tell these apart.
    assert sb.deliver_email(raw, authenticated_as=authenticated_as) == {"outcomes": [outcome]}
    assert sb.lead(ada)["status"] == ("opted_out" if outcome == "unsubscribe" else "active")


@pytest.mark.parametrize(
    ("domain", "from_domain", "expected"),
    [
        ("sub.example.com", "example.com", True),
        ("example.com", "sub.example.com", True),
        ("a.b.example.com", "c.example.com", True),
        ("EXAMPLE.com.", "example.com", True),
        ("example.co.uk", "other.co.uk", False),
        ("example.co.uk", "example.co.uk", True),
        ("evil.com", "example.com", False),
        ("example.com.evil.com", "example.com", False),
        ("co.uk", "co.uk", False),  # a public suffix is nobody's organisational domain
        ("", "example.com", False),
        ("example.com", "", False),
    ],
)
def test_relaxed_alignment_is_the_organisational_domain(domain, from_domain, expected):
    assert aligned(domain, from_domain) is expected


def test_the_organisational_domain_comes_from_the_bundled_public_suffix_list():
    assert organisational_domain("mail.example.co.uk") == "example.co.uk"
    assert organisational_domain("pages.someone.github.io") == "someone.github.io"  # PSL's private part
    assert organisational_domain("com") is None
    assert organisational_domain("not a domain") is None


def _stored(raw: bytes, verdicts: dict[str, str] | None = None, authenticated_as: str | None = None) -> bytes:
    return ses_received_mail(
        raw,
        recipients=["reply@r.example"],
        at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        verdicts=verdicts,
        authenticated_as=authenticated_as,
    )


def test_the_domains_come_from_the_topmost_authentication_results_only():
    raw = (
        b"Authentication-Results: amazonses.com; spf=pass envelope-from=x@victim.example; "
        b"dkim=pass header.i=@victim.example; dmarc=pass header.from=victim.example\r\n"
        b"From: ada@victim.example\r\n\r\nhi"
    )
    assert domains(raw)["dkim_domains"] == ("victim.example",), "alone, it would be SES's"
    read = domains(_stored(raw, authenticated_as=ATTACKER))
    assert (read["from_domain"], read["spf_domain"], read["dkim_domains"]) == (
        "victim.example",
        ATTACKER,
        (ATTACKER,),
    )
    another_server = b"Authentication-Results: mx.google.com; dkim=pass header.i=@victim.example\r\n" + raw
    assert domains(another_server).get("dkim_domains") is None, "not SES's header: no domain proven"


def test_a_failing_dkim_signature_names_no_domain():
    raw = (
        b"Authentication-Results: amazonses.com; spf=none envelope-from=x@attacker.example; "
        b"dkim=fail header.i=@victim.example; dkim=pass header.d=attacker.example; dmarc=none "
        b"header.from=victim.example\r\nFrom: ada@victim.example\r\n\r\nhi"
    )
    read = Verdicts(spf="GRAY", dkim="PASS", dmarc="GRAY").reading(raw)
    assert read.dkim_domains == ("attacker.example",)
    assert (read.proves_from, read.foreign_pass) == (False, True)


# -- what needs a pass, and what a token or thread proves --------------------------------------------


def test_a_bounce_report_needs_no_pass_when_it_quotes_our_message(sb):
    [lead] = _leads(sb, BOUNCED)
    recipients = ["bounces@reply.leadflow.example"]
    assert sb.deliver_email(_dsn(sb, lead, BOUNCED), recipients, verdicts=UNPROVEN) == {
        "outcomes": ["bounce"]
    }
    assert sb.lead(lead)["status"] == "bounced"
    _audit_clean(sb)


def test_suspicious_mail_alerts_the_owner_once_a_day(sb):
    [ada] = _leads(sb, "ada@analytical.example")
    for body in ("one", "two", "three"):
        sb.deliver_email(reply_mime("ada@analytical.example", body=body, at=sb.now()), verdicts=FORGED)
    assert len(_untrusted_events(ada)) == 3, "each one is on the lead's record"
    assert len(_suspicious_alerts(sb)) == 1
    sb.advance(86400)
    sb.deliver_email(reply_mime("ada@analytical.example", body="four", at=sb.now()), verdicts=FORGED)
    assert len(_suspicious_alerts(sb)) == 2
    _audit_clean(sb)


# -- the verdict rules, as SES reports them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "failures", "proves_from"),
    [
        ({}, [], True),
        ({"dmarc": "FAIL"}, ["dmarc"], True),  # aligned passes, DMARC's strict policy failed: suspicious
        ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "FAIL"}, ["spf+dkim"], False),
        ({"dmarc": "PASS", "spf": "FAIL", "dkim": "FAIL"}, [], True),  # DMARC passed on alignment
        ({"dmarc": "GRAY", "spf": "FAIL", "dkim": "PASS"}, [], True),
        ({"dmarc": "GRAY", "spf": "PASS", "dkim": "GRAY"}, [], True),
        ({"dmarc": "GRAY", "spf": "GRAY", "dkim": "GRAY"}, [], False),
        ({"dmarc": "PROCESSING_FAILED", "spf": "PROCESSING_FAILED", "dkim": "GRAY"}, [], False),
        ({"spam": "FAIL"}, ["spam"], True),
        ({"virus": "FAIL"}, ["virus"], True),
    ],
)
def test_verdict_rules(verdicts, failures, proves_from):
    stored = _stored(b"From: a@b.example\r\n\r\nhi", verdicts)
    notification = ses_receipt_notification(
        stored,
        bucket="b",
        key="inbound/x",
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        recipients=["reply@r.example"],
        at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        verdicts=verdicts,
    )
    read = Verdicts.from_receipt(notification["receipt"]).reading(stored)
    assert read.failures() == failures
    assert read.proves_from is proves_from


def test_missing_verdicts_prove_nothing():
    assert Verdicts.from_receipt({}).proves_from is False
    assert Verdicts.from_receipt({}).suspicious is False
    assert ALL_PASS.proves_from is True


def test_the_public_suffix_list_loads_offline_once(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the Public Suffix List must not be fetched at run time")

    monkeypatch.setattr(socket, "create_connection", no_network)
    verdicts_module._public_suffixes.cache_clear()
    assert organisational_domain("a.example.co.uk") == "example.co.uk"
    assert verdicts_module._public_suffixes() is verdicts_module._public_suffixes()
