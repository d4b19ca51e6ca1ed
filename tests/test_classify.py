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
NON_HUMAN = {Kind.BOUNCE, Kind.AUTO_REPLY, Kind.COMPLAINT, Kind.UNKNOWN}

TRANSIENT_BOUNCES = {
    "flufl-dsn-05.eml",
    "flufl-dsn-06.eml",
    "flufl-dsn-08.eml",
    "flufl-simple-03.eml",
    "flufl-simple-28.eml",
    "amazon-ses-notification-email-json-transient.eml",
    "zimbra-delay.eml",
    "rfc3464-action-delayed.eml",
    "amazon-ses-event-sns-email-delivery-delay.eml",
    "docomo-style-iso2022jp-mailbox-full.eml",
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
            "bounce_type": None,
        },
        {
            "file": str(files[1]),
            "kind": "bounce",
            "lead_token": None,
            "return_date": None,
            "bounce_type": "permanent",
        },
        {
            "file": str(files[2]),
            "kind": "reply",
            "lead_token": "m4n5p6q7r8s9t2u3",
            "return_date": None,
            "bounce_type": None,
            # A person's reply also gets its intent (issue 24), with the line that decided it.
            "intent": "interested",
            "intent_sure": True,
            "intent_line": "Yes",
            "snoozed_until": None,
            "referral": None,
        },
    ]
    assert main(["classify", str(CORPUS / "bounce" / "rfc3464-action-delayed.eml")]) == 0
    assert json.loads(capsys.readouterr().out)["bounce_type"] == "transient"


# Issue 12: machine mail that used to be taken for a person's reply.
MACHINE_KINDS = {
    # RFC 3464 / RFC 6522: every Action value.
    "bounce/rfc3464-action-failed.eml": (Kind.BOUNCE, "dsn"),
    "bounce/rfc3464-action-delayed.eml": (Kind.BOUNCE, "dsn"),
    "bounce/rfc3464-delivered-and-failed.eml": (Kind.BOUNCE, "dsn"),
    "unknown/rfc3464-action-delivered.eml": (Kind.UNKNOWN, "dsn-success"),
    "unknown/rfc3464-action-relayed.eml": (Kind.UNKNOWN, "dsn-success"),
    "unknown/rfc3464-action-expanded.eml": (Kind.UNKNOWN, "dsn-success"),
    # SES notifications in the body of an SNS "email" subscription (with SNS's unsubscribe footer).
    "bounce/amazon-ses-notification-sns-email-bounce.eml": (Kind.BOUNCE, "ses-notification"),
    "bounce/amazon-ses-event-sns-email-delivery-delay.eml": (Kind.BOUNCE, "ses-notification"),
    "complaint/amazon-ses-notification-sns-email-complaint.eml": (Kind.COMPLAINT, "ses-notification"),
    "unknown/amazon-ses-notification-sns-email-delivery.eml": (Kind.UNKNOWN, "ses-notification"),
    "unknown/amazon-ses-event-sns-email-send.eml": (Kind.UNKNOWN, "ses-notification"),
    # Japanese carriers (ISO-2022-JP), list managers (fml, Mailman), a DSN-less Postfix bounce.
    "bounce/kddi-au-iso2022jp.eml": (Kind.BOUNCE, "subject"),
    "bounce/docomo-style-iso2022jp-mailbox-full.eml": (Kind.BOUNCE, "subject"),
    "bounce/fml-not-a-member-iso2022jp.eml": (Kind.BOUNCE, "list-manager"),
    "bounce/fml-deny-post-en.eml": (Kind.BOUNCE, "list-manager"),
    "unknown/mailman-held-for-moderation.eml": (Kind.UNKNOWN, "list-manager"),
    "bounce/postfix-plain-text-variant.eml": (Kind.BOUNCE, "subject"),
    # RFC 5965 ARF: a base64-encoded report part; a report in multipart/mixed.
    "complaint/arf-report-part-base64.eml": (Kind.COMPLAINT, "arf"),
    "complaint/arf-not-spam-feedback-type-without-report-type.eml": (Kind.COMPLAINT, "arf"),
}


@pytest.mark.parametrize(("name", "expected"), MACHINE_KINDS.items(), ids=list(MACHINE_KINDS))
def test_the_machine_kinds_a_held_out_set_caught(name, expected):
    result = classify((CORPUS / name).read_bytes())
    assert (result.kind, result.evidence) == expected


