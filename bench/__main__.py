"""`make bench`: speed, memory and cost figures, one section per concern.

    python -m bench                 every section
    python -m bench report          one section
    python -m bench --quick         small sizes (a smoke run; the test suite uses it)

A section is a module exposing `run(quick: bool) -> None` that prints its figures (bench.results.record:
one JSON object per line); add yours to SECTIONS. A full run (not --quick) merges the figures into
bench/results.json. Targets are stated in each figure's baseline, never asserted in timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial

from bench import performance_doc, results

SECTIONS = {
    "report": "bench.report",
    "classify": "bench.classify",
    "intent": "bench.intent",
    "schedule": "bench.schedule",
    "load": "bench.load",
    "coldstart": "bench.coldstart",
    "report_stream": "bench.report_stream",
}


def _section(name: str, run: Callable[[], None]) -> None:
    began = time.perf_counter()
    print(f"== {name}")
    run()
    print(f"   ({time.perf_counter() - began:.1f} s)\n", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - SECTIONS.keys())
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    began_run = time.perf_counter()
    if not args.sections:  # what the wall-clock figures of this run shared the machine with
        results.record("machine_cpus", os.cpu_count() or 0, "cores")
        results.record("machine_load_1m_at_start", os.getloadavg()[0], "runnable processes")
    # One section at a time, each with the machine to itself: the 1,000-lead scale run once ran beside
    # the short sections, sharing the two cores with their threads, so its figure measured them too.
    # Each figure still comes from its own process; the load average is recorded at start and end.
    for name in args.sections or SECTIONS:
        _section(name, partial(importlib.import_module(SECTIONS[name]).run, args.quick))
    if not args.sections:
        results.record("machine_load_1m_at_end", os.getloadavg()[0], "runnable processes")
        wall = time.perf_counter() - began_run
        results.record("bench_wall_s", wall, "s", 600, "target: make bench < 10 min")
    if not args.quick:
        results.write(every_section=not args.sections)
        performance_doc.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
