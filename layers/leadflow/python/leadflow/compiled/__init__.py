"""What a cold start would otherwise parse: cadences, operator configuration, holiday dates, the report's
templates, compiled at build time (layer build, CDK synth, Sandbox) and read in Lambda as plain JSON.

The YAML files stay the one source of truth. `build` validates them in full (YAML, pydantic, email
addresses, template files) and writes JSON beside a digest of the exact source files it read; a reader
uses a compiled file only when the digest matches the sources it was asked for (reading their bytes costs
well under a millisecond, parsing them ~150 ms), else returns None and the caller parses the YAML. So a
stale or foreign compiled directory can cost time, never behaviour.

Lambda: the leadflow layer carries it at /opt/compiled. Elsewhere: COMPILED_DIR (the Sandbox sets it).
The build side is `leadflow.compiled.build`: a cold start reads, and compiles no writer's source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadflow.cadence.terms import PROJECT_ROOT

if TYPE_CHECKING:
    from leadflow.cadence.hours import BusinessHours
    from leadflow.cadence.model import Cadence
    from leadflow.operator_config import OperatorConfig
    from leadflow.store.retention import Retention

log = logging.getLogger(__name__)

CADENCES = "cadences.json"
OPERATOR_CONFIG = "operator_config.json"
HOLIDAYS = "holidays"  # one JSON file per country ({"YYYY-MM-DD": name}) and index.json
REPORT_TEMPLATES = "report_templates"  # jinja2 ModuleLoader modules and digest.txt
BREAK_UPS = "break_ups.json"  # send.lint.break_up_forms: the report's break-up steps, by form
# Each cadence's touches as the report plans them (report.weekly.planned_touches): its first call builds
# no cadence model.
REPORT_TOUCHES = "report_touches.json"
ReportTouch = tuple[str, str, str, int]  # channel, effort, name, playbook day
# The touches' templates (send.render), as jinja2 ModuleLoader modules: text/ (subjects, plain text,
# SMS, tasks) and html/ (autoescaped), compiled by the environments that render them; and digest.txt.
TOUCH_TEMPLATES = "touch_templates"
# Holiday years shipped: the build's year - 1 through + 3 (the planning horizon of any cadence).
HOLIDAY_YEARS_BEFORE, HOLIDAY_YEARS_AFTER = 1, 3
LAYOUT = 3  # bump when the compiled files' shape changes (2: break_ups.json, 3: report_touches.json)


def forget() -> None:
    """Read the compiled files afresh (the Sandbox, whenever it reloads cadences)."""
    for cached in (
        cadences,
        report_touches,
        _operator_config_data,
        operator_config,
        retention,
        alert_hours,
        break_up_forms,
        _holiday_index,
        _country_holidays,
    ):
        cached.cache_clear()


def compiled_dir() -> Path:
    return Path(os.environ.get("COMPILED_DIR") or PROJECT_ROOT / "compiled")


def digest(files: Iterable[Path], root: Path | None = None) -> str:
    """sha256 over the files' names (relative to `root`, else their own) and bytes, in a stable order."""
    hashed = hashlib.sha256(f"layout {LAYOUT}\n".encode())
    for path in sorted(files):
        hashed.update(f"{path.relative_to(root) if root else path.name}\n".encode())
        hashed.update(path.read_bytes())
    return hashed.hexdigest()


def cadence_sources(cadence_dir: Path, template_dir: Path) -> str:
    """The cadence files' content, and the template files' names (load_cadences checks they exist)."""
    names = hashlib.sha256(digest(cadence_dir.glob("*.yaml")).encode())
    for path in sorted(template_dir.rglob("*.j2")):
        names.update(f"{path.relative_to(template_dir)}\n".encode())
    return names.hexdigest()


