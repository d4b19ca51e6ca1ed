"""Whether inbound mail may act: the SES receipt's verdicts, and which domains they are for.

SES receiving checks every message and puts five verdicts in the receipt notification
(`"spfVerdict": {"status": "PASS"}`...; status PASS, FAIL, GRAY, PROCESSING_FAILED or DISABLED).
The statuses do not say *which* domain passed: an attacker's own domain passes SPF and DKIM
too. SES also prepends an `Authentication-Results: amazonses.com; spf=pass ... envelope-from=…;
dkim=pass header.i=@…; dmarc=… header.from=…` header to the stored message; `reading(raw)` takes
the domains from that header (the topmost one only: anything below it the sender wrote).
The questions answered here, as pure functions:

- **proves_from**: DMARC passes for the From domain, or SPF or DKIM passes for a domain
  *aligned* with it (relaxed alignment, RFC 7489: the same organisational domain, from the
  Public Suffix List bundled by `publicsuffixlist`, offline). Only this proves who wrote it.
- **foreign_pass**: SPF or DKIM passed, but only for other domains: the mail came from someone
  else's system (an attacker's own domain, or an unaligned sending service).
- **suspicious**: DMARC fails, or SPF and DKIM both fail where the sender publishes no DMARC
  policy, or SES calls it spam or a virus.

What each kind of mail needs is decided in leadflow.answers.inbound (the trust model of
docs/decisions.md).
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.utils import parseaddr
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

PASS = "PASS"
FAIL = "FAIL"
# Not in the receipt (an older notification, scanning off): neither a pass nor a fail.
MISSING = "MISSING"
CHECKS = ("spf", "dkim", "dmarc", "spam", "virus")
# The authserv-id of the Authentication-Results header SES receiving adds (RFC 8601).
SES_AUTHSERV_ID = "amazonses.com"
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_PROPERTY = re.compile(r"\b(smtp\.mailfrom|envelope-from|header\.d|header\.i|header\.from)=([^\s;()]+)", re.I)


class Verdicts(BaseModel):
    """The five verdicts of one received message, by check name."""

    model_config = ConfigDict(frozen=True)

    spf: str = MISSING
    dkim: str = MISSING
    dmarc: str = MISSING
    spam: str = MISSING
    virus: str = MISSING
    # Domains, from the message (`reading`): its From, SPF's envelope sender, and DKIM's passing d=.
    from_domain: str = ""
    spf_domain: str = ""
    dkim_domains: tuple[str, ...] = ()

    @classmethod
    def from_receipt(cls, receipt: dict[str, Any]) -> Verdicts:
        """Read `<check>Verdict.status` from the SES receipt object (missing ones stay MISSING)."""
        found: dict[str, str] = {}
        for check in CHECKS:
            verdict = receipt.get(f"{check}Verdict")
            status = verdict.get("status") if isinstance(verdict, dict) else None
            if isinstance(status, str) and status.strip():
                found[check] = status.strip().upper()
        return cls.model_validate(found)

    def reading(self, raw: bytes) -> Verdicts:
        """These verdicts with the domains they are for, read from the stored raw message."""
        return self.model_copy(update=domains(raw))

    def failures(self) -> list[str]:
        """Why the mail is suspicious (e.g. ["dmarc"], ["spf+dkim", "spam"]); empty when it is not."""
        reasons = []
        if self.dmarc == FAIL:
            reasons.append("dmarc")
        elif self.dmarc != PASS and self.spf == FAIL and self.dkim == FAIL:
            reasons.append("spf+dkim")
        reasons += [check for check in ("spam", "virus") if getattr(self, check) == FAIL]
        return reasons

    @property
    def suspicious(self) -> bool:
        return bool(self.failures())

    @property
    def proves_from(self) -> bool:
        """DMARC passed, or SPF or DKIM passed for a domain aligned with the From domain."""
        if self.dmarc == PASS:
            return True
        spf = self.spf == PASS and aligned(self.spf_domain, self.from_domain)
        dkim = self.dkim == PASS and any(aligned(domain, self.from_domain) for domain in self.dkim_domains)
        return spf or dkim

    @property
    def foreign_pass(self) -> bool:
        """SPF or DKIM passed, only for domains not aligned with From (nothing proves From)."""
        passed = ([self.spf_domain] if self.spf == PASS and self.spf_domain else []) + (
            list(self.dkim_domains) if self.dkim == PASS else []
        )
        return bool(passed) and not self.proves_from


ALL_PASS = Verdicts(spf=PASS, dkim=PASS, dmarc=PASS, spam=PASS, virus=PASS)


@cache
def _public_suffixes() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList  # the bundled list: no network, loaded once (~0.1 s)

    return PublicSuffixList()


def organisational_domain(domain: str) -> str | None:
    """`mail.example.co.uk` -> `example.co.uk`; None for a public suffix itself or no domain."""
    domain = domain.strip().rstrip(".").lower()
    if not _DOMAIN.match(domain):
        return None
    found = _public_suffixes().privatesuffix(domain)
    return str(found) if found else None


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489 3.1): both share one organisational domain."""
    organisational = organisational_domain(domain)
    return organisational is not None and organisational == organisational_domain(from_domain)


def _domain_of(value: str) -> str:
    """`user@Example.COM`, `@example.com` or `example.com` -> `example.com`."""
    return value.strip().strip("<>").rpartition("@")[2].rstrip(".").lower()


def domains(raw: bytes) -> dict[str, Any]:
    """From, SPF and passing DKIM domains of a message SES received, from SES's own header.

    Only the topmost Authentication-Results is SES's (it prepends its headers); a message
    without one, or whose topmost one is another server's, names no SPF or DKIM domain.
    """
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
        results = [str(value) for value in message.get_all("Authentication-Results") or []]
        from_domain = _domain_of(parseaddr(str(message.get("From") or ""))[1])
    except Exception:  # unparseable mail proves nothing
        return {}
    found: dict[str, Any] = {"from_domain": from_domain}
    if not results:
        return found
    authserv_id, _, rest = " ".join(results[0].split()).partition(";")
    if authserv_id.strip().lower() != SES_AUTHSERV_ID:
        return found
    spf_domain = ""
    dkim_domains: list[str] = []
    method = ""
    for clause in rest.split(";"):
        name, _, value = clause.strip().partition("=")
        name = name.strip().lower()
        if name in ("spf", "dkim", "dmarc"):
            method, result = name, value.split()[0].lower() if value.split() else ""
            if method == "dkim" and result != "pass":
                method = ""  # a failing signature's domain proves nothing
        properties = {key.lower(): val for key, val in _PROPERTY.findall(clause)}
        # SES writes `envelope-from=…` as a clause of its own after the spf one.
        if method == "spf" and not spf_domain:
            spf_domain = _domain_of(properties.get("smtp.mailfrom") or properties.get("envelope-from") or "")
        if method == "dkim":
            domain = _domain_of(properties.get("header.d") or properties.get("header.i") or "")
            if domain and domain not in dkim_domains:
                dkim_domains.append(domain)
            method = ""
    found.update(spf_domain=spf_domain, dkim_domains=tuple(dkim_domains))
    return found
