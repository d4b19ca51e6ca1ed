"""Issue 22, item 4: no duplicate from late evidence.

A touch is in doubt when its step went to call SES and died before recording an outcome: SES may
have accepted it. It stays in doubt, holding its execution's place, until SES's Send event settles
it (however late: 4, 7, 60 minutes) or the in-doubt bound passes (6 hours, docs/decisions.md);
only then is it sent. Through the Sandbox with the real state machine, faults injected at the SES
adapter, Send events published by the Sandbox as the configuration set would (late on demand).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ReadTimeoutError
from faults import crash, failing

from leadflow.cadence import asl
from leadflow.send import touches
from leadflow.store import enrollment_items

LEADS = 5  # the measurement: 5 leads per delay, 5 duplicates of 5 before the fix
BOUND = timedelta(hours=6)  # the documented figure; this file fails if the code's bound moves


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _accepted(sb, lead_id: str) -> list[dict]:
    """Every email SES accepted for the lead, by the send's own tags (recorded or not)."""
    return [message for message in sb.outbox() if message["tags"].get("lead") == lead_id]


def _touches_out(sb, lead_id: str) -> list[int]:
    return [int(message["tags"]["touch"]) for message in _accepted(sb, lead_id)]


def _post_with_touch_1_failing(sb, fault, *, after: bool, leads: int = LEADS) -> list[str]:
    """Post leads whose first SES call fails: `after` once SES accepted it (a crash), else before."""
    with failing("sesv2", "SendEmail", fault, times=leads, after=after) as failed:
        ids = [_post(sb, f"in.doubt.{number}@example.com") for number in range(leads)]
    assert len(failed) == leads
    return ids


def _lost_connection() -> ReadTimeoutError:
    """The request went out and no answer came back: SES may or may not have taken it."""
    return ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com/v2/email/outbound-emails")


def _in_doubt(lead_id: str) -> bool:
    (enrollment,) = enrollment_items.enrollments(lead_id)
    return (
        enrollment.touch_state == "claimed"
        and enrollment.provider_call_at is not None
        and enrollment_items.touches(lead_id) == []  # not skipped, not recorded
    )


def _touch_1_step(lead_id: str) -> dict:
    """The step function's input for touch 1 of the lead's only enrollment (a retry of its Task)."""
    (enrollment,) = enrollment_items.enrollments(lead_id)
    return {
        "lead_id": lead_id,
        "cadence": enrollment.cadence,
        "enrollment": 1,
        "version": enrollment.version,
        "touch": 1,
    }


def _assert_clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.mark.parametrize("late_minutes", [4, 7, 60])
def test_a_send_event_minutes_late_settles_the_touch_in_doubt_and_nothing_goes_out_twice(sbe, late_minutes):
    sbe.send_event_delay = timedelta(minutes=late_minutes)
    ids = _post_with_touch_1_failing(sbe, crash(), after=True)
    sbe.send_event_delay = timedelta(0)
    posted = sbe.now()
    accepted = {lead_id: _accepted(sbe, lead_id) for lead_id in ids}
    assert all(len(messages) == 1 for messages in accepted.values())

    sbe.advance(late_minutes * 60 - 1)  # the event is not there yet: in doubt, held, nothing resent
    assert all(_in_doubt(lead_id) and _touches_out(sbe, lead_id) == [1] for lead_id in ids)
    sbe.advance(asl.UNSETTLED_RETRY["MaxDelaySeconds"] + 1)  # the next retry after the event settles it
    for lead_id in ids:
        (touch,) = enrollment_items.touches(lead_id)
        assert touch.message_id == accepted[lead_id][0]["message_id"] and touch.sent_at == posted
        assert enrollment_items.enrollments(lead_id)[0].touch_state == "sent"
        assert _touches_out(sbe, lead_id) == [1]

    sbe.advance(30 * 86400)
    for lead_id in ids:
        assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
        assert [touch.number for touch in enrollment_items.touches(lead_id)] == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)


