"""What a cold start does not pay for: modules a handler's first call does not need stay unimported.

Each check runs in a fresh interpreter, as a new Lambda instance starts (the timings are in
`make bench`, cold_start_ratio_<function>; these pin the causes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _fresh(code: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_one_countrys_holidays_load_that_country_alone() -> None:
    code = """
import json, sys
from datetime import date
from leadflow.cadence import schedule
us = schedule._holidays("US")
loaded = sorted(m for m in sys.modules if m.startswith("holidays.countries."))
import holidays
print(json.dumps({
    "loaded": loaded,
    "christmas": us.get(date(2026, 12, 25)),
    "unity_day": schedule._holidays("DE").get(date(2026, 10, 3)),
    "aland": schedule._holidays("AX").get(date(2026, 12, 6)),
    "by_name": holidays.countries.Japan.__name__,
    "unknown": schedule._holidays("ZZ"),
}))
"""
    assert _fresh(code) == {
        "loaded": ["holidays.countries.united_states"],
        "christmas": "Christmas Day",
        "unity_day": "German Unity Day",
        "aland": "Independence Day",
        "by_name": "Japan",
        "unknown": None,
    }


def test_validators_import_their_libraries_on_first_use() -> None:
    code = """
import json, sys
from leadflow import fields, models
before = {"email_validator" in sys.modules, "phonenumbers" in sys.modules}
print(json.dumps({
    "before": sorted(before),
    "email": fields.email_address("Ada@Example.com"),
    "phone": fields.phone_number("(415) 555-0100", "US"),
    "country": fields.country_code("gb"),
}))
"""
    assert _fresh(code) == {
        "before": [False],
        "email": "ada@example.com",
        "phone": "+14155550100",
        "country": "GB",
    }


@pytest.mark.parametrize("function", ["intake", "inbound", "events", "sweep"])
def test_handlers_that_render_nothing_on_import_do_not_import_jinja(function: str) -> None:
    code = f"""
import json, sys
import functions.{function}.handler
print(json.dumps(sorted(m for m in ("jinja2", "holidays", "phonenumbers") if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_sweep_reads_no_configuration_file_on_its_cold_start() -> None:
    """Its five-minute call reads neither the operator config nor the cadence files, and plans
    nothing (the planner comes with the first enrollment to start, the audit with the hourly call)."""
    code = """
import json, sys
import functions.sweep.handler
heavy = ("yaml", "email_validator", "leadflow.operator_config", "leadflow.cadence.enrollments",
         "leadflow.cadence.audit", "holidays")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_events_handler_imports_no_stop_alert_or_mail_module() -> None:
    """Deliveries and opens, most of its calls, only record an event: what stops, alerts and mails
    comes with the bounces, complaints and clicks that need it."""
    code = """
import json, sys
import functions.events.handler
heavy = ("leadflow.cadence.stops", "leadflow.send.alerts", "leadflow.send.guard", "leadflow.send.mail",
         "leadflow.cadence.enrollments", "leadflow.intake.contacts", "leadflow.operator_config")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""
    assert _fresh(code) == []
