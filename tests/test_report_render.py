"""Rendering: mail-safe HTML with table bar charts, a text alternative, and a CSV equal to the metrics."""

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from leadflow.local.synthetic_report import Profile, generate
from leadflow.report.build import build_report
from leadflow.report.metrics import Window
from leadflow.report.render import duration, mail_size, render_csv, render_html, render_text, subject
from tests.report_data import PLANS, WEEK, known_dataset

END = datetime(2026, 11, 23, tzinfo=UTC)
WEEK_END = Window("week of 2026-11-16", datetime(2026, 11, 16, tzinfo=UTC), END)
LOCATION = "s3://leadflow-reports/reports/2026-11-16/report.html"


@pytest.fixture(scope="module")
def busy():
    """A quarter with variants, opens, several owners and cadences, and findings to show."""
    dataset, plans = generate(
        [
            Profile(leads=600, variants={1: {"a": 0.0, "b": 0.1}}, opens=0.4, owner_respond={"sam": 0.3}),
            Profile(cadence="cold-list", lead_type="cold", leads=300, respond=0.05, unsubscribe=0.1),
        ],
        END,
    )
    return build_report(
        dataset,
        Window("week of 2026-11-16", datetime(2026, 11, 16, tzinfo=UTC), END),
        plans,
        company="Demo & Co",
        timezone="UTC",
        owner_names={"alex": "Alex Rivera"},
    )


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.styles = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.styles += [value for name, value in attrs if name == "style"]


def parse(html):
    tags = Tags()
    tags.feed(html)
    return tags


def test_html_is_built_for_mail_clients(busy):
    html = render_html(busy, LOCATION)
    tags = parse(html)
    assert {"script", "svg", "img", "link", "style", "iframe", "form", "canvas"}.isdisjoint(tags.tags)
    assert "javascript:" not in html.lower()
    # The only conditional comments: the ghost table that holds Outlook's Word engine at 680 px.
    assert re.findall(r"<!--\[if [^\]]*\]>", html) == ["<!--[if mso]>", "<!--[if mso]>"]
    assert set(tags.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "table",
        "tr",
        "td",
        "th",
        "p",
        "h1",
        "h2",
        "span",
        "strong",
        "br",
        "div",
    }
    assert tags.styles and all("position:" not in style and "float:" not in style for style in tags.styles)
    # Gmail clips messages above 102 KB.
    assert len(html.encode()) < 102_000
    assert "Demo &amp; Co" in html  # autoescaped


def test_bars_are_table_cells_sized_by_their_value(busy):
    html = render_html(busy, LOCATION)
    mix = {row.channel: row for row in busy.trailing.channel_mix}
    share = mix["email"].touch_share
    filled = round(share * 80)
    assert f'<td width="{filled}" height="10" bgcolor="#9ca3af"' in html
    assert f'<td width="{80 - filled}" height="10" bgcolor="#e5e7eb"' in html


def test_every_section_is_in_the_html_and_the_text(busy):
    html, text = render_html(busy, LOCATION), render_text(busy, LOCATION)
    for heading in (
        "Headlines",
        "What to change",
        "A/B tests",
        "Drop-off by step",
        "Channel mix",
        "Touches to first response",
        "By cadence",
        "By lead source",
        "By fit band",
        "By owner",
        "By channel",
        "By template variant",
    ):
        assert heading in html
        assert heading.upper() in text
    assert LOCATION in html and LOCATION in text
    assert "Alex Rivera (alex)" in html
    for finding in busy.findings:
        assert finding.headline.replace("&", "&amp;") in html
        assert finding.headline in text
    (test,) = busy.ab_tests
    assert test.summary in text


def test_the_csv_carries_the_numbers(busy):
    rows = list(csv.DictReader(io.StringIO(render_csv(busy))))
    value = {(r["window"], r["section"], r["dimension"], r["segment"], r["metric"]): r["value"] for r in rows}
    trailing = busy.trailing
    assert value[("trailing 90 days", "overall", "", "", "leads")] == str(trailing.overall.leads)
    assert float(value[("trailing 90 days", "overall", "", "", "contact_rate")]) == pytest.approx(
        trailing.overall.contact_rate, rel=1e-5
    )
    owner = trailing.breakdowns["owner"]["sam"]
    assert value[("trailing 90 days", "breakdown", "owner", "sam", "responded")] == str(owner.responded)
    step = trailing.dropoff["cold-list"][1]
    assert value[("trailing 90 days", "dropoff", "cold-list", "step 2 call", "opted_out")] == str(
        step.opted_out
    )
    assert value[("week of 2026-11-16", "overall", "", "", "leads")] == str(busy.period.overall.leads)
    assert ("trailing 90 days", "ab_test", "inbound touch 1", "", "verdict") in value
    assert any(r["section"] == "finding" for r in rows)


