"""Compose a touch's message for a lead: personal fields with fallbacks, the sending rep, the variant.

Used by the step function to send, by `leadflow preview` to show a cadence, and by
the lint to check every template against sample leads: one code path for all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadflow.cadence.model import Cadence, Variant
from leadflow.models import Lead
from leadflow.operator_config import Company, OperatorConfig, Rep
from leadflow.send.render import RenderedMessage, render

# Lead attributes that are bookkeeping, not something to write to the lead about.
INTERNAL_FIELDS = frozenset(
    {
        "id",
        "email",
        "status",
        "status_reason",
        "created_at",
        "enrollments",
        "email_consent",
        "sms_consent",
        "resubmissions",
        "last_submitted_at",
    }
)


def _clean(value: object) -> object:
    """Whitespace collapsed; blank strings become None so fallbacks apply."""
    if not isinstance(value, str):
        return value
    return " ".join(value.split()) or None


def _name(value: object) -> object:
    """A name as people write it; one typed all in lower or upper case gets capitalized."""
    value = _clean(value)
    if isinstance(value, str) and (value.islower() or value.isupper()):
        return " ".join(part[:1].upper() + part[1:].lower() for part in value.split(" "))
    return value


def lead_fields(lead: Lead) -> dict[str, Any]:
    """What templates see as `lead`: every personal field (None when missing) plus `full_name`."""
    fields = {
        name: _clean(value)
        for name, value in lead.model_dump(mode="json").items()
        if name not in INTERNAL_FIELDS
    }
    fields["first_name"] = _name(lead.first_name)
    fields["last_name"] = _name(lead.last_name)
    fields["full_name"] = " ".join(str(part) for part in (fields["first_name"], fields["last_name"]) if part)
    fields["full_name"] = fields["full_name"] or None
    return fields


def owning_rep(lead: Lead, config: OperatorConfig) -> Rep:
    """The rep who sends to this lead: its owner once routing assigns one, else the first configured rep."""
    owner = getattr(lead, "owner", None)  # routing assigns owners (cadence engine issue)
    return config.rep(owner) if owner else config.reps[0]


def signature(rep: Rep, company: Company) -> list[str]:
    if rep.signature:
        return [line.rstrip() for line in rep.signature.strip().splitlines()]
    role = f"{rep.title}, {company.name}" if rep.title else company.name
    return [rep.name, role, str(company.website).rstrip("/")]


def context(
    lead: Lead,
    rep: Rep,
    config: OperatorConfig,
    *,
    cadence: Cadence,
    touch: int,
    unsubscribe_url: str,
    variant: Variant | None,
) -> dict[str, Any]:
    company = config.company
    return {
        "lead": lead_fields(lead),
        "rep": {
            "name": rep.name,
            "first_name": rep.name.split()[0],
            "title": rep.title,
            "email": str(rep.email),
            "signature": signature(rep, company),
        },
        "company": {
            "name": company.name,
            "website": str(company.website).rstrip("/"),
            "postal_address": company.postal_address,
        },
        "unsubscribe_url": unsubscribe_url,
        "cadence": cadence.name,
        "touch": {"number": touch, "name": cadence.touch(touch).name, "day": cadence.touch(touch).day},
        "variant": variant.name if variant else None,
    }


def template_path(cadence: Cadence, touch: int, variant: Variant | None) -> str:
    """The template file (under templates/) for a touch in a variant."""
    return f"{variant.template if variant and variant.template else cadence.template(touch)}.j2"


def compose(
    template_dir: Path, cadence: Cadence, touch: int, variant: Variant | None, values: dict[str, Any]
) -> RenderedMessage:
    """Render a touch (in the lead's variant) with the values from `context`."""
    return render(
        template_dir,
        template_path(cadence, touch, variant),
        cadence.touch(touch).channel.value,
        values,
        subject=variant.subject if variant else None,
    )


def reply_subject(first_subject: str) -> str:
    """The subject of a follow-up in the first email's thread."""
    return first_subject if first_subject.lower().startswith("re:") else f"Re: {first_subject}"
