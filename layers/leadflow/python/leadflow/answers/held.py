"""Held mail: a probable answer that proves nothing waits for the lead's owner.

Mail that reads like a person's reply or unsubscribe but carries no proof of its sender
(nothing passed for its From domain, or SES flagged it as spam although it is in our thread)
neither acts nor vanishes. It is kept (`HELDMAIL#<mail id>` on the lead), the lead's cadence is
paused (its unsent touches move past `HOLD`, the out-of-office mechanism), and the owner gets
an alert with its words and two links:

- confirm: it acts as what it is, a reply (stop, account stop) or an unsubscribe (opt-out);
- dismiss: the cadence resumes from now (leadflow.cadence.lead_actions.resume).

The links are signed (keys.held_mail_token); the first decision wins, later clicks change
nothing. Undecided, the cadence goes on by itself once the hold ends: a forger can delay a
lead's cadence and make its owner look, never stop or suppress anyone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from urllib.parse import quote

from leadflow import clock, keys
from leadflow.answers import outcomes
from leadflow.config import settings
from leadflow.models import HELD_MAIL_ID, HeldMail, HeldMailStatus, Lead, StopReason
from leadflow.observability import logger
from leadflow.send import alerts
from leadflow.store import event_items, held_mail_items, lead_items

# How long held mail pauses the cadence when nobody decides (a sales week and a weekend).
HOLD = timedelta(days=10)


class Decision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"


def link(held: HeldMail, decision: Decision) -> str:
    """The signed page link the owner's alert carries for one decision."""
    token = quote(keys.held_mail_token(held.id))
    return f"{settings().public_url.rstrip('/')}/held-mail/{held.id}?token={token}&decision={decision.value}"


def hold(lead: Lead, held: HeldMail) -> bool:
    """Keep the mail, pause the lead's cadence and alert the owner; False for a redelivered mail.

    One alert per lead and day: a forger cannot flood the owner (later mail is held and on record).
    """
    from leadflow.cadence import lead_actions

    if not held_mail_items.put_held(held):
        return False
    lead_actions.pause(lead, held.paused_until.date())
    logger.info("inbound mail held for the owner", extra={"lead_id": lead.id, "why": held.why})
    if event_items.first_time(lead.id, f"held#{held.held_at.date().isoformat()}"):
        alerts.alert_owner(lead, alerts.AlertKind.HELD_MAIL, _alert_text(lead, held))
    return True


def _alert_text(lead: Lead, held: HeldMail) -> str:
    what = "asked to unsubscribe" if held.answer == "unsubscribe" else "replied"
    why = {
        "spam": "it answers our email, but it was flagged as spam when it arrived",
        "unproven": "nothing proves it comes from their mail system (no SPF, DKIM or DMARC pass for it)",
    }.get(held.why, held.why)
    confirmed = "opts them out" if held.answer == "unsubscribe" else "stops their cadence as a reply does"
    return (
        f"{outcomes.describe(lead)} may have {what}; {why}. Their cadence is paused until "
        f"{held.paused_until:%Y-%m-%d}; nothing else was done.\n\n"
        f"Subject: {held.subject or '(none)'}\n"
        f"{held.text[: outcomes.ALERT_TEXT_LIMIT] or '(no text of their own)'}\n\n"
        f"It is genuine ({confirmed}):\n{link(held, Decision.CONFIRM)}\n\n"
        f"It is not (the cadence resumes now):\n{link(held, Decision.DISMISS)}"
    )


def held_until(at: datetime) -> datetime:
    """The end of a hold starting at `at`: midnight UTC after HOLD."""
    return datetime.combine((at + HOLD).date(), time(0), tzinfo=at.tzinfo)


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ALREADY = "already"


def find(held_id: str, token: str | None) -> HeldMail | None:
    """The held mail a genuine link names, else None (malformed id, wrong token, unknown mail)."""
    parts = HELD_MAIL_ID.match(held_id or "")
    if not parts or not keys.valid_held_mail_token(held_id, token):
        return None
    return held_mail_items.get_held(parts["lead_id"], parts["mail_id"])


def decide(held: HeldMail, decision: Decision) -> Outcome:
    """Confirm (act as the answer) or dismiss (resume the cadence); the first decision wins."""
    lead = lead_items.get_lead(held.lead_id)
    if held.status is not HeldMailStatus.HELD or lead is None:
        return Outcome.ALREADY
    now = clock.now()
    if decision is Decision.DISMISS:
        if held_mail_items.decide(held.lead_id, held.mail_id, HeldMailStatus.DISMISSED, now) is None:
            return Outcome.ALREADY
        from leadflow.cadence import lead_actions

        lead_actions.resume(lead)
        logger.info("held mail dismissed", extra={"lead_id": lead.id})
        return Outcome.DISMISSED
    # Act first, then record the decision: a crash in between is healed by the next click
    # (both outcomes are idempotent per mail, dated when the mail came); once recorded, no click
    # acts again.
    at = held.held_at
    attribution = outcomes.attribute(
        lead.id, at, enrollment=held.enrollment, touch=held.touch, channel="email"
    )
    if held.answer == "unsubscribe":
        outcomes.opted_out(
            lead, StopReason.UNSUBSCRIBE, at=at, source="held-mail", via="email", attribution=attribution
        )
    else:
        outcomes.replied(
            lead,
            at=at,
            answer_id=held.mail_id,
            source="held-mail",
            via="email",
            text=held.text,
            attribution=attribution,
            subject=held.subject,
        )
    held_mail_items.decide(held.lead_id, held.mail_id, HeldMailStatus.CONFIRMED, now)
    logger.info("held mail confirmed", extra={"lead_id": lead.id, "answer": held.answer})
    return Outcome.CONFIRMED
