"""Every word a lead reads is true for that lead (issue 14).

Over every shipped cadence x every form in the catalogue x a lead without a form, no message says
what the lead's own submission does not show (a table of forbidden phrases per form, written here
independently of send/claims.py), and no weekday name but the ones computed from the send time in
the lead's zone. The Sandbox part sends the routed cadences for real and checks every message out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import locale_for
from leadflow.local.sandbox import REPO_ROOT
from leadflow.models import Lead, Meeting, MeetingStatus
from leadflow.operator_config import load_operator_config
from leadflow.send import messages

CONFIG = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
CADENCES = load_cadences()
FORMS = [*CONFIG.forms, None]

DEMO = r"demo request|requested a demo|requesting a demo|asked for a demo|your demo\b"
PRICING = r"pricing question|question about pricing"
SALES = r"note to our sales team"
DOWNLOAD = r"download|the guide|your copy"
WEBINAR = r"webinar|registered|registration"
NEWSLETTER = r"newsletter|subscribed|subscribing|sign-up"
# What each lead must never be told: everything its own form does not show.
FORBIDDEN = {
    "demo-request": [PRICING, SALES, DOWNLOAD, WEBINAR, NEWSLETTER],
    "pricing": [DEMO, SALES, DOWNLOAD, WEBINAR, NEWSLETTER],
    "contact-sales": [DEMO, PRICING, DOWNLOAD, WEBINAR, NEWSLETTER],
    "follow-up-guide": [DEMO, PRICING, SALES, WEBINAR, NEWSLETTER],
    "webinar-speed-to-lead": [DEMO, PRICING, SALES, DOWNLOAD, NEWSLETTER],
    "newsletter": [DEMO, PRICING, SALES, DOWNLOAD, WEBINAR],
    None: [DEMO, PRICING, SALES, DOWNLOAD, WEBINAR, NEWSLETTER],
}
BEFORE_A_MEETING = r"thanks? (you )?for your time|our meeting|our call|walking me through|we spoke|we met"
WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
# Send times: Monday morning, Wednesday afternoon, Friday afternoon in New York, and a Tokyo lead.
SEND_TIMES = [datetime(2026, 11, 23, 14, tzinfo=UTC), datetime(2026, 11, 25, 19, tzinfo=UTC)]
SEND_TIMES.append(datetime(2026, 11, 27, 20, tzinfo=UTC))


def test_the_table_covers_every_catalogue_form():
    assert set(FORBIDDEN) == set(FORMS)


def _lead(form: str | None, zone: str | None = None) -> Lead:
    return Lead.model_validate(
        {
            "id": "0" * 20,
            "email": "sam@northwind.example",
            "first_name": "Sam",
            "company": "Northwind",
            "form": form,
            "timezone": zone,
            "created_at": SEND_TIMES[0],
        }
    )


def _allowed_days(now: datetime, zone: str, cadence, meeting: Meeting | None) -> set[str]:
    """The day names the send time gives, computed here on its own: today, the next two workdays
    of the cadence's window, the meeting's day."""
    today = now.astimezone(ZoneInfo(zone)).date()
    closed = holidays.country_holidays({"America/New_York": "US", "Asia/Tokyo": "JP"}[zone])
    days, day = [], today
    while len(days) < 2:
        day += timedelta(days=1)
        if day.weekday() in cadence.window.weekday_numbers and day not in closed:
            days.append(day)
    allowed = {f"{today:%A}", *(f"{d:%A}" for d in days)}
    if meeting:
        allowed.add(f"{meeting.starts_at.astimezone(ZoneInfo(zone)):%A}")
    return allowed


def _meetings(cadence, now):
    starts = now - timedelta(hours=2)
    if cadence.meeting is not None:
        return [Meeting(starts_at=starts, ends_at=starts + timedelta(minutes=30))]
    if cadence.name == CONFIG.routing.meeting_missed_cadence:
        return [
            Meeting(status=status, starts_at=starts, ends_at=starts + timedelta(minutes=30))
            for status in (MeetingStatus.CANCELED, MeetingStatus.NO_SHOW)
        ]
    return [None]


@pytest.mark.parametrize("cadence_name", sorted(CADENCES))
def test_no_message_of_any_cadence_claims_what_the_form_does_not_show(cadence_name):
    cadence = CADENCES[cadence_name]
    checked = 0
    for form in FORMS:
        for zone in (None, "Asia/Tokyo"):
            lead = _lead(form, zone)
            rep = messages.owning_rep(lead, CONFIG)
            for number, touch in enumerate(cadence.touches, start=1):
                if not touch.automated:
                    continue
                for variant in touch.variants or (None,):
                    for now in SEND_TIMES:
                        for meeting in _meetings(cadence, now):
                            values = messages.context(
                                lead,
                                rep,
                                CONFIG,
                                cadence=cadence,
                                touch=number,
                                unsubscribe_url="https://x.example/u",
                                variant=variant,
                                now=now,
                                meeting=meeting,
                            )
                            rendered = messages.compose(
                                REPO_ROOT / "templates", cadence, number, variant, values
                            )
                            said = f"{rendered.subject}\n{rendered.text.split(chr(10) + '-- ' + chr(10))[0]}"
                            for phrase in FORBIDDEN[form]:
                                assert not re.search(phrase, said, re.IGNORECASE), (
                                    f"{cadence.name} touch {number} tells a {form or 'no-form'} lead "
                                    f"{re.search(phrase, said, re.IGNORECASE).group(0)!r}"
                                )
                            if meeting is None or meeting.status is not MeetingStatus.BOOKED:
                                assert not re.search(BEFORE_A_MEETING, said, re.IGNORECASE), said
                            zone_used = locale_for(zone, None, cadence.window).zone
                            allowed = _allowed_days(now, zone_used, cadence, meeting)
                            assert set(WEEKDAY.findall(said)) <= allowed, (cadence.name, number, said)
                            assert not re.search(r"\b(this|next) week\b", said, re.IGNORECASE), said
                            checked += 1
    assert checked > 0


def test_the_asset_email_sends_the_asset_link():
    cadence = CADENCES["content-download"]
    for form, entry in CONFIG.forms.items():
        if entry.asset is None:
            continue
        lead = _lead(form)
        values = messages.context(
            lead,
            messages.owning_rep(lead, CONFIG),
            CONFIG,
            cadence=cadence,
            touch=1,
            unsubscribe_url="https://x.example/u",
            variant=None,
            now=SEND_TIMES[0],
        )
        rendered = messages.compose(REPO_ROOT / "templates", cadence, 1, None, values)
        assert str(entry.asset.url) in rendered.text and str(entry.asset.url) in rendered.html
        assert entry.asset.title[:40] in rendered.subject


def test_every_routed_message_sent_on_the_sandbox_is_true_for_its_lead(sb):
    """One lead per catalogue form and one without a form, posted as forms would, through their
    routed cadences to the end; a high-fit newsletter subscriber takes the demo cadence by score."""
    posted = {}
    for form in FORMS:
        email = f"{form or 'bare'}@northwind.example"
        body = {"email": email, "first_name": "Sam", "company": "Northwind"}
        if form:
            body["form"] = form
        sb.post("/leads", json=body)
        posted[sb.find_lead(email)["id"]] = form
    high_fit = {"email": "vp@bigco.example", "form": "newsletter", "title": "VP Sales", "country": "US"}
    sb.post("/leads", json=high_fit)
    high = sb.find_lead(high_fit["email"])
    assert high["cadence"] == "inbound-demo-request"
    posted[high["id"]] = "newsletter"
    sb.advance_to("2026-12-20T00:00:00Z")

    sent = [message for message in sb.outbox() if message["lead_id"] in posted]
    assert len(sent) >= 3 * len(posted)  # the content cadence has three emails, the demo one five
    for message in sent:
        form = posted[message["lead_id"]]
        said = f"{message['subject']}\n{message['text'].split(chr(10) + '-- ' + chr(10))[0]}"
        for phrase in FORBIDDEN[form]:
            assert not re.search(phrase, said, re.IGNORECASE), (form, said)
        cadence = (
            CADENCES[message["tags"]["cadence"]] if message["tags"] else CADENCES["inbound-demo-request"]
        )
        at = datetime.fromisoformat(message["at"].replace("Z", "+00:00"))
        assert set(WEEKDAY.findall(said)) <= _allowed_days(at, "America/New_York", cadence, None), said
    audit = sb.audit()
    assert audit.clean, audit.lines()
