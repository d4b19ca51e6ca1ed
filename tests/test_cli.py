"""The `leadflow` command: demo, serve and report."""

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from leadflow.cli import main
from leadflow.local.serve import make_server, start_aws_endpoint


def test_demo_runs_synthetic_leads_and_prints_a_summary(capsys, tmp_path):
    argv = [
        "demo",
        "--leads",
        "16",
        "--days",
        "9",
        "--reply-share",
        "0.5",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    counts = {
        line.split()[0]: int(line.split()[-1])
        for line in out.splitlines()
        if line.startswith("  ") and line.split()[-1].isdigit()
    }
    # Every lead enrolled once at intake; a booked meeting adds a post-meeting enrollment, a not-now
    # reply ("try me in Q3") an enrollment that waits for that day.
    assert counts["leads"] == 16
    assert counts["enrolled"] == 16 + counts["meetings"] + counts["snoozed"]
    assert counts["replied"] >= 1
    assert counts["touches"] >= 16
    assert counts["rep"] >= 1
    assert counts["completed"] + counts["stopped"] + counts["still"] == counts["enrolled"]
    # The run ends when the weekly report is due: Monday 7 Dec, local midnight in Chicago, the first
    # after the last arrival (2 Dec); the report covers the last full week, 30 Nov to 7 Dec.
    assert "simulated 2026-11-23T09:00:00Z .. 2026-12-07T06:00:00Z" in out
    files = [tmp_path / name for name in ("report.html", "report.txt", "report.csv")]
    assert f"report: {', '.join(map(str, files))}" in out
    assert "archived at s3://leadflow-reports/reports/2026-11-30/report.html" in out
    text = files[1].read_text()
    assert "week of 2026-11-30: 2026-11-30 00:00 to 2026-12-07 00:00 (America/Chicago)" in text
    # The summary and report.txt agree: its 90-day column covers the whole run, and both count people.
    assert int(re.search(r"^Leads +\d+ +(\d+) ", text, re.M).group(1)) == counts["leads"]
    assert (
        int(re.search(r"^Reply rate +\S+ \(\d+\) +\S+ \((\d+)\)", text, re.M).group(1)) == counts["replied"]
    )
    meetings = re.search(r"^Meetings booked +\d+ \(\S+\) +(\d+) \(", text, re.M)
    assert int(meetings.group(1)) == counts["meetings"]
    sql = re.search(r"^Follow-up to SQL +\d+ \(\S+\) +(\d+) \(", text, re.M)
    assert int(sql.group(1)) == counts["sales"]
    # Leads are people; enrollments are counted apart.
    rows = files[2].read_text().splitlines()
    assert any(row.endswith(",overall,,,leads,16") for row in rows)
    assert any(row.endswith(f",overall,,,enrollments,{counts['enrolled']}") for row in rows)


def _call(base, path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_serve_exposes_the_api_and_a_clock(sb):
    server = make_server(sb, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        status, body = _call(base, "/leads", {"email": "browser@example.com"})
        assert (status, body["status"]) == (202, "received")
        (mail,) = _call(base, "/_sandbox/outbox")[1]
        # Its links lead to this server, where they can be clicked.
        assert f"<{base}/unsubscribe?token=" in mail["headers"]["List-Unsubscribe"]
        # A lead without a form gets the nurture cadence; its second email falls on day 5, Friday.
        assert _call(base, "/_sandbox/clock", {"advance": 4.5 * 86400})[1] == {"now": "2026-11-27T21:00:00Z"}
        assert len(_call(base, "/_sandbox/outbox")[1]) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_report_command_reads_a_running_sandbox_through_its_aws_endpoint(sb, tmp_path):
    for number in range(3):
        sb.post("/leads", json={"email": f"lead{number}@example.com", "source": "webinar"})
        sb.advance(3600)
    sb.advance(7 * 86400)
    endpoint = start_aws_endpoint()
    try:
        # Another process, as a user would run it: only the endpoint connects it to the Sandbox.
        environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        command = [
            str(Path(sys.executable).parent / "leadflow"),
            "report",
            "--endpoint-url",
            endpoint.url,
            "--since",
            "2026-11-23T00:00:00Z",
            "--until",
            sb.now().isoformat(),
            "--out",
            str(tmp_path),
        ]
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    finally:
        endpoint.stop()
    assert done.returncode == 0, done.stderr
    assert ": 3 new leads (3 leads enrolled in the period), " in done.stdout  # the headline's new leads
    rows = (tmp_path / "report.csv").read_text().splitlines()
    assert "2026-11-23 to 2026-11-30,breakdown,source,webinar,leads,3" in rows
    assert "<script" not in (tmp_path / "report.html").read_text()


def test_serve_console_shows_leads_timelines_tasks_alerts_and_the_clock(sb):
    import re

    server = make_server(sb, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        _call(base, "/leads", {"email": "grace@hopper.example", "form": "demo-request"})
        # The console's +1 day button, as a browser posts it (follows the redirect back).
        for _ in range(2):
            request = urllib.request.Request(f"{base}/_sandbox/clock", data=b"advance=86400", method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            with urllib.request.urlopen(request, timeout=30) as response:
                page = response.read().decode()
        assert "Simulated time <b>Wed 25 Nov 2026 09:00</b>" in page  # UTC unless the page asks (?tz=)
        assert "grace@hopper.example" in page and "active" in page and "inbound-demo-request" in page
        # The lead's own page holds its timeline (issue 26: search, then a page per lead).
        (lead_page,) = re.findall(r'href="(/_sandbox/console/lead/[^"]+)"', page)
        with urllib.request.urlopen(base + lead_page.replace("&amp;", "&"), timeout=30) as response:
            assert "intro" in response.read().decode()  # the timeline's first touch
        # The speed-to-lead call (issue 14: a demo request) and the cadence's day-2 call.
        links = re.findall(r'href="([^"]+/tasks/[^"]+)"', page)
        assert len(links) == 2
        with urllib.request.urlopen(links[-1].replace("&amp;", "&"), timeout=30) as response:
            task_page = response.read().decode()
        assert 'name="outcome" value="connected"' in task_page
        assert "Rep alerts" in page and "task" in page
    finally:
        server.shutdown()
        server.server_close()
