"""The report fits a phone: rendered in headless Chromium at 375, 600 and 1200 px, nothing scrolls
sideways, and the card is 100% wide below 680 px and 680 px above.

Each width is an iframe of exactly that many CSS pixels (headless Chromium will not make a window
narrower than 500 px), holding the report as `srcdoc`; the page around it measures the report's
document after load and writes the numbers into its title, which `--dump-dom` prints. The report
itself stays free of script: only the measuring page has one.

Chromium is Debian's `chromium` package (`make browser` installs it); without it these tests skip.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.local.synthetic_report import Profile, generate
from leadflow.report.build import build_report
from leadflow.report.metrics import Window
from leadflow.report.render import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
# The flags that work headless as root on a machine without a network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
    "--virtual-time-budget=5000",
]
END = datetime(2026, 11, 23, tzinfo=UTC)
LOCATION = "s3://leadflow-reports/reports/2026-11-16/report-with-a-long-archive-key-that-must-wrap.html"


@pytest.fixture(scope="module")
def report_html() -> str:
    """A busy quarter: long cadence and owner names, variants, opens, many segments and findings."""
    dataset, plans = generate(
        [
            Profile(
                cadence="inbound-demo-request-enterprise-emea",
                leads=400,
                variants={1: {"a": 0.0, "b": 0.1}},
                opens=0.4,
                owner_respond={"sam": 0.3},
                owners={"alexandra.rivera-montgomery": 0.5, "sam": 0.5},
            ),
            Profile(cadence="cold-list", lead_type="cold", leads=200, respond=0.05, unsubscribe=0.1),
        ],
        END,
    )
    report = build_report(
        dataset,
        Window("week of 2026-11-16", datetime(2026, 11, 16, tzinfo=UTC), END),
        plans,
        company="Demo & Co",
        timezone="UTC",
        owner_names={"alexandra.rivera-montgomery": "Alexandra Rivera-Montgomery"},
    )
    return render_html(report, LOCATION)


def measure(page: str, width: int) -> dict[str, int]:
    """Render `page` in a `width`-px frame; the document's scroll width, client width, and card width."""
    frame = f'<iframe id="f" style="border:0;width:{width}px;height:1000px" srcdoc="{html.escape(page)}">'
    probe = f"""<!DOCTYPE html><html><head><title>probe</title></head><body style="margin:0">
{frame}</iframe>
<script>window.onload = function () {{
  var doc = document.getElementById('f').contentDocument, root = doc.documentElement;
  var card = Math.round(doc.querySelector('table[bgcolor="#ffffff"]').getBoundingClientRect().width);
  document.title = 'size:' + root.scrollWidth + ',' + root.clientWidth + ',' + card;
}};</script></body></html>"""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.html"
        path.write_text(probe, encoding="utf-8")
        profile = Path(folder) / "profile"
        result = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    found = re.search(r"<title>size:(\d+),(\d+),(\d+)</title>", result.stdout)
    assert found, f"no measurement from chromium: {result.stderr[-500:]}"
    scroll, client, card = map(int, found.groups())
    return {"scroll": scroll, "client": client, "card": card}


@pytest.mark.parametrize("width", [375, 600, 1200])
def test_no_horizontal_scroll(report_html, width):
    size = measure(report_html, width)
    assert size["client"] == width
    assert size["scroll"] <= width, f"scrolls sideways at {width} px: {size}"
    # Fluid: the whole width below 680 px, 680 px above.
    assert size["card"] == min(width, 680)


def test_the_probe_sees_an_overflow(report_html):
    """The measurement can fail: a 700-px block in the report scrolls at 375 px."""
    wide = report_html.replace("<h1", '<div style="width:700px">wide</div><h1', 1)
    assert measure(wide, 375)["scroll"] >= 700
