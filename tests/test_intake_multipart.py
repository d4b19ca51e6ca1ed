"""POST /leads as multipart/form-data: what `fetch(url, {method: 'POST', body: new FormData(form)})`
sends, and what a form with enctype="multipart/form-data" submits.

The bodies are byte-for-byte what Chromium builds (HTML's "multipart/form-data encoding algorithm"
and RFC 7578): a `----WebKitFormBoundary` + 16 characters boundary, CRLF line ends, one part per
control in tree order, raw UTF-8 in names and values, and for a file input a `filename` parameter
with the file's Content-Type (an unchosen file input: `filename=""` and application/octet-stream).
"""

from __future__ import annotations

import pytest

from tests.intake_helpers import assert_nothing_stored

BOUNDARY = "----WebKitFormBoundaryx8FYkPqZ3nJd2mWc"
THANKS = "https://www.leadflow.example/thanks?from=demo"


def part(name: str, value: str) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def file_part(name: str, filename: str, content: bytes, content_type: str = "application/pdf") -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + content + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_a_formdata_post_is_read_like_a_urlencoded_one_and_the_lead_is_enrolled(sb):
    sent = body(
        part("email", "multi@example.com"),
        part("first_name", "Zoë"),
        part("company", "Acme, Inc.\r\nEMEA"),  # a textarea's line break survives inside a part
        part("email_consent", "false"),
        part("email_consent", "on"),
        file_part("attachment", "", b"", "application/octet-stream"),  # a file input left empty
    )
    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 202, response.text
    lead = sb.find_lead("multi@example.com")
    assert lead["first_name"] == "Zoë"
    assert lead["email_consent"] is True  # the hidden false then the checked box: the last wins
    assert sb.execution(lead["id"])["status"] == "RUNNING"
    assert len(sb.outbox()) == 1


def test_a_formdata_post_with_an_allowed_redirect_gets_303_there(sb):
    sent = body(part("email", "redirect@example.com"), part("redirect", THANKS))

    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 303
    assert response.headers["Location"] == THANKS


def test_a_field_sent_twice_is_refused_as_in_a_urlencoded_form(sb):
    sent = body(part("email", "twice@example.com"), part("first_name", "Ada"), part("first_name", "Grace"))

    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 422
    assert "first_name" in response.text
    assert_nothing_stored(sb)


def test_a_file_is_refused_with_422_naming_its_field_and_nothing_is_stored(sb):
    sent = body(part("email", "cv@example.com"), file_part("cv", "cv.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))

    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 422
    assert "<b>cv</b>: Files are not accepted" in response.text
    assert_nothing_stored(sb)


def test_a_file_in_a_form_with_an_error_page_goes_back_there_naming_the_field(sb):
    sent = body(
        part("email", "cv@example.com"),
        part("error_redirect", "https://www.leadflow.example/contact"),
        file_part("cv", "empty-but-named.txt", b"", "text/plain"),  # a chosen empty file is still a file
    )

    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 303
    assert "errors=cv" in response.headers["Location"]
    assert_nothing_stored(sb)


@pytest.mark.parametrize(
    ("content_type", "sent", "message"),
    [
        ("multipart/form-data", body(part("email", "a@example.com")), "boundary"),
        (HEADERS["Content-Type"], part("email", "a@example.com"), "multipart"),  # no closing boundary
        (HEADERS["Content-Type"], b"email=a%40example.com", "multipart"),
        (
            HEADERS["Content-Type"],
            body(f"--{BOUNDARY}\r\nContent-Disposition: attachment\r\n\r\nx\r\n".encode()),
            "Content-Disposition",
        ),
        (HEADERS["Content-Type"], body(part("email", "a@example.com").replace(b"a@", b"\xff@")), "UTF-8"),
    ],
)
def test_a_malformed_multipart_body_gets_400_saying_what_is_wrong(sb, content_type, sent, message):
    response = sb.post("/leads", data=sent, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert message in response.json()["message"]
    assert_nothing_stored(sb)


def test_a_multipart_body_over_16_kib_gets_413(sb):
    sent = body(part("email", "big@example.com"), part("message", "m" * 16 * 1024))

    response = sb.post("/leads", data=sent, headers=HEADERS)

    assert response.status_code == 413
    assert_nothing_stored(sb)


def test_the_spec_lists_multipart_as_a_form_encoding(sb):
    spec = sb.get("/openapi.json").json()
    content = spec["paths"]["/leads"]["post"]["requestBody"]["content"]

    assert content["multipart/form-data"] == content["application/x-www-form-urlencoded"]
