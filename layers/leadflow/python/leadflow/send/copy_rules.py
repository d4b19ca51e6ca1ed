"""What lead-facing copy may say beyond its lead's facts (issue 27): the words the lint looks for.

- A break-up is an email that tells the lead the outreach ends ("closing the loop", "my last note",
  "I'll stop reaching out", "I'll assume the timing isn't right"). Only a qualified lead may get one
  (`messages.qualified`): the playbook reserves it for SQLs and HQLs and moves MQLs on to nurture.
- A statistic is a number made into a claim: a percentage, "21 times likelier", "3x", "one in
  five". Lead-facing copy quotes none unless the operator opts in (`messages.quote_statistics`).
- A back-reference ("that window", "the offer", "as I mentioned") needs its referent earlier in the
  same email: the lead may not have read, or been sent, the one before.
Day words and offered days: `send.days`; the rules that read them are in `send.lint`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BREAK_UP = re.compile(
    r"\bclos(e|ing) the loop\b|\bclos(e|ing) (your|the) (file|request)\b"
    r"|\b(this is|here is|that's|it's) (my|the) last (note|email|message)\b|\bone last (note|email|message)\b"
    r"|\b(stop|stopping) (reaching out|writing|emailing|following up)\b"
    r"|\b(won't|will not|not) keep (writing|reaching out|emailing|following up)\b"
    r"|\bassume the timing\b|\bnothing (else|more) will follow\b|\bremov(e|ing) you from\b",
    re.IGNORECASE,
)

_NUMBER = r"(\d+(\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred)"
STATISTIC = re.compile(
    rf"\b{_NUMBER}(\s|-)?(%|percent\b|per cent\b)|\b\d+(\.\d+)?\s?%"
    rf"|\b{_NUMBER}(\s|-)?(x|times)\s+(more|less|fewer|likelier|likely|higher|lower|faster|as)\b"
    rf"|\b\d+(\.\d+)?x\b|\b{_NUMBER} (in|out of) (every )?{_NUMBER}\b|\btwice as\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BackReference:
    name: str
    pattern: re.Pattern[str]
    # What must come earlier in the same email; None: it points at another message, never allowed.
    referent: re.Pattern[str] | None


def _back(name: str, pattern: str, referent: str | None) -> BackReference:
    return BackReference(
        name, re.compile(pattern, re.IGNORECASE), re.compile(referent, re.IGNORECASE) if referent else None
    )


BACK_REFERENCES = (
    _back("that window", r"\b(that|this|the) window\b", r"\bwithin (a few|an?|\w+) (minutes?|hours?)\b"),
    _back(
        "the offer",
        r"\b(the|that|this|my) offer\b",
        r"\b(I can|I could|I'm glad to|I'd be glad to|glad to|happy to|I'd like to show|would you like)\b",
    ),
    _back("that gap", r"\b(that|this|the same) gap\b", r"\b(gap|stretch)\b"),
    _back("the idea", r"\b(that|this|the) idea\b", r"\bidea\b"),
    _back("the video", r"\b(that|this|the) video\b", r"\bvideo\b"),
    _back(
        "an earlier message",
        r"\bas (I )?(mentioned|promised|said|wrote|noted)\b|\blike I (said|mentioned)\b"
        r"|\b(in|since) my (last|previous|earlier) (email|note|message|text)\b"
        r"|\bmy (previous|earlier|other) (email|note|message|text)\b",
        None,
    ),
)


def break_up(text: str) -> str | None:
    """The words that make `text` a break-up, or None."""
    match = BREAK_UP.search(text)
    return match.group(0) if match else None


def statistics(text: str) -> list[str]:
    return [match.group(0) for match in STATISTIC.finditer(text)]


def dangling_references(text: str) -> list[str]:
    """Back-references whose referent does not come before them in `text` (one email)."""
    found = []
    for reference in BACK_REFERENCES:
        for match in reference.pattern.finditer(text):
            before = text[: match.start()]
            if reference.referent is None or not reference.referent.search(before):
                found.append(f"{match.group(0)!r} ({reference.name})")
    return found
