"""Send windows in the lead's own time zone: examples, end to end on the Sandbox, and the CLI."""

from datetime import date, timedelta

from leadflow.cadence.model import Cadence
from leadflow.cadence.model import load_cadences as cadences
from leadflow.cadence.schedule import locale_for, opening_offset, plan_touches
from leadflow.cli import main
from leadflow.clock import iso, parse_iso
from leadflow.local.sandbox import Sandbox

TOKYO_LEAD = {
    "email": "haruki@kaisha.example",
    "first_name": "Haruki",
    "company": "Kaisha",
    "form": "demo-request",
    "country": "JP",
    "timezone": "Asia/Tokyo",
    "phone": "+81 3-1234-5678",
    "sms_consent": True,
}


def test_a_lead_in_tokyo_posting_at_23_30_on_a_friday():
    # Friday 2026-11-20 23:30 in Tokyo; Monday 23 is Labour Thanksgiving Day, a Japanese holiday.
    with Sandbox(start="2026-11-20T14:00:00Z") as sb:
        sb.advance_to("2026-11-20T14:30:00Z")
        sb.post("/leads", json=TOKYO_LEAD)
        first = sb.outbox()
        offset = opening_offset(sb.find_lead(TOKYO_LEAD["email"])["id"])
        sb.advance_to("2026-12-31T00:00:00Z")
        done = [(m["at"], m["touch"], m["channel"]) for m in sb.outbox()]
        done += [(t["at"], t["touch"], t["channel"]) for t in sb.tasks()]

    def opening(day: str) -> str:  # 09:00 JST plus the lead's offset in the window's first minutes
        return iso(parse_iso(f"{day}T00:00:00Z") + offset)

    # The first email at once, whatever the window.
    assert [(m["at"], m["touch"]) for m in first] == [("2026-11-20T14:30:00Z", 1)]
    assert sorted(done) == [
        ("2026-11-20T14:30:00Z", 1, "email"),
        # The human speed-to-lead call: due five minutes after the post (the owner's business hours).
        ("2026-11-20T14:35:00Z", 0, "call"),
        # Day 2 is Saturday; Sunday, then the holiday: the next business day, at the window's start.
        (opening("2026-11-24"), 2, "call"),  # Tuesday 09:00 JST
        (opening("2026-11-24"), 3, "sms"),
        # Later touches keep their local-day spacing from there (day 4 = two days after day 2)...
        (opening("2026-11-26"), 4, "email"),
        # ...day 7 falls on a Sunday and moves to Monday, and so does everything after it.
        (opening("2026-11-30"), 5, "linkedin"),
        (opening("2026-12-07"), 6, "email"),
        (opening("2026-12-14"), 7, "email"),
    ]


def _local_dates(cadence: Cadence, start: str, zone: str, country: str) -> list[tuple[date, str]]:
    locale = locale_for(zone, country, cadence.window)
    return [
        (item.due.astimezone(locale.tz).date(), item.due.astimezone(locale.tz).strftime("%H:%M"))
        for item in plan_touches(cadence, parse_iso(start), locale)
    ]


def test_spacing_is_in_local_days_so_daylight_saving_moves_nothing():
    # Berlin switches to summer time on Sunday 2026-03-29; the lead posts Friday 27th at 10:15.
    planned = _local_dates(cadences()["content-download"], "2026-03-27T09:15:00Z", "Europe/Berlin", "DE")
    # Day 3 (Sunday 29th) moves to Monday, at the lead's own 10:15 in summer time as in winter time.
    assert planned[:3] == [
        (date(2026, 3, 27), "10:15"),
        (date(2026, 3, 30), "10:15"),
        (date(2026, 4, 1), "10:15"),
    ]


def test_good_friday_and_easter_monday_are_skipped_in_germany_but_not_in_the_us():
    # Day 3 of the nurture cadence lands on Good Friday (2026-04-03) for a lead posting Wednesday.
    german = _local_dates(cadences()["content-download"], "2026-04-01T08:00:00Z", "Europe/Berlin", "DE")
    american = _local_dates(cadences()["content-download"], "2026-04-01T13:00:00Z", "America/New_York", "US")
    assert german[1][0] == date(2026, 4, 7)  # not Friday 3rd, not the weekend, not Easter Monday 6th
    assert american[1][0] == date(2026, 4, 3)


def test_an_sms_first_touch_waits_for_the_morning():
    cadence = Cadence.model_validate(
        {
            "name": "text-first",
            "description": "SMS first.",
            "window": {"start": "07:00", "end": "22:00", "timezone": "America/Chicago"},
            "touches": [
                {"day": 1, "channel": "sms", "name": "hi"},
                {"day": 2, "channel": "email", "name": "two"},
            ],
        }
    )
    # Tuesday 22:30 in Chicago: too late for a text, even as the first touch.
    planned = _local_dates(cadence, "2026-11-25T04:30:00Z", "America/Chicago", "US")
    assert planned[0] == (date(2026, 11, 25), "08:00")  # quiet hours end at 08:00, not the window's 07:00
    # Pushed a day, so the day-2 email is pushed a day too (day 3 is Thanksgiving, then Friday).
    assert planned[1][0] - planned[0][0] >= timedelta(days=1)


def test_leadflow_schedule_prints_local_and_utc_times(capsys):
    assert (
        main(
            [
                "schedule",
                "inbound-demo-request",
                "--tz",
                "Europe/Berlin",
                "--country",
                "DE",
                "--at",
                "2026-11-27T16:55:00Z",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "inbound-demo-request for a lead in Europe/Berlin (DE)" in out
    assert "posted Fri 2026-11-27 17:55 CET = 2026-11-27T16:55:00Z" in out
    lines = [line for line in out.splitlines() if line[:2].strip().isdigit()]
    assert len(lines) == len(cadences()["inbound-demo-request"].touches)
    assert "Fri 2026-11-27 17:55 CET  2026-11-27T16:55:00Z  at once" in lines[0]
    assert "Mon 2026-11-30 09:00 CET  2026-11-30T08:00:00Z  pushed 2 day(s)" in lines[1]


def test_leadflow_schedule_names_unknown_cadences(capsys):
    assert main(["schedule", "no-such-cadence"]) == 2
    assert "inbound-demo-request" in capsys.readouterr().err


def test_no_lead_gets_two_automated_touches_on_one_local_day_across_its_cadences(sb):
    from zoneinfo import ZoneInfo

    sb.post("/leads", json={"email": "both@acme.example", "form": "demo-request", "country": "DE"})
    lead_id = sb.find_lead("both@acme.example")["id"]
    sb.advance_to("2026-11-24T12:00:00Z")
    # The CRM also puts the lead in re-engagement while the demo cadence runs.
    second = sb.enroll(lead_id, "re-engagement", reason="quarterly re-engagement")
    sb.advance_to("2027-01-15T00:00:00Z")

    berlin = ZoneInfo("Europe/Berlin")
    days = [parse_iso(m["at"]).astimezone(berlin).date() for m in sb.outbox() if m["lead_id"] == lead_id]
    cadences_sent = {(m["enrollment"], m["touch"]) for m in sb.outbox()}
    assert len(days) == len(set(days)) == 4 + 3  # the demo cadence's 4 emails (no SMS consent) + 3
    assert {enrollment for enrollment, _ in cadences_sent} == {1, 2}
    assert second["zone"] == "Europe/Berlin" and second["reason"] == "quarterly re-engagement"
