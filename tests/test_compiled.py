"""leadflow.compiled: what the layer ships so a cold start parses no YAML, validates no email address,
imports no `holidays` and compiles no report template, and reads exactly what the YAML files say."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import holidays
import pytest

from leadflow import compiled, config
from leadflow.cadence import schedule
from leadflow.cadence.hours import MANAGER
from leadflow.cadence.model import load_cadences
from leadflow.compiled import build as compiling
from leadflow.config import settings
from leadflow.local.sandbox import REPO_ROOT
from leadflow.operator_config import load_operator_config
from leadflow.report import weekly
from leadflow.send import lint, render
from leadflow.send.messages import compose


def _lambda_env(**paths: str | Path) -> dict[str, str]:
    """A function's environment for a fresh process: the files given (COMPILED_DIR, CONFIG_FILE...),
    its table and its secret."""
    return {
        **os.environ,
        **{name: str(path) for name, path in paths.items()},
        "TABLE_NAME": "leadflow",
        "HMAC_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadflow/hmac",
    }


def _last_printed(code: str, env: dict[str, str]) -> Any:
    """Run `code` in a fresh Python process, as a cold start does: the JSON of the last line it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    return json.loads(done.stdout.splitlines()[-1])


CADENCES = REPO_ROOT / "cadences"
TEMPLATES = REPO_ROOT / "templates"
CONFIG = REPO_ROOT / "config" / "leadflow.yaml"
TODAY = date(2026, 12, 7)
PARTS = REPO_ROOT / "build" / "compiled" / "parts"  # shared with the Sandbox's builds: built once


@pytest.fixture
def built(tmp_path, monkeypatch):
    """The repo's sources compiled (as `make layers` does) and the readers pointed at them."""
    sources = tmp_path / "sources"
    for name in ("cadences", "templates", "config"):
        shutil.copytree(REPO_ROOT / name, sources / name)
    target = compiling.build(
        tmp_path / "compiled",
        sources / "cadences",
        sources / "templates",
        sources / "config" / "leadflow.yaml",
        TODAY,
        parts=PARTS,
    )
    monkeypatch.setenv("COMPILED_DIR", str(target))
    compiled.forget()
    yield sources
    compiled.forget()


def test_compiled_cadences_and_configuration_equal_a_fresh_validation_of_the_yaml(built):
    cadences = compiled.cadences(built / "cadences", built / "templates")
    config = compiled.operator_config(built / "config" / "leadflow.yaml")

    assert cadences == load_cadences(CADENCES, TEMPLATES)
    assert config == load_operator_config(CONFIG)
    assert compiled.retention(built / "config" / "leadflow.yaml") == load_operator_config(CONFIG).retention


def test_one_changed_byte_of_a_source_and_the_yaml_is_read_instead(built):
    cadence_file = built / "cadences" / "inbound-demo-request.yaml"
    config_file = built / "config" / "leadflow.yaml"
    assert compiled.cadences(built / "cadences", built / "templates") is not None
    assert compiled.operator_config(config_file) is not None
    assert compiled.retention(config_file) is not None
    compiled.forget()
    cadence_file.write_text(cadence_file.read_text() + " ")
    config_file.write_text(config_file.read_text() + " ")

    assert compiled.cadences(built / "cadences", built / "templates") is None
    assert compiled.operator_config(config_file) is None
    assert compiled.retention(config_file) is None


def test_a_template_file_gone_and_the_yaml_is_read_instead(built):
    """load_cadences checks every touch's template exists: the compiled cadences were checked so too."""
    next((built / "templates" / "inbound-demo-request").glob("*.j2")).unlink()

    assert compiled.cadences(built / "cadences", built / "templates") is None


