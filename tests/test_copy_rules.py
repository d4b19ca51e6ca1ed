"""Copy true for every lead, round 2 (issue 27, item 6).

Three parts:
- the day and offer helpers at their boundaries (the lead's midnight against the rep's; working
  hours that share exactly 0, 19, 20 or 30 minutes);
- `leadflow lint` failing each copy point the issue measured, written back into the shipped copy
  (the copy as it was; the rules' own planted fixtures are in tests/test_lint.py);
- the measured points rerun on the Sandbox: leads posted as forms post them, their cadences run to
  the end, and what each lead got reads as the issue asks.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from leadflow import clock
from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import Locale
from leadflow.local.sandbox import REPO_ROOT, Sandbox
from leadflow.models import Lead, Meeting, MeetingStatus
from leadflow.operator_config import BusinessHours, load_operator_config
from leadflow.send import days, messages
from leadflow.send.lint import lint_files

CONFIG_FILE = REPO_ROOT / "config" / "leadflow.yaml"
CONFIG = load_operator_config(CONFIG_FILE)
CADENCES = load_cadences()
TOKYO, NEW_YORK, LONDON = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
# What a break-up says, written here apart from send/copy_rules.py.
BREAK_UP_WORDS = re.compile(
    r"closing the loop|last note|stop reaching out|won't keep writing|assume the timing|closing your request",
    re.IGNORECASE,
)
NUMBERS = re.compile(r"\d+ ?(%|percent)|percent|\d+ times|\b\d+x\b", re.IGNORECASE)


def _hours(zone: str, start: str = "09:00", end: str = "17:00") -> BusinessHours:
    return BusinessHours.model_validate({"timezone": zone, "start": start, "end": end})


# -- relative day words, on the lead's calendar ----------------------------------------------


def test_the_same_meeting_is_yesterday_for_a_tokyo_lead_and_today_for_the_new_york_rep():
    # Sent Tuesday 8 December 09:30 in Tokyo, which is Monday 19:30 in New York.
    now = datetime(2026, 12, 8, 9, 30, tzinfo=TOKYO)
    last_minute = datetime(2026, 12, 7, 23, 59, tzinfo=TOKYO)  # Monday 09:59 in New York
    midnight = datetime(2026, 12, 8, 0, 0, tzinfo=TOKYO)  # Monday 10:00 in New York
    assert days.local_day_word(last_minute, now, TOKYO) == "yesterday"
    assert days.local_day_word(midnight, now, TOKYO) == "today"
    assert (
        days.local_day_word(last_minute, now, NEW_YORK) == "today"
    )  # the rep's calendar: wrong for the lead
    # The next midnight: the last minute of today against the first of tomorrow.
    assert days.local_day_word(datetime(2026, 12, 8, 23, 59, tzinfo=TOKYO), now, TOKYO) == "today"
    assert days.local_day_word(datetime(2026, 12, 9, 0, 0, tzinfo=TOKYO), now, TOKYO) == "tomorrow"


def test_a_day_further_out_is_a_weekday_within_six_days_and_a_date_beyond():
    monday = date(2026, 12, 7)
    assert days.day_word(monday + timedelta(days=2), monday) == "Wednesday"
    assert days.day_word(monday - timedelta(days=2), monday) == "Saturday"
    assert days.day_word(monday + timedelta(days=6), monday) == "Sunday"
    assert days.day_word(monday + timedelta(days=7), monday) == "Monday 14 December"
    assert [days.on_day(word) for word in ("today", "Wednesday")] == ["today", "on Wednesday"]


def _rebook_new_time(lead: Lead, meeting: Meeting, now: datetime) -> str:
    cadence = CADENCES["rebook"]
    values = messages.context(
        lead,
        CONFIG.reps[1],  # a rep without a booking link: the ask offers days
        CONFIG,
        cadence=cadence,
        touch=1,
        unsubscribe_url="https://x.example/u",
        variant=None,
        now=now,
        meeting=meeting,
    )
    return messages.compose(REPO_ROOT / "templates", cadence, 1, None, values).text


def test_the_rebook_email_says_today_on_the_day_of_the_cancelled_meeting_in_the_leads_zone():
    lead = Lead(id="0" * 20, email="ada@example.com", created_at=clock.now(), timezone="Asia/Tokyo")
    # Cancelled at Monday 23:50 Tokyo for a meeting Tuesday 00:10 Tokyo (both Monday in New York).
    canceled = Meeting(
        status=MeetingStatus.CANCELED,
        starts_at=datetime(2026, 12, 8, 0, 10, tzinfo=TOKYO),
        ends_at=datetime(2026, 12, 8, 0, 40, tzinfo=TOKYO),
    )
    assert "set for tomorrow was cancelled" in _rebook_new_time(
        lead, canceled, datetime(2026, 12, 7, 23, 50, tzinfo=TOKYO)
    )
    # Twenty minutes later it is Tuesday in Tokyo: the same meeting is today's, and never "Tuesday".
    text = _rebook_new_time(lead, canceled, datetime(2026, 12, 8, 0, 10, tzinfo=TOKYO))
    assert "set for today was cancelled" in text and "Tuesday" not in text


# -- offered times: inside both working days, or none ----------------------------------------


def test_a_tokyo_lead_and_a_new_york_or_berlin_owner_share_no_hour_so_no_day_is_offered():
    tokyo = days.lead_hours(Locale("Asia/Tokyo", "JP"))
    now = datetime(2026, 12, 7, 14, tzinfo=UTC)
    for owner in CONFIG.reps:  # New York, and Berlin whose 09:00 is Tokyo's 17:00 in winter
        assert days.offer(now, tokyo, owner.hours) == days.Offer(days=(), window=None)
    # In summer Berlin's 09:00 is Tokyo's 16:00: an hour shared, offered with its hours.
    summer = days.offer(datetime(2026, 6, 8, 3, tzinfo=UTC), tokyo, CONFIG.rep("sam").hours)
    assert summer.phrase == "tomorrow or Wednesday (16:00-17:00 your time)"


@pytest.mark.parametrize(
    ("rep_start", "shared_minutes"),
    [("12:00", 0), ("11:41", 19), ("11:40", 20), ("11:30", 30)],
)
def test_a_day_is_offered_only_when_the_hours_share_a_whole_meeting(rep_start, shared_minutes):
    """A London lead (09:00-17:00) and a New York owner starting at `rep_start` (London 17:00 is
    New York 12:00 in December): the meeting asked for is 20 minutes."""
    london = days.lead_hours(Locale("Europe/London", "GB"))
    rep = _hours("America/New_York", rep_start, "18:00")
    shared = days.overlap(london, rep, date(2026, 12, 8))
    assert (shared[1] - shared[0] if shared else timedelta(0)) == timedelta(minutes=shared_minutes)
    offered = days.offer(datetime(2026, 12, 7, 12, tzinfo=UTC), london, rep)
    if shared_minutes >= days.MEETING_MINUTES:
        start = f"{17 * 60 - shared_minutes:d}"
        window = f"{int(start) // 60}:{int(start) % 60:02d}-17:00 your time"
        assert offered == days.Offer(days=("tomorrow", "Wednesday"), window=window)
    else:
        assert offered.days == ()


def test_an_owner_in_the_same_hours_offers_the_next_two_shared_working_days_without_hours():
    new_york = days.lead_hours(Locale("America/New_York", "US"))
    # Sent Wednesday 25 November: Thursday is Thanksgiving, a day off; then Friday and Monday.
    offered = days.offer(datetime(2026, 11, 25, 15, tzinfo=UTC), new_york, CONFIG.rep("alex").hours)
    assert offered == days.Offer(days=("Friday", "Monday"), window=None)
    assert offered.phrase == "on Friday or Monday"


def _first_touch(lead: Lead, rep_id: str, touch: int = 1) -> str:
    cadence = CADENCES["inbound-demo-request"]
    values = messages.context(
        lead,
        CONFIG.rep(rep_id),
        CONFIG,
        cadence=cadence,
        touch=touch,
        unsubscribe_url="https://x.example/u",
        variant=None,
        now=datetime(2026, 12, 7, 14, tzinfo=UTC),
    )
    return messages.compose(REPO_ROOT / "templates", cadence, touch, None, values).text


def test_the_intro_asks_a_london_lead_for_the_shared_hours_and_a_tokyo_lead_for_a_time():
    london = Lead(id="0" * 20, email="a@example.com", created_at=clock.now(), timezone="Europe/London")
    assert "tomorrow or Wednesday (14:00-17:00 your time)" in _first_touch(london, "alex")
    tokyo = london.model_copy(update={"timezone": "Asia/Tokyo"})
    for rep in ("alex", "sam"):
        intro, text = _first_touch(tokyo, rep), _first_touch(tokyo, rep, touch=3)
        assert "far apart in time zones" in intro and "What time of day suits you" in text
        assert not WEEKDAY.search(intro + text) and "tomorrow" not in intro + text


# -- leadflow lint fails each measured copy point --------------------------------------------


@pytest.fixture
def repo_copy(tmp_path):
    """The shipped cadences, templates and config in a scratch directory, to write old copy back."""
    shutil.copytree(REPO_ROOT / "cadences", tmp_path / "cadences")
    shutil.copytree(REPO_ROOT / "templates", tmp_path / "templates")
    shutil.copy(CONFIG_FILE, tmp_path / "leadflow.yaml")
    return tmp_path


def _lint(root: Path, template: str | None = None, old: str = "", new: str = ""):
    """Lint the copy with one template (path under templates/, without .j2) edited: old -> new."""
    if template:
        path = root / "templates" / f"{template}.j2"
        text = path.read_text()
        assert old in text, (template, old)
        path.write_text(text.replace(old, new))
    return lint_files(root / "cadences", root / "templates", root / "leadflow.yaml")


OLD_CONTENT_BREAK_UP = """{% extends "_layout.j2" %}
{% block subject %}Closing the loop{% endblock %}
{% block opener %}
{% from "_facts.j2" import asked with context %}
I have not heard back since {{ asked() }}, so I will assume the timing is not right.
{% endblock %}
{% block value %}
I will stop reaching out so I do not fill your inbox.
{% endblock %}
{% block proof %}
Most teams come back to this when a new target or a new hire makes follow-up urgent.
{% endblock %}
{% block cta %}
If that happens, reply to this email and I will pick it up from there.
{% endblock %}
"""


def test_lint_fails_a_content_download_cadence_that_ends_with_a_break_up(repo_copy):
    (repo_copy / "templates" / "content-download" / "first-fix.j2").write_text(OLD_CONTENT_BREAK_UP)
    found = {(v.template, v.rule): v for v in _lint(repo_copy)}
    assert list(found) == [("content-download/first-fix.j2", "break-up")]
    leads = found["content-download/first-fix.j2", "break-up"].leads
    for form in ("follow-up-guide", "webinar-speed-to-lead", "newsletter", "none"):
        assert f"typical, form {form}" in leads


def test_the_inbound_break_up_goes_only_to_leads_who_asked_for_a_person(repo_copy):
    """A newsletter (or no-form) lead reaches the demo cadence by fit score: without its branch, the
    break-up would go to them too."""
    found = _lint(
        repo_copy,
        "inbound-demo-request/break-up",
        "{% if qualified %}\nI haven't heard back",
        "{% if true %}\nI haven't heard back",
    )
    assert [(v.template, v.rule) for v in found] == [("inbound-demo-request/break-up.j2", "break-up")]
    assert {re.search(r"form [\w-]+", lead)[0] for lead in found[0].leads} == {"form newsletter", "form none"}


NEW_ANGLE_PROOF = (
    "It shows the real thing, not slides: a new lead, its first reply and every follow-up after it."
)
BENCHMARK = (
    "A well-run sequence turns 15 to 25 percent of qualified inbound leads into a booked meeting within "
    "ten business days."
)


def test_lint_fails_an_internal_benchmark_in_the_demo_cadence_unless_the_config_opts_in(repo_copy):
    found = _lint(repo_copy, "inbound-demo-request/new-angle", NEW_ANGLE_PROOF, BENCHMARK)
    assert [(v.template, v.rule) for v in found] == [("inbound-demo-request/new-angle.j2", "statistic")]
    assert "'25 percent'" in found[0].message
    opted_in = repo_copy / "opted-in.yaml"  # a new path: configs load once per path
    opted_in.write_text(CONFIG_FILE.read_text().replace("quote_statistics: false", "quote_statistics: true"))
    assert lint_files(repo_copy / "cadences", repo_copy / "templates", opted_in) == []


def test_the_shipped_copy_passes_with_statistics_opted_in_and_then_quotes_them(tmp_path):
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG_FILE.read_text().replace("quote_statistics: false", "quote_statistics: true"))
    assert lint_files(REPO_ROOT / "cadences", REPO_ROOT / "templates", config) == []
    opted_in = load_operator_config(config)
    lead = Lead(id="0" * 20, email="a@example.com", created_at=clock.now(), form="demo-request")
    cadence = CADENCES["inbound-demo-request"]
    said = {}
    for name, setting in (("off", CONFIG), ("on", opted_in)):
        values = messages.context(
            lead,
            setting.reps[0],
            setting,
            cadence=cadence,
            touch=4,
            unsubscribe_url="https://x.example/u",
            variant=None,
            now=clock.now(),
        )
        said[name] = messages.compose(REPO_ROOT / "templates", cadence, 4, None, values).text
    assert "50 percent more sales-ready leads" in said["on"]
    assert not NUMBERS.search(said["off"].split("\n-- \n")[0])


OLD_INTRO_PROOF = (
    "That window matters: Harvard Business Review found leads reached within five minutes are 21 times "
    "likelier to enter the sales process."
)


def test_lint_fails_the_intros_that_window_for_pricing_leads_only(repo_copy):
    config = repo_copy / "leadflow.yaml"
    config.write_text(config.read_text().replace("quote_statistics: false", "quote_statistics: true"))
    shipped = (
        "Speed pays: Harvard Business Review found leads reached within five minutes are 21 times likelier "
        "to enter the sales process."
    )
    found = _lint(repo_copy, "inbound-demo-request/intro", shipped, OLD_INTRO_PROOF)
    assert {(v.template, v.rule) for v in found} == {
        ("inbound-demo-request/intro.j2", "reference"),
        ("inbound-demo-request/intro.j2 (variant b subject)", "reference"),
    }
    for violation in found:
        assert "'That window'" in violation.message
        # Only the pricing lead's value paragraph lacks the five-minute window.
        assert {re.search(r"form [\w-]+", lead)[0] for lead in violation.leads if "form " in lead} == {
            "form pricing"
        }


def test_lint_fails_a_re_engagement_break_up_that_cites_an_offer_never_made(repo_copy):
    found = _lint(
        repo_copy,
        "re-engagement/break-up",
        "If a twenty-minute look at how your team answers new leads would help later, I'm glad to set it up.",
        "Nothing changes on our side: the offer to walk you through it stands.",
    )
    assert [(v.template, v.rule) for v in found] == [("re-engagement/break-up.j2", "reference")]
    assert "'the offer'" in found[0].message


def test_lint_fails_a_weekday_name_for_the_leads_today(monkeypatch):
    """The rebook email as it was: the meeting's weekday, whatever the send day."""

    def weekday_only(meeting, now, locale, relative=True):
        day = f"{meeting.starts_at.astimezone(locale.tz):%A}"
        return {"status": meeting.status.value, "day": day, "relative": f"on {day}"}

    monkeypatch.setattr(messages, "meeting_words", weekday_only)
    found = lint_files(REPO_ROOT / "cadences", REPO_ROOT / "templates", CONFIG_FILE)
    rebook = [v for v in found if v.template == "rebook/new-time.j2"]
    assert [v.rule for v in rebook] == ["relative-day"]
    # Caught at the lead's midnight too: a meeting ten minutes after it is that morning's today.
    assert "typical, meeting canceled at Thu 00:10 Asia/Tokyo" in rebook[0].leads


