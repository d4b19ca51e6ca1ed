"""Messages as sent: personalization with fallbacks, escaping, threading, Reply-To tokens, headers, tags."""

import re
from email import message_from_bytes, policy

import pytest

from leadflow import aws, tokens
from leadflow.local.sandbox import PUBLIC_URL, REPLY_DOMAIN
from leadflow.send import mail
from leadflow.send.lint import PLACEHOLDER
from leadflow.store import enrollment_items

# Messages, not cadences: the demo cadence as six plain emails (tests/conftest.py).
pytestmark = pytest.mark.email_cadence

THREE_WEEKS_LATER = "2026-12-14T09:00:00Z"


@pytest.fixture
def ses_requests(sb):
    """Every SendEmail request as our code made it (moto drops tags and the configuration set)."""
    captured = []
    client = aws.client("sesv2")
    handler = lambda params, **_: captured.append(params)  # noqa: E731
    client.meta.events.register("provide-client-params.sesv2.SendEmail", handler)
    yield captured
    client.meta.events.unregister("provide-client-params.sesv2.SendEmail", handler)


def _raw_messages(ses_requests):
    return [request["Content"]["Raw"]["Data"] for request in ses_requests]


def test_a_lead_with_only_an_email_address_gets_complete_messages(sb):
    sb.post("/leads", json={"email": "anonymous@example.com"})
    sb.advance_to(THREE_WEEKS_LATER)
    sent = sb.outbox()

    assert len(sent) == 6
    for message in sent:
        html_text = re.sub(r"<[^>]*>", " ", message["html"])
        for part in (message["subject"], message["text"], html_text):
            assert not PLACEHOLDER.search(part), part
            assert "None" not in part
        assert message["text"].startswith("Hi there,\n")
        assert message["subject"].strip()
        assert "Alex Rivera" in message["text"]


def test_personal_fields_fill_the_messages(sb):
    sb.post(
        "/leads",
        json={
            "email": "sarah@northwind.example",
            "first_name": "sarah",
            "company": "Northwind",
            "form": "demo-request",
        },
    )
    first = sb.outbox()[0]
    assert first["text"].startswith("Hi Sarah,")  # typed in lower case, written as a name
    assert "Northwind" in first["text"]
    assert "Sarah" in first["subject"] or "Northwind" in first["subject"]


def test_html_special_characters_are_escaped_and_line_breaks_add_no_header(sb, ses_requests):
    sb.post(
        "/leads",
        json={
            "email": "mallory@example.com",
            "form": "demo-request",
            "first_name": "<script>alert('x')</script>\r\nBcc: victim@example.org",
            "company": 'Tom & Jerry\'s "Cheese" <b>Co</b>\r\nX-Injected: yes',
        },
    )
    sb.advance_to("2026-11-24T09:00:00Z")
    raw_messages = _raw_messages(ses_requests)
    assert len(raw_messages) == 2
    for raw, message in zip(raw_messages, sb.outbox(), strict=True):
        assert "<script>" not in message["html"] and "<b>Co</b>" not in message["html"]
        assert "&lt;script&gt;" in message["html"]
        assert "Tom &amp; Jerry&#39;s &#34;Cheese&#34;" in message["html"]
        # Plain text carries the characters as they are: harmless in text/plain.
        assert "<script>alert('x')</script> Bcc: victim@example.org" in message["text"]
        parsed = message_from_bytes(raw, policy=policy.default)
        assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
        assert parsed.get_all("Bcc") is None and parsed.get_all("X-Injected") is None
        header_block = raw.split(b"\r\n\r\n", 1)[0]
        assert not re.search(rb"^(Bcc|X-Injected):", header_block, re.MULTILINE | re.IGNORECASE)
    # The first subject carries the lead's field (variant a: company, variant b: first name), on one line.
    assert "Tom & Jerry" in sb.outbox()[0]["subject"] or "<script>" in sb.outbox()[0]["subject"]


def test_emails_come_from_the_owning_rep_with_signature_address_and_unsubscribe_link(sb):
    sb.post("/leads", json={"email": "signed@example.com", "first_name": "Ada"})
    message = sb.outbox()[0]
    assert message["headers"]["From"] == "Alex Rivera <alex@mail.leadflow.example>"
    signature = message["text"].split("\n-- \n", 1)[1]
    assert signature.startswith("Alex Rivera\nAccount Executive, Leadflow Demo Co\n")
    address = "100 Example Street, Suite 200, Springfield, IL 62701, USA"
    unsubscribe_link = re.search(r"Unsubscribe with one click: (\S+)", message["text"]).group(1)
    assert unsubscribe_link.startswith(f"{PUBLIC_URL}/unsubscribe?token=")
    assert address in message["text"] and address in message["html"]
    assert f'href="{unsubscribe_link}"' in message["html"]


