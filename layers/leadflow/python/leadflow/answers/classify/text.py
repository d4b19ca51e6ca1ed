"""The writer's own words: the body without quoted history, signature or footer.

Quoted history is cut three ways: lines quoted with ">", the client's attribution or
header block ("On … wrote:", "Von: … Gesendet:", "-----Original Message-----"; the
patterns of `mail-parser-reply` in several languages), and in HTML-only mail the
quote containers Gmail, Outlook, Apple Mail, Thunderbird and Yahoo emit.
"""

from __future__ import annotations

import re
from email.header import Header, decode_header, make_header
from email.message import Message
from html.parser import HTMLParser

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "ja"]

# HTML elements that hold quoted history, by the markers mail clients give them.
_QUOTE_MARKERS = (
    ("class", "gmail_quote"),
    ("class", "yahoo_quoted"),
    ("class", "moz-cite-prefix"),
    ("id", "divrplyfwdmsg"),
    ("id", "appendonsend"),
    ("id", "mail-editor-reference-message-container"),
    ("type", "cite"),
)
# Everything after these markers is history, not the writer's text.
_CUT_ELEMENTS = {"blockquote"}
_BLOCK_ELEMENTS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"}
# Phone and webmail taglines that end the writer's text.
_TAGLINES = re.compile(
    r"^\s*(?:sent from my \w+|sent from (?:outlook|mail) for|get outlook for|envoyé de mon|"
    r"von meinem \w+ gesendet|gesendet von meinem|enviado desde mi|inviato da)",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$", re.MULTILINE)
# A line that is only a sign-off starts the signature (and any footer under it).
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:best|kind|warm|many)?\s*(?:regards|wishes)|best|cheers|"
    r"thanks|thank you|many thanks|sincerely|"
    r"(?:mit )?(?:freundlichen|besten|viele|liebe|beste) grüße|viele grüsse|mfg|gruß|lg|"
    r"cordialement|bien (?:à vous|cordialement)|salutations|merci|"
    r"(?:un )?saludos?|atentamente|cordiali saluti|distinti saluti|saluti|grazie|"
    r"met vriendelijke groet(?:en)?|groeten|hälsningar|med vänlig hälsning|"
    r"atenciosamente|abraços?)\s*[,.!]?\s*$",
    re.IGNORECASE,
)

# Corporate footers and legal disclaimers: boilerplate under the writer's text, often naming
# "unsubscribe", which must not decide anything.
_FOOTER = re.compile(
    r"^\s*(?:confidential(?:ity)?\b|disclaimer\b|privileged\b|"
    r"this (?:e-?mail|message|communication)(?: and any (?:attachments?|files?)[^.]*?)?"
    r" (?:(?:is|are|may be) (?:confidential|intended|privileged)|(?:may )?contains?\b|was sent\b)|"
    r"(?:the )?information (?:in|contained in) this (?:e-?mail|message)|"
    r"you (?:are )?receiv(?:ed|ing) this\b|if you (?:are not|have received) )",
    re.IGNORECASE,
)