def test_known_figures_read_the_same_in_text():
    report = build_report(known_dataset(), WEEK, PLANS, company="Demo", timezone="UTC")
    text = render_text(report, LOCATION)
    assert re.search(r"Contact rate\s+37\.5% \(3\)\s+44\.4% \(4\)", text)
    assert re.search(r"Automated first touch, median / p90\s+45 s / 3 min\s+40 s / 3 min", text)
    assert re.search(
        r"First human touch, median / p90\s+24\.0 h / 24\.8 h \(2\)\s+24\.0 h / 24\.8 h \(3\)", text
    )
    # The subject names the top finding.
    expected = (
        "Demo follow-up report, week of 2026-11-16: Bounce rate 11.1% — above the ceiling (keep under 5%) "
        "(+1 more to act on)"
    )
    assert subject(report) == expected
    # One complaint and one bounce among 9 emailed leads: both far above the deliverability limits.
    acts = sorted(f.code for f in report.findings if f.severity == "act")
    assert acts == ["bounce_rate", "complaint_rate"]
    # A week in, no lead's outcome window has passed but l8's: the bands judge only it.
    assert {cadence: stats.leads for cadence, stats in report.trailing.settled["cadence"].items()} == {
        "inbound": 1
    }
    # Five weeks on, every lead's has: too few leads to judge, so what is outside its band shows as
    # something to watch.
    later = Window("later", WEEK.start + timedelta(days=35), WEEK.end + timedelta(days=35))
    report = build_report(known_dataset(), later, PLANS, company="Demo", timezone="UTC")
    watch = {f.code: f.headline for f in report.findings if f.severity == "watch"}
    assert (
        watch["low_reply_rate"]
        == "post-meeting: reply rate 0% — watch (n=1, needs 30; band 15–25%, floor 10%)"
    )
    lines = [check.line for check in report.scorecard]
    assert "inbound: reply rate 43% — watch (n=7, needs 30; band 15–25%, floor 10%)" in lines
    assert (
        "Automated first touch 0.7 min (median) — in time (at most 5 min; the robot's, not a person's)"
        in lines
    )
    assert not any(line.startswith("Speed to lead") for line in lines)  # nobody was owed a speed call


def test_durations_read_naturally():
    assert [duration(s) for s in (None, 5, 89, 600, 7200, 3 * 86400)] == [
        "n/a",
        "5 s",
        "89 s",
        "10 min",
        "2.0 h",
        "3.0 d",
    ]


def test_many_segments_stay_under_gmails_clipping_limit():
    profiles = [
        Profile(
            cadence=f"cadence-{n}", leads=150, variants={1: {"a": 0, "b": 0.05, "c": 0}, 3: {"x": 0, "y": 0}}
        )
        for n in range(4)
    ]
    dataset, plans = generate(profiles, END)
    for number, (lead_id, lead) in enumerate(list(dataset.leads.items())):
        dataset.leads[lead_id] = replace(
            lead,
            source=f"source-{number % 30}",
            owner=f"rep-{number % 15}",
            fit_band=("low", "medium", "high")[number % 3],
        )
    report = build_report(dataset, WEEK_END, plans, company="Demo", timezone="UTC")
    html = render_html(report, LOCATION)
    assert mail_size(html) < 90_000
    # The largest segments of each breakdown, as many as fit; the others are named as left out.
    shown = int(re.search(r"and (\d+) smaller segments in the attached CSV", html).group(1))
    assert 0 < shown < 30
    # Lean markup (a cell carries its font only; sparklines are characters): 600 leads over 30
    # sources and 15 reps still show the 5 largest segments of each breakdown.
    assert 30 - shown >= 5
    rows = csv.DictReader(io.StringIO(render_csv(report)))
    sources = {r["segment"] for r in rows if r["window"] == "trailing 90 days" and r["dimension"] == "source"}
    assert len(sources) == 30
