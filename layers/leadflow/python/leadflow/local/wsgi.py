"""The Sandbox's HTTP API as a WSGI application: schemathesis and werkzeug's test client call it in-process.

Each request becomes the API Gateway proxy event the intake function receives in AWS. An exception
from the handler (which API Gateway would turn into a 502) is answered 500, so a check sees it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from leadflow.local.sandbox import Sandbox


def wsgi_app(sb: Sandbox) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {
            name[5:].replace("_", "-").title(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        path = environ.get("PATH_INFO") or "/"
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        try:
            response = sb.request(environ["REQUEST_METHOD"], path, data=body, headers=headers)
        except Exception:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [traceback.format_exc().encode()]
        status = HTTPStatus(response.status_code)
        start_response(f"{status.value} {status.phrase}", list(response.headers.items()))
        return [response.text.encode()]

    return app