def test_returned_text_still_names_the_lead_and_the_recipients():
    kddi = classify((CORPUS / "bounce" / "kddi-au-iso2022jp.eml").read_bytes())
    assert (kddi.lead_token, kddi.bounce_type) == ("z9x8c7v6b5n4m3a2", BounceType.PERMANENT)
    fml = classify((CORPUS / "bounce" / "fml-not-a-member-iso2022jp.eml").read_bytes())
    assert fml.lead_token == "w2e3r4t5y6u7i8o9"
    postfix = classify((CORPUS / "bounce" / "postfix-plain-text-variant.eml").read_bytes())
    assert postfix.recipients == ("lena.vogel@fabrikam-gmbh.example", "vertrieb@fabrikam-gmbh.example")
    assert postfix.lead_token == "p0o9i8u7y6t5r4e3"
    arf = classify((CORPUS / "complaint" / "arf-report-part-base64.eml").read_bytes())
    assert arf.recipients == ("taylor.kim@mailbox-provider.example",)
    ses = classify((CORPUS / "unknown" / "amazon-ses-notification-sns-email-delivery.eml").read_bytes())
    assert ses.references == (
        "0100019a60bb2c3d-22223333-4444-5555-6666-777788889999-000000@email.amazonses.com",
    )


def test_no_reply_fixture_changes_class():
    replies = sorted((CORPUS / "reply").glob("*.eml"))
    assert len(replies) >= 13
    assert {path.name: classify(path.read_bytes()).kind for path in replies} == {
        path.name: Kind.REPLY for path in replies
    }


_MACHINE_SENDERS = st.sampled_from(
    [
        "MAILER-DAEMON@mx.example.com",
        "Mail Delivery System <MAILER-DAEMON@mail.example.org>",
        "mailer-daemon@googlemail.com",
        "postmaster@ezweb.ne.jp",
        "Postmaster <postmaster@outlook.example>",
        "majordomo@lists.example.net",
        "listserv@listserv.example.edu",
        "owner-sales@lists.example.net",
        "sales-request@lists.example.net",
        "sales-bounces@lists.example.net",
        "mailman@lists.example.net",
    ]
)
# What a person might write: the words that make a reply, an unsubscribe or an answer.
_HUMAN_WORDS = st.sampled_from(
    [
        "Sounds good, Tuesday at 2pm works.",
        "Yes",
        "Please call me tomorrow.",
        "Not interested, thanks.",
        "Who is this?",
        "Remove me",
        "",
    ]
)
_SUBJECTS = st.sampled_from(["Re: Your demo request", "Hello", "", "Question", "Undeliverable: Hi"])


@settings(max_examples=120, deadline=None)
@given(sender=_MACHINE_SENDERS, words=_HUMAN_WORDS, noise=st.text(max_size=80), subject=_SUBJECTS)
def test_mail_from_a_mail_system_or_list_manager_is_never_a_reply(sender, words, noise, subject):
    raw = (
        f"From: {sender}\nTo: reply+k7qz2m4n5p6r7s8t@reply.leadflow.example\nSubject: {subject}\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{words}\n{noise}\n"
    ).encode()
    assert classify(raw).kind is not Kind.REPLY


@settings(max_examples=120, deadline=None)
@given(
    sender=st.sampled_from(["Jordan Lee <jordan@northwind.example>", "reports@isp.example", "x@y.example"]),
    report_type=st.sampled_from(
        ["delivery-status", "feedback-report", "disposition-notification", "tlsrpt", "", "x-unknown"]
    ),
    words=_HUMAN_WORDS,
    status_part=st.sampled_from(
        [
            "",
            "Action: delivered\nStatus: 2.0.0\n",
            "Action: relayed\nStatus: 2.0.0\n",
            "Action: expanded\nStatus: 2.0.0\n",
            "Action: delayed\nStatus: 4.4.1\n",
            "Action: failed\nStatus: 5.1.1\n",
            "Feedback-Type: abuse\n",
        ]
    ),
    noise=st.text(max_size=60),
)
def test_a_multipart_report_is_never_a_reply(sender, report_type, words, status_part, noise):
    second = "message/delivery-status" if "Action" in status_part else "message/feedback-report"
    raw = (
        f"From: {sender}\nTo: reply+k7qz2m4n5p6r7s8t@reply.leadflow.example\nSubject: Re: Your demo request\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/report; report-type="{report_type}"; boundary="b"\n\n'
        f"--b\nContent-Type: text/plain; charset=utf-8\n\n{words}\n{noise}\n"
        f"--b\nContent-Type: {second}\n\nReporting-MTA: dns; mx.example\n\n"
        f"Final-Recipient: rfc822; jordan@northwind.example\n{status_part}\n--b--\n"
    ).encode()
    assert classify(raw).kind is not Kind.REPLY
