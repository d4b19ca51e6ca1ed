"""The weekly run: read the period, build the report, archive it in S3, email it once."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from leadflow import aws, clock
from leadflow.aws import started_pool
from leadflow.config import cadences, operator_config, settings
from leadflow.observability import logger
from leadflow.report.build import (
    Report,
    SendingHealth,
    archive_key,
    build_report,
    fetch_window,
    period_between,
    weekly_period,
)
from leadflow.report.metrics import Window
from leadflow.report.records import UNKNOWN, CadencePlan, CadenceStep
from leadflow.report.render import render_csv, render_html, render_text, subject
from leadflow.report.source import load_dataset, load_snoozes
from leadflow.send import guard, mail
from leadflow.store import event_items

if TYPE_CHECKING:
    from leadflow.cadence.model import Cadence
    from leadflow.compiled import ReportTouch
    from leadflow.operator_config import OperatorConfig

EFFORT_RANK = {"low": 1, "medium": 2, "high": 3}

# The input the EventBridge Scheduler schedule passes (infra uses it; Scheduler fills in the
# <aws.scheduler.*> context attributes at each run).
SCHEDULE_INPUT = {
    "source": "leadflow.report",
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "schedule_arn": "<aws.scheduler.schedule-arn>",
    "execution_id": "<aws.scheduler.execution-id>",
    "attempt": "<aws.scheduler.attempt-number>",
}


class ReportRequest(BaseModel):
    """The report function's event: the schedule's input, or a manual run over chosen dates.

    An EventBridge "Scheduled Event" (its `time`) is accepted too.
    """

    model_config = ConfigDict(extra="ignore")

    scheduled_time: datetime | None = Field(None, validation_alias=AliasChoices("scheduled_time", "time"))
    schedule_arn: str | None = None
    execution_id: str | None = None
    # A manual run: the period to report (both or neither); `force` sends even if it was sent.
    since: datetime | None = None
    until: datetime | None = None
    force: bool = False

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        for moment in (self.scheduled_time, self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need a time zone, e.g. 2026-11-23T14:00:00Z")
        if (self.since is None) != (self.until is None):
            raise ValueError("give since and until together")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class ReportRun(BaseModel):
    status: Literal["sent", "already_sent"]
    period: str
    since: str
    until: str
    leads: int
    new_leads: int  # of `leads`, those who arrived in the period (the others were enrolled again)
    findings: int
    recipients: int
    bucket: str
    keys: dict[str, str]
    message_id: str | None = None


def cadence_plans() -> dict[str, CadencePlan]:
    config = operator_config()
    # The cadences the configuration enters for a purpose: each is judged by its own flow's bands.
    flows = {
        config.routing.meeting_booked_cadence: "post-meeting",
        config.routing.meeting_missed_cadence: "rebook",
        config.reengagement.cadence: "re-engagement",
        config.answers.not_now_cadence: "not-now",
    }
    touches, known = deployed_touches()
    break_ups = compiled_break_ups(known, config)
    plans = {}
    for name, planned in touches.items():
        steps = tuple(
            CadenceStep(
                channel,
                EFFORT_RANK[effort],
                touch_name,
                frozenset(UNKNOWN if form is None else form for form in break_ups[name].get(number, ())),
            )
            for number, (channel, effort, touch_name, _) in enumerate(planned, start=1)
        )
        plans[name] = CadencePlan(
            name, steps, flows.get(name, ""), days=max((day for *_, day in planned), default=0)
        )
    return plans


def planned_touches(cadence: Cadence) -> list[ReportTouch]:
    """A cadence's touches as the report plans them: channel, effort, name, playbook day."""
    return [
        (touch.channel.value, touch.effort or "low", touch.name or "", touch.day) for touch in cadence.touches
    ]


def deployed_touches() -> tuple[dict[str, list[ReportTouch]], Callable[[], Iterable[Cadence]]]:
    """The deployed cadences' touches (planned_touches), as the layer's build compiled them, else from the
    cadence models; and the cadences themselves, should the lint have to read their messages."""
    from leadflow import compiled

    found = compiled.report_touches(settings().cadence_dir, settings().template_dir)
    if found is not None:
        return found, lambda: cadences().values()
    known = cadences()
    return {name: planned_touches(cadence) for name, cadence in known.items()}, known.values


def compiled_break_ups(
    known: Callable[[], Iterable[Cadence]], config: OperatorConfig
) -> dict[str, dict[int, frozenset[str | None]]]:
    """The lint's break-up steps by form: as the layer's build computed them from these sources, else
    rendered now from the `known` cadences (the lint's module, and the operator config models it names,
    only then)."""
    from leadflow import compiled

    found = compiled.break_up_forms(settings().cadence_dir, settings().template_dir, settings().config_file)
    if found is not None:
        return found
    from leadflow.send import lint

    return lint.break_up_forms(known(), settings().template_dir, config)


