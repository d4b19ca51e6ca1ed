"""When each touch of a cadence falls due for a lead."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadflow.cadence import Cadence


def plan(cadence: Cadence, arrived_at: datetime) -> list[datetime]:
    """Due time of every touch: touch on playbook day N runs N-1 days after arrival; day 1 at once."""
    return [arrived_at + timedelta(days=touch.day - 1) for touch in cadence.touches]
