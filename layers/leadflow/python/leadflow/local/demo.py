"""`leadflow demo`: synthetic leads through the real pipeline on the Sandbox, in simulated time."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadflow.clock import iso, parse_iso
from leadflow.local.events import reply_email
from leadflow.local.sandbox import SENDER, Sandbox

FIRST_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia"]
COMPANIES = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Acme",
    "Soylent",
]
REPLIES = [
    "Thanks, Tuesday at 2pm works for me.",
    "Not a priority this quarter, but try me in Q3.",
    "Can you send pricing first?",
    "I'm not the right person; talk to our ops lead.",
]


@dataclass(frozen=True)
class SyntheticLead:
    email: str
    first_name: str
    company: str
    arrives: datetime
    # Reply this long after the given touch went out, or never.
    replies_after_touch: int | None
    reply_delay: timedelta


def synthetic_leads(
    count: int, days: int, reply_share: float, seed: int, start: datetime
) -> list[SyntheticLead]:
    rng = random.Random(seed)
    leads = []
    for number in range(count):
        first = rng.choice(FIRST_NAMES)
        company = rng.choice(COMPANIES)
        leads.append(
            SyntheticLead(
                email=f"{first.lower()}.{number}@{company.lower()}.example",
                first_name=first,
                company=company,
                arrives=start + timedelta(seconds=rng.randrange(days * 86400)),
                replies_after_touch=rng.randint(1, 6) if rng.random() < reply_share else None,
                reply_delay=timedelta(hours=rng.uniform(1, 20)),
            )
        )
    return sorted(leads, key=lambda lead: lead.arrives)


def simulate(sb: Sandbox, population: list[SyntheticLead]) -> datetime:
    """Post the leads and deliver their replies in time order; returns when the last cadence ends."""
    touch_days = [touch.day for touch in sb.cadences[sb.default_cadence].touches]
    timeline: list[tuple[datetime, str, SyntheticLead]] = []
    for lead in population:
        timeline.append((lead.arrives, "arrive", lead))
        if lead.replies_after_touch is not None:
            touch_at = lead.arrives + timedelta(days=touch_days[lead.replies_after_touch - 1] - 1)
            timeline.append((touch_at + lead.reply_delay, "reply", lead))
    timeline.sort(key=lambda event: (event[0], event[1]))
    end = max(lead.arrives for lead in population) + timedelta(days=touch_days[-1])
    for number, (moment, kind, lead) in enumerate(timeline, start=1):
        sb.advance_to(moment)
        if kind == "arrive":
            sb.post(
                "/leads",
                json={"email": lead.email, "first_name": lead.first_name, "company": lead.company},
            )
        else:
            body = REPLIES[hash(lead.email) % len(REPLIES)]
            sb.deliver_email(
                reply_email(
                    f"{lead.first_name} <{lead.email}>",
                    to=SENDER,
                    subject="Re: your note",
                    body=body,
                    at=moment,
                )
            )
        _progress(number, len(timeline), sb.now())
    sb.advance_to(end)
    return end


def write_report(sb: Sandbox, since: datetime, until: datetime, out: Path) -> dict[str, Any]:
    """Run the report function over the run (it emails and archives), and copy its files to `out`."""
    run = sb.run_report(since=since, until=until, force=True)
    out.mkdir(parents=True, exist_ok=True)
    for suffix, key in run["keys"].items():
        (out / f"report.{suffix}").write_text(sb.archived(key), encoding="utf-8")
    return dict(run)


def run_demo(
    *, leads: int, days: int, reply_share: float, seed: int, start: str, out: Path = Path("out")
) -> int:
    began = time.perf_counter()
    begin = parse_iso(start)
    population = synthetic_leads(leads, days, reply_share, seed, begin)
    with Sandbox(start=start) as sb:
        end = simulate(sb, population)
        summary = sb.summary()
        report = write_report(sb, begin, end, out)
    elapsed = time.perf_counter() - began
    print(file=sys.stderr)
    print(f"leadflow demo: {leads} synthetic leads, simulated {iso(begin)} .. {iso(end)}")
    print()
    width = max(len(name) for name in summary)
    for name, value in summary.items():
        print(f"  {name:<{width}}  {value:>6}")
    print()
    print(f"report: {out / 'report.html'}, {out / 'report.txt'}, {out / 'report.csv'}")
    print(
        f"  emailed to {report['recipients']} recipient(s); archived at s3://{report['bucket']}/{report['keys']['html']}"
    )
    print(f"finished in {elapsed:.1f} s wall time")
    return 0


def _progress(done: int, total: int, now: datetime) -> None:
    if sys.stderr.isatty():
        print(f"\r  {done}/{total} events  simulated {iso(now)}", end="", file=sys.stderr, flush=True)
    elif done == total or done % 25 == 0:
        print(f"  {done}/{total} events  simulated {iso(now)}", file=sys.stderr, flush=True)
