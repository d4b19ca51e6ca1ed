"""The report's break-up is what the copy rule calls one (issue 27): the shipped templates send it to
qualified leads only (a dormant content lead gets the nurture close at the same step), so the report's
break-up reply rate counts the leads the break-up went to, not every lead at a step named "break-up"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.config import settings
from leadflow.local.synthetic_report import Builder
from leadflow.report.build import trailing_window
from leadflow.report.metrics import build_facts, window_metrics
from leadflow.report.records import UNKNOWN, EventKind
from leadflow.report.weekly import cadence_plans

END = datetime(2026, 12, 14, tzinfo=UTC)


@pytest.fixture(autouse=True)
def shipped_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The repository's cadences, templates and config (the settings' defaults)."""
    monkeypatch.setenv("TABLE_NAME", "leadflow")
    monkeypatch.setenv("HMAC_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:hmac")
    settings.cache_clear()
    yield
    settings.cache_clear()


def test_the_shipped_break_ups_go_to_qualified_forms_only():
    plans = cadence_plans()
    closing = plans["re-engagement"].steps[2]
    assert closing.name == "break-up"
    assert {"demo-request", "pricing", "contact-sales"} <= closing.break_up_forms
    assert not closing.break_up_forms & {"follow-up-guide", "webinar-speed-to-lead", "newsletter", UNKNOWN}
    assert not any(step.break_up_forms for step in plans["content-download"].steps)
    demo = plans["inbound-demo-request"]
    assert [n for n, step in enumerate(demo.steps, 1) if step.break_up_forms] == [len(demo.steps)]


def test_a_dormant_content_lead_at_the_closing_step_is_not_in_the_break_up_cohort():
    plans = cadence_plans()
    b = Builder()
    started = END - timedelta(days=40)  # the 12-day cadence's outcome window has passed
    for lead_id, form in (("guide", "follow-up-guide"), ("demo", "demo-request"), ("news", "newsletter")):
        b.lead(lead_id, started - timedelta(days=400), lead_type="dormant", form=form)
        b.enroll(lead_id, "re-engagement", started=started)
        for number, day in ((1, 0), (2, 4), (3, 11)):
            b.touch(lead_id, number, "email", started + timedelta(days=day))
    b.event("guide", EventKind.REPLY, started + timedelta(days=11, hours=2))  # answered the nurture close
    metrics = window_metrics(build_facts(b.dataset, END), trailing_window(END), plans)
    breakup = metrics.breakup["re-engagement"]
    # A rule by the step's name counts all three leads and the guide lead's reply.
    assert (breakup.leads, breakup.replied) == (1, 0)
