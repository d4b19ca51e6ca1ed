"""Whether inbound mail may act: the SES receipt's SPF, DKIM, DMARC, spam and virus verdicts.

SES receiving checks every message and puts five verdicts in the receipt notification
(`"spfVerdict": {"status": "PASS"}`...; status PASS, FAIL, GRAY, PROCESSING_FAILED or DISABLED).
Anyone can write a lead's address in `From:`; only these verdicts say the mail came from
the lead's own mail system. Two questions, answered here as pure functions:

- **suspicious**: DMARC fails, or SPF and DKIM both fail where the sender publishes no DMARC
  policy, or SES calls it spam or a virus. Such mail is recorded and shown to the rep as
  suspicious; it never stops, suppresses, opts out, account-stops or is forwarded.
- **authenticated**: not suspicious, and DMARC, SPF or DKIM passes. A reply matched only by
  its From address, and any bounce or complaint report (DSN/ARF), acts only when it is.
  A signed reply token or our own Message-ID in the thread is proof enough on its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

PASS = "PASS"
FAIL = "FAIL"
# Not in the receipt (an older notification, scanning off): neither a pass nor a fail.
MISSING = "MISSING"
CHECKS = ("spf", "dkim", "dmarc", "spam", "virus")


class Verdicts(BaseModel):
    """The five verdicts of one received message, by check name."""

    model_config = ConfigDict(frozen=True)

    spf: str = MISSING
    dkim: str = MISSING
    dmarc: str = MISSING
    spam: str = MISSING
    virus: str = MISSING

    @classmethod
    def from_receipt(cls, receipt: dict[str, Any]) -> Verdicts:
        """Read `<check>Verdict.status` from the SES receipt object (missing ones stay MISSING)."""
        found: dict[str, str] = {}
        for check in CHECKS:
            verdict = receipt.get(f"{check}Verdict")
            status = verdict.get("status") if isinstance(verdict, dict) else None
            if isinstance(status, str) and status.strip():
                found[check] = status.strip().upper()
        return cls(**found)

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
    def authenticated(self) -> bool:
        return not self.suspicious and PASS in (self.dmarc, self.spf, self.dkim)


ALL_PASS = Verdicts(spf=PASS, dkim=PASS, dmarc=PASS, spam=PASS, virus=PASS)
