"""Schedule planning: what the intake pays per lead for send windows, holidays and time zones.

Figures: cold import of the schedule module (holidays, tzdata) in a fresh interpreter, the first
holiday lookup of a country (the package builds a year's calendar), and plans per second over
random zones, countries and post times for the shipped cadences. Target: planning stays well
under 5 ms per lead once warm, so intake's latency budget goes to DynamoDB and Step Functions.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import Locale, _zone_table, holiday_name, plan_touches


def _cold_import_ms() -> float:
    code = (
        "import time; t = time.perf_counter(); import leadflow.cadence.schedule; "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out) * 1000


def run(quick: bool) -> None:
    print(f"   cold import of leadflow.cadence.schedule: {_cold_import_ms():.0f} ms (fresh interpreter)")
    began = time.perf_counter()
    holiday_name(Locale("Europe/Berlin", "DE"), datetime(2031, 1, 1).date())
    print(f"   first holiday lookup (DE, a new year): {(time.perf_counter() - began) * 1000:.1f} ms")

    rng = random.Random(3)
    zones = sorted(_zone_table()[1])
    countries = sorted(_zone_table()[0])
    cadences = list(load_cadences().values())
    leads = 300 if quick else 5000
    cases = [
        (
            rng.choice(cadences),
            datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(4 * 365 * 86400)),
            Locale(rng.choice(zones), rng.choice(countries)),
        )
        for _ in range(leads)
    ]
    for cadence, start, locale in cases[:50]:  # warm the calendars the run will use
        plan_touches(cadence, start, locale)
    began = time.perf_counter()
    touches = sum(len(plan_touches(cadence, start, locale)) for cadence, start, locale in cases)
    elapsed = time.perf_counter() - began
    print(
        f"   {leads} plans ({touches} touches, random zones/countries/post times): "
        f"{elapsed / leads * 1e6:.0f} µs per lead, {leads / elapsed:,.0f} leads/s (target: < 5 ms per lead)"
    )
