"""Meeting webhooks: Calendly, Cal.com and a generic shape, every documented event.

- Calendly: `invitee.created` (a reschedule's new invitee names `old_invitee`), `invitee.canceled`
  (with `rescheduled: true` and `new_invitee` it is a reschedule's first half: the new invitee is
  indexed to the lead and the created event that follows moves the meeting),
  `invitee_no_show.created` / `.deleted` (the invitee named by URI, as a string, an object, or the
  invitee resource itself with `no_show` inside), `routing_form_submission.created` (recorded on
  the lead its email answer names). Matched by the invitee URI (indexed when first seen) or email.
- Cal.com: `BOOKING_CREATED`, `BOOKING_RESCHEDULED`, `BOOKING_CANCELLED`, `BOOKING_NO_SHOW_UPDATED`
  (marked or cleared), `MEETING_ENDED` (counted: the recap already runs on the booked end time).

Every delivery is authenticated before anything is read from it: an HMAC-SHA256 over the raw
body with a key from Secrets Manager.

- Calendly and the generic shape: `Calendly-Webhook-Signature` or `X-Leadflow-Signature`
  `t=<unix seconds>,v1=<hex hmac of "<t>.<raw body>">` (Calendly's scheme), at most five minutes old.
- Cal.com: `X-Cal-Signature-256: <hex hmac of the raw body>`, nothing else signed and no delivery id
  header, and Cal.com retries a failed delivery later with the same body. So the delivery's id is
  the SHA-256 of the signed body (which carries its `createdAt`): the first delivery is applied and
  remembered (a conditional write, kept CALCOM_REMEMBER); a repeat is acknowledged and changes
  nothing; a body whose `createdAt` is older than CALCOM_MAX_AGE (past what the memory covers) is
  acknowledged and not applied.

The secret may hold several whitespace-separated keys (one per provider, or old and new during
a rotation); a signature made with any of them is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from leadflow import aws, clock, keys
from leadflow.answers import outcomes
from leadflow.config import settings
from leadflow.models import ContactStatus, EngagementKind, Lead, MeetingStatus, RunStatus, StopReason
from leadflow.observability import logger
from leadflow.store import enrollment_items, lead_items, notification_items

TOLERANCE = timedelta(minutes=5)
# Cal.com retries a failed delivery for a while (its own schedule, hours at most); a delivery created
# three days ago is no retry. Ids are remembered twice that long, so every accepted age is covered.
CALCOM_MAX_AGE = timedelta(days=3)
CALCOM_REMEMBER = 2 * CALCOM_MAX_AGE
BookingKind = Literal[
    "booked", "rescheduled", "canceled", "no_show", "no_show_cleared", "ended", "routing_form", "moving"
]
CALCOM_KINDS: dict[str, BookingKind] = {
    "BOOKING_CREATED": "booked",
    "BOOKING_RESCHEDULED": "rescheduled",
    "BOOKING_CANCELLED": "canceled",
    "BOOKING_NO_SHOW_UPDATED": "no_show",
    "MEETING_ENDED": "ended",
}
GENERIC_KINDS: dict[str, BookingKind] = {
    "meeting.booked": "booked",
    "meeting.rescheduled": "rescheduled",
    "meeting.canceled": "canceled",
    "meeting.no_show": "no_show",
}
TIMESTAMPED_HEADERS = ("calendly-webhook-signature", "x-leadflow-signature")
CALCOM_HEADER = "x-cal-signature-256"


class Unauthenticated(Exception):
    """Missing, malformed, wrong or stale signature: answer 401 and change nothing."""


class Booking(BaseModel):
    """What a delivery tells us about a booking, whatever the provider."""

    provider: str
    # booked, rescheduled (new times for a booking), canceled or no_show.
    kind: BookingKind = "booked"
    booking_id: str
    # A no-show may name only the booking (Calendly's invitee_no_show.created).
    email: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    event_name: str | None = None
    # When the booking was made, as the provider says (stable across redeliveries).
    booked_at: datetime | None = None
    # Calendly's other invitee URI of a reschedule pair: old_invitee on the new one, new_invitee on
    # the cancelled one. Either finds the lead when the address changed.
    related_id: str | None = None


class NotABooking(Exception):
    """An authenticated delivery that is about no booking (a reschedule's first half, ping, unknown shape)."""


@cache
def webhook_keys() -> tuple[bytes, ...]:
    arn = settings().meeting_webhook_secret_arn
    if not arn:
        return ()
    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)
    return tuple(key.encode() for key in str(secret["SecretString"]).split())


