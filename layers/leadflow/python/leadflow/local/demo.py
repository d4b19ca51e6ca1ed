"""`leadflow demo`: synthetic leads through the real pipeline on the Sandbox, in simulated time.

The population mixes demo requests, content downloads, newsletter sign-ups and dormant leads
pushed by a CRM (server-to-server), from several countries and time zones, some with SMS
consent, some from UTM-tagged campaigns. Leads reply to an email; reps record outcomes of their
call and LinkedIn tasks (some connect, some book a meeting and enter the post-meeting cadence);
the CRM marks some of those who met sales-qualified, through its signed webhook.

The run ends when the weekly report is due: the first Monday, local midnight in the report's
time zone, after the last lead arrived. The report covers the last full week of the run, and
its 90-day column covers the whole run, so it states the same leads, replies and meetings as
the summary the demo prints (both count people).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from leadflow import keys
from leadflow.clock import iso, parse_iso
from leadflow.config import operator_config
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
TITLES = ["VP Sales", "Head of Growth", "Marketing Manager", "Founder", "Sales Ops Analyst", "CTO", "Intern"]
# (country, IANA zone or None when the form did not send one, phone in national format)
PLACES = [
    ("US", "America/Chicago", "(415) 555-2671"),
    ("US", None, "212 555 0187"),
    ("DE", "Europe/Berlin", "030 901820"),
    ("GB", None, "020 7946 0958"),
    ("JP", "Asia/Tokyo", "03-1234-5678"),
    ("AU", "Australia/Sydney", "02 9374 4000"),
]
# (form, share of the population)
FORMS = [("demo-request", 0.45), ("follow-up-guide", 0.3), ("newsletter", 0.15), ("dormant", 0.1)]
# A meeting booked on a rep's task starts this long after the outcome (the rep gives its time).
MEETING_AHEAD = timedelta(days=2)
REPLIES = [
    "Thanks, Tuesday at 2pm works for me.",
    "Not a priority this quarter, but try me in Q3.",
    "Can you send pricing first?",
    "I'm not the right person; talk to our ops lead.",
]
TASK_OUTCOMES = [
    ("no_answer", 40),
    ("voicemail", 20),
    ("done", 10),
    ("connected", 15),
    ("meeting_booked", 15),
]
CAMPAIGNS = [("google", "q4-demo-push"), ("linkedin", "ops-leaders"), (None, None)]
# Share of leads who booked a meeting that the CRM later marks sales-qualified, two days on.
SQL_SHARE = 0.5


@dataclass(frozen=True)
class SyntheticLead:
    email: str
    first_name: str
    company: str
    title: str
    form: str
    country: str
    timezone: str | None
    phone: str | None
    sms_consent: bool
    arrives: datetime
    # Replies this long after the n-th automated touch, or never.
    replies_after: int | None
    reply_delay: timedelta
    outcomes: tuple[str, ...] = field(default=())
    campaign: tuple[str | None, str | None] = (None, None)
    qualifies: bool = False

    def post(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "email": self.email,
            "first_name": self.first_name,
            "company": self.company,
            "title": self.title,
            "country": self.country,
            "sms_consent": self.sms_consent,
        }
        if self.form == "dormant":
            body.update(lead_type="dormant", source="crm")
        else:
            body["form"] = self.form
            utm_source, utm_campaign = self.campaign
            if utm_source:
                body.update(utm_source=utm_source, utm_medium="cpc", utm_campaign=utm_campaign)
        if self.timezone:
            body["timezone"] = self.timezone
        if self.phone:
            body["phone"] = self.phone
        return body


def synthetic_leads(
    count: int, days: int, reply_share: float, seed: int, start: datetime
) -> list[SyntheticLead]:
    rng = random.Random(seed)
    forms, weights = zip(*FORMS, strict=True)
    outcome_names, outcome_weights = zip(*TASK_OUTCOMES, strict=True)
    leads = []
    for number in range(count):
        first = rng.choice(FIRST_NAMES)
        company = rng.choice(COMPANIES)
        form = rng.choices(forms, weights)[0]
        country, zone, phone = rng.choice(PLACES)
        free_mail = form == "newsletter" and rng.random() < 0.6
        domain = "gmail.com" if free_mail else f"{company.lower()}.example"
        leads.append(
            SyntheticLead(
                email=f"{first.lower()}.{number}@{domain}",
                first_name=first,
                company=company,
                title=rng.choice(TITLES),
                form=form,
                country=country,
                timezone=zone,
                # Each lead its own number: one first touch per phone a day (abuse settings).
                phone=f"{phone[:-3]}{number % 1000:03d}" if rng.random() < 0.7 else None,
                sms_consent=rng.random() < 0.5,
                arrives=start + timedelta(seconds=rng.randrange(days * 86400)),
                replies_after=rng.randint(1, 4) if rng.random() < reply_share else None,
                reply_delay=timedelta(hours=rng.uniform(1, 20)),
                outcomes=tuple(rng.choices(outcome_names, outcome_weights, k=4)),
                campaign=rng.choice(CAMPAIGNS),
                qualifies=rng.random() < SQL_SHARE,
            )
        )
    return sorted(leads, key=lambda lead: lead.arrives)


def report_due(after: datetime, timezone: str) -> datetime:
    """The first Monday, local midnight in `timezone`, after `after`: when the weekly report is due."""
    local = after.astimezone(ZoneInfo(timezone))
    monday = local.date() + timedelta(days=7 - local.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def simulate(
    sb: Sandbox,
    population: list[SyntheticLead],
    routed: Counter[str] | None = None,
    end: datetime | None = None,
) -> datetime:
    """Post the leads, deliver replies, record task outcomes and CRM stages in time order, until `end`.

    By default runs until the last cadence has surely ended; counts the leads each cadence took in
    `routed`. Returns the end.
    """
    order = itertools.count()
    events: list[tuple[datetime, int, str, SyntheticLead, Any]] = [
        (lead.arrives, next(order), "arrive", lead, None) for lead in population
    ]
    heapq.heapify(events)
    end = end or max(lead.arrives for lead in population) + timedelta(days=45)
    done, routed = 0, routed if routed is not None else Counter[str]()
    while events and events[0][0] < end:
        moment, _, kind, lead, detail = heapq.heappop(events)
        sb.advance_to(moment)
        if kind == "arrive":
            for event in _arrive(sb, lead):
                heapq.heappush(events, (event[0], next(order), event[1], lead, event[2]))
            routed[str((sb.find_lead(lead.email) or {}).get("cadence"))] += 1
        elif kind == "reply":
            # crc32, not hash(): str hashes are salted per process, and the seed must decide the words.
            body = REPLIES[zlib.crc32(lead.email.encode()) % len(REPLIES)]
            sb.deliver_email(
                reply_email(
                    f"{lead.first_name} <{lead.email}>",
                    to=SENDER,
                    subject="Re: your note",
                    body=body,
                    at=moment,
                )
            )
        elif kind == "stage":
            body = json.dumps({"event": "lead.stage", "email": lead.email, "stage": "sql"})
            sb.post("/webhooks/crm", data=body, headers=sb.sign_crm_webhook(body))
        else:
            task_id, outcome = detail
            task = sb.task(task_id)
            if task and task["status"] == "open":  # none if the lead stopped before the task fell due
                outcome_post = {"outcome": outcome}
                if outcome == "meeting_booked":
                    outcome_post["meeting_at"] = iso(moment + MEETING_AHEAD)
                sb.post(f"/tasks/{task_id}?token={task['token']}", json=outcome_post)
                if outcome == "meeting_booked" and lead.qualifies:
                    heapq.heappush(events, (moment + timedelta(days=2), next(order), "stage", lead, None))
        done += 1
        _progress(done, done + len(events), sb.now())
    sb.advance_to(end)
    return end


def write_report(sb: Sandbox, due: datetime, out: Path) -> dict[str, Any]:
    """Run the weekly report as its schedule would at `due` (it emails, archives); copy its files to `out`."""
    run = sb.run_report(due, force=True)
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
    with Sandbox(start=start) as sb, seeded_ids(seed):
        routed = Counter[str]()
        due = report_due(max(lead.arrives for lead in population), operator_config().report.schedule.timezone)
        end = simulate(sb, population, routed, due)
        summary = sb.summary()
        report = write_report(sb, due, out)
    elapsed = time.perf_counter() - began
    print(file=sys.stderr)
    print(f"leadflow demo: {leads} synthetic leads, simulated {iso(begin)} .. {iso(end)}")
    print()
    width = max(len(name) for name in summary)
    for name, value in summary.items():
        print(f"  {name:<{width}}  {value:>6}")
    print()
    print("  routed to")
    for name, count in sorted(routed.items()):
        print(f"    {name:<{width - 2}}  {count:>6}")
    print()
    print(f"report: {out / 'report.html'}, {out / 'report.txt'}, {out / 'report.csv'}")
    archive = f"s3://{report['bucket']}/{report['keys']['html']}"
    print(
        f"  the weekly report due {iso(due)}: {report['period']} ({report['new_leads']} new leads that week, "
        f"{report['leads']} enrolled counting earlier leads enrolled again);"
    )
    print("  its 90-day column covers the whole run: the same leads, replies and meetings as above")
    print(f"  emailed to {report['recipients']} recipient(s); archived at {archive}")
    print(f"finished in {elapsed:.1f} s wall time")
    return 0


@contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """Lead and submission ids drawn from the seed instead of the system's random source.

    A lead's id picks its A/B variants (cadence.variants hashes it) and its by_day shard, so random
    ids gave the same seed different A/B numbers from run to run. Production ids stay random.
    """
    rng = random.Random(f"ids-{seed}")
    saved = keys.new_lead_id, keys.new_submission_id
    keys.new_lead_id = lambda: f"{rng.getrandbits(80):020x}"
    keys.new_submission_id = lambda: f"{rng.getrandbits(96):024x}"
    try:
        yield
    finally:
        keys.new_lead_id, keys.new_submission_id = saved


def _arrive(sb: Sandbox, lead: SyntheticLead) -> list[tuple[datetime, str, Any]]:
    """Post the lead (dormant ones through the CRM's API key); return its reply and task-outcome events."""
    headers = {"X-Api-Key": sb.api_key} if lead.form == "dormant" else None
    sb.post("/leads", json=lead.post(), headers=headers)
    stored = sb.find_lead(lead.email)
    if stored is None:
        return []
    enrollment = stored["enrollments_detail"][0]
    cadence = sb.cadences[enrollment["cadence"]]
    schedule = [parse_iso(due) for due in enrollment["schedule"]]
    events: list[tuple[datetime, str, Any]] = []
    automated = [number for number, touch in enumerate(cadence.touches, start=1) if touch.automated]
    if lead.replies_after is not None and lead.replies_after <= len(automated):
        touch = automated[lead.replies_after - 1]
        events.append((schedule[touch - 1] + lead.reply_delay, "reply", None))
    tasks = [number for number, touch in enumerate(cadence.touches, start=1) if not touch.automated]
    for number, outcome in zip(tasks, lead.outcomes, strict=False):
        task_id = f"{stored['id']}-{enrollment['number']}-{number}"
        events.append((schedule[number - 1] + timedelta(hours=3), "outcome", (task_id, outcome)))
    return events


def _progress(done: int, total: int, now: datetime) -> None:
    if sys.stderr.isatty():
        print(f"\r  {done}/{total} events  simulated {iso(now)}", end="", file=sys.stderr, flush=True)
    elif done == total or done % 25 == 0:
        print(f"  {done}/{total} events  simulated {iso(now)}", file=sys.stderr, flush=True)