def test_compiled_break_ups_equal_the_lints_reading_and_one_changed_template_byte_reads_afresh(built):
    """The report's break-up steps (issue 28: ~0.3 s CPU of its cold start rendered every message): as the
    lint reads the messages now; a template's text changed (its name kept) and the compiled ones are
    not used."""
    sources = (built / "cadences", built / "templates", built / "config" / "leadflow.yaml")
    fresh = lint.break_up_forms(
        load_cadences(CADENCES, TEMPLATES).values(), TEMPLATES, load_operator_config(CONFIG)
    )
    assert any(by_touch for by_touch in fresh.values())  # the demo cadences have break-ups to find
    assert compiled.break_up_forms(*sources) == fresh
    compiled.forget()
    template = next((built / "templates" / "inbound-demo-request").glob("*.j2"))
    template.write_text(template.read_text() + " ")

    assert compiled.break_up_forms(*sources) is None


def test_compiled_report_touches_equal_the_cadence_models_and_one_changed_cadence_byte_reads_afresh(built):
    """The report plans each cadence's touches from the layer's compiled reading (issue 28: its first
    call builds no cadence model): as the models give them now; a cadence file changed and the
    compiled ones are not used."""
    sources = (built / "cadences", built / "templates")
    fresh = {
        name: weekly.planned_touches(cadence) for name, cadence in load_cadences(CADENCES, TEMPLATES).items()
    }
    assert any(effort != "low" for touches in fresh.values() for _, effort, _, _ in touches)
    assert compiled.report_touches(*sources) == fresh
    compiled.forget()
    cadence_file = built / "cadences" / "inbound-demo-request.yaml"
    cadence_file.write_text(cadence_file.read_text() + " ")

    assert compiled.report_touches(*sources) is None


def test_shipped_holiday_dates_equal_the_holidays_package_for_every_country_and_year(built):
    first, last = compiled.holiday_horizon() or (0, -1)
    assert (first, last) == (TODAY.year - 1, TODAY.year + 3)
    countries = [code for code in holidays.list_supported_countries() if len(code) == 2]
    assert len(countries) > 200
    for country in countries:
        calendar = holidays.country_holidays(country, years=range(first, last + 1))
        for year in range(first, last + 1):
            expected = {day: name for day, name in calendar.items() if day.year == year}
            assert compiled.holiday_dates(country, year) == expected, (country, year)
    assert compiled.holiday_dates("XX", TODAY.year) == {}  # a country holidays lacks: none skipped


def test_past_the_horizon_holidays_itself_answers_and_it_is_logged(built, caplog):
    _, last = compiled.holiday_horizon() or (0, 0)
    assert compiled.holiday_dates("US", last) is not None
    assert compiled.holiday_dates("US", last + 1) is None
    schedule._warn_past_horizon.cache_clear()
    caplog.set_level(logging.WARNING, logger="leadflow.cadence.schedule")

    christmas = date(last + 1, 12, 25)
    assert schedule.public_holiday("US", christmas)
    assert schedule.holiday_dates("US", last + 1) == {
        day: name for day, name in holidays.country_holidays("US", years=last + 1).items()
    }
    assert f"not {last + 1}: importing holidays" in caplog.text


def test_a_cold_start_reads_the_compiled_files_without_yaml_email_validator_holidays_or_jinja_parsing(built):
    """In a fresh process, as in Lambda: the handlers' loading boundaries read the compiled files."""
    code = f"""
import json, sys
from datetime import date
from leadflow import compiled, config
from leadflow.cadence import schedule
from leadflow.report import render
names = sorted(config.cadences())
rep = config.operator_config().reps[0].email
christmas = schedule.holiday_name(schedule.Locale("Europe/Berlin", "DE"), date({TODAY.year}, 12, 25))
environment = render._environment()
environment.get_template("report.html.j2")
loader = type(environment.loader).__name__
from leadflow.report import weekly
plans = weekly.cadence_plans().items()
break_up_steps = sorted(name for name, plan in plans if any(s.break_up_forms for s in plan.steps))
loaded = sorted(m for m in ("yaml", "email_validator", "holidays", "leadflow.send.lint") if m in sys.modules)
print(json.dumps([names, rep, christmas, loader, loaded, break_up_steps]))
"""
    env = _lambda_env(
        COMPILED_DIR=compiled.compiled_dir(),
        CADENCE_DIR=built / "cadences",
        TEMPLATE_DIR=built / "templates",
        CONFIG_FILE=built / "config" / "leadflow.yaml",
    )
    names, rep, christmas, loader, loaded, break_up_steps = _last_printed(code, env)

    assert names == sorted(load_cadences(CADENCES, TEMPLATES))
    assert rep == load_operator_config(CONFIG).reps[0].email
    assert christmas == "Erster Weihnachtstag" or "Christmas" in christmas
    assert loader == "ModuleLoader"
    assert loaded == []  # the report's break-up steps too: read, not rendered by the lint
    assert break_up_steps  # ...and found


