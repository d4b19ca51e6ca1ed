"""Abuse limits on public posts: how often one source IP and one inbox may post, and how many
automated first touches one inbox or phone number gets a day, across leads.

Addresses, numbers and IPs are counted under their keyed hash (keys.email_key), never in clear;
the counters expire by TTL. Every refusal is answered with the same 202 as a success (no oracle)
and counted in metrics by the route (`Posts` by `outcome`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadflow import fields, keys
from leadflow.config import operator_config
from leadflow.models import Lead, RequestOrigin
from leadflow.store import limit_items

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _day(now: datetime) -> tuple[str, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%d"), start + DAY


def _hour(now: datetime) -> tuple[str, datetime]:
    start = now.replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H"), start + HOUR


def refused_post(email: str, origin: RequestOrigin | None, now: datetime) -> str | None:
    """Why a public post is refused ("ip_rate" or "inbox_rate"), or None; counts it when taken."""
    limits = operator_config().abuse
    ip = origin.source_ip if origin else None
    if ip:
        window, ends = _hour(now)
        if not limit_items.take("IP", keys.email_key(ip), window, limits.posts_per_ip_per_hour, ends):
            return "ip_rate"
    window, ends = _day(now)
    inbox_key = keys.email_key(fields.inbox(email))
    if not limit_items.take("POSTS", inbox_key, window, limits.posts_per_inbox_per_day, ends):
        return "inbox_rate"
    return None


def take_first_touch(lead: Lead, now: datetime) -> bool:
    """Take today's first-touch slot of the lead's inbox and phone; False when either is used up.

    A slot belongs to the exact address (its email key): concurrent posts of one address share it.
    The inbox is taken first: a refused phone still uses the inbox's slot, on purpose (a bomber
    rotating numbers on one inbox must not get more mail for it).
    """
    limits = operator_config().abuse
    window, ends = _day(now)
    holder = keys.email_key(lead.email)
    inbox_key = keys.email_key(fields.inbox(lead.email))
    per_inbox = limits.first_touches_per_inbox_per_day
    if not limit_items.take_for("FIRST_TOUCH_INBOX", inbox_key, window, per_inbox, ends, holder):
        return False
    if lead.phone:
        phone_key = keys.email_key(lead.phone)
        per_phone = limits.first_touches_per_phone_per_day
        return limit_items.take_for("FIRST_TOUCH_PHONE", phone_key, window, per_phone, ends, holder)
    return True
