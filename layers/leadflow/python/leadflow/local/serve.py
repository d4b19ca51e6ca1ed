"""`leadflow serve`: the Sandbox's HTTP API on 127.0.0.1, for curl or a browser.

GET / is the embeddable lead form (examples/lead-form.html) posting to this API, so a person can
try the whole flow in a browser; GET /thanks is its thank-you page.

Everything under /_sandbox/ belongs to the local runtime, not to the product API:
    GET  /_sandbox/clock                    the simulated time
    POST /_sandbox/clock {"advance": 86400} move the clock by seconds (or {"to": "2026-12-01T09:00:00Z"})
    GET  /_sandbox/outbox                   messages sent so far
    GET  /_sandbox/console?q=&tz=           a page: lead search, clock, held posts, tasks, alerts
    GET  /_sandbox/console/lead/<id>?tz=    one lead: facts, answers, cadences, touches, tasks, timeline
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, cast
from urllib.parse import parse_qs

from leadflow.clock import iso
from leadflow.local import console
from leadflow.local.sandbox import REPO_ROOT, Sandbox

CONTROL_PREFIX = "/_sandbox/"
FORM_FILE = REPO_ROOT / "examples" / "lead-form.html"
# The snippet's example URLs, replaced by this server's own for the page at /.
FORM_ENDPOINT = "https://api.leadflow.example/v1/leads"
FORM_SITE = "https://www.leadflow.example"
THANKS_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Thank you</title>"
    "<h1>Thank you</h1><p>Your request is in. The mail it drew: <a href=/_sandbox/outbox>outbox</a>."
    "</p><p><a href=/>Send another</a></p></html>"
)


def serve_forever(*, port: int, start: str | None, speed: float, aws_port: int = 0) -> int:
    start = start or iso(datetime.now(UTC))
    with Sandbox(start=start) as sb:
        server = make_server(sb, port, speed)
        endpoint = start_aws_endpoint(aws_port)
        print(f"leadflow sandbox on http://127.0.0.1:{server.server_port}  (simulated time {iso(sb.now())})")
        base = f"http://127.0.0.1:{server.server_port}"
        post = """-H 'Content-Type: application/json' -d '{"email":"ada@example.com"}'"""
        print(f"  open {base}/ for the lead form")
        print(f"  curl -X POST {base}/leads {post}")
        print(f"""  curl -X POST {base}/_sandbox/clock -d '{{"advance": 86400}}'""")
        print(f"AWS APIs (moto) on {endpoint.url}, e.g.")
        print(
            f"  leadflow report --endpoint-url {endpoint.url} --until <simulated time from /_sandbox/clock>"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            endpoint.stop()
    return 0


class AwsEndpoint:
    """moto's HTTP server over the Sandbox's in-process mocks: the same tables, buckets and mail.

    `leadflow report --endpoint-url` and the AWS CLI reach the Sandbox's data through it.
    """

    def __init__(self, port: int) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        host, bound = self._server.get_host_and_port()
        self.url = f"http://{host}:{bound}"

    def stop(self) -> None:
        self._server.stop()


def start_aws_endpoint(port: int = 0) -> AwsEndpoint:
    return AwsEndpoint(port)


def make_server(sb: Sandbox, port: int, speed: float = 0.0) -> HTTPServer:
    """An HTTP server over the Sandbox; one lock serializes requests and clock ticks."""
    lock = threading.Lock()
    server = HTTPServer(("127.0.0.1", port), _handler_class(sb, lock))
    # The form at / redirects to this server's own pages: allow its origin like an operator's site.
    # Every link in mail (unsubscribe, rep tasks) points at this server, as they point at the stage
    # URL when deployed.
    base = f"http://127.0.0.1:{server.server_port}"
    sb.set_environment({"EXTRA_ALLOWED_ORIGINS": json.dumps([base]), "PUBLIC_URL": base})
    if speed > 0:
        threading.Thread(target=_tick, args=(sb, lock, speed), daemon=True).start()
    return server


def _tick(sb: Sandbox, lock: threading.Lock, speed: float) -> None:
    while True:
        time.sleep(1.0)
        with lock:
            sb.advance(speed)


def _handler_class(sb: Sandbox, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, document: Any) -> None:
            self._respond(
                status, json.dumps(document, indent=2).encode(), {"Content-Type": "application/json"}
            )

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            page = self.path.split("?")[0]
            if self.command == "GET" and page in ("/", "/thanks"):
                html = self._form_page() if page == "/" else THANKS_PAGE
                self._respond(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})
                return
            with lock:
                if self.path.startswith(CONTROL_PREFIX):
                    self._control(body)
                    return
                headers = {name: value for name, value in self.headers.items()}
                response = sb.request(self.command, self.path, data=body, headers=headers)
            self._respond(response.status_code, response.text.encode(), response.headers)

        def _form_page(self) -> str:
            base = f"http://127.0.0.1:{cast(HTTPServer, self.server).server_port}"
            form = FORM_FILE.read_text(encoding="utf-8")
            form = form.replace(FORM_ENDPOINT, f"{base}/leads").replace(FORM_SITE, base)
            return (
                "<!doctype html><html lang=en><meta charset=utf-8><title>leadflow: request a demo</title>"
                "<style>body{font:16px system-ui;max-width:32rem;margin:2rem auto}label{display:block;"
                "margin:.6rem 0}input:not([type=checkbox]),textarea{width:100%}.leadflow-error{color:#b00}"
                f"</style><h1>Request a demo</h1>{form}</html>"
            )

        def _control(self, body: bytes | None) -> None:
            route = self.path[len(CONTROL_PREFIX) :].split("?")[0]
            form = (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded")
            if route == "clock" and self.command == "POST":
                if form:  # the console's buttons
                    request = {name: values[-1] for name, values in parse_qs((body or b"").decode()).items()}
                else:
                    request = json.loads(body or b"{}")
                if "to" in request:
                    sb.advance_to(request["to"])
                else:
                    sb.advance(float(request.get("advance", 0)))
                if form:
                    self._respond(303, b"", {"Location": "/_sandbox/console"})
                    return
            query = {name: values[-1] for name, values in parse_qs(self.path.partition("?")[2]).items()}
            if route == "console" or route.startswith("console/lead/"):
                zone = query.get("tz", "UTC")
                if route == "console":
                    page: str | None = console.index_page(sb, query.get("q", ""), zone)
                else:
                    page = console.lead_page(sb, route.rpartition("/")[2], zone)
                status = 200 if page is not None else 404
                document = page or console.index_page(sb, "", zone)
                self._respond(status, document.encode(), {"Content-Type": "text/html; charset=utf-8"})
            elif route == "clock":
                self._json(200, {"now": iso(sb.now())})
            elif route == "outbox":
                self._json(200, sb.outbox())
            else:
                self._json(404, {"message": f"unknown sandbox route {route!r}"})

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            print(f"  {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

    return Handler


def console_page(sb: Sandbox, query: str = "", zone: str = "UTC") -> str:
    """The local console's first page (leadflow.local.console): lead search, clock, held posts, tasks,
    alerts."""
    return console.index_page(sb, query, zone)
