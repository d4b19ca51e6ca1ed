"""Synthetic report data: a terse builder of plain records, and a generator of data sets with chosen
rates (for the diagnostics tests and the benchmark). Local only: not shipped to Lambda."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow.report.records import (
    REP_TASK_CHANNELS,
    CadencePlan,
    CadenceStep,
    Dataset,
    EnrollmentRecord,
    EventKind,
    EventRecord,
    LeadRecord,
    TouchRecord,
    TouchState,
)


class Builder:
    """Adds leads, enrollments, touches and events to a Dataset with little ceremony."""

    def __init__(self) -> None:
        self.dataset = Dataset()

    def lead(self, lead_id: str, created: datetime, **attributes: str) -> str:
        self.dataset.leads[lead_id] = LeadRecord(lead_id, created, **attributes)
        return lead_id

    def enroll(self, lead_id: str, cadence: str, number: int = 1, started: datetime | None = None) -> None:
        started = started or self.dataset.leads[lead_id].created_at
        self.dataset.enrollments.append(EnrollmentRecord(lead_id, number, cadence, started))

    def touch(
        self,
        lead_id: str,
        number: int,
        channel: str,
        when: datetime | None,
        *,
        enrollment: int = 1,
        state: TouchState | None = None,
        variant: str | None = None,
        outcome: str | None = None,
        due: datetime | None = None,
    ) -> None:
        if state is None:
            if channel in REP_TASK_CHANNELS:
                state = TouchState.TASK_DONE if outcome else TouchState.TASK_OPEN
            else:
                state = TouchState.SENT
        self.dataset.touches.append(
            TouchRecord(
                lead_id, enrollment, number, channel, state, when, variant=variant, outcome=outcome, due=due
            )
        )

    def event(
        self,
        lead_id: str,
        kind: EventKind,
        when: datetime,
        *,
        touch: int | None = None,
        channel: str | None = None,
        enrollment: int | None = None,
    ) -> None:
        self.dataset.events.append(EventRecord(lead_id, kind, when, enrollment, touch, channel))


@dataclass
class Profile:
    """Rates for a generated cadence. Each lead gets one fate, drawn at one step."""

    cadence: str = "inbound"
    leads: int = 200
    lead_type: str = "inbound"
    steps: tuple[tuple[str, int], ...] = (
        ("email", 1),
        ("call", 3),
        ("email", 1),
        ("linkedin", 2),
        ("email", 1),
        ("email", 1),
    )
    reply: float = 0.30  # responses that are replies (the rest: connected calls)
    respond: float = 0.50
    # Weights of the step that draws a response, and of the step where leavers leave.
    response_steps: tuple[float, ...] = (0.2, 0.2, 0.25, 0.2, 0.1, 0.05)
    unsubscribe: float = 0.03
    complaint: float = 0.0
    bounce: float = 0.01
    leave_steps: tuple[float, ...] = (1, 1, 1, 1, 1, 1)
    speed_seconds: float = 30.0
    owners: dict[str, float] = field(default_factory=lambda: {"alex": 0.5, "sam": 0.5})
    # Per owner, an override of `respond`.
    owner_respond: dict[str, float] = field(default_factory=dict)
    variants: dict[int, dict[str, float]] = field(default_factory=dict)  # step -> variant -> respond boost
    opens: float | None = None
    days: int = 90


def generate(profiles: list[Profile], end: datetime, seed: int = 1) -> tuple[Dataset, dict[str, CadencePlan]]:
    rng = random.Random(seed)
    b = Builder()
    plans = {}
    counter = 0
    for profile in profiles:
        plans[profile.cadence] = CadencePlan(
            profile.cadence, tuple(CadenceStep(channel, effort) for channel, effort in profile.steps)
        )
        for index in range(profile.leads):
            counter += 1
            lead_id = f"g{counter}"
            # Spread arrivals evenly over the days, old enough to have run the whole cadence mostly.
            created = (
                end
                - timedelta(days=profile.days)
                + timedelta(seconds=index * profile.days * 86400 // profile.leads)
            )
            created = min(created, end - timedelta(days=1))
            owner = _pick(rng, profile.owners)
            b.lead(lead_id, created, source="web", fit_band="A", owner=owner, lead_type=profile.lead_type)
            b.enroll(lead_id, profile.cadence)
            respond = profile.owner_respond.get(owner, profile.respond)
            roll = rng.random()
            fate, fate_step = "none", 0
            if roll < respond:
                fate, fate_step = "respond", _pick_step(rng, profile.response_steps)
            elif roll < respond + profile.unsubscribe:
                fate, fate_step = "unsubscribe", _pick_step(rng, profile.leave_steps)
            elif roll < respond + profile.unsubscribe + profile.complaint:
                fate, fate_step = "complaint", _pick_step(rng, profile.leave_steps)
            elif roll < respond + profile.unsubscribe + profile.complaint + profile.bounce:
                fate, fate_step = "bounce", 1
            for step, (channel, _) in enumerate(profile.steps, start=1):
                when = created + timedelta(seconds=profile.speed_seconds) + timedelta(days=2 * (step - 1))
                if when >= end:
                    break
                variant = None
                if step in profile.variants:
                    variant = sorted(profile.variants[step])[counter % len(profile.variants[step])]
                    if fate == "none" and rng.random() < profile.variants[step][variant]:
                        fate, fate_step = "respond", step
                outcome = None
                if channel in REP_TASK_CHANNELS:
                    outcome = (
                        "connected"
                        if fate == "respond" and fate_step == step and rng.random() >= profile.reply
                        else "no_answer"
                    )
                b.touch(lead_id, step, channel, when, variant=variant, outcome=outcome)
                if profile.opens is not None and channel == "email" and rng.random() < profile.opens:
                    b.event(lead_id, EventKind.OPEN, when + timedelta(minutes=5), touch=step)
                if step == fate_step:
                    reaction = when + timedelta(hours=2)
                    if fate == "respond":
                        kind = EventKind.CONNECTED if outcome == "connected" else EventKind.REPLY
                        b.event(lead_id, kind, when if outcome == "connected" else reaction, touch=step)
                    else:
                        kind = {
                            "unsubscribe": EventKind.UNSUBSCRIBE,
                            "complaint": EventKind.COMPLAINT,
                            "bounce": EventKind.BOUNCE,
                        }[fate]
                        b.event(lead_id, kind, reaction, touch=step)
                    break
    return b.dataset, plans


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pick_step(rng: random.Random, weights: tuple[float, ...]) -> int:
    return rng.choices(range(1, len(weights) + 1), weights=weights)[0]
