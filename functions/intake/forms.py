"""Reading what a web form sent: JSON, x-www-form-urlencoded or multipart/form-data, size-capped, and
where it may go next."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from functions.intake.errors import Refusal
from leadflow.models import HONEYPOT_FIELD, RequestOrigin
from leadflow.operator_config import web_origin

MAX_BODY_BYTES = 16 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"  # what `fetch(url, {body: new FormData(form)})` sends
UTF8 = ("utf-8", "utf8", "us-ascii")


@dataclass(frozen=True)
class Posted:
    """A parsed post: `form` is True for an HTML form (urlencoded or multipart), False for JSON."""

    form: bool
    fields: Any  # a dict for forms; any JSON value for JSON (only an object is a lead)
    files: tuple[str, ...] = ()  # names of multipart fields that carried a file (refused as field errors)


def read_post(event: APIGatewayProxyEvent) -> Posted:
    """Parse the body by its declared media type, refusing what we cannot take (415, 413, 400)."""
    media_type, charset = _content_type(event.headers.get("content-type") or "")
    is_json = media_type == JSON or (media_type.startswith("application/") and media_type.endswith("+json"))
    if not is_json and media_type not in (FORM, MULTIPART):
        raise Refusal(
            415,
            f"Send {JSON}, {FORM} (an HTML form without enctype) or {MULTIPART}, "
            f"not {media_type or 'no type'}.",
        )
    if charset and charset not in UTF8:
        raise Refusal(415, f"Send the body in UTF-8, not {charset}.")
    raw = _body_bytes(event)
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} (16 KiB).")
    if media_type == MULTIPART:
        return _multipart(event.headers.get("content-type") or "", raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "The body is not valid UTF-8.") from None
    if not is_json:
        return Posted(form=True, fields=_form_fields(text))
    if not text.strip():
        raise Refusal(400, "A JSON body is required.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise Refusal(
            400, f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise Refusal(400, "The body is not valid JSON: nested too deeply.") from None
    return Posted(form=False, fields=document)


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, parameters = header.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _body_bytes(event: APIGatewayProxyEvent) -> bytes:
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(400, "The body is not valid base64.") from None


def _form_fields(text: str) -> dict[str, str | list[str]]:
    """One value per name; a name sent more than once keeps all its values, in order, as a list.

    The model decides what a repeat means: a consent checkbox after its hidden `false` (the last
    value wins), a multi-select custom field (values joined), or a refusal for any other field.
    """
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "The form body is not valid x-www-form-urlencoded UTF-8.") from None
    fields: dict[str, str | list[str]] = {}
    for name, value in pairs:
        earlier = fields.get(name)
        if earlier is None:
            fields[name] = value
        else:
            fields[name] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
    return fields


def _multipart(content_type: str, raw: bytes) -> Posted:
    """Read multipart/form-data (RFC 7578) as the same fields a urlencoded post gives.

    The standard library's MIME parser splits the parts; a part with a filename is a file, which a
    lead post never needs: its name is kept so the route refuses it as a field error. An empty file
    input (filename="" and no content) is what a browser sends for a file left unchosen: skipped.
    """
    from email.parser import BytesParser  # multipart posts only: not every cold start's (~2 ms)
    from email.policy import HTTP

    document = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not document.get_boundary():
        raise Refusal(400, "A multipart/form-data body needs a boundary parameter in Content-Type.")
    if not document.is_multipart() or document.defects:
        raise Refusal(400, "The body is not valid multipart/form-data (no closing boundary, or no parts).")
    fields: dict[str, str | list[str]] = {}
    files: list[str] = []
    for part in document.iter_parts():
        name = _utf8(part.get_param("name", header="content-disposition"))
        if part.get_content_disposition() != "form-data" or not isinstance(name, str):
            raise Refusal(400, "Every multipart part needs Content-Disposition: form-data with a name.")
        content = part.get_payload(decode=True)
        content = content if isinstance(content, bytes) else b""
        if part.get_param("filename", header="content-disposition") is not None:
            if content or part.get_filename():
                files.append(name)
            continue
        try:
            value = content.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(400, f"The multipart field {name!r} is not valid UTF-8.") from None
        earlier = fields.get(name)
        if earlier is None:
            fields[name] = value
        else:
            fields[name] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
    return Posted(form=True, fields=fields, files=tuple(files))


def _utf8(value: object) -> object:
    """Browsers send non-ASCII field names as raw UTF-8; the MIME parser hands them over as escapes."""
    if isinstance(value, tuple):  # an RFC 2231 parameter, which browsers do not send; read it anyway
        value = value[2]
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeError:
            return value
    return value


def honeypot_hit(fields: Any) -> bool:
    if not isinstance(fields, dict):
        return False
    value = fields.get(HONEYPOT_FIELD)
    return value is not None and str(value).strip() != ""


def safe_redirect(url: Any, allowed_origins: tuple[str, ...]) -> str | None:
    """The URL if it is an absolute http(s) URL on an allowed origin; None otherwise (no open redirect)."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        return None
    if any(ord(character) < 0x21 or ord(character) == 0x7F or character == "\\" for character in url):
        return None
    try:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            return None
        origin = web_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None
    return url if origin in allowed_origins else None


def request_origin(event: APIGatewayProxyEvent) -> RequestOrigin:
    """Client address, user agent and page of a post: evidence kept with the consent flags."""
    user_agent = event.headers.get("user-agent") or event.request_context.identity.user_agent
    return RequestOrigin(
        source_ip=(event.request_context.identity.source_ip or "")[:64] or None,
        user_agent=user_agent[:512] if user_agent else None,
        page=(event.headers.get("referer") or "")[:2048] or None,
    )