def test_a_touch_ses_never_took_goes_out_exactly_once_after_the_bound_and_the_cadence_keeps_its_order(sbe):
    ids = _post_with_touch_1_failing(sbe, _lost_connection, after=False)
    called = enrollment_items.enrollments(ids[0])[0].provider_call_at
    assert called == sbe.now()

    sbe.advance_to(called + BOUND - timedelta(seconds=1))  # hours of retries: no event, still in doubt
    assert all(_in_doubt(lead_id) and _touches_out(sbe, lead_id) == [] for lead_id in ids)
    sbe.advance(asl.UNSETTLED_RETRY["MaxDelaySeconds"] + 1)  # the first retry past the bound sends it
    for lead_id in ids:
        (message,) = _accepted(sbe, lead_id)
        assert message["touch"] == 1 and message["enrollment"] == 1
        (touch,) = enrollment_items.touches(lead_id)
        assert called + BOUND <= touch.sent_at <= called + BOUND + timedelta(hours=1)
        assert sbe.execution(lead_id)["status"] == "RUNNING"

    sbe.advance(30 * 86400)
    for lead_id in ids:
        assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
        sent = enrollment_items.touches(lead_id)
        assert [touch.sent_at for touch in sent] == sorted(touch.sent_at for touch in sent)
        assert sbe.execution(lead_id)["status"] == "SUCCEEDED"
    assert sbe.metric_total("InDoubtTouchResent") == LEADS
    _assert_clean(sbe)


def test_one_second_before_the_bound_a_retry_does_not_resend_and_at_the_bound_it_does(sbe):
    assert touches.IN_DOUBT_BOUND == BOUND
    (lead_id,) = _post_with_touch_1_failing(sbe, _lost_connection, after=False, leads=1)
    request = _touch_1_step(lead_id)
    called = enrollment_items.enrollments(lead_id)[0].provider_call_at
    assert called is not None

    sbe.advance_to(called + BOUND - timedelta(seconds=1))
    with pytest.raises(touches.TouchUnsettled):
        sbe.invoke("step", request)
    assert _in_doubt(lead_id) and _touches_out(sbe, lead_id) == []

    sbe.advance_to(called + BOUND)
    assert sbe.invoke("step", request)["outcome"] == "sent"
    assert _touches_out(sbe, lead_id) == [1]
    sbe.advance(30 * 86400)  # the execution's own retry finds the touch done
    assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)


