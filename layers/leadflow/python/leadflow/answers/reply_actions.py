"""What each reply intent does, after the reply stopped the cadence (answers.outcomes.replied).

- interested / question: a hot-reply alert at once and a rep task "answer within 5 minutes"
  (the speed-to-lead rule: due `speed_to_lead.due_minutes` after the reply inside the owner's
  business hours, at their next start outside them).
- not_now: `snoozed_until` is the day the lead named, else today plus the re-engagement interval
  (`reengagement.after_days`), in the lead's zone; the lead is enrolled in `answers.not_now_cadence`
  with touch 1 planned on that day, so nothing goes out before it.
- referral: a rep task and an alert naming the person; the person is recorded on the lead and
  never mailed automatically (they gave no consent).
- wrong_person: no further automated enrollment (`cadence.enrollments.reply_hold`).
- not_interested: no automated enrollment for `answers.not_interested_quiet_days`; a form post
  is the lead's own new request and follows the intake's re-enrollment policy.
- unsubscribe: outcomes.opted_out, as the one-click link.
Every reply's intent is kept on the lead (reply_intent, the deciding line, who decided) and on its
reply event (`intent`), which is what the report counts; a rep's correction rewrites both.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow import clock
from leadflow.answers.intent import POSITIVE, Intent, Reading, read
from leadflow.config import operator_config
from leadflow.models import Lead, Task, task_id
from leadflow.observability import logger
from leadflow.store import enrollment_items, lead_items

NOT_NOW_REASON = "not now"
# The rep task of a reply: after any cadence's own touches (task ids allow two digits).
REPLY_TOUCH = 99
ANSWER_INSTRUCTION = "They replied{what}: answer within 5 minutes, from your own inbox. Quote their words."
REFERRAL_INSTRUCTION = (
    "They pointed you to {who}. Write to that person yourself, naming who referred you; leadflow "
    "never mails them (they gave no consent)."
)


def lead_zone(lead: Lead) -> str:
    """The zone the lead's days are counted in: their latest enrollment's, else their own, else UTC."""
    enrollments = enrollment_items.enrollments(lead.id, settled=False)  # their zones only
    return next((e.zone for e in reversed(enrollments) if e.zone), None) or lead.timezone or "UTC"


def read_reply(lead: Lead, text: str, subject: str, at: datetime) -> Reading:
    """The intent of a reply from `lead`, read by the configured reader, dated in the lead's zone."""
    today = at.astimezone(ZoneInfo(lead_zone(lead))).date()
    return read(text, subject, today=today, sender=lead.email, reader=operator_config().answers.intent_reader)


def event_details(reading: Reading) -> dict[str, Any]:
    """What the reply event keeps of the reading (the report counts `intent`)."""
    return {"intent": reading.intent.value, "intent_by": reading.reader if reading.sure else "unsure"}


def snooze_day(lead: Lead, reading: Reading, at: datetime) -> date:
    """The day a not-now lead asked for, else the re-engagement interval from today (lead's zone)."""
    if reading.snoozed_until is not None:
        return reading.snoozed_until
    today = at.astimezone(ZoneInfo(lead_zone(lead))).date()
    return today + timedelta(days=operator_config().reengagement.after_days)


def remember(lead: Lead, reading: Reading, at: datetime, snoozed_until: date | None = None) -> None:
    """Keep the reading on the lead: intent, deciding line, reader, reply time, snooze day, referral."""
    referral = reading.referral.model_dump(exclude_none=True) if reading.referral else None
    lead_items.set_reply_intent(
        lead.id,
        {
            "reply_intent": reading.intent.value,
            "reply_intent_line": reading.line or None,
            "reply_intent_by": reading.reader if reading.sure else "unsure",
            "reply_at": clock.iso(at),
            "snoozed_until": snoozed_until.isoformat() if snoozed_until else None,
            "referral": referral or None,
        },
    )


def act(lead: Lead, reading: Reading, *, at: datetime, enrollment: int) -> str:
    """Do what the intent asks (the stop is done); returns the lines the owner's alert adds."""
    if reading.intent in POSITIVE:
        due, link = _reply_task(lead, enrollment, at, ANSWER_INSTRUCTION.format(what=_what(reading)))
        return f"Answer within 5 minutes: task due {clock.iso(due)}, record the outcome at {link}"
    if reading.intent is Intent.NOT_NOW:
        return _snooze(lead, reading, at)
    if reading.intent is Intent.REFERRAL and reading.referral is not None:
        who = " ".join(
            part
            for part in (
                reading.referral.name,
                f"<{reading.referral.email}>" if reading.referral.email else None,
            )
            if part
        )
        _, link = _reply_task(lead, enrollment, at, REFERRAL_INSTRUCTION.format(who=who))
        return f"Referral: {who}. Never mailed automatically: write to them yourself (task: {link})."
    if reading.intent is Intent.WRONG_PERSON:
        return "Wrong person: no further automated mail goes to this address."
    if reading.intent is Intent.NOT_INTERESTED:
        days = operator_config().answers.not_interested_quiet_days
        return f"Not interested: no break-up, no re-engagement for {days} days unless they post a form again."
    return ""


def _what(reading: Reading) -> str:
    if not reading.sure:
        return " (leadflow could not tell what they want: read it)"
    return " with a question" if reading.intent is Intent.QUESTION else " with interest"