def make_report(period: Window) -> Report:
    """Read what the period and its trailing 90 days need, and build the report."""
    config = operator_config()
    with cycle_collection_paused():
        # The data set is an argument only: freed as build_report returns, with the collector still
        # paused, so that resuming it finds nothing new to walk (a full collection of the millions
        # of records, ~1 s at 100k leads, when they were still held).
        report = build_report(
            load_dataset(fetch_window(period)),
            period,
            cadence_plans(),
            company=config.company.name,
            timezone=config.report.schedule.timezone,
            owner_names={rep.id: rep.name for rep in config.reps},
        )
    due_back = load_snoozes(Window("due back", period.end, period.end + timedelta(days=7)))
    return replace(report, sending=sending_health(), due_back=due_back)


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the report reads and aggregates.

    A large run builds millions of objects that live until the report is done (records, facts) and
    holds no reference cycles; each full collection walked them all again, a quarter of the run at
    100k leads. Memory is still freed by reference counting; cycles wait for the collector's return.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def sending_health() -> SendingHealth:
    """The reputation guard now (not as of the period's end: the guard keeps no history)."""
    status = guard.reputation_status()
    return SendingHealth(
        window_sends=int(str(status["window_sends"])),
        bounce_rate=float(str(status["bounce_rate"])),
        complaint_rate=float(str(status["complaint_rate"])),
        max_bounce_rate=float(str(status["max_bounce_rate"])),
        max_complaint_rate=float(str(status["max_complaint_rate"])),
        min_sends=int(str(status["min_sends"])),
        paused=bool(status["paused"]),
        paused_since=str(status["paused_since"]) if status["paused_since"] else None,
    )


def rendered(report: Report, bucket: str) -> dict[str, tuple[str, str, str]]:
    """suffix -> (key, content type, body), for the archive and the email."""
    html_key = archive_key(report.period.window, report.timezone, "html")
    location = f"s3://{bucket}/{html_key}"
    return {
        "html": (html_key, "text/html; charset=utf-8", render_html(report, location)),
        "txt": (
            archive_key(report.period.window, report.timezone, "txt"),
            "text/plain; charset=utf-8",
            render_text(report, location),
        ),
        "csv": (
            archive_key(report.period.window, report.timezone, "csv"),
            "text/csv; charset=utf-8",
            render_csv(report),
        ),
    }


def report_message(
    report: Report, parts: dict[str, tuple[str, str, str]], sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The email: text and HTML alternatives (findings first in both), the CSV of every number attached
    (multipart/mixed), and a subject naming the top finding."""
    html_key = parts["html"][0]
    return mail.build_message(
        sender=sender,
        to=", ".join(recipients),
        subject=subject(report),
        text=parts["txt"][2],
        html=parts["html"][2],
        attachments=[
            mail.Attachment(
                f"leadflow-report-{html_key.split('/')[1]}.csv", "text/csv", parts["csv"][2].encode()
            )
        ],
    )


def run(request: ReportRequest) -> ReportRun:
    config = operator_config()
    timezone = config.report.schedule.timezone
    if request.since and request.until:
        period = period_between(request.since, request.until)
    else:
        period = weekly_period(request.scheduled_time or clock.now(), timezone)
    bucket = settings().report_bucket
    if not bucket:
        raise RuntimeError("REPORT_BUCKET is not set")
    report = make_report(period)
    parts = rendered(report, bucket)
    s3 = aws.client("s3")  # created before the threads share it: creating a client is not thread-safe

    def archive(part: tuple[str, str, str]) -> None:
        key, content_type, body = part
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type)

    # The three objects side by side: one round trip's wait instead of three (a failed put raises here).
    with started_pool(len(parts)) as archiving:
        list(archiving.map(archive, parts.values()))
    html_key = parts["html"][0]
    recipients = config.report_recipients
    result: dict[str, Any] = {
        "period": period.name,
        "since": clock.iso(period.start),
        "until": clock.iso(period.end),
        "leads": report.period.overall.leads,
        "new_leads": report.period.overall.arrived,
        "findings": len(report.findings),
        "recipients": len(recipients),
        "bucket": bucket,
        "keys": {suffix: key for suffix, (key, _, _) in parts.items()},
    }
    period_id = f"{result['since']}/{result['until']}"
    if not request.force and not event_items.claim_report(period_id, clock.now()):
        logger.info("report already sent", extra={"period": period_id})
        return ReportRun(status="already_sent", **result)
    message = report_message(report, parts, settings().sender, recipients)
    message_id = mail.send(message, tags={"kind": "report"})
    event_items.record_report_sent(period_id, message_id, html_key, clock.now())
    logger.info("report sent", extra={"period": period_id, "recipients": len(recipients), "key": html_key})
    return ReportRun(status="sent", message_id=message_id, **result)