def test_a_step_that_died_before_calling_ses_left_no_claim_and_its_touch_goes_out_on_the_retry(
    sbe, monkeypatch
):
    """An email is claimed with its provider call, once the message is built: a step that dies while
    building it has claimed nothing, so nothing is in doubt."""
    from leadflow.send import mail

    original_build = mail.build_message
    calls = []

    def timing_out(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise crash("Sandbox.Timedout")("Task timed out after 30.00 seconds")
        return original_build(*args, **kwargs)

    monkeypatch.setattr(mail, "build_message", timing_out)
    lead_id = _post(sbe, "timeout@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.last_touch == 0 and enrollment.claim_id is None  # never claimed
    # Touch 1 is an async invoke of the step (issue 28): Lambda's retry comes a minute later.
    sbe.advance(59)
    assert _touches_out(sbe, lead_id) == []
    sbe.advance(1)
    assert _touches_out(sbe, lead_id) == [1]
    sbe.advance(30 * 86400)
    assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)


def test_a_claim_without_a_provider_call_is_not_in_doubt_and_its_touch_goes_out_on_the_retry(sbe):
    """A claim that records no provider call (an earlier version claimed before rendering; its step
    died before calling SES) is released at once by the next attempt, not held for the bound."""
    from leadflow import aws, clock
    from leadflow.config import settings

    lead_id = _post(sbe, "claimed.before.render@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    due = enrollment.schedule[1]
    sbe.advance_to(due - timedelta(seconds=30))
    aws.table(settings().table_name).update_item(
        Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"},
        UpdateExpression="SET last_touch = :two, touch_state = :claimed, claimed_at = :at, claim_id = :id "
        "REMOVE provider_call_at",
        ExpressionAttributeValues={
            ":two": 2,
            ":claimed": "claimed",
            ":at": clock.iso(clock.now()),
            ":id": "0" * 16,
        },
    )
    sbe.advance_to(due + timedelta(minutes=1))
    assert _touches_out(sbe, lead_id) == [1, 2]
    sbe.advance(30 * 86400)
    assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)


def test_a_reply_while_the_touch_is_in_doubt_stops_the_cadence_and_nothing_is_resent(sbe):
    from leadflow import clock
    from leadflow.cadence import stops
    from leadflow.models import ContactStatus, RunStatus, StopReason
    from leadflow.store import lead_items

    sbe.send_event_delay = None  # the event is lost
    (lead_id,) = _post_with_touch_1_failing(sbe, crash(), after=True, leads=1)
    sbe.advance(2 * 3600)
    lead_items.set_contact_status(lead_id, ContactStatus.REPLIED, "reply", clock.now())
    stops.stop_enrollments(lead_id, StopReason.REPLY)
    sbe.clock.settle()
    sbe.advance(BOUND.total_seconds() + 86400)
    assert _touches_out(sbe, lead_id) == [1]  # the one SES took before the crash
    assert enrollment_items.enrollments(lead_id)[0].run_status is RunStatus.STOPPED
    assert sbe.execution(lead_id)["status"] != "RUNNING"
    _assert_clean(sbe)


def test_a_text_whose_step_died_after_sns_took_it_is_recorded_unconfirmed_and_never_sent_again(sb):
    body = {
        "email": "texter@example.com",
        "phone": "+14155550123",
        "sms_consent": True,
        "form": "demo-request",
    }
    assert sb.post("/leads", json=body).status_code == 202
    lead_id = sb.find_lead("texter@example.com")["id"]
    to_phone = lambda params: "PhoneNumber" in params  # noqa: E731
    with failing("sns", "Publish", crash(), after=True, when=to_phone) as failed:
        sb.advance(3 * 86400)
    assert len(failed) == 1  # SNS publishes no Send event: nothing could ever settle it otherwise
    texts = [message for message in sb.outbox() if message["channel"] == "sms"]
    assert len(texts) == 1
    (text_touch,) = [touch for touch in enrollment_items.touches(lead_id) if touch.channel == "sms"]
    assert (text_touch.status.value, text_touch.skip_reason) == ("skipped", "unconfirmed")
    sb.advance(30 * 86400)
    assert len([message for message in sb.outbox() if message["channel"] == "sms"]) == 1
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_claim_stored_before_claims_had_ids_is_in_doubt_from_its_claim(sb):
    """A claim the previous version left (no claim id, no provider call time) may have reached SES."""
    from leadflow import aws, clock
    from leadflow.config import settings

    lead_id = _post(sb, "legacy.claim@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    claimed = enrollment.schedule[1] - timedelta(minutes=1)  # its step died just before the update
    sb.advance_to(claimed)
    aws.table(settings().table_name).update_item(
        Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"},
        UpdateExpression="SET last_touch = :two, touch_state = :claimed, claimed_at = :at "
        "REMOVE claim_id, provider_call_at",
        ExpressionAttributeValues={":two": 2, ":claimed": "claimed", ":at": clock.iso(claimed)},
    )
    sb.advance_to(claimed + BOUND - timedelta(seconds=1))  # the execution's retries: in doubt
    assert _touches_out(sb, lead_id) == [1] and enrollment_items.touches(lead_id)[-1].number == 1
    sb.advance(asl.UNSETTLED_RETRY["MaxDelaySeconds"] + 1)
    assert _touches_out(sb, lead_id) == [1, 2]
    _assert_clean(sb)


def test_only_the_attempt_holding_the_claim_may_release_it(sb):
    """The claim id fences an attempt that outlived its claim (released and claimed again by a retry);
    a release that saw no provider call fails once the claim records one. The claim of an email
    records its provider call in the same write."""
    from leadflow import clock

    lead_id = _post(sb, "fenced@example.com")
    now = clock.now()
    first = enrollment_items.claim_touch(lead_id, 1, 2, now)
    assert enrollment_items.release_touch(lead_id, 1, 2, first, None)
    second = enrollment_items.claim_touch(lead_id, 1, 2, now, provider_call_at=now)
    with pytest.raises(enrollment_items.ClaimRejected):  # held: nobody else may call the provider
        enrollment_items.claim_touch(lead_id, 1, 2, now, provider_call_at=now)
    assert not enrollment_items.release_touch(lead_id, 1, 2, first, None)
    assert not enrollment_items.release_touch(lead_id, 1, 2, second, None)  # saw no call: in doubt now
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.touch_state, enrollment.claim_id, enrollment.provider_call_at) == (
        "claimed",
        second,
        now,
    )
    assert enrollment_items.release_touch(lead_id, 1, 2, second, now)


def test_botocore_never_resends_an_email_whose_answer_was_lost(sbe):
    """SES took the email and its answer never came back (a read timeout): botocore's own retries
    would send it again, outside any claim. The SES client makes one attempt; the touch is in
    doubt and SES's Send event settles it."""
    from moto.core.models import botocore_stubber as moto_ses
    from moto.ses.models import ses_backends

    from leadflow import aws
    from leadflow.local import events

    client = aws.client("sesv2")
    lost: list[str] = []

    def lose_the_answer(request, **kwargs):
        if lost:
            return None
        moto_ses(request=request, **kwargs)  # SES takes the message...
        lost.append(request.url)
        raise _lost_connection()  # ...and its answer is lost, inside botocore's retry loop

    client.meta.events.register("before-send.sesv2.SendEmail", lose_the_answer)
    try:
        lead_id = _post(sbe, "lost.answer@example.com")
    finally:
        client.meta.events.unregister("before-send.sesv2.SendEmail", lose_the_answer)
    sent = ses_backends[events.ACCOUNT_ID][events.REGION].sent_messages
    assert len(lost) == 1 and len(sent) == 1  # botocore's default retries sent it twice
    assert _in_doubt(lead_id)
    # SES publishes the Send event of the message it took (the Sandbox's hook never saw its answer).
    (enrollment,) = enrollment_items.enrollments(lead_id)
    tags = {"lead": lead_id, "enrollment": "1", "touch": "1", "cadence": enrollment.cadence}
    sbe.deliver_ses_event(
        events.ses_event(
            "Send", message_id=sent[0].id, recipients=[], sent_at=sbe.now(), at=sbe.now(), tags=tags
        )
    )
    sbe.advance(asl.UNSETTLED_RETRY["IntervalSeconds"] + 5)
    (touch,) = enrollment_items.touches(lead_id)
    assert touch.message_id == sent[0].id
    sbe.advance(30 * 86400)
    assert len(sent) == 6 and _touches_out(sbe, lead_id) == [2, 3, 4, 5, 6]  # 1: its answer was lost
    _assert_clean(sbe)


def _post_at_with_touch_1_lost(sbe, moment, email: str) -> tuple[str, dict]:
    """A New York lead posted at `moment`; its touch 1's SES call lost its answer (in doubt)."""
    sbe.advance_to(moment)
    with failing("sesv2", "SendEmail", _lost_connection) as failed:
        body = {"email": email, "first_name": "Ada", "timezone": "America/New_York"}
        assert sbe.post("/leads", json=body).status_code == 202
    assert failed
    lead_id = sbe.find_lead(email)["id"]
    return lead_id, _touch_1_step(lead_id)


@pytest.mark.parametrize("inside", [True, False], ids=["last-second-of-window", "window-closed"])
def test_an_in_doubt_resend_past_the_window_waits_for_its_next_opening(sbe, inside):
    """The bound passes one second before the lead's window closes: the touch goes at once. At the
    close: released and moved to the next opening (the next allowed morning), sent once then."""
    from zoneinfo import ZoneInfo

    from leadflow import clock
    from leadflow.cadence import versions

    new_york = ZoneInfo("America/New_York")
    lead_id, request = _post_at_with_touch_1_lost(sbe, sbe.now(), "probe@example.com")
    window = versions.cadence_at(request["cadence"], request["version"]).window
    day = datetime(2026, 11, 24, tzinfo=new_york)  # a Tuesday, no holiday
    closes = datetime.combine(day.date(), window.end, tzinfo=new_york)
    # Another lead whose bound passes at the window's last second, or at its close.
    called = closes - BOUND - timedelta(seconds=1 if inside else 0)
    lead_id, request = _post_at_with_touch_1_lost(sbe, called, "night@example.com")
    sbe.advance_to(called + BOUND - timedelta(seconds=1))
    assert _in_doubt(lead_id) and _touches_out(sbe, lead_id) == []

    sbe.advance_to(called + BOUND)
    if inside:
        assert sbe.invoke("step", request)["outcome"] == "sent"
        assert _touches_out(sbe, lead_id) == [1]
    else:
        opening = datetime.combine(day.date() + timedelta(days=1), window.start, tzinfo=new_york)
        with pytest.raises(touches.NotDueYet, match=clock.iso(opening)):
            sbe.invoke("step", request)
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.touch_state == "released" and enrollment.schedule[0] == opening
        sbe.advance_to(opening - timedelta(seconds=1))
        assert _touches_out(sbe, lead_id) == []
        # The execution, in its in-doubt retries, sends it at its first retry from the opening on.
        sbe.advance_to(opening + timedelta(seconds=asl.UNSETTLED_RETRY["MaxDelaySeconds"] + 1))
        assert _touches_out(sbe, lead_id) == [1]
        (touch,) = enrollment_items.touches(lead_id)
        assert opening <= touch.sent_at
    sbe.advance(30 * 86400)
    assert _touches_out(sbe, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sbe)