def _matches(message: bytes, signature: str, keys: tuple[bytes, ...]) -> bool:
    signature = signature.strip().lower()
    return any(
        hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), signature) for key in keys
    )


def _fresh(moment: datetime, now: datetime) -> bool:
    return abs(now - moment) <= TOLERANCE


def verify(raw_body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> None:
    """Raise Unauthenticated unless the body carries a valid, fresh signature."""
    keys = webhook_keys()
    if not keys:
        raise Unauthenticated("no webhook secret configured")
    now = now or clock.now()
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in TIMESTAMPED_HEADERS:
        if name in lowered:
            fields = dict(part.strip().partition("=")[::2] for part in lowered[name].split(","))
            timestamp, signature = fields.get("t", ""), fields.get("v1", "")
            if not timestamp.isdigit() or not signature:
                raise Unauthenticated(f"{name}: malformed")
            if not _matches(timestamp.encode() + b"." + raw_body, signature, keys):
                raise Unauthenticated(f"{name}: wrong signature")
            if not _fresh(datetime.fromtimestamp(int(timestamp), now.tzinfo), now):
                raise Unauthenticated(f"{name}: stale timestamp")
            return
    if CALCOM_HEADER in lowered:
        if not _matches(raw_body, lowered[CALCOM_HEADER], keys):
            raise Unauthenticated(f"{CALCOM_HEADER}: wrong signature")
        return
    raise Unauthenticated("no signature header")


def calcom_delivery(raw_body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> str | None:
    """For an authenticated Cal.com delivery: None to apply it (now remembered), or why not
    (`repeat`: this delivery was applied before; `too_old`: created before CALCOM_MAX_AGE)."""
    if CALCOM_HEADER not in {name.lower() for name in headers}:
        return None
    now = now or clock.now()
    try:
        created = _iso(json.loads(raw_body).get("createdAt"))
    except (ValueError, AttributeError):
        created = None
    if created is not None and now - created > CALCOM_MAX_AGE:
        return "too_old"
    delivery = hashlib.sha256(raw_body).hexdigest()[:32]
    if not notification_items.remember("cal.com", delivery, now, now + CALCOM_REMEMBER):
        return "repeat"
    return None


def _iso(value: Any) -> datetime | None:
    try:
        return clock.parse_iso(str(value)) if value else None
    except ValueError:
        return None


def parse_booking(document: Any) -> Booking:
    """The booking in an authenticated delivery; NotABooking for anything else."""
    if not isinstance(document, dict):
        raise NotABooking("not a JSON object")
    payload: dict[str, Any] = document["payload"] if isinstance(document.get("payload"), dict) else {}
    try:
        event = document.get("event")
        if event in ("invitee.created", "invitee.canceled"):  # Calendly
            scheduled = payload.get("scheduled_event") or {}
            if event == "invitee.canceled" and payload.get("rescheduled"):
                # A reschedule's first half: the invitee.created for the new time that follows moves
                # it. The new invitee's URI is kept for the lead now, in case its address differs.
                return Booking(
                    provider="calendly",
                    kind="moving",
                    booking_id=str(payload["uri"]),
                    email=payload.get("email"),
                    related_id=payload.get("new_invitee"),
                )
            kind: BookingKind = (
                "canceled"
                if event == "invitee.canceled"
                else "rescheduled"
                if payload.get("old_invitee")
                else "booked"
            )
            return Booking(
                provider="calendly",
                kind=kind,
                # A reschedule is a new invitee (old_invitee names the one it replaces): follow the new one.
                booking_id=str(payload["uri"]),
                email=str(payload["email"]),
                start_time=_iso(scheduled.get("start_time")),
                end_time=_iso(scheduled.get("end_time")),
                event_name=scheduled.get("name"),
                booked_at=_iso(payload.get("created_at") or document.get("created_at")),
                related_id=payload.get("old_invitee"),
            )
        if event in ("invitee_no_show.created", "invitee_no_show.deleted"):  # Calendly
            uri, email = _calendly_invitee(payload)
            return Booking(
                provider="calendly",
                kind="no_show" if event.endswith(".created") else "no_show_cleared",
                booking_id=uri,
                email=email,
            )
        if event == "routing_form_submission.created":  # Calendly: before any booking
            return Booking(
                provider="calendly",
                kind="routing_form",
                booking_id=str(payload["uri"]),
                email=_answered_email(payload.get("questions_and_answers") or []),
                booked_at=_iso(payload.get("created_at")),
            )
        trigger = document.get("triggerEvent")
        if trigger in CALCOM_KINDS:  # Cal.com
            attendees = payload.get("attendees") or []
            kind = CALCOM_KINDS[trigger]
            if trigger == "BOOKING_NO_SHOW_UPDATED" and not any(a.get("noShow") for a in attendees):
                kind = "no_show_cleared"
            return Booking(
                provider="cal.com",
                kind=kind,
                # A reschedule gets a uid of its own (rescheduleUid names the one it replaces).
                booking_id=str(payload.get("uid") or payload.get("bookingUid") or payload["bookingId"]),
                email=str(attendees[0]["email"]),
                start_time=_iso(payload.get("startTime")),
                end_time=_iso(payload.get("endTime")),
                event_name=payload.get("title") or payload.get("type"),
                booked_at=_iso(document.get("createdAt")),
            )
        if event in GENERIC_KINDS:  # the generic shape
            return Booking(
                provider=str(document.get("provider") or "generic"),
                kind=GENERIC_KINDS[event],
                booking_id=str(document["id"]),
                email=str(document["email"]) if document.get("email") else None,
                start_time=_iso(document.get("start_time")),
                end_time=_iso(document.get("end_time")),
                event_name=document.get("name"),
                booked_at=_iso(document.get("booked_at")),
            )
    except (KeyError, IndexError, TypeError, ValidationError) as error:
        raise NotABooking(f"incomplete booking: {error}") from error
    raise NotABooking("not a booking event")


def _calendly_invitee(payload: dict[str, Any]) -> tuple[str, str | None]:
    """The invitee a Calendly no-show is about: `invitee` as a URI or an object, or the payload is the
    invitee resource itself (its `uri` under /invitees/, with `no_show` inside)."""
    invitee = payload.get("invitee")
    if isinstance(invitee, dict):
        return str(invitee["uri"]), invitee.get("email")
    if isinstance(invitee, str) and invitee:
        return invitee, payload.get("email")
    if "/invitees/" in str(payload.get("uri", "")):
        return str(payload["uri"]), payload.get("email")
    raise KeyError("invitee")


def _answered_email(answers: list[Any]) -> str | None:
    """A routing form's email answer (Calendly's questions_and_answers: question and answer text)."""
    for item in answers:
        answer = str(item.get("answer") or "").strip() if isinstance(item, dict) else ""
        if "@" in answer and " " not in answer and "email" in str(item.get("question", "")).lower():
            return answer
    return None


def booking_key(booking_id: str) -> str:
    """The provider's booking id, hashed: Calendly's invitee URI may be all a no-show names."""
    return hashlib.sha256(booking_id.encode()).hexdigest()[:16]


def _lead_of(booking: Booking) -> Lead | None:
    """By the invitee (booking) URI first: it names one person, whatever address they typed; then
    the other half of a reschedule pair; then the email."""
    lead_id = None
    for booking_id in filter(None, (booking.booking_id, booking.related_id)):
        found = lead_items.leads_by_contact("BOOKING", booking_key(booking_id))
        if found:
            lead_id = found[-1]
            break
    if lead_id is None and booking.email:
        lead_id = lead_items.lead_id_for_email(keys.email_key(booking.email))
    return lead_items.get_lead(lead_id) if lead_id else None


def handle(raw_body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Act on an authenticated delivery. Returns meeting_booked, meeting_moved, meeting_canceled,
    no_show, no_show_cleared, meeting_ended, routing_form, reschedule_started, no_meeting (nothing of
    ours to change), ignored, unknown_lead, repeat, too_old or not_json."""
    try:
        document = json.loads(raw_body)
    except ValueError:
        return "not_json"
    refused = calcom_delivery(raw_body, headers or {})
    if refused:
        logger.info("Cal.com delivery not applied", extra={"why": refused})
        return refused
    try:
        booking = parse_booking(document)
    except NotABooking as error:
        logger.info("meeting webhook ignored", extra={"why": str(error)})
        return "ignored"
    lead = _lead_of(booking)
    if lead is None:
        logger.info("meeting webhook about someone who is not a lead", extra={"provider": booking.provider})
        return "unknown_lead"
    now = clock.now()
    key = booking_key(booking.booking_id)
    if booking.kind == "moving":
        if booking.related_id:
            lead_items.index_contact("BOOKING", booking_key(booking.related_id), lead.id)
        return "reschedule_started"
    if booking.kind == "routing_form":
        outcomes.record(
            lead.id,
            EngagementKind.ROUTING_FORM,
            booking.booked_at or now,
            once=True,
            event_id=key,
            details={"provider": booking.provider},
        )
        return "routing_form"
    if booking.kind == "ended":
        return "meeting_ended"  # the recap already waits for the booked end time
    if booking.kind == "no_show_cleared":
        return "no_show_cleared" if _no_show_cleared(lead, key, booking.provider) else "no_meeting"
    if booking.kind == "booked" or (booking.kind == "rescheduled" and booking.start_time is None):
        outcomes.meeting_booked(
            lead,
            at=min(booking.booked_at, now) if booking.booked_at else now,
            booking_id=key,
            provider=booking.provider,
            starts_at=booking.start_time,
            ends_at=booking.end_time,
        )
        return "meeting_booked"
    if booking.kind == "rescheduled":
        assert booking.start_time is not None
        moved = outcomes.meeting_moved(
            lead,
            booking_id=key,
            provider=booking.provider,
            starts_at=booking.start_time,
            ends_at=booking.end_time,
        )
        return "meeting_moved" if moved else "no_meeting"
    status = MeetingStatus.NO_SHOW if booking.kind == "no_show" else MeetingStatus.CANCELED
    missed = outcomes.meeting_missed(lead, booking_id=key, provider=booking.provider, status=status)
    return ("no_show" if booking.kind == "no_show" else "meeting_canceled") if missed else "no_meeting"


def _no_show_cleared(lead: Lead, booking_id: str, provider: str) -> bool:
    """A no-show unmarked (marked by mistake): the rebook cadence about that meeting stops, the lead is
    back to meeting_booked, and the owner is told (the recap is theirs to send). True when it acted."""
    from leadflow.send import alerts

    rebook = next(
        (
            enrollment
            for enrollment in enrollment_items.enrollments(lead.id)
            if enrollment.run_status is RunStatus.RUNNING
            and enrollment.meeting is not None
            and enrollment.meeting.status is MeetingStatus.NO_SHOW
            and enrollment.meeting.booking == booking_id
        ),
        None,
    )
    if rebook is None:
        return False
    outcomes._stop_one(rebook, StopReason.MEETING_BOOKED)
    now = clock.now()
    lead_items.set_contact_status(lead.id, ContactStatus.MEETING_BOOKED, "no_show_cleared", now)
    outcomes.record(
        lead.id, EngagementKind.MEETING_BOOKED, now, details={"provider": provider, "no_show": "cleared"}
    )
    alerts.alert_owner(
        lead,
        alerts.AlertKind.MEETING_BOOKED,
        f"The no-show of {outcomes.describe(lead)} was unmarked ({provider}): the rebook cadence is "
        "stopped. The recap is yours to send.",
    )
    return True