def test_follow_ups_reply_in_the_first_emails_thread_by_its_stored_ses_message_id(sb):
    sb.post("/leads", json={"email": "thread@example.com", "first_name": "Tess"})
    lead_id = sb.find_lead("thread@example.com")["id"]
    sb.advance_to(THREE_WEEKS_LATER)
    sent = sb.outbox()
    records = {touch["number"]: touch for touch in sb.lead(lead_id)["touches"]}
    cadence = sb.cadences["inbound-demo-request"]

    first = records[1]
    # Real SES rewrites Message-ID to <MessageId@email.amazonses.com> in us-east-1: that is what we
    # store and thread on. moto keeps the header we wrote, so the two differ here.
    assert first["ses_message_id"] == f"<{first['message_id']}@email.amazonses.com>"
    assert first["ses_message_id"] != sent[0]["headers"]["Message-ID"]
    assert first["own_message_id"] == sent[0]["headers"]["Message-ID"]

    followers = [m for m in sent[1:] if not cadence.touch(m["touch"]).new_thread]
    assert [m["touch"] for m in followers] == [2, 3, 4, 6]
    for message in followers:
        headers = message["headers"]
        assert headers["In-Reply-To"] == first["ses_message_id"]
        references = headers["References"].split()
        assert first["ses_message_id"] in references
        assert headers["Message-ID"] in references  # our own id, which SES leaves alone in References
        assert records[message["touch"]]["own_message_id"] == headers["Message-ID"]
        assert records[message["touch"]]["in_reply_to"] == first["ses_message_id"]
        assert message["subject"] == f"Re: {sent[0]['subject']}"

    new_thread = sent[4]
    assert cadence.touch(5).new_thread
    assert "In-Reply-To" not in new_thread["headers"] and "References" not in new_thread["headers"]
    assert not new_thread["subject"].startswith("Re:")


def test_every_email_has_one_click_unsubscribe_headers_and_a_reply_to_token_for_its_lead(sb):
    sb.post("/leads", json={"email": "headers@example.com"})
    lead_id = sb.find_lead("headers@example.com")["id"]
    sb.advance_to(THREE_WEEKS_LATER)
    sent = sb.outbox()
    assert len(sent) == 6
    for message in sent:
        headers = message["headers"]
        https, mailto = re.fullmatch(
            # https when deployed (RFC 8058); the local server the Sandbox links to is plain http.
            r"<(https?://[^>]+)>, <(mailto:[^>]+)>",
            headers["List-Unsubscribe"],
        ).groups()
        assert https.startswith(f"{PUBLIC_URL}/unsubscribe?token=")
        assert mailto.startswith("mailto:unsubscribe+") and f"@{REPLY_DOMAIN}?subject=unsubscribe" in mailto
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        reply_to = mail.sender_domain(headers["Reply-To"])
        address = re.search(r"<([^>]+)>", headers["Reply-To"]).group(1)
        assert reply_to == REPLY_DOMAIN
        local = address.partition("@")[0]
        assert len(local) <= 64 and local == local.lower()
        target = tokens.parse_reply_token(address)
        assert (target.lead_id, target.enrollment, target.touch) == (lead_id, 1, message["touch"])
        # Mail systems may change the case of a local part: the token still resolves.
        assert tokens.parse_reply_token(address.upper()) == target


def test_sends_use_the_configuration_set_and_carry_cadence_touch_and_variant_tags(sb, ses_requests):
    sb.post("/leads", json={"email": "tags@example.com"})
    lead = sb.find_lead("tags@example.com")
    sb.advance_to("2026-11-24T09:00:00Z")
    first, second = ses_requests
    assert first["ConfigurationSetName"] == second["ConfigurationSetName"] == "leadflow"
    variant = sb.lead(lead["id"])["touches"][0]["variant"]
    assert variant in {"a", "b"}
    # Lead and enrollment tag the SES events too: a Send event settles a touch whose attempt died.
    assert first["EmailTags"] == [
        {"Name": "cadence", "Value": "inbound-demo-request"},
        {"Name": "touch", "Value": "1"},
        {"Name": "lead", "Value": lead["id"]},
        {"Name": "enrollment", "Value": "1"},
        {"Name": "variant", "Value": variant},
    ]
    # Touch 2 has no variants: no variant tag, none recorded.
    assert second["EmailTags"] == [
        {"Name": "cadence", "Value": "inbound-demo-request"},
        {"Name": "touch", "Value": "2"},
        {"Name": "lead", "Value": lead["id"]},
        {"Name": "enrollment", "Value": "1"},
    ]
    assert sb.lead(lead["id"])["touches"][1].get("variant") is None


def test_message_index_finds_the_touch_by_ses_id_and_by_our_own_message_id(sb):

    sb.post("/leads", json={"email": "index@example.com"})
    record = sb.find_lead("index@example.com")["touches"][0]
    by_ses = enrollment_items.message_owner(mail.ses_id_from_message_id(record["ses_message_id"]))
    by_own = enrollment_items.message_owner(record["own_message_id"].strip("<>"))
    assert by_ses["lead_id"] == by_own["lead_id"] == record["lead_id"]
    assert by_ses["touch"] == by_own["touch"] == 1
