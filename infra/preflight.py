"""What a deployment cannot work without, checked offline: the synth refuses it, `leadflow doctor`
prints it with its fix.

- Every address a touch can be sent from (each rep's `email` in config/leadflow.yaml, and the
  `leadflow:sender` of the weekly report) is covered by an SES identity the stack creates
  (`leadflow:sender`'s domain, `leadflow:sendingDomains`) or a named existing one
  (`leadflow:existingIdentities`): SES refuses a send from anything else.
- No placeholder of the shipped sample reaches a deploy: reserved domains (RFC 2606: `.example`,
  `.test`, `.invalid`, `.localhost`, example.com/.net/.org), the sample postal address. The sample
  synthesizes with `leadflow:allowPlaceholders` (tests, `make synth`); the Sandbox never synthesizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from infra.config import CONTEXT_PREFIX, LeadflowConfig
from leadflow.operator_config import OperatorConfig

RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
# The shipped config's postal address (config/leadflow.yaml company.postal_address).
SAMPLE_POSTAL_ADDRESS = "100 Example Street"
CONFIG = "config/leadflow.yaml"


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.what}. Fix: {self.fix}"


def is_placeholder_domain(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    return labels[-1] in RESERVED_TLDS or any(
        domain == reserved or domain.endswith("." + reserved) for reserved in RESERVED_DOMAINS
    )


def covers(identity: str, address: str) -> bool:
    """Whether a verified SES identity (a domain or an address) lets SES send from `address`.

    A domain identity covers its own addresses and its subdomains' (SES uses the parent domain's
    verification for a subdomain that has no identity of its own).
    """
    identity, address = identity.lower(), address.lower()
    if "@" in identity:
        return identity == address
    domain = address.rpartition("@")[2]
    return domain == identity or domain.endswith("." + identity)


def sending_addresses(config: LeadflowConfig, operator: OperatorConfig) -> list[tuple[str, str]]:
    """(who, address) for every From a message can carry: each rep's, and the sender's."""
    addresses = [(f"rep {rep.id}", str(rep.email)) for rep in operator.reps]
    return [*addresses, (f"{CONTEXT_PREFIX}sender", parseaddr(config.sender)[1])]


def coverage_problems(config: LeadflowConfig, operator: OperatorConfig) -> list[Problem]:
    identities = (*config.identity_domains, *config.existing_identities)
    problems = []
    for who, address in sending_addresses(config, operator):
        if not any(covers(identity, address) for identity in identities):
            domain = address.rpartition("@")[2]
            problems.append(
                Problem(
                    f"{who} sends from {address}, which no SES identity of the stack covers "
                    f"(it creates {', '.join(config.identity_domains)}"
                    + (
                        f"; existing: {', '.join(config.existing_identities)}"
                        if config.existing_identities
                        else ""
                    )
                    + ")",
                    f"add {domain} to {CONTEXT_PREFIX}sendingDomains (the stack creates the identity; "
                    f"publish its DNS records), or to {CONTEXT_PREFIX}existingIdentities if it is "
                    f"verified in SES already, or change the address in {CONFIG}",
                )
            )
    return problems


def _host(url: object) -> str:
    return urlsplit(str(url)).hostname or ""


def _placeholders(config: LeadflowConfig, operator: OperatorConfig) -> Iterator[tuple[str, str]]:
    """(where, domain) for every domain the settings name."""
    yield f"{CONTEXT_PREFIX}sender", config.sender_domain
    yield f"{CONTEXT_PREFIX}replyDomain", config.reply_domain
    for domain in config.sending_domains:
        yield f"{CONTEXT_PREFIX}sendingDomains", domain
    for identity in config.existing_identities:
        yield f"{CONTEXT_PREFIX}existingIdentities", identity.rpartition("@")[2]
    if config.public_url:
        yield f"{CONTEXT_PREFIX}publicUrl", _host(config.public_url)
    yield f"{CONFIG} company.website", _host(operator.company.website)
    for rep in operator.reps:
        yield f"{CONFIG} reps[{rep.id}].email", str(rep.email).rpartition("@")[2]
        if rep.alert_email:
            yield f"{CONFIG} reps[{rep.id}].alert_email", str(rep.alert_email).rpartition("@")[2]
        if rep.scheduling_url:
            yield f"{CONFIG} reps[{rep.id}].scheduling_url", _host(rep.scheduling_url)
    for address in operator.report.recipients:
        yield f"{CONFIG} report.recipients", str(address).rpartition("@")[2]
    for address in operator.ops.alert_emails:
        yield f"{CONFIG} ops.alert_emails", str(address).rpartition("@")[2]
    for origin in operator.intake.allowed_origins:
        yield f"{CONFIG} intake.allowed_origins", _host(origin)
    for form_id, form in operator.forms.items():
        if form.asset:
            yield f"{CONFIG} forms.{form_id}.asset.url", _host(form.asset.url)
    for domain in operator.sending.domains:
        yield f"{CONFIG} sending.domains", domain


def placeholder_problems(config: LeadflowConfig, operator: OperatorConfig) -> list[Problem]:
    problems = [
        Problem(
            f"{where}: {domain} is a placeholder (a reserved example domain)",
            f"set your own domain in {where}",
        )
        for where, domain in dict.fromkeys(_placeholders(config, operator))
        if is_placeholder_domain(domain)
    ]
    if SAMPLE_POSTAL_ADDRESS.lower() in operator.company.postal_address.lower():
        problems.append(
            Problem(
                f"{CONFIG} company.postal_address is the sample's ({operator.company.postal_address})",
                "put your company's real postal address (every email shows it: CAN-SPAM)",
            )
        )
    if not operator.ops.alert_emails:
        problems.append(
            Problem(
                f"{CONFIG} ops.alert_emails is empty: no one gets the alarms", "list who operates leadflow"
            )
        )
    return problems


def problems(config: LeadflowConfig, operator: OperatorConfig, *, placeholders: bool = True) -> list[Problem]:
    found = coverage_problems(config, operator)
    return found + (placeholder_problems(config, operator) if placeholders else [])


def refuse(config: LeadflowConfig, operator: OperatorConfig) -> None:
    """The synth's gate: one line naming every problem (placeholders pass with allowPlaceholders)."""
    found = problems(config, operator, placeholders=not config.allow_placeholders)
    if found:
        hint = (
            ""
            if config.allow_placeholders
            or not any("placeholder" in p.what or "sample" in p.what for p in found)
            else f" (the shipped sample synthesizes with -c {CONTEXT_PREFIX}allowPlaceholders=true)"
        )
        raise ValueError("; ".join(problem.line() for problem in found) + hint)
