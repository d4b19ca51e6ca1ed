"""One lead's timeline for `leadflow lead show`: status, enrollments, every touch and what it drew.

Reads the lead's own partition (one Query per item type), never an index or a Scan.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leadflow import clock
from leadflow.cadence import executions
from leadflow.models import Enrollment, Lead, RunStatus
from leadflow.store import enrollment_items, event_items, items, task_items

ENGAGEMENT = ("delivery", "open", "click")
EVENT_FIELDS = ("at", "type", "enrollment", "touch", "channel")
CONSOLE = "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"


class TouchLine(BaseModel):
    enrollment: int
    number: int
    channel: str
    template: str
    at: str
    status: str
    outcome: str | None = None
    engagement: dict[str, int] = {}


class EnrollmentLine(BaseModel):
    number: int
    cadence: str
    version: str | None
    status: str
    reason: str | None
    started_at: str
    ended_at: str | None
    execution_arn: str | None
    console: str | None


class Timeline(BaseModel):
    lead: dict[str, Any]
    enrollments: list[EnrollmentLine]
    touches: list[TouchLine]
    events: list[dict[str, Any]]


def console_link(execution_arn: str | None) -> str | None:
    """The execution's page in the Step Functions console (its Region is in the ARN)."""
    if not execution_arn:
        return None
    region = execution_arn.split(":")[3]
    return CONSOLE.format(region=region, arn=execution_arn)


def _enrollment(enrollment: Enrollment) -> EnrollmentLine:
    ended = enrollment.completed_at or enrollment.stopped_at
    # Derived when touch 1's claim has not stored it yet (enrollments.started); a pending one has none.
    execution = executions.arn_of(enrollment) if enrollment.run_status is not RunStatus.PENDING else None
    return EnrollmentLine(
        number=enrollment.number,
        cadence=enrollment.cadence,
        version=enrollment.version,
        status=enrollment.run_status.value,
        reason=enrollment.stop_reason.value if enrollment.stop_reason else enrollment.reason,
        started_at=clock.iso(enrollment.started_at),
        ended_at=clock.iso(ended) if ended else None,
        execution_arn=execution,
        console=console_link(execution),
    )


def timeline(lead: Lead) -> Timeline:
    tasks = {(task.enrollment, task.touch): task for task in task_items.tasks(lead.id)}
    raw = {
        (int(item["enrollment"]), int(item["number"])): item for item in items.query_prefix(lead.id, "TOUCH#")
    }
    events = event_items.events(lead.id)
    answered = {
        (int(event["enrollment"]), int(event["touch"])): str(event["type"])
        for event in events
        if event.get("touch") is not None
        and event.get("enrollment") is not None
        and event.get("type") not in ENGAGEMENT
    }
    touches = []
    for touch in enrollment_items.touches(lead.id):
        key = (touch.enrollment, touch.number)
        task = tasks.get(key)
        outcome = task.status.value if task else touch.skip_reason or answered.get(key)
        counts = {kind: int(raw.get(key, {}).get(f"{kind}_count", 0)) for kind in ENGAGEMENT}
        touches.append(
            TouchLine(
                enrollment=touch.enrollment,
                number=touch.number,
                channel=touch.channel,
                template=touch.template,
                at=clock.iso(touch.sent_at),
                status=touch.status.value,
                outcome=outcome,
                engagement={kind: count for kind, count in counts.items() if count},
            )
        )
    return Timeline(
        lead={
            "id": lead.id,
            "email": lead.email,
            "status": lead.status.value,
            "status_reason": lead.status_reason,
            "source": lead.source,
            "band": lead.band.value,
            "score": lead.score,
            "owner": lead.owner,
            "created_at": clock.iso(lead.created_at),
            # What the latest reply said (answers.intent), the line that decided it, and its snooze day.
            "reply_intent": lead.reply_intent,
            "reply_intent_line": lead.reply_intent_line,
            "reply_intent_by": lead.reply_intent_by,
            "snoozed_until": lead.snoozed_until.isoformat() if lead.snoozed_until else None,
            "referral": lead.referral,
        },
        enrollments=[_enrollment(e) for e in enrollment_items.enrollments(lead.id)],
        touches=touches,
        events=[
            {
                name: event.get(name)
                for name in ("at", "type", "enrollment", "touch", "channel")
                if event.get(name) is not None
            }
            for event in events
        ],
    )
