"""The `leadflow` command: demo and serve."""

import json
import threading
import urllib.request

from leadflow.cli import main
from leadflow.local.serve import make_server


def test_demo_runs_synthetic_leads_and_prints_a_summary(capsys):
    assert main(["demo", "--leads", "8", "--days", "2", "--reply-share", "0.5", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    counts = {
        line.split()[0]: int(line.split()[-1])
        for line in out.splitlines()
        if line.startswith("  ") and line.split()[-1].isdigit()
    }
    assert counts["enrolled"] == 8
    assert counts["replied"] >= 1
    assert counts["touches"] >= 8
    assert counts["still"] == 0
    assert counts["completed"] + counts["stopped"] == 8


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
        assert len(_call(base, "/_sandbox/outbox")[1]) == 1
        assert _call(base, "/_sandbox/clock", {"advance": 86400})[1] == {"now": "2026-11-24T09:00:00Z"}
        assert len(_call(base, "/_sandbox/outbox")[1]) == 2
    finally:
        server.shutdown()
        server.server_close()
