"""Meeting-booked webhooks: Calendly `invitee.created`, Cal.com `BOOKING_CREATED`, and a generic shape.

Every delivery is authenticated before anything is read from it: an HMAC-SHA256 over the raw
body with a key from Secrets Manager, and a signed timestamp no older than five minutes, so a
captured request cannot be replayed later.

- Calendly and the generic shape: `Calendly-Webhook-Signature` or `X-Leadflow-Signature`
  `t=<unix seconds>,v1=<hex hmac of "<t>.<raw body>">` (Calendly's scheme).
- Cal.com: `X-Cal-Signature-256: <hex hmac of the raw body>`; the timestamp is the body's own
  signed `createdAt`.

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
from leadflow.models import Lead, MeetingStatus
from leadflow.observability import logger
from leadflow.store import lead_items

TOLERANCE = timedelta(minutes=5)
BookingKind = Literal["booked", "rescheduled", "canceled", "no_show"]
CALCOM_KINDS: dict[str, BookingKind] = {
    "BOOKING_CREATED": "booked",
    "BOOKING_RESCHEDULED": "rescheduled",
    "BOOKING_CANCELLED": "canceled",
    "BOOKING_NO_SHOW_UPDATED": "no_show",
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
        try:
            created = clock.parse_iso(str(json.loads(raw_body)["createdAt"]))
        except (ValueError, KeyError, TypeError) as error:
            raise Unauthenticated(f"{CALCOM_HEADER}: no signed createdAt") from error
        if not _fresh(created, now):
            raise Unauthenticated(f"{CALCOM_HEADER}: stale createdAt")
        return
    raise Unauthenticated("no signature header")


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
                # A reschedule's first half: the invitee.created for the new time that follows moves it.
                raise NotABooking("cancelled to be rescheduled")
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
            )
        if event == "invitee_no_show.created":  # Calendly: names the invitee, not the address
            return Booking(provider="calendly", kind="no_show", booking_id=str(payload["invitee"]))
        trigger = document.get("triggerEvent")
        if trigger in CALCOM_KINDS:  # Cal.com
            attendees = payload.get("attendees") or []
            if trigger == "BOOKING_NO_SHOW_UPDATED" and not any(a.get("noShow") for a in attendees):
                raise NotABooking("no-show cleared")
            return Booking(
                provider="cal.com",
                kind=CALCOM_KINDS[trigger],
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


def booking_key(booking_id: str) -> str:
    """The provider's booking id, hashed: Calendly's invitee URI may be all a no-show names."""
    return hashlib.sha256(booking_id.encode()).hexdigest()[:16]


def _lead_of(booking: Booking) -> Lead | None:
    lead_id = lead_items.lead_id_for_email(keys.email_key(booking.email)) if booking.email else None
    if lead_id is None:
        found = lead_items.leads_by_contact("BOOKING", booking_key(booking.booking_id))
        lead_id = found[-1] if found else None
    return lead_items.get_lead(lead_id) if lead_id else None


def handle(raw_body: bytes) -> str:
    """Act on an authenticated delivery. Returns meeting_booked, meeting_moved, meeting_canceled,
    no_show, no_meeting (nothing of ours to change), ignored, unknown_lead or not_json."""
    try:
        document = json.loads(raw_body)
    except ValueError:
        return "not_json"
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
