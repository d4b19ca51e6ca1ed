"""Quarterly re-engagement: dormant leads whose cadence ended without an answer enter it again.

Eligible: the lead's latest enrollment completed (every touch ran, no reply, no stop) at least
`after_days` ago; the lead is still active (not replied, booked, opted out or bounced) and not
suppressed; fewer than `max_per_lead` re-engagements so far. Candidates come from the by_day index
(enrollment items by the day they started, over the lookback window), never from a Scan.
Enrollment is paced under the StartExecution quota. A dry run reads and changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow import clock, keys
from leadflow.cadence.enrollments import EnrollmentRefused, enroll
from leadflow.models import ContactStatus, Enrollment, Lead, RunStatus
from leadflow.observability import logger
from leadflow.operator_config import Reengagement
from leadflow.store import enrollment_items, event_items, lead_items, suppression_items

REASON = "re-engagement"
ENGAGEMENT_KINDS = ("click", "open")


@dataclass(frozen=True)
class Candidate:
    lead_id: str
    source: str
    band: str
    # The last engagement before going quiet: click, open or none.
    engagement: str
    ended_at: datetime


@dataclass
class Run:
    dry_run: bool
    eligible: list[Candidate] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    enrolled: list[str] = field(default_factory=list)

    def segments(self) -> Counter[tuple[str, str, str]]:
        """Eligible leads by (source, band, last engagement)."""
        return Counter((c.source, c.band, c.engagement) for c in self.eligible)


def _ended_enrollments(since: datetime, until: datetime) -> Iterator[str]:
    """Lead ids with an enrollment started in [since, until), from the by_day index."""
    for page in event_items.items_between(clock.iso(since), clock.iso(until), ("kind", "lead_id", "pk")):
        for item in page:
            if item.get("kind") == "enrollment":
                yield str(item.get("lead_id") or str(item["pk"]).removeprefix("LEAD#"))


def _why_not(
    lead: Lead | None, enrollments: list[Enrollment], settings: Reengagement, now: datetime
) -> str | None:
    if lead is None or not enrollments:
        return "no lead"
    if lead.status is not ContactStatus.ACTIVE:
        return f"lead {lead.status.value}"
    latest = enrollments[-1]
    if latest.run_status is RunStatus.RUNNING:
        return "still running"
    if latest.run_status is not RunStatus.COMPLETED:
        return "stopped"
    ended = latest.completed_at or latest.started_at
    if now - ended < timedelta(days=settings.after_days):
        return "ended recently"
    if sum(enrollment.reason == REASON for enrollment in enrollments) >= settings.max_per_lead:
        return "limit reached"
    if suppression_items.suppression(keys.email_key(lead.email)):
        return "suppressed"
    return None


def _engagement(lead_id: str) -> str:
    kinds = {str(event.get("type")) for event in event_items.events(lead_id)}
    return next((kind for kind in ENGAGEMENT_KINDS if kind in kinds), "none")


def find(settings: Reengagement, now: datetime | None = None) -> Run:
    """Who would be re-engaged now, and why the others are not (reads only)."""
    now = now or clock.now()
    run = Run(dry_run=True)
    until = now - timedelta(days=settings.after_days)
    since = until - timedelta(days=settings.lookback_days)
    for lead_id in dict.fromkeys(_ended_enrollments(since, until)):
        lead = lead_items.get_lead(lead_id)
        enrollments = enrollment_items.enrollments(lead_id)
        reason = _why_not(lead, enrollments, settings, now)
        if reason or lead is None:
            run.skipped[reason or "no lead"] += 1
            continue
        latest = enrollments[-1]
        run.eligible.append(
            Candidate(
                lead_id=lead_id,
                source=lead.source or "unknown",
                band=lead.band.value,
                engagement=_engagement(lead_id),
                ended_at=latest.completed_at or latest.started_at,
            )
        )
    return run


def reengage(
    settings: Reengagement,
    *,
    dry_run: bool,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Run:
    """Find the eligible leads and, unless a dry run, enroll them in the re-engagement cadence, paced."""
    run = find(settings, now)
    run.dry_run = dry_run
    if dry_run:
        return run
    pause = 1.0 / settings.rate_per_second
    for candidate in run.eligible:
        lead = lead_items.get_lead(candidate.lead_id)
        try:
            enrollment = enroll(candidate.lead_id, settings.cadence, REASON)
        except EnrollmentRefused as refused:
            run.skipped[str(refused).split(" is ")[-1]] += 1
            continue
        # enroll() returns the running enrollment when the lead already runs this cadence.
        if lead is not None and enrollment.number > lead.enrollments:
            run.enrolled.append(candidate.lead_id)
        sleep(pause)
    logger.info("re-engagement", extra={"eligible": len(run.eligible), "enrolled": len(run.enrolled)})
    return run