def _snooze(lead: Lead, reading: Reading, at: datetime) -> str:
    from leadflow.cadence.enrollments import EnrollmentRefused, enroll

    day = snooze_day(lead, reading, at)
    remember(lead, reading, at, snoozed_until=day)
    cadence = operator_config().answers.not_now_cadence
    stated = "as they asked" if reading.snoozed_until else "no day stated: the re-engagement interval"
    if not cadence:
        return f"Not now: follow up by hand on {day.isoformat()} ({stated})."
    from leadflow.cadence.schedule import locale_for
    from leadflow.config import cadences
    from leadflow.store import event_items

    # The day begins when the cadence's window opens in the lead's zone (the zone it plans in).
    window = cadences()[cadence].window if cadence in cadences() else None
    zone = locale_for(lead.timezone, lead.country, window).tz if window else ZoneInfo(lead_zone(lead))
    start = datetime.combine(day, window.start if window else time(9, 0), zone)
    try:
        enrolled = enroll(lead.id, cadence, NOT_NOW_REASON, start_at=start)
    except (EnrollmentRefused, KeyError) as error:
        logger.warning("no not-now enrollment", extra={"lead_id": lead.id, "why": str(error)})
        event_items.set_snooze(lead.id, start, lead.owner)
        return f"Not now: snoozed until {day} ({stated}); no cadence could be planned, follow up by hand."
    # The report's "due back this week" reads this, indexed under the day the first touch is due.
    event_items.set_snooze(lead.id, enrolled.schedule[0] if enrolled.schedule else start, lead.owner)
    return f"Not now: snoozed until {day} ({stated}); the {cadence} cadence writes again from that day."


def _reply_task(lead: Lead, enrollment: int, at: datetime, instruction: str) -> tuple[datetime, str]:
    """The rep task of a reply, due within minutes inside the owner's business hours: its due time
    and signed link (the reply's alert carries both)."""
    from leadflow.send.tasks import task_link
    from leadflow.store import task_items

    config = operator_config()
    owner = config.owning_rep(lead.owner)
    opens = owner.hours.opening(at)
    due = opens + timedelta(minutes=config.speed_to_lead.due_minutes) if opens == at else opens
    task = Task(
        id=task_id(lead.id, enrollment, REPLY_TOUCH),
        lead_id=lead.id,
        enrollment=enrollment,
        touch=REPLY_TOUCH,
        cadence="reply",
        channel="email",
        name="answer-reply",
        instruction=instruction,
        owner=owner.id,
        due_at=due,
    )
    task_items.put_task(task)
    return due, task_link(task.id)


# -- a rep's correction ------------------------------------------------------------------------------


def correction_link(lead_id: str) -> str:
    """The signed link of a reply's alert: GET shows the reply's intent with one button per intent,
    POST `intent=…` corrects it (same key and expiry as task links)."""
    from urllib.parse import quote

    from leadflow import keys
    from leadflow.config import settings

    subject = f"reply-{lead_id}"
    return f"{settings().public_url.rstrip('/')}/replies/{lead_id}?token={quote(keys.task_token(subject))}"


def correction_link_status(lead_id: str, token: str | None) -> Any:
    from leadflow import keys

    return keys.task_link_status(f"reply-{lead_id}", token)


class NoReply(LookupError):
    """The lead has no reply whose intent could be corrected."""


def correct(lead: Lead, intent: Intent, at: datetime) -> list[str]:
    """The rep says what the reply meant: the lead and its reply event take the rep's intent (the
    report counts that), and the intent's action follows. Returns what changed, for the page.

    An opt-out stays (it is final, by law and by the suppression list); a snooze that no longer
    applies is stopped; a new not_now snoozes for the re-engagement interval.
    """
    from leadflow.answers import outcomes
    from leadflow.cadence import stops
    from leadflow.models import ContactStatus, StopReason
    from leadflow.store import event_items

    if lead.reply_at is None or lead.reply_intent is None:
        raise NoReply(lead.id)
    before = lead.reply_intent
    reading = Reading(intent=intent, line=lead.reply_intent_line or "", rule="rep", reader="rep")
    event_items.set_reply_intent(lead.id, lead.reply_at, intent.value)
    done = [f"intent {before} -> {intent.value}"]
    if before == Intent.NOT_NOW.value and intent is not Intent.NOT_NOW:
        snoozed = [
            e
            for e in enrollment_items.enrollments(lead.id)
            if e.reason == NOT_NOW_REASON and e.run_status.value in ("running", "pending")
        ]
        for enrollment in snoozed:
            stopped = enrollment_items.stop_enrollment(lead.id, enrollment.number, StopReason.OPERATOR, at)
            if stopped:
                from leadflow.cadence import executions

                execution = executions.arn_of(stopped)
                if execution:
                    executions.stop(execution, cause=StopReason.OPERATOR.value)
        done += ["the not-now snooze is stopped"] if snoozed else []
        event_items.set_snooze(lead.id, None, None)
    referral = lead.referral if intent is Intent.REFERRAL else None
    lead_items.set_reply_intent(
        lead.id,
        {
            "reply_intent": intent.value,
            "reply_intent_by": "rep",
            "snoozed_until": lead.snoozed_until.isoformat()
            if lead.snoozed_until and intent is Intent.NOT_NOW
            else None,
            "referral": referral,
        },
    )
    if lead.status is ContactStatus.OPTED_OUT:
        return [*done, "the opt-out stands (final)"]
    if intent is Intent.UNSUBSCRIBE:
        outcomes.opted_out(
            lead, StopReason.UNSUBSCRIBE, at=at, source="rep-correction", via="email", attribution=None
        )
        return [*done, "opted out and suppressed"]
    if intent is Intent.NOT_NOW and before != Intent.NOT_NOW.value:
        done.append(_snooze(lead, reading, at))
    elif intent in (Intent.WRONG_PERSON, Intent.NOT_INTERESTED):
        stops.stop_enrollments(lead.id, StopReason.REPLY)
    return done
