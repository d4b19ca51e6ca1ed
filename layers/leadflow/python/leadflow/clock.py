"""The one time source every component reads.

Lambda code calls `now()`; the local Sandbox swaps the source for its discrete
simulated clock so that handlers, schedules and records agree on simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _source()


def set_source(source: Callable[[], datetime] | None) -> None:
    """Replace the time source (None restores the wall clock)."""
    global _source
    _source = source if source is not None else (lambda: datetime.now(UTC))


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z and whole seconds, as Step Functions Wait states require."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (Z or offset); naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
