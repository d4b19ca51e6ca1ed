"""A late start keeps the cadence's spacing (found closing issue 22, items 3 and 6).

The sweep starts an enrollment `pending` for days (StartExecution failed at intake, the sweep was
not running) or resumes one whose execution died long ago. The touches whose planned times passed
used to go out back to back (touches 1-3 within minutes). Now the first touch without an outcome
goes out at the start (inside the lead's send window), each later one keeps its planned spacing from
it, and nothing goes out twice. Told through the Sandbox with the real state machine; every gap is
checked at its boundary (a second before: not sent; at it: sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from faults import client_error, failing

from leadflow.cadence.reschedule import LATE_START
from leadflow.cadence.schedule import opening_offset
from leadflow.models import RunStatus, TouchStatus
from leadflow.store import enrollment_items
from tests.test_outage import OUTAGE, table_outage

NEW_YORK = ZoneInfo("America/New_York")  # the shipped cadences' zone, for a lead who gives none


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _post_pending(sb, email: str) -> str:
    """Post a lead while Step Functions refuses every start: stored, enrollment `pending`."""
    unavailable = client_error("ServiceUnavailable", "StartExecution", 503)
    with failing("stepfunctions", "StartExecution", unavailable, times=99):
        lead_id = _post(sb, email)
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.PENDING
    return lead_id


def _sent_at(lead_id: str) -> dict[int, datetime]:
    """When each touch of the lead's first enrollment went out."""
    return {
        touch.number: touch.sent_at
        for touch in enrollment_items.touches(lead_id)
        if touch.enrollment == 1 and touch.status is TouchStatus.SENT
    }


