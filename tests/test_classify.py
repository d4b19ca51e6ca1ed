"""The classifier on its fixture corpus: every file comes back as the kind it is filed under."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.answers.classify import BounceType, Kind, classify
from leadflow.cli import main

CORPUS = Path(__file__).parent / "fixtures" / "mail"
FIXTURES = sorted(CORPUS.glob("*/*.eml"))
NON_HUMAN = {Kind.BOUNCE, Kind.AUTO_REPLY, Kind.COMPLAINT}

TRANSIENT_BOUNCES = {
    "flufl-dsn-05.eml",
    "flufl-dsn-06.eml",
    "flufl-dsn-08.eml",
    "flufl-simple-03.eml",
    "flufl-simple-28.eml",
    "amazon-ses-notification-email-json-transient.eml",
    "zimbra-delay.eml",
}
RETURN_DATES = {
    "outlook-automatic-reply-en.eml": date(2026, 5, 5),  # "will be back on May 5"
    "exchange-automatische-antwort-de.eml": date(2026, 5, 5),  # "ab dem 05.05. wieder erreichbar"
    "lotus-abwesenheitsnotiz-de-no-headers.eml": date(2026, 5, 5),  # "zurück am 05.05."
    "outlook-reponse-automatique-fr.eml": date(2026, 5, 5),  # "de retour le 5 mai"
    "respuesta-automatica-es.eml": date(2026, 5, 5),  # "de vuelta el 5 de mayo"
    "automatisch-antwoord-nl-x-autorespond.eml": date(2026, 5, 5),  # "terug op 5 mei"
    "risposta-automatica-it.eml": date(2026, 5, 5),  # "di ritorno il 5 maggio"
    "thunderbird-vacation-sieve-en.eml": date(2026, 5, 5),  # "returning on 05/05/2026"
    "gmail-vacation-responder-en.eml": date(2026, 12, 7),  # "until December 7th"
    "yandex-x-autoreply-ru.eml": date(2026, 12, 7),  # "до 7 декабря"
    "japanese-auto-reply.eml": date(2026, 12, 7),  # "12月7日以降"
}


def _kind_of(path: Path) -> Kind:
    return Kind(path.parent.name)


def test_the_corpus_is_as_large_as_promised():
    counts = Counter(_kind_of(path) for path in FIXTURES)
    assert counts[Kind.BOUNCE] >= 30
    assert counts[Kind.AUTO_REPLY] >= 10
    assert counts[Kind.COMPLAINT] >= 3
    assert counts[Kind.REPLY] >= 10
    # Bounces from many mail systems, auto-replies in many languages.
    bounce_sources = {
        path.stem.split("-")[1] if path.stem.startswith("flufl") else path.stem.split("-")[0]
        for path in FIXTURES
        if _kind_of(path) is Kind.BOUNCE
    }
    assert {"postfix", "exim", "qmail", "sendmail", "microsoft", "yahoo", "amazon", "office365", "gmail"} <= (
        bounce_sources
    )


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_fixture_is_classified_as_filed(path):
    result = classify(path.read_bytes())

    assert result.kind is _kind_of(path), result.evidence
    if result.kind is Kind.BOUNCE:
        expected = BounceType.TRANSIENT if path.name in TRANSIENT_BOUNCES else BounceType.PERMANENT
        assert result.bounce_type is expected
    if result.kind is Kind.AUTO_REPLY:
        assert result.return_date == RETURN_DATES.get(path.name)


def test_no_machine_mail_is_ever_a_reply():
    machine = [path for path in FIXTURES if _kind_of(path) in NON_HUMAN]
    kinds = {path.name: classify(path.read_bytes()).kind for path in machine}
    assert not [name for name, kind in kinds.items() if kind in (Kind.REPLY, Kind.UNSUBSCRIBE)]


@pytest.mark.parametrize(
    "name",
    [
        "gmail-top-posted-quoted-unsubscribe.eml",
        "outlook-desktop-not-interested.eml",
        "apple-mail-iphone-short.eml",
        "apple-mail-macos-wrong-person.eml",
        "thunderbird-bottom-posted.eml",
        "outlook-web-html-only-signature-footer.eml",
        "gmail-fr-pas-maintenant.eml",
        "outlook-de-try-q3.eml",
    ],
)
def test_a_quoted_or_footer_unsubscribe_decides_nothing(name):
    raw = (CORPUS / "reply" / name).read_bytes()
    assert b"nsubscribe" in raw or b"sabonner" in raw or b"Abmelden" in raw
    result = classify(raw)
    assert result.kind is Kind.REPLY
    assert "unsubscribe" not in result.text.lower()


def test_the_own_text_is_what_the_writer_wrote():
    def text(name):
        return classify((CORPUS / "reply" / name).read_bytes()).text

    assert text("gmail-top-posted-quoted-unsubscribe.eml") == "Sounds good. Tuesday at 2pm works for me."
    assert text("apple-mail-iphone-short.eml") == "Yes"
    assert (
        text("thunderbird-bottom-posted.eml") == "Not this quarter. Try me in Q3, budgets open again in July."
    )
    assert (
        text("outlook-desktop-not-interested.eml")
        == "Hi Alex,\n\nThanks, but we're not interested at this time."
    )
    assert text("outlook-web-html-only-signature-footer.eml") == (
        "Riley forwarded this to me. Can we talk Thursday at 10 your time?"
    )


def test_reports_carry_the_lead_token_recipients_and_our_message_id():
    bounce = classify((CORPUS / "bounce" / "amazon-ses-dsn.eml").read_bytes())
    assert bounce.lead_token == "k7qz2m4n5p6r7s8t"
    assert bounce.recipients == ("jordan.lee@northwind-traders.example",)
    assert (
        "0100019a5e2c0f11-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-000000@email.amazonses.com"
        in bounce.references
    )

    complaint = classify((CORPUS / "complaint" / "comcast-arf-rfc822-headers.eml").read_bytes())
    assert complaint.lead_token == "r8s9t2u3v4w5x6y7"
    assert complaint.recipients == ("pat.jones@comcast.net",)

    forwarded = classify((CORPUS / "bounce" / "amazon-ses-notification-forwarded-email.eml").read_bytes())
    assert forwarded.references == (
        "0100019a5e3d3f01-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d-000000@email.amazonses.com",
    )


def test_the_envelope_recipient_token_wins_and_tokens_are_case_insensitive():
    raw = (CORPUS / "reply" / "apple-mail-iphone-short.eml").read_bytes()
    assert classify(raw).lead_token == "m4n5p6q7r8s9t2u3"
    assert classify(raw, recipients=["REPLY+ABCDEF2345@reply.leadflow.example"]).lead_token == "abcdef2345"


@pytest.mark.parametrize(
    ("raw", "evidence"),
    [
        (b"", "empty"),
        (b"   \r\n ", "empty"),
        (b"\x00\xff\xfe garbage without headers", "no headers"),
    ],
)
def test_bad_input_is_unknown_not_an_exception(raw, evidence):
    result = classify(raw)
    assert (result.kind, result.evidence) == (Kind.UNKNOWN, evidence)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_classify_never_raises(raw):
    assert classify(raw).kind in set(Kind)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_after_headers_never_raises(body):
    raw = f"From: a@example.com\nSubject: Re: hi\nContent-Type: text/plain; charset=utf-8\n\n{body}".encode()
    assert classify(raw).kind in set(Kind)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("Not interested.", Kind.REPLY),
        ("Wrong person, sorry.", Kind.REPLY),
        ("Try me in Q3.", Kind.REPLY),
        ("Please don't unsubscribe me, I like these.", Kind.REPLY),
        ("Unsubscribe", Kind.UNSUBSCRIBE),
        ("please remove me", Kind.UNSUBSCRIBE),
        ("Stop emailing me!", Kind.UNSUBSCRIBE),
        ("Take me off your list", Kind.UNSUBSCRIBE),
        ("I am out of the office until May 4.", Kind.AUTO_REPLY),
    ],
)
def test_short_replies(body, kind):
    headers = "From: Lead <lead@example.com>\nSubject: Re: Your demo request\n"
    raw = f"{headers}Date: Mon, 27 Apr 2026 09:00:00 +0000\n\n{body}\n"
    assert classify(raw.encode()).kind is kind


def test_the_cli_prints_one_json_line_per_file(capsys):
    files = [
        CORPUS / "auto_reply" / "outlook-automatic-reply-en.eml",
        CORPUS / "bounce" / "flufl-postfix-01.eml",
        CORPUS / "reply" / "apple-mail-iphone-short.eml",
    ]
    assert main(["classify", *map(str, files)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {
            "file": str(files[0]),
            "kind": "auto_reply",
            "lead_token": "k7qz2m4n5p6r7s8t",
            "return_date": "2026-05-05",
        },
        {"file": str(files[1]), "kind": "bounce", "lead_token": None, "return_date": None},
        {"file": str(files[2]), "kind": "reply", "lead_token": "m4n5p6q7r8s9t2u3", "return_date": None},
    ]
