"""A/B variant assignment: deterministic per lead and touch, balanced across leads.

No state: the variant is a hash of (lead id, cadence, touch number), so a retried
step, a preview or a report recomputes the same answer, and lead ids being random
spreads leads evenly over the variants. Hashing the touch too keeps arms of
different touches independent (a lead in arm b of touch 1 is not always in arm b
of touch 3), so one test does not bias another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from leadflow.cadence.model import Variant


def bucket(lead_id: str, cadence: str, touch: int, arms: int) -> int:
    digest = hashlib.sha256(f"{lead_id}\x1f{cadence}\x1f{touch}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % arms


def assign(lead_id: str, cadence: str, touch: int, variants: Sequence[Variant]) -> Variant | None:
    """The lead's variant of a touch, or None when the touch has no variants."""
    if not variants:
        return None
    return variants[bucket(lead_id, cadence, touch, len(variants))]