def test_an_item_s_expiry_reads_the_compiled_retention_without_the_configuration_s_models(built, tmp_path):
    """In a fresh process, as in Lambda: every write of an item that expires reads the retention (the SES
    events function's first call, a delivery's event item, needs nothing else of the configuration), and
    reads what the YAML says, here days other than the defaults."""
    text = (built / "config" / "leadflow.yaml").read_text()
    for setting, days in (("leads_days", 400), ("submissions_days", 100), ("events_days", 200)):
        text = text.replace(f"  {setting}: 730", f"  {setting}: {days}", 1)
    config_file = tmp_path / "retention-config" / "leadflow.yaml"  # a path no loader has cached
    config_file.parent.mkdir()
    config_file.write_text(text)
    target = compiling.build(
        tmp_path / "retention", built / "cadences", built / "templates", config_file, TODAY, parts=PARTS
    )
    code = """
import json, sys
from datetime import UTC, datetime
from leadflow.store.items import ttl
at = datetime(2026, 12, 7, tzinfo=UTC)
kinds = ("lead", "submission", "event")
days = [(ttl(kind, at)["expires_at"] - int(at.timestamp())) // 86_400 for kind in kinds]
print(json.dumps([days, "leadflow.operator_config" in sys.modules]))
"""
    env = _lambda_env(COMPILED_DIR=target, CONFIG_FILE=config_file)

    assert _last_printed(code, env) == [[400, 100, 200], False]


