"""What a manager asks first (issue 27, item 5): pipeline and won value by source, form, cadence and rep
from the CRM's stage amounts; which step earns the replies; the show rate of booked meetings."""

from dataclasses import replace

from leadflow.local.synthetic_report import Builder
from leadflow.report.build import build_report
from leadflow.report.metrics import MeetingFlow
from leadflow.report.records import EventKind, EventRecord
from leadflow.report.render import render_csv, render_html, render_text, value_rows
from tests.report_data import PLANS, WEEK, at

LOCATION = "s3://leadflow-reports/reports/2026-11-16/report.html"


def deals():
    """Four leads the CRM moved (answers.stages records each change with its amount, if it gave one)."""
    b = Builder()
    for lead_id, source, owner, cadence in (
        ("w1", "web", "alex", "inbound"),
        ("w2", "web", "sam", "inbound"),
        ("a1", "ads", "sam", "nurture"),
        ("a2", "ads", "alex", "nurture"),
    ):
        b.lead(lead_id, at("2026-11-16T09:00"), source=source, owner=owner, form=f"{source}-form")
        b.enroll(lead_id, cadence)
        b.touch(lead_id, 1, "email", at("2026-11-16T09:00"))
    stage = b.dataset.events.append
    # w1: an opportunity worth 1,000, won at 1,200: the deal's last amount counts, in pipeline and won.
    stage(EventRecord("w1", EventKind.OPPORTUNITY, at("2026-11-17T09:00"), amount=1000.0))
    stage(EventRecord("w1", EventKind.WON, at("2026-11-20T09:00"), amount=1200.0))
    # w2: an opportunity worth 500, then lost: pipeline created, nothing won.
    stage(EventRecord("w2", EventKind.OPPORTUNITY, at("2026-11-17T09:00"), amount=500.0))
    stage(EventRecord("w2", EventKind.LOST, at("2026-11-19T09:00")))
    # a1: won straight away (a CRM may skip stages) without an amount; a2: only sales-qualified.
    stage(EventRecord("a1", EventKind.WON, at("2026-11-18T09:00")))
    stage(EventRecord("a2", EventKind.SQL, at("2026-11-18T09:00"), amount=300.0))
    return build_report(b.dataset, WEEK, PLANS, company="Demo", timezone="UTC", owner_names={"sam": "Sam"})


def test_pipeline_and_won_value_by_source_form_cadence_and_rep():
    report = deals()
    overall = report.trailing.overall
    assert (overall.opportunities, overall.won, overall.pipeline_amount, overall.won_amount) == (
        3,
        2,
        1700,
        1200,
    )
    by = {d: {r.name: (r.opportunities, r.pipeline, r.won, r.won_amount) for r in value_rows(report, d)}
          for d in ("source", "form", "cadence", "owner")}  # fmt: skip
    assert by["source"] == {"web": (2, 1700, 1, 1200), "ads": (1, 0, 1, 0)}
    assert by["form"] == {"web-form": (2, 1700, 1, 1200), "ads-form": (1, 0, 1, 0)}
    assert by["cadence"] == {"inbound": (2, 1700, 1, 1200), "nurture": (1, 0, 1, 0)}
    # A sales-qualified lead with an amount is no pipeline yet: a2 (alex) shows only w1's deal.
    assert by["owner"] == {"alex": (1, 1200, 1, 1200), "Sam (sam)": (2, 500, 1, 0)}
    # Rows add up to the whole: lead attributes split people.
    for dimension in ("source", "form", "owner"):
        assert sum(row[1] for row in by[dimension].values()) == overall.pipeline_amount
    text = render_text(report, LOCATION)
    assert "Pipeline and won value by lead source" in text
    assert "web      2      2              1,700     1    1,200" in text
    html = render_html(report, LOCATION)
    assert "What a manager asks" in html and "1,700" in html
    assert "pipeline_amount,1700" in render_csv(report)


def test_which_step_earns_the_replies_and_the_show_rate_are_stated():
    b = Builder()
    for number, step in enumerate((1, 1, 1, 3)):
        lead = b.lead(f"r{number}", at("2026-11-16T09:00"))
        b.enroll(lead, "inbound")
        for touch, channel in ((1, "email"), (2, "call"), (3, "email")):
            b.touch(lead, touch, channel, at(f"2026-11-1{5 + touch}T09:00"), outcome="no_answer")
        b.event(lead, EventKind.REPLY, at(f"2026-11-1{5 + step}T12:00"), touch=step)
    report = build_report(b.dataset, WEEK, PLANS, company="Demo", timezone="UTC")
    text = render_text(report, LOCATION)
    assert "  inbound: step 1 email 3 (75%) · step 3 email 1 (25%)" in text
    assert "Pipeline and won value: no CRM stage recorded yet" in text
    flow = MeetingFlow("post-meeting", booked=5, held=3, missed=1, recaps_due=3, recaps_in_time=3)
    report = replace(report, meetings={"post-meeting": flow})
    assert "Meetings (post-meeting): 5 booked, 3 held, 1 missed; show rate 75%" in render_text(
        report, LOCATION
    )
    assert "show rate <strong>75%</strong>" in render_html(report, LOCATION)
