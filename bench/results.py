"""The figures of a `make bench` run: one JSON object per line on stdout, all of them in bench/results.json.

A figure is `{"name", "value", "unit", "baseline", "ratio"}`: `baseline` is what the value is compared
with (a target, or a measured reference such as `import boto3`), `ratio` is value / baseline. Every
value is measured in the run (or computed from measured counts with the price table in bench.costs);
nothing is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

_figures: dict[str, dict[str, Any]] = {}


def record(name: str, value: float, unit: str, baseline: float | None = None, note: str = "") -> None:
    """Print one figure as a JSON line and keep it for results.json."""
    figure: dict[str, Any] = {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if not baseline else round(value / baseline, 3),
    }
    if note:
        figure["note"] = note
    _figures[name] = figure
    print(json.dumps(figure), flush=True)


def take_figures(lines: str) -> None:
    """Keep the figures a child process printed (sections measured in their own process)."""
    for line in lines.splitlines():
        if line.startswith('{"name"'):
            figure = json.loads(line)
            _figures[figure["name"]] = figure
            print(line, flush=True)
        elif line.strip():
            print(line, flush=True)


def figures() -> dict[str, dict[str, Any]]:
    return dict(_figures)


def write(path: Path = RESULTS_PATH, *, every_section: bool = False) -> None:
    """Merge this run's figures into the results file (a run of one section keeps the others'); a
    run of every section replaces the file, so no figure of an earlier run survives in it."""
    known: dict[str, Any] = json.loads(path.read_text()) if path.exists() and not every_section else {}
    known.update(_figures)
    path.write_text(json.dumps(dict(sorted(known.items())), indent=2) + "\n")