def test_the_sweep_delivers_held_alerts_reading_the_compiled_hours_without_the_configuration_s_models(
    built, tmp_path, monkeypatch
):
    """In a fresh process, as in Lambda: every sweep reads who gets rep alerts and their hours (the reps
    and the manager), and a sweep when nobody is at work reads nothing else; the hours are those the
    YAML gives, as the whole configuration's models read them (no compiled files)."""
    code = """
import json, sys
from datetime import UTC, datetime
from leadflow.config import alert_hours
from leadflow.send.held_alerts import deliver_held
sunday_night = datetime(2026, 12, 6, 3, tzinfo=UTC)  # nobody at work: no held alert is read
hours = {person: hours.model_dump(mode="json") for person, hours in alert_hours().items()}
imported = [m for m in ("leadflow.operator_config", "leadflow.send.alerts") if m in sys.modules]
print(json.dumps([hours, deliver_held(sunday_night), imported]))
"""
    env = _lambda_env(COMPILED_DIR=compiled.compiled_dir(), CONFIG_FILE=built / "config" / "leadflow.yaml")
    hours, delivered, imported = _last_printed(code, env)
    for name in ("COMPILED_DIR", "CONFIG_FILE", "TABLE_NAME", "HMAC_SECRET_ARN"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("COMPILED_DIR", str(tmp_path / "nothing"))
    compiled.forget()
    settings.cache_clear()
    try:
        from_models = {
            person: hours.model_dump(mode="json") for person, hours in config.alert_hours().items()
        }
    finally:
        settings.cache_clear()

    assert hours == from_models
    assert sorted(hours) == sorted([rep.id for rep in load_operator_config(CONFIG).reps] + [MANAGER])
    assert (delivered, imported) == (0, [])


def _plans_as_json(plans: dict) -> list:
    return [
        [
            name,
            plan.flow,
            plan.days,
            [[s.channel, s.effort, s.name, sorted(s.break_up_forms)] for s in plan.steps],
        ]
        for name, plan in sorted(plans.items())
    ]


def test_the_report_s_cadence_plans_build_no_cadence_model_in_a_cold_start(built, tmp_path, monkeypatch):
    """In a fresh process, as in Lambda: the report plans its cadences from the compiled files without
    importing the cadence models (~11 ms of its first call), and plans what the models give."""
    code = """
import json, sys
from leadflow.report import weekly
plans = [
    [name, plan.flow, plan.days, [[s.channel, s.effort, s.name, sorted(s.break_up_forms)] for s in steps]]
    for name, plan in sorted(weekly.cadence_plans().items()) for steps in [plan.steps]
]
print(json.dumps([sorted(m for m in ("leadflow.cadence.model", "yaml") if m in sys.modules), plans]))
"""
    env = _lambda_env(
        COMPILED_DIR=compiled.compiled_dir(),
        CADENCE_DIR=built / "cadences",
        TEMPLATE_DIR=built / "templates",
        CONFIG_FILE=built / "config" / "leadflow.yaml",
    )
    loaded, plans = _last_printed(code, env)

    assert loaded == []
    for name in (
        "CADENCE_DIR",
        "TEMPLATE_DIR",
        "CONFIG_FILE",
        "TABLE_NAME",
        "HMAC_SECRET_ARN",
    ):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("COMPILED_DIR", str(tmp_path / "nothing"))  # the models' reading, rendered afresh
    settings.cache_clear()
    compiled.forget()
    assert plans == _plans_as_json(weekly.cadence_plans())
    assert any(step[1] > 1 for _, _, _, steps in plans for step in steps)
    settings.cache_clear()


def test_without_compiled_files_the_yaml_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPILED_DIR", str(tmp_path / "nothing"))
    compiled.forget()
    try:
        assert compiled.cadences(CADENCES, TEMPLATES) is None
        assert compiled.operator_config(CONFIG) is None
        assert compiled.retention(CONFIG) is None
        assert compiled.holiday_dates("US", TODAY.year) is None
        assert compiled.report_templates(Path(schedule.__file__)) is None
        assert compiled.break_up_forms(CADENCES, TEMPLATES, CONFIG) is None
        assert compiled.touch_templates(TEMPLATES, autoescape=False) is None
    finally:
        compiled.forget()


def _render_every_touch(sources: Path) -> list[object]:
    """Every touch of every cadence, in every variant, rendered for every sample lead (as lint does)."""
    config = load_operator_config(sources / "config" / "leadflow.yaml")
    cadences = load_cadences(sources / "cadences", sources / "templates")
    found: list[object] = []
    for target in lint.targets(cadences.values(), sources / "templates"):
        meeting = lint.sample_meetings(target.cadence, config, lint._SAMPLE_TIME)[0]
        for sample in lint.SAMPLE_LEADS:
            values = lint._values(target, lint.sample_lead(sample), config, lint._SAMPLE_TIME, meeting)
            message = compose(sources / "templates", target.cadence, target.touch, target.variant, values)
            found.append((target.label, sample, message))
    return found


def test_in_lambda_every_touch_renders_from_the_precompiled_templates_as_from_the_files(built, monkeypatch):
    from_files = _render_every_touch(built)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "leadflow-step")
    render.environment.cache_clear()
    try:
        precompiled = _render_every_touch(built)
        loaders = {
            type(render.environment(built / "templates", escape, precompiled=True).loader).__name__
            for escape in (False, True)
        }
    finally:
        render.environment.cache_clear()
    assert loaders == {"ModuleLoader"}
    assert len(precompiled) > 50
    assert precompiled == from_files


def test_one_changed_byte_of_a_template_and_the_files_are_rendered_instead(built):
    templates = built / "templates"
    assert (
        compiled.touch_templates(templates, autoescape=True)
        == compiled.compiled_dir() / "touch_templates/html"
    )
    layout = templates / "_layout.j2"
    layout.write_bytes(layout.read_bytes() + b" ")
    assert compiled.touch_templates(templates, autoescape=True) is None
    assert compiled.touch_templates(templates, autoescape=False) is None