def _read_json(name: str, directory: Path | None = None) -> Any:
    try:
        return json.loads(((directory or compiled_dir()) / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


@cache
def cadences(cadence_dir: Path, template_dir: Path) -> dict[str, Cadence] | None:
    """The compiled cadences if they were compiled from exactly these files, else None."""
    compiled = _read_json(CADENCES)
    if compiled is None or compiled["digest"] != cadence_sources(cadence_dir, template_dir):
        return None
    from leadflow.cadence.model import Cadence

    return {name: Cadence.model_validate(data) for name, data in compiled["cadences"].items()}


@cache
def report_touches(cadence_dir: Path, template_dir: Path) -> dict[str, list[ReportTouch]] | None:
    """`report.weekly.planned_touches` of the compiled cadences (channel, effort, name, day of each touch)
    if compiled from exactly these files, else None."""
    compiled = _read_json(REPORT_TOUCHES)
    if compiled is None or compiled["digest"] != cadence_sources(cadence_dir, template_dir):
        return None
    return {
        name: [(str(channel), str(effort), str(touch), int(day)) for channel, effort, touch, day in touches]
        for name, touches in compiled["touches"].items()
    }


@cache
def _operator_config_data(config_file: Path) -> dict[str, Any] | None:
    """The compiled operator configuration as JSON data if compiled from exactly this file, else None."""
    compiled = _read_json(OPERATOR_CONFIG)
    if compiled is None or compiled["digest"] != digest([config_file]):
        return None
    data: dict[str, Any] = compiled["config"]
    return data


@cache
def operator_config(config_file: Path) -> OperatorConfig | None:
    """The compiled operator configuration if compiled from exactly this file, else None. Validated
    again (cheaply: JSON in, the models' own checks) but without email_validator: already done."""
    data = _operator_config_data(config_file)
    if data is None:
        return None
    from leadflow.operator_config import PREVALIDATED, OperatorConfig

    return OperatorConfig.model_validate(data, context={PREVALIDATED: True})


@cache
def retention(config_file: Path) -> Retention | None:
    """The compiled configuration's retention (validated by its own model) if compiled from exactly
    this file, else None: what an item's expiry needs, without the whole configuration's models."""
    data = _operator_config_data(config_file)
    if data is None:
        return None
    from leadflow.store.retention import Retention

    return Retention.model_validate(data["retention"])


@cache
def alert_hours(config_file: Path) -> dict[str, BusinessHours] | None:
    """`OperatorConfig.alert_hours` from the compiled configuration's data (the hours validated by their
    own model, the configuration's models not built) if compiled from exactly this file, else None."""
    data = _operator_config_data(config_file)
    if data is None:
        return None
    from leadflow.cadence.hours import MANAGER, BusinessHours

    manager = data["speed_to_lead"]["manager"]
    reps = {rep["id"]: BusinessHours.model_validate(rep["hours"]) for rep in data["reps"]}
    return reps | ({MANAGER: BusinessHours.model_validate(manager["hours"])} if manager else {})


def break_up_sources(cadence_dir: Path, template_dir: Path, config_file: Path) -> str:
    """What the lint's reading of the rendered messages depends on: the cadence files, the templates'
    text (not only their names) and the operator configuration."""
    parts = (
        digest(cadence_dir.glob("*.yaml")),
        digest(template_dir.rglob("*.j2"), template_dir),
        digest([config_file]),
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@cache
def break_up_forms(
    cadence_dir: Path, template_dir: Path, config_file: Path
) -> dict[str, dict[int, frozenset[str | None]]] | None:
    """`send.lint.break_up_forms` of these sources as the build computed it (rendering every cadence
    message for each form costs a report's cold start ~0.3 s CPU), else None."""
    compiled = _read_json(BREAK_UPS)
    if compiled is None or compiled["digest"] != break_up_sources(cadence_dir, template_dir, config_file):
        return None
    return {
        name: {int(touch): frozenset(forms) for touch, forms in by_touch.items()}
        for name, by_touch in compiled["break_ups"].items()
    }


# Keyed by the compiled directory: the Sandbox points COMPILED_DIR at one build per source content.
@cache
def _holiday_index(directory: Path) -> dict[str, Any] | None:
    return _read_json(f"{HOLIDAYS}/index.json", directory)


def holiday_horizon() -> tuple[int, int] | None:
    """The first and last year of the shipped holiday dates; None when none are shipped."""
    index = _holiday_index(compiled_dir())
    return None if index is None else (index["first_year"], index["last_year"])


def holiday_dates(country: str, year: int) -> dict[date, str] | None:
    """The shipped public holidays of `country` in `year` (national ones, as `holidays` gives them);
    {} for a country `holidays` lacks; None when not shipped (no data, or the year past the horizon)."""
    directory = compiled_dir()
    index = _holiday_index(directory)
    if index is None or not index["first_year"] <= year <= index["last_year"]:
        return None
    if country not in index["countries"]:
        return {}
    shipped = _country_holidays(directory, country)
    return None if shipped is None else shipped.get(year, {})


@cache
def _country_holidays(directory: Path, country: str) -> dict[int, dict[date, str]] | None:
    dates = _read_json(f"{HOLIDAYS}/{country}.json", directory)
    if dates is None:  # the build went away under a warm process: the package answers instead
        return None
    by_year: dict[int, dict[date, str]] = {}
    for day, name in dates.items():
        parsed = date.fromisoformat(day)
        by_year.setdefault(parsed.year, {})[parsed] = name
    return by_year


def report_templates(source: Path) -> Path | None:
    """The directory of the report's precompiled templates if compiled from exactly `source`, else None."""
    compiled = compiled_dir() / REPORT_TEMPLATES
    try:
        built = (compiled / "digest.txt").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return compiled if built == digest(source.rglob("*.j2"), source) else None


def template_digest(template_dir: Path) -> str:
    """The touch templates' names and content."""
    return digest(template_dir.rglob("*.j2"), template_dir)


def touch_templates(template_dir: Path, autoescape: bool) -> Path | None:
    """The directory of the touch templates precompiled for one environment (send.render) if compiled
    from exactly the files under `template_dir`, else None."""
    compiled = compiled_dir() / TOUCH_TEMPLATES
    try:
        built = (compiled / "digest.txt").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if built != template_digest(template_dir):
        return None
    return compiled / ("html" if autoescape else "text")
