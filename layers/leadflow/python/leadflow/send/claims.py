"""Claims a message may make only when the lead's own submission, or its meeting, shows them.

Every word a lead reads must be true for that lead: "thanks for requesting a demo" to a newsletter
subscriber, or "thanks for your time" before a meeting, burns the lead. A claim names the fact it
needs; `facts_for` says which facts a message's lead has. Used by the template lint (every cadence x
every form that can reach it) and by the acceptance tests.

Day names are claims too: copy may name only the days computed from the send time in the lead's
zone (`offer`, `meeting` from `send.days`), and never "this week" or "next week".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_NAME = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")
RELATIVE_WEEK = re.compile(r"\b(this|next|last) week\b", re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    name: str
    pattern: re.Pattern[str]
    # Any one of these facts makes the claim true.
    needs: frozenset[str]


def _claim(name: str, pattern: str, *needs: str) -> Claim:
    return Claim(name, re.compile(pattern, re.IGNORECASE), frozenset(needs))


CLAIMS = (
    _claim(
        "requested a demo", r"\b(demo request|request(ed|ing)? a demo|asked for a demo|your demo)\b", "demo"
    ),
    _claim(
        "asked about pricing", r"\b(pricing question|question about pricing|asked about pricing)\b", "pricing"
    ),
    _claim("contacted sales", r"\b(note to our sales team|contacted (our )?sales)\b", "contact-sales"),
    _claim(
        "downloaded an asset", r"\b(download(ed|ing|s)?|the guide|your copy|ebook|whitepaper)\b", "content"
    ),
    _claim("registered for a webinar", r"\b(webinar|registered|registration)\b", "webinar"),
    _claim("subscribed", r"\b(newsletter|subscrib(ed|ing)|sign-up)\b", "newsletter"),
    _claim(
        "a meeting took place",
        r"\b(thanks? (you )?for your time|our (meeting|call|conversation)|walking me through|"
        r"we (spoke|talked|met)|points we covered)\b",
        "meeting-held",
    ),
    _claim(
        "missed the meeting",
        r"\b(missed (you|each other)|we missed|could(n't| not) make it|did(n't| not) make it)\b",
        "meeting-no_show",
    ),
    _claim("cancelled the meeting", r"\bcancell?(ed|ing)\b", "meeting-canceled"),
)


def facts_for(form_intent: str | None, meeting_status: str | None) -> frozenset[str]:
    """What a message to this lead may claim: its form's intent, and what happened to its meeting."""
    facts = {form_intent} if form_intent else set()
    if meeting_status == "booked":
        facts.add("meeting-held")  # post-meeting messages go out only after the meeting ended
    elif meeting_status:
        facts.add(f"meeting-{meeting_status}")
    return frozenset(facts)


def unsupported(text: str, facts: frozenset[str]) -> list[str]:
    """The claims in `text` that the facts do not support, each with the words that made it."""
    found = []
    for claim in CLAIMS:
        match = claim.pattern.search(text)
        if match and not claim.needs & facts:
            found.append(f"{claim.name} ({match.group(0)!r})")
    return found


def uncomputed_days(text: str, values: dict[str, Any]) -> list[str]:
    """Weekday names the send time does not give, and any "this week" / "next week"."""
    offer = values.get("offer") or {}
    meeting = values.get("meeting") or {}
    # Day words are "Tuesday" or "Tuesday 15 December": the weekday is the first word.
    allowed = {word.split()[0] for word in (*offer.get("days", ()), meeting.get("day")) if word}
    problems = [f"{name!r}" for name in WEEKDAY_NAME.findall(text) if name not in allowed]
    problems += [repr(match.group(0)) for match in RELATIVE_WEEK.finditer(text)]
    return problems
