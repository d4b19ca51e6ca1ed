"""A real browser posts `new FormData(form)` with fetch: headless Chromium against `leadflow serve`.

The page is served from a second loopback origin, as an operator's site would be, and allowed as
one; it posts the form with `fetch(url, {method: 'POST', body: new FormData(form)})` and writes the
answer's status and body into its title, which `--dump-dom` prints. Chromium chooses the boundary
and the part layout itself, so this proves the parser against what browsers really send.

Chromium is Debian's `chromium` package (`make browser` installs it); without it these tests skip.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from leadflow.local.serve import make_server
from tests.intake_helpers import assert_nothing_stored
from tests.test_report_layout import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")


def page_server(page: str) -> HTTPServer:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return HTTPServer(("127.0.0.1", 0), Page)


@pytest.fixture
def api(sb) -> Iterator[str]:
    server = make_server(sb, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def post_from_browser(sb, api: str, script: str, tmp_path, referrer: str = "") -> tuple[int, str, str]:
    """Serve a page with the contact form and `script`, open it in Chromium; fetch's status, final
    URL (fetch follows a 303) and body."""
    form = (
        '<form id="contact"><input name="email" value="browser@example.com">'
        '<input name="first_name" value="Zoë"><textarea name="message">Two\nlines</textarea>'
        '<input type="hidden" name="email_consent" value="false">'
        '<input type="checkbox" name="email_consent" checked><input type="file" name="cv"></form>'
    )
    page = (
        f"<!doctype html><html><head><title>waiting</title></head><body>{form}<script>"
        f"var api = {json.dumps(api + '/leads')}, referrer = {json.dumps(referrer)};"
        "var data = new FormData(document.getElementById('contact'));"
        f"{script}"
        "fetch(api, {method: 'POST', body: data, referrerPolicy: referrer}).then(function (r) {"
        " return r.text().then(function (t) {"
        "  document.title = ['answer', r.status, encodeURIComponent(r.url), encodeURIComponent(t)].join(':');"
        "}); }).catch(function (e) { document.title = 'failed:' + e; });</script></body></html>"
    )
    site = page_server(page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{site.server_port}"
    sb.set_environment({"EXTRA_ALLOWED_ORIGINS": json.dumps([api, origin])})
    try:
        result = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", origin + "/"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        site.shutdown()
        site.server_close()
    found = re.search(r"<title>answer:(\d+):([^:<]*):([^:<]*)</title>", result.stdout)
    assert found, f"no answer in the page: {result.stdout[-300:]} {result.stderr[-500:]}"
    return int(found.group(1)), unquote(html.unescape(found.group(2))), unquote(html.unescape(found.group(3)))


def test_chromium_formdata_post_is_accepted_and_the_lead_enrolled(sb, api, tmp_path):
    status, _, answer = post_from_browser(sb, api, "", tmp_path)

    assert status == 202, answer
    assert json.loads(answer)["status"] == "received"
    lead = sb.find_lead("browser@example.com")
    assert lead["first_name"] == "Zoë"
    assert lead["email_consent"] is True
    assert sb.execution(lead["id"])["status"] == "RUNNING"


def test_chromium_formdata_with_a_file_is_refused_naming_the_field(sb, api, tmp_path):
    attach = "data.set('cv', new Blob(['%PDF-1.4'], {type: 'application/pdf'}), 'cv.pdf');"

    # No Referer, so no allowed page to go back to: the plain error page says which field to clear.
    status, _, answer = post_from_browser(sb, api, attach, tmp_path, referrer="no-referrer")

    assert status == 422, answer
    assert "<b>cv</b>: Files are not accepted" in answer
    assert_nothing_stored(sb)