def test_lint_fails_on_before_a_relative_day(repo_copy):
    found = _lint(repo_copy, "rebook/new-time", "set for {{ meeting.day }}", "set on {{ meeting.day }}")
    assert [(v.template, v.rule) for v in found] == [("rebook/new-time.j2", "relative-day")]
    assert "'on today'" in found[0].message or "'on tomorrow'" in found[0].message


def test_lint_fails_today_in_a_draft_the_rep_sends_later(repo_copy):
    """The recap is a draft (manual_email): it goes out when the rep sends it, maybe tomorrow."""
    found = _lint(
        repo_copy,
        "post-meeting/recap",
        "Thank you for the meeting {{ meeting.relative }}.",
        "Thank you for the meeting today.",
    )
    assert [(v.template, v.rule) for v in found] == [("post-meeting/recap.j2", "relative-day")]
    assert "in a draft the rep sends later" in found[0].message


def test_lint_fails_days_offered_to_a_tokyo_lead_whose_owner_never_works_their_hours(repo_copy):
    """The intro's ask as it was: two days for every lead, whoever owns it."""
    intro = repo_copy / "templates" / "inbound-demo-request" / "intro.j2"
    shipped = intro.read_text()
    ask = "{% block cta %}\nWould 20 minutes on Thursday or Friday work?\n{% endblock %}\n"
    intro.write_text(shipped[: shipped.index("{% block cta %}")] + ask)
    found = _lint(repo_copy)
    offers = [v for v in found if v.template == "inbound-demo-request/intro.j2" and v.rule == "offer"]
    assert offers and "Thursday" in offers[0].message
    tokyo = [lead for lead in offers[0].leads if lead.startswith("typical in Asia/Tokyo")]
    assert {lead.split(", owner ")[1] for lead in tokyo} == {"alex", "sam"}  # New York and Berlin