def _emailed(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


def _walk_the_gaps(sb, lead_id: str, first: int, planned: list[datetime]) -> None:
    """From touch `first` (sent at the late start), each later touch falls due exactly its planned gap
    after the previous one: a second before it nothing new went out, at it the touch did."""
    for number in range(first + 1, len(planned) + 1):
        due = _sent_at(lead_id)[number - 1] + (planned[number - 1] - planned[number - 2])
        sb.advance_to(due - timedelta(seconds=1))
        assert number not in _sent_at(lead_id), number
        sb.advance_to(due)
        assert _sent_at(lead_id)[number] == due, number


@pytest.mark.email_cadence
def test_an_enrollment_pending_three_days_keeps_its_gaps_from_the_late_start(sb):
    lead_id = _post_pending(sb, "pending.three.days@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    planned = enrollment.schedule  # days 1, 2, 4, 7, 14, 21 at the post's time
    sb.advance(3 * 86400 + 5 * 3600)  # nobody sweeps for three days; touches 1-3 fell due meanwhile
    late_start = sb.now()
    assert planned[2] < late_start < planned[3]
    assert sb.sweep()["started"] == 1
    # Touch 1 now, and only touch 1: not the three whose times passed, back to back.
    assert _sent_at(lead_id) == {1: late_start}
    _walk_the_gaps(sb, lead_id, 1, planned)
    sent = _sent_at(lead_id)
    assert [sent[n + 1] - sent[n] for n in range(1, 6)] == [planned[n] - planned[n - 1] for n in range(1, 6)]
    assert _emailed(sb, lead_id) == [1, 2, 3, 4, 5, 6]  # once each
    sb.advance(86400)
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.COMPLETED
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.mark.email_cadence
@pytest.mark.parametrize("late", [LATE_START, LATE_START + timedelta(seconds=1)])
def test_a_start_is_late_one_second_past_the_bound(sb, late):
    lead_id = _post_pending(sb, f"late.{int(late.total_seconds())}@example.com")
    planned = enrollment_items.enrollments(lead_id)[0].schedule
    sb.advance(late.total_seconds())
    assert sb.sweep()["started"] == 1
    schedule = enrollment_items.enrollments(lead_id)[0].schedule
    if late == LATE_START:
        assert schedule == planned  # within the step's own tolerance for a due time: the plan stands
    else:
        assert schedule == [moment + late for moment in planned]  # every touch shifted by the delay
    assert _sent_at(lead_id) == {1: sb.now()}


@pytest.mark.email_cadence
def test_an_execution_dead_for_days_resumes_with_the_cadence_gaps(sb):
    """The table refused every write for 15 minutes from touch 2's due time: the execution failed and
    nobody swept for three days. Resumed, touch 2 goes now and the rest keep their gaps from it."""
    lead_id = _post(sb, "dead.for.days@example.com")
    planned = enrollment_items.enrollments(lead_id)[0].schedule
    with table_outage(planned[1], OUTAGE):
        sb.advance_to(planned[1] + OUTAGE - timedelta(seconds=1))
        assert sb.execution(lead_id)["status"] == "FAILED"
    sb.advance_to(planned[1] + timedelta(days=3))  # touches 2-3 fell due meanwhile
    assert _sent_at(lead_id).keys() == {1}
    late_start = sb.now()
    assert sb.sweep()["resumed"] == 1
    assert _sent_at(lead_id)[2] == late_start and _sent_at(lead_id).keys() == {1, 2}
    _walk_the_gaps(sb, lead_id, 2, planned)
    assert _emailed(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    assert [e["status"] for e in sb.executions(lead_id)] == ["FAILED", "SUCCEEDED"]
    report = sb.audit()
    assert report.clean, report.lines()


def _opening(lead_id: str, day: datetime) -> datetime:
    """09:00 in New York on `day`, plus the lead's own offset (the shipped window opens at 09:00)."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=NEW_YORK) + opening_offset(lead_id)


@pytest.mark.parametrize(
    ("sweep_at", "at_once"),
    [
        # Monday 23:59:59 in New York, the day the lead posted: the first touch still answers at once.
        ("2026-11-24T04:59:59Z", True),
        # Tuesday 00:00:00 there: no longer the day they posted, so it waits for the window.
        ("2026-11-24T05:00:00Z", False),
    ],
)
def test_a_late_first_touch_goes_at_once_only_on_the_day_the_lead_posted(sb, sweep_at, at_once):
    """The shipped content-download cadence (weekdays 09:00-17:00 New York). The lead posts on Monday
    at 04:00 there, outside the window: touch 1 was planned at once (speed to lead)."""
    lead_id = _post_pending(sb, "late.first@example.com")
    sb.advance_to(sweep_at)
    assert sb.sweep()["started"] == 1
    if at_once:
        assert _sent_at(lead_id) == {1: sb.now()}
        return
    assert _sent_at(lead_id) == {}  # not at midnight
    due = _opening(lead_id, sb.now().astimezone(NEW_YORK))
    assert enrollment_items.enrollments(lead_id)[0].schedule[0] == due
    sb.advance_to(due - timedelta(seconds=1))
    assert _sent_at(lead_id) == {}
    sb.advance_to(due)
    assert _sent_at(lead_id) == {1: due}
    report = sb.audit()
    assert report.clean, report.lines()


def test_a_late_start_outside_the_window_waits_for_it_and_keeps_the_spacing_in_days(sb):
    """Pending from Monday 04:00 to Wednesday 03:00 in New York: touch 1 goes out when Wednesday's
    window opens, not at 03:00; the LinkedIn task two days after it (Friday), at the same time."""
    lead_id = _post_pending(sb, "late.window@example.com")
    planned = enrollment_items.enrollments(lead_id)[0].schedule
    sb.advance_to("2026-11-25T08:00:00Z")  # Wednesday 03:00 in New York
    assert sb.sweep()["started"] == 1
    assert _sent_at(lead_id) == {}
    schedule = enrollment_items.enrollments(lead_id)[0].schedule
    wednesday = _opening(lead_id, datetime(2026, 11, 25, tzinfo=NEW_YORK))
    assert schedule[:2] == [wednesday, wednesday + timedelta(days=2)]
    # Day 3 after day 1, as planned (Monday -> Wednesday then; Wednesday -> Friday now).
    day = lambda moment: moment.astimezone(NEW_YORK).date()  # noqa: E731
    assert day(schedule[1]) - day(schedule[0]) == day(planned[1]) - day(planned[0])
    # Then the planner's rules, from Wednesday: days 1, 3, 5, 8, 11, 14, each weekend day pushing the
    # rest a day on (Sunday 29 -> Monday 30, Sunday 6 -> Monday 7), every touch at the same time.
    cadence_days = [1, 3, 5, 8, 11, 14]
    assert [day(moment) - day(wednesday) for moment in schedule] == [
        timedelta(days=n - 1 + (n >= 5) + (n >= 11)) for n in cadence_days
    ]
    local_times = {moment.astimezone(NEW_YORK).time() for moment in schedule}
    assert local_times == {wednesday.astimezone(NEW_YORK).time()}
    sb.advance_to(wednesday - timedelta(seconds=1))
    assert _sent_at(lead_id) == {}
    sb.advance_to(wednesday)
    assert _sent_at(lead_id) == {1: wednesday}
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.mark.email_cadence
def test_a_late_start_never_puts_two_automated_touches_on_one_local_day(sb):
    """Pending since Monday; on Wednesday the lead enters another cadence whose first email goes at
    once. The sweep then starts the late one: its touch 1 waits for the next day, the rest keep their
    gaps from it, and no local day (UTC here) carries two emails."""
    lead_id = _post_pending(sb, "late.busy@example.com")
    planned = enrollment_items.enrollments(lead_id)[0].schedule
    sb.advance_to("2026-11-25T15:00:00Z")  # Wednesday, 10:00 in New York (the not-now window)
    sb.enroll(lead_id, "not-now", "test: another cadence's email today")
    (other,) = [touch for touch in enrollment_items.touches(lead_id) if touch.cadence == "not-now"]
    assert other.sent_at == sb.now()
    assert sb.sweep()["started"] == 1
    assert _sent_at(lead_id) == {}
    due = sb.now() + timedelta(days=1)  # Thursday, same time
    # The planned gaps from there, except that not-now's second email has Wednesday 2 December: touch
    # 4 (day 7 from Thursday) takes the Thursday after, and the ones after it move a day with it.
    gaps = [planned[n] - planned[0] + timedelta(days=n >= 3) for n in range(6)]
    assert enrollment_items.enrollments(lead_id)[0].schedule == [due + gap for gap in gaps]
    sb.advance_to(due - timedelta(seconds=1))
    assert _sent_at(lead_id) == {}
    sb.advance_to(due)
    assert _sent_at(lead_id) == {1: due}
    sb.advance(30 * 86400)
    assert _sent_at(lead_id) == {n + 1: due + gap for n, gap in enumerate(gaps)}
    days = [touch.sent_at.date() for touch in enrollment_items.touches(lead_id) if touch.channel == "email"]
    assert len(days) == 6 + 2 and len(set(days)) == len(days)
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.mark.email_cadence
def test_a_failed_enrollment_retried_days_later_resends_its_released_touch_alone_then_keeps_the_gaps(sb):
    """SES refused touch 2 (nothing went out: its claim was released) and the execution failed. An
    operator retries it three days later: touch 2 goes now, touch 3 (due meanwhile) its gap later,
    not right behind it."""
    lead_id = _post(sb, "retried.late@example.com")
    planned = enrollment_items.enrollments(lead_id)[0].schedule
    rejected = client_error("MessageRejected", "SendEmail", 400, "Email address is not verified.")
    with failing("sesv2", "SendEmail", rejected, times=99):
        sb.advance_to(planned[1] + timedelta(minutes=5))
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.run_status is RunStatus.FAILED
    assert (enrollment.last_touch, enrollment.touch_state) == (2, enrollment_items.TouchState.RELEASED)
    sb.advance_to(planned[2] + timedelta(hours=3))  # touch 3 fell due meanwhile
    late_start = sb.now()
    assert sb.sweep(retry_all_failed=True)["retried"] == 1
    assert _sent_at(lead_id) == {1: planned[0], 2: late_start}
    _walk_the_gaps(sb, lead_id, 2, planned)
    assert _emailed(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    report = sb.audit()
    assert report.clean, report.lines()
