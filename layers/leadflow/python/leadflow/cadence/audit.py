"""`leadflow audit` (issue 11): prove that nothing was lost, sent twice or sent after a stop.

Reads the table (one Scan: an operator's check, not a hot path) and the RUNNING executions of
every cadence state machine, and checks the invariants:

- every `running` enrollment has a RUNNING execution (one whose start is still within its start
  lease is in flight, not a breach);
- no execution RUNNING for an enrollment that stopped, completed or failed, or that is not the
  enrollment's current execution;
- no touch of a running enrollment claimed without an outcome for longer than its retries last
  (CLAIM_TIMEOUT: past the in-doubt bound);
- no touch 1 of a running enrollment unclaimed longer than FIRST_TOUCH_BOUND after its time: the
  first moment is sent outside the execution (cadence.first_moment), and the sweep hands it over
  again after its grace;
- no touch sent twice (two SES Send events for one touch, or two provider sends in the Sandbox;
  one touch sent twice is one breach, whatever evidence shows it);
- no send after the enrollment's stop time (one breach per touch);
- every accepted lead with email consent has an enrollment;
- nothing stuck (issue 22): no enrollment `pending` longer than PENDING_BOUND, none `completed` with
  a planned touch that has no record (a touch skipped with a recorded reason counts as done), no
  email touch held by the sending guard longer than HELD_BOUND;
- no touch SES rejected or could not render (issue 23): it reached nobody; no touch delayed for
  longer than DELAY_BOUND with neither a delivery nor a bounce since;
- no post held by a post limit (issue 22, intake.held): each is a lead nobody enrolled yet, flagged
  until an operator releases or dismisses it;
- no rep's draft (manual_email, issue 25) claimed for its send without an outcome for longer than
  DRAFT_SEND_BOUND: it may have gone out, and is never resent by itself;
- no rep alert held for its recipient's hours (issue 25, send.alerts) still undelivered
  HELD_ALERT_BOUND after their hours began: the sweep delivers them every 5 minutes.

`audit()` is the reusable entry point (tests call it at the end of every fault case:
`from leadflow.cadence.audit import audit`); the sweep function publishes its counts as metrics.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel

from leadflow import aws, clock
from leadflow.cadence import asl, first_moment, versions
from leadflow.config import settings
from leadflow.models import CONTACTABLE, ContactStatus, Enrollment, RunStatus, Touch, TouchStatus
from leadflow.store import enrollment_items
from leadflow.store.items import dynamodb_table, task_sk, touch_sk

# A claim may wait this long for its outcome: the Task's TouchUnsettled retries (asl.UNSETTLED_RETRY,
# which outlast the in-doubt bound) plus a Lambda run's margin; any longer and the attempt was lost.
CLAIM_TIMEOUT = timedelta(seconds=15 * 60 + sum(asl.retry_delays(asl.UNSETTLED_RETRY)))
# The sweep starts a pending enrollment within minutes (every 5 minutes, infra.constructs.alarms);
# an hour pending is twelve sweeps that did not run or could not start it.
PENDING_BOUND = timedelta(hours=1)
# The sending guard holds an email touch while sending is paused (until an operator resumes) or
# its domain's daily cap is full. A pause that starts on a Friday evening is answered on Monday
# morning (64 hours); past three days a touch has lost the cadence's spacing (the first touches are
# one to three days apart) and the operator must resume, or raise a cap that is far too small.
HELD_BOUND = timedelta(hours=72)
# SES retries a delayed message for hours before it bounces it; six hours without a word is a touch
# the cadence's spacing (a day or more) no longer fits, and an operator should look at the domain.
DELAY_BOUND = timedelta(hours=6)
# A rep's draft send (send.drafts) settles within the intake function's 10-second run; one still
# `sending` this long after its claim lost its outcome (SES's Send event for its touch tells).
DRAFT_SEND_BOUND = timedelta(minutes=15)
# The sweep delivers a held rep alert within 5 minutes of its recipient's start; half an hour is six
# sweeps that did not run or could not publish.
HELD_ALERT_BOUND = timedelta(minutes=30)
INVARIANTS = (
    "running_without_execution",
    "execution_without_running_enrollment",
    "claim_without_outcome",
    "first_touch_overdue",
    "sent_twice",
    "sent_after_stop",
    "lead_without_enrollment",
    "pending_too_long",
    "completed_short",
    "held_too_long",
    "post_held",
    "touch_undelivered",
    "delivery_delayed",
    "draft_in_doubt",
    "alert_held_too_long",
)


class ProviderSend(NamedTuple):
    """A message the provider accepted, as the provider saw it (the Sandbox's SES and SNS)."""

    lead_id: str
    enrollment: int
    touch: int
    at: datetime


class Breach(BaseModel):
    invariant: str
    lead_id: str
    enrollment: int | None = None
    detail: str = ""


class AuditReport(BaseModel):
    counts: dict[str, int]
    breaches: list[Breach]

    @property
    def clean(self) -> bool:
        return not self.breaches

    def breach_counts(self) -> dict[str, int]:
        found = Counter(breach.invariant for breach in self.breaches)
        return {name: found.get(name, 0) for name in INVARIANTS}

    def lines(self) -> list[str]:
        """What `leadflow audit` prints: counts, each invariant's breaches, then every breach."""
        out = [f"{name}: {value}" for name, value in self.counts.items()]
        out += [f"breaches.{name}: {value}" for name, value in self.breach_counts().items()]
        out += [
            f"BREACH {breach.invariant}: lead {breach.lead_id}"
            + (f" enrollment {breach.enrollment}" if breach.enrollment is not None else "")
            + (f": {breach.detail}" if breach.detail else "")
            for breach in self.breaches
        ]
        return out


def audit(
    *,
    state_machine_arns: Iterable[str] | None = None,
    provider_sends: Iterable[ProviderSend] = (),
    now: datetime | None = None,
) -> AuditReport:
    """Check the invariants over the whole table and the running executions."""
    now = now or clock.now()
    arns = list(
        state_machine_arns if state_machine_arns is not None else settings().state_machine_arns.values()
    )
    partitions, held_posts, held_alerts = _partitions()
    running = _running_executions(arns)
    breaches: list[Breach] = []
    counts: Counter[str] = Counter()
    enrollments_by_name: dict[str, Enrollment] = {}
    sends: dict[str, dict[tuple[int, int], list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for send in provider_sends:
        sends[send.lead_id][(send.enrollment, send.touch)].append(send.at)

    for lead_id, items in partitions.items():
        lead = items.get("LEAD")
        enrollments = [
            Enrollment.model_validate(item) for key, item in items.items() if key.startswith("ENROLLMENT#")
        ]
        touches = enrollment_items.touches_from_items(items.values())  # rep tasks carry theirs
        send_events: Counter[tuple[int, int]] = Counter(
            (int(key.split("#")[1]), int(key.split("#")[2])) for key in items if key.startswith("SENDEVENT#")
        )
        if lead is not None:
            counts["leads"] += 1
            # A form's "no" to marketing email stores the lead for manual follow-up, unenrolled.
            consent = lead.get("email_consent") is not False
            status = ContactStatus(lead.get("status", ContactStatus.ACTIVE.value))
            # An abuse limit (issue 17) may hold a lead back on purpose: stored, not lost.
            held = bool(lead.get("held_back"))
            if consent and status in CONTACTABLE and not enrollments and not held:
                breaches.append(Breach(invariant="lead_without_enrollment", lead_id=lead_id))
        for enrollment in enrollments:
            counts[f"enrollments.{enrollment.run_status.value}"] += 1
            enrollments_by_name[enrollment.execution_name] = enrollment
            recorded = enrollment_items.settles(
                items.get(touch_sk(enrollment.number, enrollment.last_touch))
                or items.get(task_sk(enrollment.number, enrollment.last_touch)),
                enrollment.claimed_at,
            )
            breaches += _enrollment_breaches(enrollment, running, now, recorded)
            breaches += _first_touch_breaches(enrollment, now)
            breaches += _stuck_breaches(enrollment, touches, now)
        counts["touches.sent"] += sum(touch.status is TouchStatus.SENT for touch in touches)
        breaches += _delivery_breaches(lead_id, touches, now)
        breaches += _send_breaches(lead_id, enrollments, touches, send_events, sends.get(lead_id, {}))
        breaches += _draft_breaches(lead_id, items, now)

    counts["posts.held"] = len(held_posts)
    for item in held_posts:
        breaches.append(
            Breach(
                invariant="post_held",
                lead_id=str(item["submission_id"]),
                detail=f"held by the {item['limit']} limit since {item['received_at']} ({item['burst']}): "
                "leadflow held release|dismiss",
            )
        )
    counts["alerts.held"] = len(held_alerts)
    for item in held_alerts:
        if now - clock.parse_iso(str(item["deliver_at"])) > HELD_ALERT_BOUND:
            breaches.append(
                Breach(
                    invariant="alert_held_too_long",
                    lead_id=str(item.get("lead_id", "-")),
                    detail=f"{item['alert_kind']} alert for {item['recipient']} due {item['deliver_at']}, "
                    "undelivered: is the sweep running?",
                )
            )
    counts["executions.running"] = len(running)
    for name, arn in running.items():
        enrollment_or_none = enrollments_by_name.get(name)
        if (
            enrollment_or_none is None
            or enrollment_or_none.run_status is not RunStatus.RUNNING
            or (enrollment_or_none.execution_arn and enrollment_or_none.execution_arn != arn)
        ):
            state = enrollment_or_none.run_status.value if enrollment_or_none else "missing"
            breaches.append(
                Breach(
                    invariant="execution_without_running_enrollment",
                    lead_id=name.split("-", 1)[0],
                    enrollment=enrollment_or_none.number if enrollment_or_none else None,
                    detail=f"execution {name} RUNNING, enrollment {state}",
                )
            )
    return AuditReport(counts=dict(sorted(counts.items())), breaches=breaches)


def _send_breaches(
    lead_id: str,
    enrollments: list[Enrollment],
    touches: list[Touch],
    send_events: Mapping[tuple[int, int], int],
    provider_sends: Mapping[tuple[int, int], list[datetime]],
) -> list[Breach]:
    """One `sent_twice` per touch sent more than once and one `sent_after_stop` per touch sent after
    its enrollment stopped, whichever records show it (SES Send events, provider sends, our touch)."""
    stopped_at = {enrollment.number: enrollment.stopped_at for enrollment in enrollments}
    found: list[Breach] = []
    for enrollment_number, touch_number in sorted(set(send_events) | set(provider_sends)):
        seen = [
            f"{count} {what}"
            for count, what in (
                (send_events.get((enrollment_number, touch_number), 0), "SES Send events"),
                (len(provider_sends.get((enrollment_number, touch_number), [])), "provider sends"),
            )
            if count > 1
        ]
        if seen:
            found.append(
                Breach(
                    invariant="sent_twice",
                    lead_id=lead_id,
                    enrollment=enrollment_number,
                    detail=f"touch {touch_number}: " + ", ".join(seen),
                )
            )
    late: dict[tuple[int, int], list[str]] = defaultdict(list)
    for touch in touches:
        stop = stopped_at.get(touch.enrollment)
        if touch.status is TouchStatus.SENT and stop and touch.sent_at > stop:
            late[(touch.enrollment, touch.number)].append(
                f"sent at {clock.iso(touch.sent_at)}, stopped {clock.iso(stop)}"
            )
    for (enrollment_number, touch_number), moments in provider_sends.items():
        stop = stopped_at.get(enrollment_number)
        if stop and any(at > stop for at in moments):
            late[(enrollment_number, touch_number)].append("accepted by the provider after the stop")
    for (enrollment_number, touch_number), evidence in sorted(late.items()):
        found.append(
            Breach(
                invariant="sent_after_stop",
                lead_id=lead_id,
                enrollment=enrollment_number,
                detail=f"touch {touch_number} " + "; ".join(evidence),
            )
        )
    return found


def _delivery_breaches(lead_id: str, touches: list[Touch], now: datetime) -> list[Breach]:
    """Touches SES rejected or could not render, and touches delayed past DELAY_BOUND with no end."""
    found: list[Breach] = []
    for touch in touches:
        if touch.undelivered:
            found.append(
                Breach(
                    invariant="touch_undelivered",
                    lead_id=lead_id,
                    enrollment=touch.enrollment,
                    detail=f"touch {touch.number}: {touch.undelivered}",
                )
            )
        settled = touch.first_delivery_at or touch.first_bounce_at
        if touch.delayed_since and not settled and now - touch.delayed_since > DELAY_BOUND:
            expires = f", SES tries until {clock.iso(touch.delay_expires)}" if touch.delay_expires else ""
            found.append(
                Breach(
                    invariant="delivery_delayed",
                    lead_id=lead_id,
                    enrollment=touch.enrollment,
                    detail=f"touch {touch.number} delayed ({touch.delay_type}) since "
                    f"{clock.iso(touch.delayed_since)}{expires}",
                )
            )
    return found


def _stuck_breaches(enrollment: Enrollment, touches: list[Touch], now: datetime) -> list[Breach]:
    """Pending past PENDING_BOUND, completed without a record of every planned touch, or an email
    touch held by the sending guard past HELD_BOUND."""
    found: list[Breach] = []
    if enrollment.run_status is RunStatus.PENDING:
        since = max(enrollment.started_at, enrollment.retried_at or enrollment.started_at)
        if now - since > PENDING_BOUND:
            found.append(
                Breach(
                    invariant="pending_too_long",
                    lead_id=enrollment.lead_id,
                    enrollment=enrollment.number,
                    detail=f"pending since {clock.iso(since)}: is the sweep running?",
                )
            )
    if enrollment.run_status is RunStatus.COMPLETED:
        # A touch counts when it was sent, handed to a rep, or skipped with its reason recorded.
        done = {
            touch.number
            for touch in touches
            if touch.enrollment == enrollment.number
            and (touch.status is not TouchStatus.SKIPPED or touch.skip_reason)
        }
        missing = [number for number in range(1, len(enrollment.schedule) + 1) if number not in done]
        if missing:
            found.append(
                Breach(
                    invariant="completed_short",
                    lead_id=enrollment.lead_id,
                    enrollment=enrollment.number,
                    detail=f"{len(missing)} of {len(enrollment.schedule)} planned touches without a "
                    f"record: {', '.join(map(str, missing))}",
                )
            )
    held = enrollment.held
    if (
        enrollment.run_status is RunStatus.RUNNING
        and held is not None
        and held.touch > enrollment.last_touch
        and now - held.since > HELD_BOUND
    ):
        found.append(
            Breach(
                invariant="held_too_long",
                lead_id=enrollment.lead_id,
                enrollment=enrollment.number,
                detail=f"touch {held.touch} held ({held.why}) since {clock.iso(held.since)}",
            )
        )
    return found


def _enrollment_breaches(
    enrollment: Enrollment, running: Mapping[str, str], now: datetime, recorded: bool
) -> list[Breach]:
    """`recorded`: the last claimed touch's item is stored by that claim (which it settles)."""
    found: list[Breach] = []
    if enrollment.run_status is RunStatus.RUNNING and enrollment.execution_name not in running:
        in_flight = not enrollment.execution_arn and (enrollment.start_lease_until or now) > now
        if not in_flight:
            found.append(
                Breach(
                    invariant="running_without_execution",
                    lead_id=enrollment.lead_id,
                    enrollment=enrollment.number,
                    detail=f"execution {enrollment.execution_name} is not RUNNING",
                )
            )
    # Only a running enrollment has an execution left to settle its claim (a stop ends it as is).
    if (
        enrollment.run_status is RunStatus.RUNNING
        and enrollment.touch_state in ("claimed", "accepted")
        and not (recorded and enrollment.touch_state == "claimed")
        and enrollment.claimed_at is not None
        and now - enrollment.claimed_at > CLAIM_TIMEOUT
    ):
        found.append(
            Breach(
                invariant="claim_without_outcome",
                lead_id=enrollment.lead_id,
                enrollment=enrollment.number,
                detail=f"touch {enrollment.last_touch} {enrollment.touch_state} "
                f"at {clock.iso(enrollment.claimed_at)}",
            )
        )
    return found


def _first_touch_breaches(enrollment: Enrollment, now: datetime) -> list[Breach]:
    """A running enrollment's touch 1 still unclaimed FIRST_TOUCH_BOUND after its due time."""
    if enrollment.run_status is not RunStatus.RUNNING:
        return []
    try:
        cadence = versions.cadence_of(enrollment)
    except LookupError:
        return []  # a cadence no longer deployed: its execution's own checks apply
    if not first_moment.overdue(enrollment, cadence, now, first_moment.FIRST_TOUCH_BOUND):
        return []
    return [
        Breach(
            invariant="first_touch_overdue",
            lead_id=enrollment.lead_id,
            enrollment=enrollment.number,
            detail=f"touch 1 due {clock.iso(enrollment.schedule[0])}, unclaimed: is the sweep running?",
        )
    ]


def _partitions() -> tuple[dict[str, dict[str, dict[str, Any]]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Every lead partition's items by sort key, every held post and every held rep alert (one Scan)."""
    partitions: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    held: list[dict[str, Any]] = []
    held_alerts: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    table = dynamodb_table()
    while True:
        page = table.scan(**kwargs)
        for item in page["Items"]:
            pk = str(item["pk"])
            if pk.startswith("LEAD#"):
                partitions[pk.removeprefix("LEAD#")][str(item["sk"])] = item
            elif item.get("kind") == "held":
                held.append(item)
            elif item.get("kind") == "held_alert":
                held_alerts.append(item)
        if "LastEvaluatedKey" not in page:
            return partitions, held, held_alerts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _running_executions(state_machine_arns: Iterable[str]) -> dict[str, str]:
    """Name -> ARN of every RUNNING execution of the cadence state machines."""
    client = aws.client("stepfunctions")
    found: dict[str, str] = {}
    for arn in state_machine_arns:
        for page in client.get_paginator("list_executions").paginate(
            stateMachineArn=arn, statusFilter="RUNNING"
        ):
            found.update({execution["name"]: execution["executionArn"] for execution in page["executions"]})
    return found


def _draft_breaches(lead_id: str, items: Mapping[str, dict[str, Any]], now: datetime) -> list[Breach]:
    """One `draft_in_doubt` per rep's draft still `sending` past DRAFT_SEND_BOUND after its claim."""
    return [
        Breach(
            invariant="draft_in_doubt",
            lead_id=lead_id,
            enrollment=int(item["enrollment"]),
            detail=f"draft {item['id']} sending since {item['outcome_at']}: SES's Send event for its "
            "touch says whether it went out",
        )
        for key, item in items.items()
        if key.startswith("TASK#")
        and item.get("status") == "sending"
        and now - clock.parse_iso(str(item["outcome_at"])) > DRAFT_SEND_BOUND
    ]