# -- the measured points, rerun on the Sandbox -----------------------------------------------

LEADS = {
    "guide": {"form": "follow-up-guide"},
    "newsletter": {"form": "newsletter"},
    "demo": {"form": "demo-request"},
    "pricing": {"form": "pricing"},
    "tokyo": {
        "form": "demo-request",
        "timezone": "Asia/Tokyo",
        "country": "JP",
        "phone": "+81 3-1234-5678",
        "sms_consent": True,
    },
    "rebook": {"form": "demo-request"},
}
DORMANT = {"dormant-demo": "demo-request", "dormant-guide": "follow-up-guide"}


def _book(sb, email: str, trigger: str, start: str, end: str) -> str:
    """A Cal.com booking webhook (signed as Cal.com signs it), as tests/test_meeting_clock.py sends."""
    import hashlib
    import hmac

    from leadflow.local.sandbox import MEETING_WEBHOOK_KEY

    document = {
        "triggerEvent": trigger,
        "createdAt": clock.iso(clock.now()),
        "payload": {
            "uid": f"uid-{email}",
            "startTime": start,
            "endTime": end,
            "attendees": [{"email": email, "name": "Rebook Lead", "timeZone": "America/New_York"}],
        },
    }
    body = json.dumps(document)
    signature = hmac.new(MEETING_WEBHOOK_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Cal-Signature-256": signature}
    response = sb.post("/webhooks/meeting", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["status"]


@pytest.fixture(scope="module")
def ran():
    """Every lead posted on Monday 23 November 2026; the rebook lead's Tuesday 10:00 meeting
    cancelled at 09:00 that Tuesday; everything run to 20 December."""
    with Sandbox(start="2026-11-23T09:00:00Z") as sb:
        ids = {}
        for name, fields in LEADS.items():
            email = f"sam@{name}.example"  # one company each: a booking stops colleagues' cadences
            response = sb.post("/leads", json={"email": email, "first_name": "Sam", **fields})
            assert response.status_code == 202, response.text
            ids[name] = sb.find_lead(email)["id"]
        for name, form in DORMANT.items():
            email = f"sam@{name}.example"
            body = {"email": email, "first_name": "Sam", "form": form, "lead_type": "dormant"}
            response = sb.post("/leads", json=body, headers={"X-Api-Key": sb.api_key})
            assert response.status_code == 202, response.text
            ids[name] = sb.find_lead(email)["id"]
        start, end = "2026-11-24T15:00:00Z", "2026-11-24T15:30:00Z"
        assert _book(sb, "sam@rebook.example", "BOOKING_CREATED", start, end) == "meeting_booked"
        sb.advance_to("2026-11-24T14:00:00Z")  # Tuesday 09:00 in New York
        assert _book(sb, "sam@rebook.example", "BOOKING_CANCELLED", start, end) == "meeting_canceled"
        sb.advance_to("2026-12-20T00:00:00Z")
        sent = {name: [m for m in sb.outbox() if m["lead_id"] == lead_id] for name, lead_id in ids.items()}
        yield sent, sb.audit()


def _said(message: dict) -> str:
    return f"{message['subject']}\n{message['text'].split(chr(10) + '-- ' + chr(10))[0]}"


def test_content_leads_are_nurtured_to_the_end_without_a_break_up(ran):
    sent, _ = ran
    for name in ("guide", "newsletter", "dormant-guide"):
        assert len(sent[name]) == 3, name  # every email of their cadence went out
        for message in sent[name]:
            assert not BREAK_UP_WORDS.search(_said(message)), (name, _said(message))
    assert "make it the first reply" in sent["guide"][-1]["text"]
    # A lead who asked for a person still gets the playbook's break-up at the end.
    assert BREAK_UP_WORDS.search(_said(sent["demo"][-1]))
    assert BREAK_UP_WORDS.search(_said(sent["dormant-demo"][-1]))


def test_no_email_of_the_demo_cadence_quotes_a_benchmark_or_statistic(ran):
    sent, _ = ran
    assert len(sent["demo"]) == 4  # intro, value-add, new-angle, break-up (no phone: no text)
    for message in sent["demo"] + sent["pricing"]:
        assert not NUMBERS.search(_said(message)), _said(message)
        assert "15 to 25" not in message["text"]


def test_the_pricing_intro_refers_back_to_nothing_it_did_not_say(ran):
    sent, _ = ran
    intro = _said(sent["pricing"][0])
    assert "your question about pricing" in intro
    assert "window" not in intro.lower() and "Speed pays" in intro


def test_a_tokyo_lead_is_offered_no_day_by_an_owner_whose_hours_never_meet_theirs(ran):
    sent, _ = ran
    intro, text = sent["tokyo"][0], next(m for m in sent["tokyo"] if m["channel"] == "sms")
    assert "far apart in time zones" in intro["text"] and "What time of day suits you" in text["text"]
    for message in (intro, text):
        assert not WEEKDAY.search(_said(message)) and "tomorrow" not in _said(message)
    # The New York demo lead is offered the days both work, named as they read them.
    assert "Would 20 minutes tomorrow or Wednesday work?" in sent["demo"][0]["text"]


def test_the_re_engagement_break_up_cites_only_the_offer_it_makes(ran):
    sent, _ = ran
    break_up = _said(sent["dormant-demo"][-1])
    assert "the offer" not in break_up.lower()
    assert "If a twenty-minute look at how your team answers new leads would help later" in break_up


def test_the_rebook_email_says_today_on_the_tuesday_of_the_cancelled_meeting(ran):
    sent, _ = ran
    rebook = [m for m in sent["rebook"] if m["tags"].get("cadence") == "rebook"]
    assert rebook[0]["at"] == "2026-11-24T14:00:00Z"  # Tuesday 09:00 in New York, at once
    assert "the meeting we had set for today was cancelled" in rebook[0]["text"]
    assert "Tuesday" not in _said(rebook[0])


def test_the_run_leaves_the_audit_clean(ran):
    _, audit = ran
    assert audit.clean, audit.lines()


def test_an_sms_must_fit_one_segment_with_the_offers_hours_in_it(tmp_path):
    """141 characters for a lead whose hours its owner shares; 164 with "(9:00-11:00 your time)" for a
    New York lead of the Berlin owner, 165 with "(14:00-17:00 your time)" for a London lead."""
    (tmp_path / "cadences").mkdir()
    (tmp_path / "cadences" / "nudge.yaml").write_text(
        "name: nudge\ndescription: One text.\ntouches:\n  - {day: 1, channel: sms, name: text}\n"
    )
    (tmp_path / "templates" / "nudge").mkdir(parents=True)
    for shared in (REPO_ROOT / "templates").glob("_*.j2"):
        shutil.copy(shared, tmp_path / "templates" / shared.name)
    (tmp_path / "templates" / "nudge" / "text.j2").write_text(
        '{% extends "_sms.j2" %}{% block message %}Hi {{ lead.first_name or "there" }}, a quick one from our '
        "team about the note you left on our pricing page: twenty minutes {{ offer.phrase or 'soon' }}?"
        "{% endblock %}"
    )
    (violation,) = lint_files(tmp_path / "cadences", tmp_path / "templates", CONFIG_FILE)
    assert violation.rule == "sms-segment"
    pairs = {(lead.split(",")[0], lead.split(", owner ")[1]) for lead in violation.leads}
    assert pairs == {
        ("typical in America/New_York", "sam"),
        ("typical in Europe/London", "alex"),
        ("typical in Europe/London", "sam"),
    }


def test_a_draft_may_offer_the_shared_days_by_name(repo_copy):
    """A rep's draft names tomorrow "Tuesday": the offer rule reads it as the shared day it is."""
    found = _lint(
        repo_copy,
        "post-meeting/recap",
        "Did I miss anything you want covered?",
        "{% if offer.days %}Could we talk again {{ offer.phrase }}?{% else %}Did I miss anything?{% endif %}",
    )
    assert found == []
