"""Report fixtures: a small data set whose every figure is computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.local.synthetic_report import Builder
from leadflow.report.metrics import Window
from leadflow.report.records import CadencePlan, CadenceStep, Dataset, EventKind


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


WEEK = Window("week of 2026-11-16", at("2026-11-16T00:00"), at("2026-11-23T00:00"))
PLANS = {
    "inbound": CadencePlan(
        "inbound",
        (
            CadenceStep("email", 1),
            CadenceStep("call", 3),
            CadenceStep("email", 1),
            CadenceStep("linkedin", 2),
        ),
    ),
    "nurture": CadencePlan("nurture", (CadenceStep("email", 1), CadenceStep("email", 1))),
}


def known_dataset() -> Dataset:
    """Ten enrollments whose figures tests/test_report_metrics.py states by hand."""
    b = Builder()
    # L1: inbound, a call on day 2 connects.
    b.lead("l1", at("2026-11-16T10:00"), source="web", fit_band="A", owner="alex")
    b.enroll("l1", "inbound")
    b.touch("l1", 1, "email", at("2026-11-16T10:01"), variant="a")
    b.touch("l1", 2, "call", at("2026-11-17T09:00"), outcome="connected")
    b.event("l1", EventKind.CONNECTED, at("2026-11-17T09:00"), touch=2, channel="call")
    # L2: replies to the first email (the writer did not name the touch).
    b.lead("l2", at("2026-11-16T12:00"), source="web", fit_band="A", owner="sam")
    b.enroll("l2", "inbound")
    b.touch("l2", 1, "email", at("2026-11-16T12:02"), variant="b")
    b.event("l2", EventKind.REPLY, at("2026-11-16T15:00"))
    # L3: the call task stays open; unsubscribes after the third touch.
    b.lead("l3", at("2026-11-17T08:00"), source="ads", fit_band="B", owner="alex")
    b.enroll("l3", "inbound")
    b.touch("l3", 1, "email", at("2026-11-17T08:00:30"), variant="a")
    b.touch("l3", 2, "call", None)
    b.touch("l3", 3, "email", at("2026-11-19T08:00"))
    b.event("l3", EventKind.UNSUBSCRIBE, at("2026-11-19T10:00"), touch=3)
    # L4: bounces on the first email.
    b.lead("l4", at("2026-11-18T09:00"), source="ads", fit_band="B", owner="sam")
    b.enroll("l4", "inbound")
    b.touch("l4", 1, "email", at("2026-11-18T09:05"), variant="b")
    b.event("l4", EventKind.BOUNCE, at("2026-11-18T09:06"), touch=1)
    # L5: nurture; opens, replies to touch 2, books a meeting, then enters the post-meeting cadence.
    b.lead("l5", at("2026-11-19T09:00"), source="web", fit_band="B", owner="alex")
    b.enroll("l5", "nurture")
    b.touch("l5", 1, "email", at("2026-11-19T09:00:10"))
    b.touch("l5", 2, "email", at("2026-11-20T09:00"))
    b.event("l5", EventKind.OPEN, at("2026-11-19T09:30"))
    b.event("l5", EventKind.REPLY, at("2026-11-20T11:00"), channel="email")
    b.event("l5", EventKind.MEETING, at("2026-11-21T10:00"))
    b.enroll("l5", "post-meeting", number=2, started=at("2026-11-21T10:00"))
    b.touch("l5", 1, "email", at("2026-11-21T10:05"), enrollment=2)
    # L6: nurture; clicks, then complains after touch 2.
    b.lead("l6", at("2026-11-20T09:00"), source="web", fit_band="A", owner="sam")
    b.enroll("l6", "nurture")
    b.touch("l6", 1, "email", at("2026-11-20T09:01"))
    b.touch("l6", 2, "email", at("2026-11-21T09:01"))
    b.event("l6", EventKind.CLICK, at("2026-11-20T10:00"))
    b.event("l6", EventKind.COMPLAINT, at("2026-11-21T12:00"), touch=2)
    # L7: a call with no answer; still running.
    b.lead("l7", at("2026-11-21T09:00"), source="ads", fit_band="A", owner="alex")
    b.enroll("l7", "inbound")
    b.touch("l7", 1, "email", at("2026-11-21T09:00:20"), variant="a")
    b.touch("l7", 2, "call", at("2026-11-22T10:00"), outcome="no_answer")
    # L8: before the week, inside the trailing 90 days; LinkedIn connects at step 4, a reply follows.
    b.lead("l8", at("2026-10-01T09:00"), source="web", fit_band="A", owner="sam")
    b.enroll("l8", "inbound")
    b.touch("l8", 1, "email", at("2026-10-01T09:00:40"), variant="a")
    b.touch("l8", 2, "call", at("2026-10-02T09:00"), outcome="no_answer")
    b.touch("l8", 3, "email", at("2026-10-04T09:00"))
    b.touch("l8", 4, "linkedin", at("2026-10-08T09:00"), outcome="connected")
    b.event("l8", EventKind.CONNECTED, at("2026-10-08T09:00"), touch=4)
    b.event("l8", EventKind.REPLY, at("2026-10-09T09:00"))
    # L9: older than 90 days: counts nowhere, even for its touch inside the window.
    b.lead("l9", at("2026-08-01T09:00"), source="web", fit_band="A", owner="alex")
    b.enroll("l9", "inbound")
    b.touch("l9", 4, "email", at("2026-08-27T09:00"))
    b.event("l9", EventKind.REPLY, at("2026-08-28T09:00"))
    # L10: what happens after the week's end does not count.
    b.lead("l10", at("2026-11-22T09:00"), source="ads", fit_band="A", owner="sam")
    b.enroll("l10", "inbound")
    b.touch("l10", 1, "email", at("2026-11-22T09:00:05"))
    b.touch("l10", 2, "call", at("2026-11-23T09:00"), outcome="connected")
    b.event("l10", EventKind.REPLY, at("2026-11-23T01:00"))
    return b.dataset