class _HtmlText(HTMLParser):
    """HTML to text, stopping at the first quoted-history container."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0  # inside <style>/<script>/<head>
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if tag in {"style", "script", "head", "title"}:
            self.skip_depth += 1
            return
        attributes = {name.lower(): (value or "").lower() for name, value in attrs}
        if tag in _CUT_ELEMENTS or any(
            marker in attributes.get(name, "").split() or attributes.get(name) == marker
            for name, marker in _QUOTE_MARKERS
        ):
            self.stopped = True
            return
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "head", "title"} and self.skip_depth:
            self.skip_depth -= 1
        elif tag in _BLOCK_ELEMENTS and not self.stopped:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skip_depth:
            self.parts.append(data)


def header(message: Message, name: str) -> str:
    """A header's decoded value ("" when absent or unreadable), RFC 2047 words decoded."""
    try:
        values = message.get_all(name) or []
        if not values:
            return ""
        value = values[0]
        if isinstance(value, Header):  # compat32 wraps 8-bit header bytes in a Header of unknown-8bit
            raw = b"".join(
                chunk if isinstance(chunk, bytes) else chunk.encode("ascii", "surrogateescape")
                for chunk, _ in decode_header(value)
            )
            try:
                return " ".join(raw.decode("utf-8").split())
            except UnicodeError:
                return " ".join(raw.decode("latin-1").split())
        if isinstance(value, str) and not value.isascii():
            # Raw 8-bit bytes in a header (Japanese carriers send UTF-8 subjects unencoded): the
            # parser keeps them as escapes; read them as UTF-8, else as they are.
            try:
                return " ".join(value.encode("ascii", "surrogateescape").decode("utf-8").split())
            except UnicodeError:
                pass
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except Exception:  # malformed header: treat as absent
        return ""


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def body_parts(message: Message) -> tuple[str, str]:
    """The first text/plain and text/html bodies, not looking inside attached messages."""
    plain = html = ""
    stack: list[Message] = [message]
    while stack:
        part = stack.pop(0)
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack[0:0] = [child for child in payload if isinstance(child, Message)]
            continue
        if part.get_content_maintype() == "message":
            continue  # an attached or returned message is not the writer's text
        if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and not plain:
            plain = _decoded(part)
        elif content_type == "text/html" and not html:
            html = _decoded(part)
    return plain, html


def full_text(message: Message) -> str:
    """The whole readable body, history included (plain text, else HTML as text)."""
    plain, html = body_parts(message)
    if plain.strip():
        return plain.replace("\r\n", "\n")
    return html_to_text(html) if html else ""


def _cut_signature(text: str, sender_name: str) -> str:
    """Cut, after the first line, at a sign-off, a line that is or starts the writer's name card
    ("Ada Byron | VP Operations"), or a footer/disclaimer."""
    names = {part.lower() for part in (sender_name, sender_name.split(" ")[0]) if len(part) > 1}
    names |= {" ".join(reversed(sender_name.split(", "))).lower()} if ", " in sender_name else set()
    full_names = "|".join(re.escape(name) for name in names if " " in name)
    name_card = re.compile(rf"(?:{full_names})\s*[|,\-–·/]") if full_names else None
    lines = text.split("\n")
    for number, line in enumerate(lines[1:], start=1):
        bare = line.strip().strip(",.!-").strip().lower()
        card = name_card is not None and name_card.match(bare)
        if _SIGN_OFF.match(line) or (bare and bare in names) or card or _FOOTER.match(line):
            return "\n".join(lines[:number])
    return text


def strip_history(text: str, sender_name: str = "") -> str:
    """Cut quoted history, signature and taglines from a plain-text body."""
    from mailparser_reply.parser import EmailMessage as ParsedReply

    lines = text.replace("\r\n", "\n").split("\n")
    quoted = [line.lstrip().startswith(">") for line in lines]
    kept = []
    for number, line in enumerate(lines):
        if quoted[number]:
            continue
        # "On 26.11.26 09:00, Alex wrote:" right above a quote (bottom-posted and inline replies).
        following = next((quoted[n] for n in range(number + 1, len(lines)) if lines[n].strip()), False)
        if following and line.rstrip().endswith(":"):
            continue
        kept.append(line)
    unquoted = "\n".join(kept)
    parsed = ParsedReply(text=unquoted, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    # The content up to the first quoted header; its own signature patterns are prefix matches
    # ("Thanks," would cut "Thanks, but we're not interested"), so signatures are cut below.
    own = parsed.replies[0].content if parsed.replies else unquoted
    for pattern in (_TAGLINES, _SIGNATURE_DELIMITER):
        match = pattern.search(own)
        if match:
            own = own[: match.start()]
    return _cut_signature(own.strip(), sender_name).strip()


def own_text(message: Message) -> str:
    """What the writer wrote in this message: no quoted history, no signature, no footer."""
    from email.utils import parseaddr

    sender_name = parseaddr(header(message, "From"))[0].strip()
    plain, html = body_parts(message)
    if plain.strip():
        return strip_history(plain, sender_name)
    if html:
        return strip_history(html_to_text(html), sender_name)
    return ""
