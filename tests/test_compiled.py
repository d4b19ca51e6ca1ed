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

import holidays
import pytest

from leadflow import compiled
from leadflow.cadence import schedule
from leadflow.cadence.model import load_cadences
from leadflow.local.sandbox import REPO_ROOT
from leadflow.operator_config import load_operator_config

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
    target = compiled.build(
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


def test_one_changed_byte_of_a_source_and_the_yaml_is_read_instead(built):
    cadence_file = built / "cadences" / "inbound-demo-request.yaml"
    config_file = built / "config" / "leadflow.yaml"
    assert compiled.cadences(built / "cadences", built / "templates") is not None
    assert compiled.operator_config(config_file) is not None
    compiled.forget()
    cadence_file.write_text(cadence_file.read_text() + " ")
    config_file.write_text(config_file.read_text() + " ")

    assert compiled.cadences(built / "cadences", built / "templates") is None
    assert compiled.operator_config(config_file) is None


def test_a_template_file_gone_and_the_yaml_is_read_instead(built):
    """load_cadences checks every touch's template exists: the compiled cadences were checked so too."""
    next((built / "templates" / "inbound-demo-request").glob("*.j2")).unlink()

    assert compiled.cadences(built / "cadences", built / "templates") is None


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
loaded = sorted(m for m in ("yaml", "email_validator", "holidays") if m in sys.modules)
print(json.dumps([names, rep, christmas, loader, loaded]))
"""
    env = {
        **os.environ,
        "COMPILED_DIR": str(compiled.compiled_dir()),
        "CADENCE_DIR": str(built / "cadences"),
        "TEMPLATE_DIR": str(built / "templates"),
        "CONFIG_FILE": str(built / "config" / "leadflow.yaml"),
        "TABLE_NAME": "leadflow",
        "HMAC_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadflow/hmac",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    names, rep, christmas, loader, loaded = json.loads(done.stdout.splitlines()[-1])

    assert names == sorted(load_cadences(CADENCES, TEMPLATES))
    assert rep == load_operator_config(CONFIG).reps[0].email
    assert christmas == "Erster Weihnachtstag" or "Christmas" in christmas
    assert loader == "ModuleLoader"
    assert loaded == []


def test_without_compiled_files_the_yaml_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPILED_DIR", str(tmp_path / "nothing"))
    compiled.forget()
    try:
        assert compiled.cadences(CADENCES, TEMPLATES) is None
        assert compiled.operator_config(CONFIG) is None
        assert compiled.holiday_dates("US", TODAY.year) is None
        assert compiled.report_templates(Path(schedule.__file__)) is None
    finally:
        compiled.forget()
