"""Reply intent: the rules' score on the labelled replies (tests/fixtures/replies/labelled.yaml).

Each reply is built as raw MIME in thread to touch 1 (quoted with the client's attribution line and
touch 1's footer and unsubscribe link when the corpus says `quote: true`) and goes the inbound
function's way: classify (the writer's own text; a written removal request is Kind.UNSUBSCRIBE),
then the intent rules. Scored by action group (interested and question are one). Targets (issue 24):
at least 95%, no unsubscribe request missed, no positive reply taken as not_interested or unsubscribe.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import yaml

from bench.results import record
from leadflow.answers.classify import Kind, classify
from leadflow.answers.intent import POSITIVE, Intent, action_group, read

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "replies" / "labelled.yaml"
TODAY = date(2026, 11, 25)
# Touch 1 as the lead's client quotes it: its copy, and a footer with the traps a quote carries.
TOUCH_1 = """Hi Kim,

Thanks for asking for a demo. Would Tuesday or Wednesday suit you for twenty minutes?
If now is not the right time, just say "not now" and I will not write again.

Alex Rivera
Account Executive, Leadflow Demo Co

You are receiving this because you asked for a demo at leadflow.example.
Not interested? Unsubscribe: https://leadflow.example/unsubscribe?token=abc123
Leadflow Demo Co, 100 Example Street, Springfield, IL 62701, USA"""
# The attribution line each language's mail client writes above the quote (Gmail, Outlook, Apple
# Mail); tests/test_reply_intent.py quotes with it too.
ATTRIBUTION = {
    "en": "On Mon, Nov 23, 2026 at 9:00 AM Alex Rivera <alex@mail.leadflow.example> wrote:",
    "de": "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Alex Rivera <alex@mail.leadflow.example>:",
    "fr": "Le lun. 23 nov. 2026 à 09:00, Alex Rivera <alex@mail.leadflow.example> a écrit :",
    "es": "El lun, 23 nov 2026 a las 9:00, Alex Rivera (<alex@mail.leadflow.example>) escribió:",
    "pt": "Em seg., 23 de nov. de 2026 às 09:00, Alex Rivera <alex@mail.leadflow.example> escreveu:",
    "nl": "Op ma 23 nov 2026 om 09:00 schreef Alex Rivera <alex@mail.leadflow.example>:",
    "it": "Il giorno lun 23 nov 2026 alle ore 09:00 Alex Rivera <alex@mail.leadflow.example> ha scritto:",
    "ja": "2026年11月23日(月) 9:00 Alex Rivera <alex@mail.leadflow.example>:",
}


@dataclass(frozen=True)
class Scored:
    language: str
    text: str
    expected: Intent
    got: Intent


def reply_mime(text: str, language: str, quote: bool) -> bytes:
    """A reply to touch 1 as the lead's client sends it."""
    message = EmailMessage()
    message["From"] = "Kim Lee <kim.lee@customer.example>"
    message["To"] = "alex@mail.leadflow.example"
    message["Subject"] = "Re: A time to talk"
    message["Date"] = format_datetime(datetime(2026, 11, 25, 10, tzinfo=UTC))
    message["Message-ID"] = "<reply-1@customer.example>"
    message["In-Reply-To"] = "<0100018c-touch-1@email.amazonses.com>"
    quoted = "\n".join(f"> {line}" for line in TOUCH_1.splitlines())
    message.set_content(f"{text}\n\n{ATTRIBUTION[language]}\n{quoted}\n" if quote else f"{text}\n")
    return message.as_bytes()


def intent_of(raw: bytes) -> Intent:
    """What the inbound path makes of a reply: a written removal request, else the intent of its text."""
    result = classify(raw)
    if result.kind is Kind.UNSUBSCRIBE:
        return Intent.UNSUBSCRIBE
    return read(result.text, result.subject, today=TODAY, sender=result.sender).intent


def score() -> list[Scored]:
    entries = yaml.safe_load(CORPUS.read_text())
    return [
        Scored(
            entry["lang"],
            entry["text"],
            Intent(entry["intent"]),
            intent_of(reply_mime(entry["text"], entry["lang"], bool(entry.get("quote")))),
        )
        for entry in entries
    ]


def run(quick: bool) -> None:
    scored = score()
    right = sum(action_group(s.expected) == action_group(s.got) for s in scored)
    missed = sum(s.expected is Intent.UNSUBSCRIBE and s.got is not Intent.UNSUBSCRIBE for s in scored)
    negative = {Intent.NOT_INTERESTED, Intent.UNSUBSCRIBE}
    harmed = sum(s.expected in POSITIVE and s.got in negative for s in scored)
    languages = Counter(s.language for s in scored)
    print(
        f"   {len(scored)} labelled replies: " + ", ".join(f"{k} {v}" for k, v in sorted(languages.items()))
    )
    record("intent_action_group_accuracy", right / len(scored), "share", 0.95, "target: at least 0.95")
    record("intent_unsubscribe_missed", missed, "replies", None, "target: 0")
    record("intent_positive_taken_negative", harmed, "replies", None, "target: 0")
    for s in scored:
        if action_group(s.expected) != action_group(s.got):
            print(f"   miss ({s.language}): {s.text!r}: {s.expected.value} read as {s.got.value}")
