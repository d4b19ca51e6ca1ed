"""Inbound mail classification: time per message over the fixture corpus, and the cold import.

Every corpus message (bounces, auto-replies, complaints, replies, unsubscribes) is classified
repeatedly in one warm process; the figures are per message, by kind. The cold import is the
first `classify` in a fresh interpreter (flufl.bounce and mail-parser-reply load lazily then).
Target: well under 10 ms a message warm, under 300 ms cold, so the inbound function's cost is
its AWS calls, not the classifier.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from leadflow.answers.classify import HUMAN_KINDS, Kind, classify

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mail"
ROUNDS = 20
QUICK_ROUNDS = 2


def accuracy(labelled: list[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
    """Per expected kind, (right, total); plus `machine_as_human`: machine mail read as a person's."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for expected, raw in labelled:
        kind = classify(raw).kind
        found[expected][0] += kind.value == expected
        found[expected][1] += 1
        if Kind(expected) not in HUMAN_KINDS:
            found["machine_as_human"][0] += kind in HUMAN_KINDS
            found["machine_as_human"][1] += 1
    return {kind: (right, total) for kind, (right, total) in sorted(found.items())}


def accuracy_lines(figures: dict[str, tuple[int, int]]) -> list[str]:
    return [
        f"   {kind:<17} {right:>4} of {total:<4}" + (" (must be 0)" if kind == "machine_as_human" else "")
        for kind, (right, total) in figures.items()
    ]


def corpus() -> list[tuple[str, bytes]]:
    return [(path.parent.name, path.read_bytes()) for path in sorted(CORPUS.glob("*/*.eml"))]


def run(quick: bool) -> None:
    print("   accuracy by kind (tests/fixtures/mail):")
    print("\n".join(accuracy_lines(accuracy(corpus()))))
    messages = [(path.parent.name, path.read_bytes()) for path in sorted(CORPUS.glob("*/*.eml"))]
    classify(messages[0][1])  # warm the lazy imports
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(QUICK_ROUNDS if quick else ROUNDS):
        for kind, raw in messages:
            began = time.perf_counter()
            classify(raw)
            times[kind].append(time.perf_counter() - began)
    every = [sample for samples in times.values() for sample in samples]
    print(f"   {len(messages)} corpus messages, {len(every)} classifications")
    print(f"   all:        median {statistics.median(every) * 1000:.2f} ms, max {max(every) * 1000:.2f} ms")
    for kind, samples in sorted(times.items()):
        print(f"   {kind:<11} median {statistics.median(samples) * 1000:.2f} ms")
    first = sorted(CORPUS.glob("*/*.eml"))[0]
    code = (
        "import time; t = time.perf_counter(); from leadflow.answers.classify import classify; "
        f"classify(open({str(first)!r}, 'rb').read()); print(time.perf_counter() - t)"
    )
    cold = float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    print(f"   cold import + first message: {cold * 1000:.0f} ms")
