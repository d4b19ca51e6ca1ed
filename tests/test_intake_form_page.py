"""The embeddable form: `leadflow serve` shows it at /, and posting it as a browser would enrolls the lead."""

from __future__ import annotations

import http.client
import threading
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest

from leadflow.local.serve import FORM_FILE, make_server
from leadflow.store import lead_items


class FormFields(HTMLParser):
    """What a browser submits: named inputs in order, checkboxes only when checked, textareas empty."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.action = attributes.get("action") or ""
        name = attributes.get("name")
        if tag not in ("input", "textarea") or not name:
            return
        self.names.add(name)
        if tag == "textarea" or (attributes.get("type") == "checkbox" and "checked" not in attributes):
            return
        self.fields.append((name, attributes.get("value") or ""))


@pytest.fixture
def server(sb):
    server = make_server(sb, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    return connection.getresponse()


def _submit(port: int, form: FormFields, filled: dict[str, str]) -> http.client.HTTPResponse:
    values = dict(form.fields)  # hidden inputs first; a repeated name (consent) keeps its last value
    pairs = [(name, filled.get(name, value)) for name, value in form.fields]
    pairs += [(name, value) for name, value in filled.items() if name not in values]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        urlsplit(form.action).path,
        body=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "test-browser"},
    )
    return connection.getresponse()


def _form(port: int) -> FormFields:
    page = _get(port, "/")
    assert page.status == 200
    form = FormFields()
    form.feed(page.read().decode())
    return form


def test_the_snippet_carries_the_honeypot_and_the_documented_fields():
    snippet = FormFields()
    snippet.feed(FORM_FILE.read_text())
    assert {
        "email",
        "fax",
        "redirect",
        "error_redirect",
        "email_consent",
        "sms_consent",
        "source",
        "form",
    } <= snippet.names
    assert snippet.action == "https://api.leadflow.example/v1/leads"


def test_a_person_posting_the_served_form_is_sent_to_the_thank_you_page_and_enrolled(sb, server):
    """Issue 14: the sample form, posted urlencoded with its own fields as a browser would, routes
    "Request a demo" to the demo cadence by its `form` field; `source` stays attribution."""
    port = server.server_address[1]
    form = _form(port)
    assert form.action == f"http://127.0.0.1:{port}/leads"

    answer = _submit(port, form, {"email": "browser@example.com", "first_name": "Bo", "message": "Hi"})

    assert answer.status == 303
    assert answer.getheader("Location") == f"http://127.0.0.1:{port}/thanks"
    assert _get(port, "/thanks").status == 200
    lead = sb.find_lead("browser@example.com")
    assert (lead["email_consent"], lead["sms_consent"], lead["source"], lead["form"]) == (
        True,
        False,
        "website",
        "demo-request",
    )
    assert lead["cadence"] == "inbound-demo-request"
    assert lead["band"] != "high"  # the form routed it, not a score
    assert sb.execution(lead["id"])["status"] == "RUNNING"
    first = sb.outbox()[0]
    # Either A/B arm of the first subject; the body says what this lead did.
    assert first["subject"] in ("Your demo request", "Bo, picking a time to talk")
    assert "Thanks for your demo request" in first["text"]
    assert lead_items.submissions(lead["id"])[0].user_agent == "test-browser"


def test_a_bot_filling_the_served_form_honeypot_gets_the_thank_you_page_and_nothing_is_stored(sb, server):
    port = server.server_address[1]

    answer = _submit(port, _form(port), {"email": "bot@example.com", "fax": "+1 555 0100"})

    assert answer.status == 303
    assert answer.getheader("Location") == f"http://127.0.0.1:{port}/thanks"
    assert sb.find_lead("bot@example.com") is None
    assert sb.metric_total("HoneypotHits") == 1
