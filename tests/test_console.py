"""The local console (issue 26): a lead search and a page per lead (facts, answers, cadences, touches,
tasks, timeline), leads and reps by name, times in the zone the page asks for, and nothing that
scrolls sideways on a 375-px phone (measured in headless Chromium, as the report's layout is)."""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from leadflow.local import console
from leadflow.local.serve import make_server
from tests.test_report_layout import CHROMIUM, FLAGS

LONG_COMPANY = (
    "Internationale Gesellschaft für Langfristige Kundenbeziehungen und Vertriebsautomatisierung mbH"
)


def _two_leads(sb: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    sb.post(
        "/leads",
        json={
            "email": "ada.lovelace-with-a-very-long-address@analytical-engines.example",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": LONG_COMPANY,
            "form": "demo-request",
            "country": "DE",
            "timezone": "Europe/Berlin",
        },
    )
    sb.post("/leads", json={"email": "grace@compilers.example", "first_name": "Grace", "company": "Navy"})
    sb.advance_to("2026-11-25T12:00:00Z")
    return sb.find_lead("ada.lovelace-with-a-very-long-address@analytical-engines.example"), sb.find_lead(
        "grace@compilers.example"
    )


def _listed(page: str) -> list[str]:
    """The names the lead list shows (before the held posts, tasks and alerts)."""
    return re.findall(r"<li><a [^>]*><b>([^<]+)</b></a>", page.split("<h2>Held posts</h2>")[0])


def test_the_search_finds_leads_by_name_address_or_company_and_names_them(sb: Any) -> None:
    ada, grace = _two_leads(sb)
    page = console.index_page(sb, "lovelace", "Europe/Berlin")
    assert _listed(page) == ["Ada Lovelace"]
    assert f'href="/_sandbox/console/lead/{ada["id"]}?tz=Europe/Berlin"' in page
    assert _listed(console.index_page(sb, "NAVY")) == ["Grace"]  # by company, any case
    assert _listed(console.index_page(sb, "compilers.example")) == ["Grace"]  # by address
    everyone = console.index_page(sb, "", "Europe/Berlin")
    assert "Leads (2 of 2)" in everyone
    # Ids only inside links; people by name: the owner (Sam Okafor owns DACH) and the leads.
    text = re.sub(r'href="[^"]*"', "", everyone)
    assert ada["id"] not in text and grace["id"] not in text
    assert "owner Sam Okafor" in everyone
    # Simulated time 2026-11-25 12:00 UTC is 13:00 in Berlin.
    assert "Simulated time <b>Wed 25 Nov 2026 13:00</b>" in everyone
    assert "Simulated time <b>Wed 25 Nov 2026 07:00</b>" in console.index_page(sb, "", "America/New_York")
    assert "Times in UTC." in console.index_page(sb, "", "Not/AZone")


def test_a_leads_page_shows_its_touches_tasks_answers_and_timeline_in_the_chosen_zone(sb: Any) -> None:
    ada, _ = _two_leads(sb)
    page = console.lead_page(sb, ada["id"], "Europe/Berlin")
    assert page is not None
    assert "<h1>Ada Lovelace</h1>" in page and LONG_COMPANY in page
    for section in ("Answers", "Cadences", "Touches", "Rep tasks", "Timeline"):
        assert f"<h2>{section}</h2>" in page
    first = ada["touches"][0]
    sent = console.when(first["sent_at"], console.zone_of("Europe/Berlin"))
    assert f"<li>{sent} · email · intro · <b>sent</b>" in page
    assert "call" in page.split("<h2>Rep tasks</h2>")[1].split("<h2>")[0]  # the speed-to-lead call
    assert "owner</dt><dd>Sam Okafor" in page
    assert console.lead_page(sb, "no-such-lead") is None


def test_the_console_is_served_and_an_unknown_lead_is_404(sb: Any) -> None:
    ada, _ = _two_leads(sb)
    server = make_server(sb, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/_sandbox/console"
    try:
        with urllib.request.urlopen(f"{base}?q=ada&tz=Europe/Berlin", timeout=30) as response:
            assert "<b>Ada Lovelace</b>" in response.read().decode()
        with urllib.request.urlopen(f"{base}/lead/{ada['id']}?tz=Europe/Berlin", timeout=30) as response:
            assert "<h1>Ada Lovelace</h1>" in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/lead/nope", timeout=30)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def _scroll_width(page: str, width: int) -> tuple[int, int]:
    """The page's document scroll width and client width in a `width`-px frame (headless Chromium)."""
    escaped = page.replace("&", "&amp;").replace('"', "&quot;")
    probe = f"""<!DOCTYPE html><html><head><title>probe</title></head><body style="margin:0">
<iframe id="f" style="border:0;width:{width}px;height:1000px" srcdoc="{escaped}"></iframe>
<script>window.onload = function () {{
  var root = document.getElementById('f').contentDocument.documentElement;
  document.title = 'size:' + root.scrollWidth + ',' + root.clientWidth;
}};</script></body></html>"""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.html"
        path.write_text(probe, encoding="utf-8")
        result = subprocess.run(
            [
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={Path(folder) / 'profile'}",
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    found = re.search(r"<title>size:(\d+),(\d+)</title>", result.stdout)
    assert found, f"no measurement from chromium: {result.stderr[-500:]}"
    scroll, client = map(int, found.groups())
    return scroll, client


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
def test_no_horizontal_scroll_at_375_px(sb: Any) -> None:
    ada, _ = _two_leads(sb)
    pages = {
        "index": console.index_page(sb, "", "Europe/Berlin"),
        "lead": console.lead_page(sb, ada["id"], "Europe/Berlin") or "",
    }
    for name, page in pages.items():
        scroll, client = _scroll_width(page, 375)
        assert client == 375 and scroll <= 375, (name, scroll)
    # The probe can fail: a 700-px block scrolls.
    wide = pages["lead"].replace("<h1>", '<div style="width:700px">wide</div><h1>', 1)
    assert _scroll_width(wide, 375)[0] >= 700


def test_a_first_make_demo_says_what_it_installs() -> None:
    """The install step of `make demo` announces itself and shows each package pip fetches."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        ["make", "-n", "-B", "-C", str(root), ".venv/.installed"], capture_output=True, text=True, check=True
    )
    assert "setting up .venv and the Python dependencies" in done.stdout
    recipe = done.stdout.replace("\\\n\t", " ")  # a continued line is one command
    (install,) = [line for line in recipe.splitlines() if "install -e '.[dev]'" in line]
    assert " -q " not in install and "fetching" in install and "pipefail" in install
