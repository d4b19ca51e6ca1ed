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


@pytest.mark.parametrize("function", ["events", "inbound", "sweep"])
def test_handlers_that_read_no_cadence_do_not_build_the_cadence_models(function: str) -> None:
    """A delivery, a reply, the five-minute sweep read no cadence: the settings, the lead models and
    the operator configuration take the cadence vocabulary from cadence.terms, and the step-function
    helpers take `Cadence` for their annotations only (~14 ms of these cold starts)."""
    code = f"""
import json, sys
import functions.{function}.handler
print(json.dumps(sorted(m for m in ("leadflow.cadence.model", "yaml") if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_step_imports_what_an_email_touch_needs_and_no_other_channel() -> None:
    """Most of its calls send an email: the modules of texts, rep tasks and drafts, speed to lead,
    failure alerts, the planner a held touch moves with, the event store (a CRM stage's, through
    the lead store), a first moment's own (its starter, its schedules, the execution a touch 1
    claim records) and the catch-all's record of a failed touch come with the calls that use them."""
    code = """
import json, sys
import functions.step.handler
later = ("leadflow.send.sms", "leadflow.send.tasks", "leadflow.send.drafts", "leadflow.send.escalations",
         "leadflow.send.alerts", "leadflow.cadence.reschedule", "leadflow.cadence.enrollments",
         "leadflow.store.event_items", "leadflow.cadence.first_moment", "leadflow.cadence.schedules",
         "leadflow.cadence.executions", "leadflow.send.failures")
print(json.dumps(sorted(m for m in later if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_report_imports_no_planner_store_of_enrollments_or_touch_renderer() -> None:
    """The report reads the reputation guard's status: what only a held touch or a pause needs (the
    planner, the enrollments, alerts, the touch messages) stays with the step and the events; and
    it validates no lead model (its configuration's contact statuses come from cadence.terms)."""
    code = """
import json, sys
import functions.report.handler
later = ("leadflow.cadence.schedule", "leadflow.cadence.enrollments", "leadflow.cadence.reschedule",
         "leadflow.store.enrollment_items", "leadflow.send.alerts", "leadflow.send.messages",
         "leadflow.models")
print(json.dumps(sorted(m for m in later if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_intake_imports_what_a_new_lead_needs() -> None:
    """A post stores, routes and enrolls a lead: the modules of a refused post (held), a returning
    lead's withdrawal, an account-level stop, speed to lead's task store and links, the event
    store a CRM stage writes to, and the signed tokens of replies and unsubscribe links, come with
    the calls that use them."""
    code = """
import json, sys
import functions.intake.handler
later = ("leadflow.intake.held", "leadflow.intake.withdrawal", "leadflow.cadence.stops",
         "leadflow.store.task_items", "leadflow.send.tasks", "leadflow.send.queue", "leadflow.send.mail",
         "leadflow.store.event_items", "leadflow.tokens")
print(json.dumps(sorted(m for m in later if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_the_inbound_handler_imports_no_sms_or_held_mail_module() -> None:
    """A reply by mail, its most frequent call, neither reads a text nor holds mail: the SMS modules
    come with the first text, the held-mail store with the first mail held."""
    code = """
import json, sys
import functions.inbound.handler
later = ("leadflow.answers.sms_inbound", "leadflow.intake.sms_opt_in", "leadflow.send.sms",
         "leadflow.answers.held", "leadflow.store.held_mail_items")
print(json.dumps(sorted(m for m in later if m in sys.modules)))
"""
    assert _fresh(code) == []


def test_a_reply_builds_no_cadence_model_and_imports_no_touch_renderer() -> None:
    """A reply stops the lead, forwards the mail to its owning rep, writes the rep's task with its
    link, and alerts inside the rep's hours (public holidays off; a hot reply's stand-in, the next rep
    of the rotation): none of it reads a cadence, so none builds the cadence models or imports the
    touch messages or speed to lead's chain (~120M instructions of the inbound's first call)."""
    code = """
import json, sys
from datetime import UTC, datetime
import functions.inbound.handler
from leadflow.answers import reply_actions
from leadflow.cadence import stops
from leadflow.operator_config import BusinessHours
from leadflow.send import alerts, tasks
christmas = datetime(2026, 12, 25, 15, tzinfo=UTC)
hours = BusinessHours(timezone="America/New_York", country="US")
heavy = ("leadflow.cadence.model", "leadflow.send.messages", "leadflow.send.render", "leadflow.cadence.asl",
         "leadflow.send.speed")
print(json.dumps({
    "working": [hours.working(christmas), hours.working(christmas.replace(day=24))],
    "stand_in": callable(alerts.next_rep) and callable(tasks.task_link),
    "imported": sorted(m for m in heavy if m in sys.modules),
}))
"""
    assert _fresh(code) == {"working": [False, True], "stand_in": True, "imported": []}


def test_the_model_modules_hand_pydantic_annotation_objects_not_strings() -> None:
    """Without `from __future__ import annotations` in the three modules of models every function
    imports, pydantic reads their fields' types as they are instead of compiling each string."""
    from pydantic import BaseModel

    from leadflow import models, operator_config
    from leadflow.cadence import model as cadence_model

    stringly = {
        f"{module.__name__}.{name}"
        for module in (models, operator_config, cadence_model)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
        if any(isinstance(annotation, str) for annotation in value.__annotations__.values())
    }
    assert stringly == set()


DEFERRED_MODELS = (
    "LeadSubmission",
    "Meeting",
    "HeldTouch",
    "RequestOrigin",
    "HeldPost",
    "Task",
    "HeldMail",
    "FailureDetail",
    "EscalationRequest",
    "ServiceTextRequest",
    "FailureReport",
)


@pytest.mark.parametrize("function", ["intake", "step", "inbound", "events", "report", "sweep"])
def test_models_most_calls_never_validate_build_their_validators_on_first_use(function: str) -> None:
    """leadflow.models' rarely validated models say defer_build: no cold start builds them on import,
    and the first validation still validates."""
    code = f"""
import json, sys
import functions.{function}.handler
from leadflow import models
built = [name for name in {DEFERRED_MODELS!r} if getattr(models, name).__pydantic_complete__]
detail = models.FailureDetail.model_validate({{"error": "Throttled"}})
try:
    models.FailureDetail.model_validate({{"error": "x" * 257}})
    refused = False
except Exception:
    refused = True
print(json.dumps({{"built": built, "validated": detail.error, "refused": refused,
                  "now_built": models.FailureDetail.__pydantic_complete__}}))
"""
    assert _fresh(code) == {"built": [], "validated": "Throttled", "refused": True, "now_built": True}


GC_DURING_IMPORT = """
import gc, json, sys
import functions  # the package: compiling it may collect, before it can pause anything
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
import functions.{function}.handler
frozen = gc.get_freeze_count() > 0
print(json.dumps({{"collections": len(collections), "enabled": gc.isenabled(), "frozen": frozen}}))
"""


def _gc_during_import(function: str, lambda_name: str | None) -> dict[str, object]:
    env = {name: value for name, value in os.environ.items() if name != "AWS_LAMBDA_FUNCTION_NAME"}
    if lambda_name:
        env["AWS_LAMBDA_FUNCTION_NAME"] = lambda_name
    code = GC_DURING_IMPORT.format(function=function)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


@pytest.mark.parametrize("function", ["intake", "step", "inbound", "events", "report", "sweep"])
def test_a_lambda_cold_start_collects_no_garbage_while_its_handler_imports(function: str) -> None:
    """In Lambda the collector pauses while the handler imports (functions/__init__.py), then runs
    again with what was imported frozen out of it; a handler that forgot `imported()` would leave it
    off. Outside Lambda nothing changes."""
    in_lambda = _gc_during_import(function, f"leadflow-{function}")
    assert in_lambda == {"collections": 0, "enabled": True, "frozen": True}
    elsewhere = _gc_during_import(function, None)
    assert elsewhere["collections"] != 0
    assert (elsewhere["enabled"], elsewhere["frozen"]) == (True, False)


FIRST_CALL = """
import gc, json
import functions
functions.imported()
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)

imported = gc.get_freeze_count()

@functions.uncollected_first_call
def handler(count):
    before = len(collections)
    cycles = [[] for _ in range(count)]
    for cycle in cycles:
        cycle.append(cycle)
    return len(collections) - before

first = handler(50_000)
after_first = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() - imported}
print(json.dumps({"first": first, **after_first, "second": handler(50_000)}))
"""


def _first_call(lambda_name: str | None) -> dict[str, object]:
    env = {name: value for name, value in os.environ.items() if name != "AWS_LAMBDA_FUNCTION_NAME"}
    if lambda_name:
        env["AWS_LAMBDA_FUNCTION_NAME"] = lambda_name
    command = [sys.executable, "-c", FIRST_CALL]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_lambda_handler_s_first_call_collects_nothing_and_freezes_what_it_built() -> None:
    """`uncollected_first_call`: in Lambda the first call runs with collection paused (50,000 new
    containers would set it off many times) and leaves it on, with what the call built frozen; the
    second call collects as usual. Outside Lambda the handler is left as it is."""
    in_lambda = _first_call("leadflow-intake")
    assert in_lambda["first"] == 0
    assert in_lambda["enabled"] is True
    assert isinstance(in_lambda["frozen"], int) and in_lambda["frozen"] > 50_000
    assert in_lambda["second"] != 0
    elsewhere = _first_call(None)
    assert elsewhere["first"] != 0
    assert elsewhere["frozen"] == 0


INTAKE_FIRST_CALLS = """
import gc, json
from datetime import datetime, UTC
import functions.intake.handler as intake
from leadflow.local import events
paused = []
route = intake.include_routes
intake.include_routes = lambda path: (paused.append(not gc.isenabled()), route(path))[1]
event = events.api_gateway_event("GET", "/nowhere", body=None, headers={}, at=datetime.now(UTC))
class Context:
    function_name = "leadflow-intake"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-intake"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
answers = [intake.lambda_handler(event, Context())["statusCode"] for _ in range(2)]
print(json.dumps({"paused": paused, "answers": answers, "enabled": gc.isenabled()}))
"""


def test_the_intake_s_first_call_runs_with_collection_paused_in_lambda() -> None:
    """A path no route serves: the call reads the settings (CORS) and touches no AWS service."""
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "leadflow-intake",
        "TABLE_NAME": "leadflow",
        "HMAC_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadflow/hmac",
    }
    command = [sys.executable, "-c", INTAKE_FIRST_CALLS]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "paused": [True, False],
        "answers": [404, 404],
        "enabled": True,
    }


INBOUND_FIRST_CALLS = """
import gc, json
import functions.inbound.handler as inbound
paused = []
read = inbound.sns_notifications
inbound.sns_notifications = lambda event: (paused.append(not gc.isenabled()), read(event))[1]
class Context:
    function_name = "leadflow-inbound"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-inbound"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
answers = [inbound.lambda_handler({"source": "aws.events"}, Context())["outcomes"] for _ in range(2)]
print(json.dumps({"paused": paused, "answers": answers, "enabled": gc.isenabled()}))
"""


def test_the_inbound_s_first_call_runs_with_collection_paused_in_lambda() -> None:
    """An event that is not an SNS notification: the call touches no AWS service."""
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "leadflow-inbound"}
    command = [sys.executable, "-c", INBOUND_FIRST_CALLS]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "paused": [True, False],
        "answers": [["not_sns"], ["not_sns"]],
        "enabled": True,
    }


@pytest.mark.parametrize("function", ["intake", "step", "sweep", "report", "events"])
def test_these_handlers_run_their_first_call_uncollected_in_lambda(function: str) -> None:
    """Their first calls build clients, models and validators for the life of the process: collection
    stays paused through them (functions.uncollected_first_call; ~10% of a first call's CPU)."""
    code = f"""
import json
import functions
import functions.{function}.handler as handler
probe = functions.uncollected_first_call(lambda: None)
print(json.dumps(handler.lambda_handler.__code__ is probe.__code__))
"""
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": f"leadflow-{function}",
        "TABLE_NAME": "leadflow",
        "HMAC_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadflow/hmac",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) is True


@pytest.mark.parametrize("function", ["intake", "step", "inbound", "events", "report", "sweep"])
def test_no_handler_imports_the_build_side_of_the_compiled_files(function: str) -> None:
    """A cold start reads the compiled files; their writers (leadflow.compiled.build) are the build's."""
    code = f"""
import json, sys
import functions.{function}.handler
print(json.dumps("leadflow.compiled.build" in sys.modules))
"""
    assert _fresh(code) is False
