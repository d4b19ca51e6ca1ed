"""A/B variants: a two-proportion z-test on the response rate each variant drew.

A contact is a lead who received the variant at that step; a success is a lead
who responded (reply, connected call, meeting) to that touch: the variant row's
leads and responded, by one definition (`metrics.variant_segments`). The leader
is tested against the runner-up. The playbook's rule: at least 50 contacts per variant before judging.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from leadflow.report.metrics import Facts, SegmentStats, rate, variant_segments

MIN_CONTACTS = 50
SIGNIFICANCE = 0.05


class Verdict(StrEnum):
    WINNER = "winner"
    NO_DIFFERENCE = "no clear difference"
    NOT_ENOUGH_DATA = "not enough data yet"


@dataclass(frozen=True, slots=True)
class Arm:
    variant: str
    contacts: int
    responses: int

    @property
    def response_rate(self) -> float | None:
        return rate(self.responses, self.contacts)


@dataclass(frozen=True, slots=True)
class ABTest:
    cadence: str
    step: int
    arms: tuple[Arm, ...]  # best first
    verdict: Verdict
    z: float | None
    p_value: float | None

    @property
    def winner(self) -> str | None:
        return self.arms[0].variant if self.verdict is Verdict.WINNER else None

    @property
    def summary(self) -> str:
        if self.verdict is Verdict.NOT_ENOUGH_DATA:
            smallest = min(arm.contacts for arm in self.arms)
            return f"not enough data yet: {smallest} contacts in the smallest variant, {MIN_CONTACTS} needed"
        assert self.p_value is not None
        if self.verdict is Verdict.WINNER:
            best, runner_up = self.arms[0], self.arms[1]
            return (
                f"{best.variant} wins: {_pct(best.response_rate)} against {_pct(runner_up.response_rate)} "
                f"for {runner_up.variant} (p = {self.p_value:.3f})"
            )
        return f"no clear difference (p = {self.p_value:.2f}): keep testing or pick either"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def two_proportion_z(successes_a: int, n_a: int, successes_b: int, n_b: int) -> tuple[float, float]:
    """Pooled two-proportion z statistic and its two-sided p-value."""
    pooled = (successes_a + successes_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return 0.0, 1.0
    z = (successes_a / n_a - successes_b / n_b) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def judge(cadence: str, step: int, arms: list[Arm]) -> ABTest:
    ordered = tuple(sorted(arms, key=lambda arm: (-(arm.response_rate or 0.0), arm.variant)))
    if min(arm.contacts for arm in ordered) < MIN_CONTACTS:
        return ABTest(cadence, step, ordered, Verdict.NOT_ENOUGH_DATA, None, None)
    best, runner_up = ordered[0], ordered[1]
    z, p_value = two_proportion_z(best.responses, best.contacts, runner_up.responses, runner_up.contacts)
    verdict = Verdict.WINNER if p_value < SIGNIFICANCE else Verdict.NO_DIFFERENCE
    return ABTest(cadence, step, ordered, verdict, z, p_value)


def ab_tests(facts: list[Facts]) -> list[ABTest]:
    """Every (cadence, step) that sent two or more variants, judged on its variant rows' leads and
    responses (`variant_segments`)."""
    return judged(variant_segments(facts))


def judged(variants: dict[tuple[str, int, str], SegmentStats]) -> list[ABTest]:
    """`ab_tests` on variant segments already counted (a window's `WindowMetrics.variants`)."""
    by_step: dict[tuple[str, int], list[Arm]] = defaultdict(list)
    for (cadence, step, variant), stats in variants.items():
        by_step[(cadence, step)].append(Arm(variant, stats.leads, stats.responded))
    return [judge(cadence, step, arms) for (cadence, step), arms in sorted(by_step.items()) if len(arms) >= 2]
