"""The build side of `leadflow.compiled`: validate the sources in full and write the compiled files
(the layer build, CDK synth, the Sandbox). A module apart from the readers (the package itself), which
every cold start imports: a cold start compiles no writer's source."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from leadflow.compiled import (
    BREAK_UPS,
    CADENCES,
    HOLIDAY_YEARS_AFTER,
    HOLIDAY_YEARS_BEFORE,
    HOLIDAYS,
    OPERATOR_CONFIG,
    REPORT_TEMPLATES,
    REPORT_TOUCHES,
    TOUCH_TEMPLATES,
    break_up_sources,
    cadence_sources,
    digest,
    template_digest,
)


def build(
    target: Path,
    cadence_dir: Path,
    template_dir: Path,
    config_file: Path,
    today: date,
    parts: Path | None = None,
) -> Path:
    """Validate the sources in full and write every compiled file into `target` (replaced atomically).

    `parts`: a directory caching the parts that do not depend on the sources (holiday dates by
    `holidays` version and years, report templates by their digest), so that builds for other
    sources (the Sandbox's, per test setup) copy them instead of computing them again."""
    from leadflow.cadence.model import load_cadences
    from leadflow.operator_config import load_operator_config

    cadences_by_name = load_cadences(cadence_dir, template_dir)
    config = load_operator_config(config_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".compiling-") as scratch:
        staged = Path(scratch) / "compiled"
        staged.mkdir()
        cadences_json = {name: cadence.model_dump(mode="json") for name, cadence in cadences_by_name.items()}
        _write_json(
            staged / CADENCES,
            {"digest": cadence_sources(cadence_dir, template_dir), "cadences": cadences_json},
        )
        from leadflow.report.weekly import planned_touches

        _write_json(
            staged / REPORT_TOUCHES,
            {
                "digest": cadence_sources(cadence_dir, template_dir),
                "touches": {name: planned_touches(cadence) for name, cadence in cadences_by_name.items()},
            },
        )
        config_json = config.model_dump(mode="json")
        _write_json(staged / OPERATOR_CONFIG, {"digest": digest([config_file]), "config": config_json})
        from leadflow.send import lint

        break_ups = lint.break_up_forms(cadences_by_name.values(), template_dir, config)
        _write_json(
            staged / BREAK_UPS,
            {
                "digest": break_up_sources(cadence_dir, template_dir, config_file),
                "break_ups": {
                    name: {
                        str(touch): sorted(forms, key=lambda form: (form is not None, form or ""))
                        for touch, forms in by_touch.items()
                    }
                    for name, by_touch in break_ups.items()
                },
            },
        )
        years = range(today.year - HOLIDAY_YEARS_BEFORE, today.year + HOLIDAY_YEARS_AFTER + 1)
        _part(
            staged / HOLIDAYS,
            parts,
            f"holidays-{_holidays_version()}-{years[0]}-{years[-1]}",
            write_holidays,
            years,
        )
        _part(staged / REPORT_TEMPLATES, parts, f"report-{_report_digest()[:16]}", write_report_templates)
        touch_key = f"touch-{template_digest(template_dir)[:16]}"
        _part(staged / TOUCH_TEMPLATES, parts, touch_key, write_touch_templates, template_dir)
        shutil.rmtree(target, ignore_errors=True)
        try:
            staged.rename(target)
        except OSError:  # another process built the same target meanwhile
            if not target.is_dir():
                raise
    return target


def _part(directory: Path, parts: Path | None, key: str, write: Any, *args: Any) -> None:
    if parts is None:
        write(directory, *args)
        return
    cached = parts / key
    if not cached.is_dir():
        parts.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=parts, prefix=".part-") as scratch:
            write(Path(scratch) / "part", *args)
            try:
                (Path(scratch) / "part").rename(cached)
            except OSError:  # built meanwhile by another process
                if not cached.is_dir():
                    raise
    shutil.copytree(cached, directory)


def _holidays_version() -> str:
    from importlib.metadata import version

    return version("holidays")


def _report_digest() -> str:
    from leadflow.report.render import TEMPLATE_DIR

    return digest(TEMPLATE_DIR.rglob("*.j2"), TEMPLATE_DIR)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")


def holiday_data(years: range) -> dict[str, dict[str, str]]:
    """Every country `holidays` covers: {country: {"YYYY-MM-DD": name}} over `years` (national holidays)."""
    import holidays

    return {
        country: {
            day.isoformat(): name
            for day, name in sorted(holidays.country_holidays(country, years=years).items())
            if day.year in years
        }
        for country in sorted(holidays.list_supported_countries())
        if len(country) == 2  # the ISO alpha-2 codes leads' countries are given in (not alpha-3 aliases)
    }


def write_holidays(directory: Path, years: range) -> None:
    import holidays

    directory.mkdir()
    data = holiday_data(years)
    for country, days in data.items():
        _write_json(directory / f"{country}.json", days)
    index = {
        "first_year": years[0],
        "last_year": years[-1],
        "countries": sorted(data),
        "holidays_version": holidays.__version__,
    }
    _write_json(directory / "index.json", index)


def write_report_templates(directory: Path) -> None:
    from leadflow.report.render import environment

    environment(precompiled=False).compile_templates(str(directory), zip=None, ignore_errors=False)
    (directory / "digest.txt").write_text(_report_digest() + "\n", encoding="utf-8")


def write_touch_templates(directory: Path, template_dir: Path) -> None:
    from leadflow.send.render import environment

    for autoescape, part in ((False, "text"), (True, "html")):
        environment(template_dir, autoescape).compile_templates(
            str(directory / part),
            filter_func=lambda name: name.endswith(".j2"),
            zip=None,
            ignore_errors=False,
        )
    (directory / "digest.txt").write_text(template_digest(template_dir) + "\n", encoding="utf-8")
