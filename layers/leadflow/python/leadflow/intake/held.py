"""Held posts (issue 22): a public post over the per-IP or per-inbox post limit is never dropped.

It is stored whole as a held post (not a lead, not enrolled), counted (metric `HeldPosts` by
`limit`, and `Posts` with outcome `held`), flagged by `leadflow audit` until it is released or
dismissed, shown in the local console, and announced to ops: one alert per limit and UTC hour,
whatever the number of posts or bursts in it (`leadflow held list` shows them all).

`leadflow held release` enrolls a held post exactly as the post would have been: `accept` with the
post's own submission and origin, only the post limits skipped (the first-touch limit still
applies). A post over the per-IP limit whose burst is judged human is taken at once instead
(intake.limits, `_human_burst`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from leadflow import keys
from leadflow.config import operator_config
from leadflow.intake.limits import Refusal, hour_window
from leadflow.models import HeldPost, LeadSubmission, RequestOrigin, SubmissionOutcome
from leadflow.observability import count, logger
from leadflow.send.alerts import alert_ops
from leadflow.store import held_items, lead_items, suppression_items

# A release claims its post for this long (one `accept`); a crashed release is retried after it.
RELEASE_LEASE = timedelta(minutes=5)
LIMIT_NAMES = {"ip_rate": "per-IP limit", "inbox_rate": "per-inbox limit"}


class Held(NamedTuple):
    email_key: str
    post: HeldPost

    @property
    def id(self) -> str:
        return self.post.submission_id


def hold(
    submission: LeadSubmission,
    origin: RequestOrigin | None,
    submission_id: str,
    refusal: Refusal,
    now: datetime,
) -> SubmissionOutcome:
    """Store a post over a limit as held; alert ops on the first of the limit's hour."""
    email_key = keys.email_key(submission.email)
    if suppression_items.suppression(email_key) and lead_items.lead_id_for_email(email_key) is None:
        # As for any post: a suppressed address without a lead (an erased person) is never stored.
        return SubmissionOutcome.SUPPRESSED
    post = HeldPost(
        submission_id=submission_id,
        received_at=now,
        limit=refusal.limit,
        burst=refusal.burst,
        submission=submission,
        origin=origin or RequestOrigin(),
    )
    held_items.hold(email_key, post)
    count("HeldPosts", limit=refusal.limit)
    logger.info("post held by an abuse limit", extra={"limit": refusal.limit, "burst": refusal.burst})
    _alert_once(refusal, now)
    return SubmissionOutcome.HELD


def _alert_once(refusal: Refusal, now: datetime) -> None:
    """One ops alert per limit and UTC hour: the first held post of the hour claims it."""
    window, ends = hour_window(now)
    if not held_items.claim_alert(refusal.limit, window, ends):
        return
    limits = operator_config().abuse
    allowance = {
        "ip_rate": f"{limits.posts_per_ip_per_hour} an hour",
        "inbox_rate": f"{limits.posts_per_inbox_per_day} a day",
    }[refusal.limit]
    name = LIMIT_NAMES[refusal.limit]
    detail = (
        f"Form posts over the {name} ({allowance}) are being held since {now:%Y-%m-%d %H:%M} UTC "
        f"(first burst: {refusal.burst}). They are stored, not enrolled, and the poster got the usual "
        "answer. An office or event behind one IP looks like this; so does a bot.\n\n"
        "Review: leadflow held list\n"
        "Enroll them as posted: leadflow held release --all (or IDs, or --burst)\n"
        "Discard: leadflow held dismiss ID...\n\n"
        "leadflow audit flags held posts until then. This is the only alert for this limit this hour."
    )
    try:
        alert_ops(f"Form posts held: over the {name}", detail, {"kind": "posts_held", "limit": refusal.limit})
    except (BotoCoreError, ClientError):
        # The post is stored either way; give the hour's alert back so the next held post tries again.
        logger.exception("ops alert about held posts failed", extra={"limit": refusal.limit})
        held_items.give_back_alert(refusal.limit, window)


def held_posts() -> list[Held]:
    """Every held post, oldest first."""
    return [Held(email_key, post) for email_key, post in held_items.held_posts()]


def release(held: Held, now: datetime) -> SubmissionOutcome | None:
    """Enroll a held post as a normal post would be; None when another release holds it.

    Idempotent: a release that crashed after `accept` is found by the post's own record on the lead
    and only removes the held post.
    """
    if not held_items.claim_release(held.email_key, held.post, now, now + RELEASE_LEASE):
        return None
    outcome = SubmissionOutcome.RETURNED
    if not _accepted_already(held):
        from leadflow.intake.submission import accept

        outcome = accept(held.post.submission, held.post.origin, release=held.post).outcome
    held_items.remove(held.email_key, held.post)
    count("HeldReleased", by="operator")
    logger.info("held post released", extra={"outcome": outcome.value, "limit": held.post.limit})
    return outcome


def dismiss(held: Held) -> None:
    """An operator judged the post not a lead (a bomber's): delete it, personal data and all."""
    held_items.remove(held.email_key, held.post)
    count("HeldDismissed", limit=held.post.limit)


def _accepted_already(held: Held) -> bool:
    lead_id = lead_items.lead_id_for_email(held.email_key)
    if lead_id is None or lead_items.get_lead(lead_id) is None:
        return False
    return any(record.submission_id == held.id for record in lead_items.submissions(lead_id))
