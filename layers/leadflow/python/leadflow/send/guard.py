"""Protect the sending domains: the reputation guard's pause, and daily caps with warm-up.

Before an automated email goes out, `admit_email` decides whether it may go now:
- Paused (bounces or complaints crossed a threshold): the touch moves to the lead's next allowed
  day, at its planned time of day, and every later touch shifts with it. Nothing is dropped; SMS
  and rep tasks go on; `leadflow sending resume` lifts the pause and the held touches go out at
  their next slots, in the order they were due.
- Over the sending domain's cap for the UTC day (its warm-up ramp's cap while that lasts): a
  first touch reserves the first later day with room, in the order leads arrive, at a slot spread
  over the lead's window by its number that day; a follow-up only moves to the next day that is
  not yet full and tries again then. Reserved first touches are counted before any follow-up of
  their day can ask: a first touch never waits behind a follow-up.

The reputation guard counts every automated email admitted, in the same write as the cap (one
counter per sending domain and UTC day: sending_items.take_slot), in blocks of a tenth of the
window; SES bounce (permanent) and complaint events count against the block of the domain's sends
going out when they arrive. The rates over the last `window_sends` sends, once there are
`min_sends`, are compared with the thresholds.

What only a held touch or a pause needs (the planner, the enrollments, ops alerts) is imported where
it is used: a cold start that admits an email, or reads the guard's status (the report), does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from leadflow import clock
from leadflow.config import operator_config
from leadflow.observability import logger, metrics
from leadflow.operator_config import Reputation
from leadflow.store import sending_items

if TYPE_CHECKING:
    from leadflow.cadence.model import Cadence
    from leadflow.models import Enrollment, Lead

PAUSE_SUBJECT = "leadflow paused automated email: bounce or complaint rate over the threshold"


@dataclass(frozen=True)
class Rates:
    sends: int
    bounces: int
    complaints: int
    reputation: Reputation

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.sends if self.sends else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sends if self.sends else 0.0

    @property
    def enough(self) -> bool:
        return self.sends >= self.reputation.min_sends

    @property
    def tripped(self) -> str | None:
        """Which threshold the rates reached, or None."""
        if not self.enough:
            return None
        if self.bounce_rate >= self.reputation.max_bounce_rate:
            return "bounce_rate"
        if self.complaint_rate >= self.reputation.max_complaint_rate:
            return "complaint_rate"
        return None


def _bucket_size(reputation: Reputation) -> int:
    """Sends are counted in blocks of a tenth of the window: the window rolls block by block."""
    return max(1, reputation.window_sends // 10)


def sending_domain(lead: Lead) -> str:
    """The domain the lead's email goes out from: its owning rep's."""
    from leadflow.send import messages  # the report reads the guard's status, and renders no touch

    return str(messages.owning_rep(lead, operator_config()).email).rpartition("@")[2].lower()


def _domains() -> list[str]:
    """Every domain automated email goes out from (the reps')."""
    return sorted({str(rep.email).rpartition("@")[2].lower() for rep in operator_config().reps})


def rates() -> Rates:
    """Permanent bounces and complaints over the last `window_sends` sends (block by block)."""
    reputation = operator_config().sending.reputation
    size = _bucket_size(reputation)
    sends = bounces = complaints = 0
    for block in sending_items.recent_blocks(_domains(), size, reputation.window_sends):
        if sends >= reputation.window_sends:
            break
        sends += block.sends
        bounces += block.bounces
        complaints += block.complaints
    return Rates(sends, bounces, complaints, reputation)


def note_outcome(kind: str, event_id: str, now: datetime, lead: Lead) -> Rates | None:
    """Count a permanent bounce (`bounces`) or complaint (`complaints`) of an email to `lead` once
    per event; pause when the rates reach a threshold. Returns the rates when this event tripped
    the guard."""
    reputation = operator_config().sending.reputation
    if not sending_items.first_sighting(event_id, now):
        return None
    sending_items.count_outcome(
        kind, sending_domain(lead), now.astimezone(UTC).date(), _bucket_size(reputation)
    )
    current = rates()
    reason = current.tripped
    if reason is None:
        return None
    details = {
        "bounce_rate": f"{current.bounce_rate:.4f}",
        "complaint_rate": f"{current.complaint_rate:.4f}",
        "window_sends": str(current.sends),
    }
    if not sending_items.set_pause(now, reason, details):
        return None  # already paused: one alert per pause
    metrics.add_metric(name="SendingPaused", unit="Count", value=1)
    logger.warning("automated email paused", extra={"reason": reason, **details})
    from leadflow.send import alerts

    alerts.alert_ops(
        PAUSE_SUBJECT,
        f"Automated email is paused: over the last {current.sends} sends the permanent bounce rate is "
        f"{current.bounce_rate:.2%} (threshold {reputation.max_bounce_rate:.2%}) and the complaint rate "
        f"{current.complaint_rate:.3%} (threshold {reputation.max_complaint_rate:.3%}).\n\n"
        "Email touches wait and shift to later slots; nothing is dropped. SMS and rep tasks go on.\n"
        "Find the cause (a bad list, a form without confirmation, a broken template), then run\n"
        "`leadflow sending resume`.",
        {"kind": "sending_paused", "reason": reason},
    )
    return current


def resume(now: datetime, by: str) -> dict[str, object] | None:
    """Lift the pause; the pause lifted, or None when sending was not paused."""
    lifted = sending_items.lift_pause(now, by)
    if lifted is not None:
        logger.info("automated email resumed", extra={"by": by})
    return lifted


def admit_email(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, number: int, now: datetime
) -> datetime | None:
    """None: the email may go now (counted against the cap). Else the time it moved to (stored)."""
    if number == 1:
        paused, reserved = sending_items.pause_and_reservation(lead.id, enrollment.number, number)
    else:  # only a first touch reserves a later day's slot (_later_day): a follow-up has none to read
        paused, reserved = sending_items.pause(), None
    if paused is not None:
        due = _later_day(lead, cadence, enrollment, number, now, None)
        metrics.add_metric(name="EmailHeldPaused", unit="Count", value=1)
        return _move(lead, cadence, enrollment, number, due, "paused", now)
    sending = operator_config().sending
    domain = sending_domain(lead)
    today = now.astimezone(UTC).date()
    if reserved is not None and reserved[0] == domain and reserved[1] <= today:
        return None  # its slot was counted against its day's cap when it was reserved
    if sending_items.take_slot(domain, today, sending.cap(domain, today)) is not None:
        return None  # counted: against the cap, if any, and in the reputation window
    metrics.add_metric(name="EmailHeldOverCap", unit="Count", value=1)
    due = _later_day(lead, cadence, enrollment, number, now, domain)
    return _move(lead, cadence, enrollment, number, due, "over_cap", now)


def _later_day(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, number: int, now: datetime, domain: str | None
) -> datetime:
    """The touch's slot on the first later allowed day of the lead (with room under the cap, when a
    domain is given; a first touch reserves its slot there)."""
    from leadflow.cadence.enrollments import busy_days
    from leadflow.cadence.schedule import locale_for, open_days

    sending = operator_config().sending
    touch = cadence.touch(number)
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    tz = locale.tz
    planned = enrollment.schedule[number - 1].astimezone(tz)
    own_days = {moment.astimezone(tz).date() for moment in enrollment.schedule[number - 1 :]}
    taken = set(busy_days(lead.id, locale) - own_days)
    today = now.astimezone(UTC).date()
    last: datetime | None = None
    for day, opens, closes in open_days(touch, now.astimezone(tz).date(), cadence.window, locale, taken):
        at = planned.time() if opens.time() <= planned.time() < closes.time() else opens.time()
        slot = datetime.combine(day, at, tzinfo=tz)
        last = slot
        cap_day = opens.astimezone(UTC).date()
        if domain is None:
            return slot
        if cap_day <= today:
            continue
        cap = sending.cap(domain, cap_day)
        if cap is None:
            return slot
        if number == 1:
            taken_slot = sending_items.take_slot(domain, cap_day, cap)
            if taken_slot is None:
                continue
            sending_items.reserve(lead.id, enrollment.number, number, domain, cap_day)
            # Spread the day's reserved first touches over the window, in the order they reserved.
            spread = opens + (closes - opens) * (taken_slot - 1) / cap
            return max(opens, min(closes - timedelta(minutes=1), spread))
        if sending_items.sent_on(domain, cap_day) < cap:
            return slot
    if last is None:
        raise ValueError(f"touch {touch.name}: no allowed day ahead in the send window")
    return last


def _move(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, number: int, due: datetime, why: str, now: datetime
) -> datetime:
    """Store the schedule with touch `number` at `due` and every later touch shifted with it."""
    from leadflow.cadence.reschedule import replanned
    from leadflow.models import HeldTouch
    from leadflow.store import enrollment_items

    index = number - 1
    moved = replanned(lead, enrollment, cadence, index, due)
    # Held since the first time the guard moved this touch (a follow-up over the cap moves daily).
    previous = enrollment.held
    since = previous.since if previous is not None and previous.touch == number else now
    held = HeldTouch(touch=number, why=why, since=since)
    enrollment_items.move_schedule(lead.id, enrollment.number, moved, number, held)
    logger.info(
        "email touch held",
        extra={"lead_id": lead.id, "touch": number, "why": why, "until": clock.iso(moved[index])},
    )
    return moved[index]


def status(now: datetime) -> dict[str, object]:
    """The guard at a glance: the pause, the rates against the thresholds, today's caps per domain."""
    today = now.astimezone(UTC).date()
    sending = operator_config().sending
    return {
        **reputation_status(),
        "today": {
            domain: {"cap": sending.cap(domain, today), "sent": sending_items.sent_on(domain, today)}
            for domain in _domains()
        },
    }


def reputation_status() -> dict[str, object]:
    """`status` without today's caps (a read per sending domain): the pause and the rates against the
    thresholds, what the weekly report shows."""
    current = rates()
    reputation = current.reputation
    paused = sending_items.pause()
    return {
        "paused": paused is not None,
        "paused_since": paused.get("at") if paused else None,
        "pause_reason": paused.get("reason") if paused else None,
        "window_sends": current.sends,
        "bounces": current.bounces,
        "complaints": current.complaints,
        "bounce_rate": round(current.bounce_rate, 6),
        "complaint_rate": round(current.complaint_rate, 6),
        "max_bounce_rate": reputation.max_bounce_rate,
        "max_complaint_rate": reputation.max_complaint_rate,
        "min_sends": reputation.min_sends,
    }
