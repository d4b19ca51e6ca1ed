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

from bench import load, performance_doc, results

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
    # A full run on two cores or more: the 1,000-lead scale run (the longest, one process, one core
    # by the GIL) runs beside the short sections instead of before them; the 16-thread load test
    # waits until it is done (its per-post figures want the machine to itself). Each figure still
    # comes from its own process; the machine's load average is recorded at start and end.
    beside = not args.sections and (os.cpu_count() or 1) >= 2
    scale = load.start("scale", args.quick) if beside else None
    for name in args.sections or SECTIONS:
        if name == "load" and scale is not None:
            continue
        _section(name, partial(importlib.import_module(SECTIONS[name]).run, args.quick))
    if scale is not None:
        _section("load (the scale run, beside the sections above)", partial(load.finish, scale))
        _section("load (the 16-thread load test)", partial(load.run, args.quick, parts=("load",)))
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
