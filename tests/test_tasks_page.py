"""The task page a rep opens from an alert (issue 25, item 3): who to call and why, on a phone.

Before: "call now" with no name, company, phone or what the lead wrote, and sideways scrolling
at 375 px. Now: the lead's name, company, phone as a tel: link, form and message, fit, what was
sent so far and the last answer, measured in headless Chromium at 375 px.
"""

from __future__ import annotations

import re

import pytest

from leadflow.local.sandbox import Sandbox
from tests.test_console import _scroll_width
from tests.test_report_layout import CHROMIUM

# A demo request as the shipped example form sends it (examples/lead-form.html), with a message
# that has one very long token (a pasted URL), which is what pushes a naive page sideways.
DEMO = {
    "email": "dana.whitfield@bigco.example",
    "first_name": "Dana",
    "last_name": "Whitfield",
    "company": "BigCo Logistics",
    "title": "VP Operations",
    "phone": "+1 415 555 0142",
    "form": "demo-request",
    "message": "We route 4,000 inbound leads a month and lose the evenings. Our current setup: "
    "https://bigco.example/wiki/sales/inbound-routing-runbook-2026-q4-final-v3-with-escalations",
}


def _speed_task_page(sb):
    sb.post("/leads", json=DEMO)
    (task,) = [t for t in sb.tasks() if t["touch"] == 0]
    page = sb.get(f"/tasks/{task['id']}?token={task['token']}")
    assert page.status_code == 200
    return page.text


def test_the_task_page_says_who_to_call_how_and_what_they_asked_for():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York: Alex at work
        page = _speed_task_page(sb)
    assert "Dana Whitfield" in page and "BigCo Logistics (VP Operations)" in page
    assert '<a href="tel:+14155550142">+14155550142</a>' in page
    assert "Request a demo (demo-request)" in page
    assert "We route 4,000 inbound leads a month" in page
    assert "Fit</dt><dd>" in page and "(high)" in page
    # What was sent so far: the instant first email, on the rep's clock; no answer yet.
    assert "Mon 23 Nov 10:00 EST (America/New_York): email sent" in page
    assert "Last answer</dt><dd>none yet" in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
def test_the_task_page_fits_375_px_without_sideways_scrolling():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        page = _speed_task_page(sb)
    scroll, client = _scroll_width(page, 375)
    assert client == 375 and scroll <= 375, scroll
    # Without its style (the page as it was: a fixed-width note box, no wrapping) it scrolls.
    bare = re.sub(r"<style>.*?</style>", "", page).replace('rows="3"', 'rows="3" cols="50"')
    assert _scroll_width(bare, 375)[0] > 375
