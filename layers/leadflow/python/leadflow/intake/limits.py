"""Abuse limits on public posts: how often one source IP and one inbox may post, and how many
automated first touches one inbox or phone number gets a day, across leads.

Addresses, numbers and IPs are counted under their keyed hash (keys.email_key), never in clear;
the counters expire by TTL. Every refusal is answered with the same 202 as a success (no oracle)
and counted in metrics by the route (`Posts` by `outcome`); a post over a post limit is held, not
dropped (intake.held).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from leadflow import fields, keys
from leadflow.config import operator_config
from leadflow.models import Lead, RequestOrigin
from leadflow.observability import count, logger
from leadflow.store import limit_items

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _day(now: datetime) -> tuple[str, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%d"), start + DAY


def hour_window(now: datetime) -> tuple[str, datetime]:
    start = now.replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H"), start + HOUR


class Refusal(NamedTuple):
    """Which limit a post is over ("ip_rate" or "inbox_rate") and its burst: the counter's kind, a
    prefix of its keyed hash and its window (no address, no IP)."""

    limit: Literal["ip_rate", "inbox_rate"]
    burst: str


def refused_post(
    email: str, origin: RequestOrigin | None, now: datetime, *, human: bool = False
) -> Refusal | None:
    """The limit a public post is over, or None; counts it when taken.

    `human`: the provider verified the post's captcha. Such a post over the per-IP limit is taken
    when its email domain is new in the IP's hour (`human_burst`).
    """
    limits = operator_config().abuse
    ip = origin.source_ip if origin else None
    if ip:
        window, ends = hour_window(now)
        ip_key = keys.email_key(ip)
        domain = domain_key(email)
        if not limit_items.take("IP", ip_key, window, limits.posts_per_ip_per_hour, ends, domain) and not (
            human and _human_burst(ip_key, window, domain, limits.posts_per_ip_per_hour, ends)
        ):
            return Refusal("ip_rate", f"ip:{ip_key[:8]}:{window}")
    window, ends = _day(now)
    inbox_key = keys.email_key(fields.inbox(email))
    if not limit_items.take("POSTS", inbox_key, window, limits.posts_per_inbox_per_day, ends):
        return Refusal("inbox_rate", f"inbox:{inbox_key[:8]}:{window}")
    return None


def domain_key(email: str) -> str:
    """A short keyed hash of the address's domain (64 bits: no collision among one hour's posts)."""
    return keys.email_key(fields.inbox(email).rpartition("@")[2])[:16]


def _human_burst(ip_key: str, window: str, domain: str, limit: int, ends: datetime) -> bool:
    """The rule that lets a burst from one IP past its limit without an operator (issue 22): the
    post's captcha was verified (the caller's `human`), its domain is not yet among the domains
    the IP posted from this hour, and those are fewer than twice the limit. Colleagues of one
    company share a domain, so an office NAT is held for an operator; a bot must solve a captcha
    per post and bring a new domain each time, and is held again at twice the limit's domains.
    """
    if not limit_items.take_new_member("IP", ip_key, window, domain, 2 * limit, ends):
        return False
    count("HeldReleased", by="human_burst")
    logger.info("post over the per-IP limit taken: verified captcha, new domain in the burst")
    return True


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
