import functools
import os
import re
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# `make test` replays the same draws every run, so CI passes or fails on the code, not on luck.
# LEADFLOW_FUZZ=N (examples per property) draws fresh ones, to hunt for new failures.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("fuzz", derandomize=False, database=None)
settings.load_profile("fuzz" if os.environ.get("LEADFLOW_FUZZ") else "repeatable")

os.environ.setdefault("TZ", "UTC")
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(name, value)

REPO_ROOT = Path(__file__).resolve().parents[1]
# For tests about something else than cadences (answers, messages, duplicates, SES events): the
# demo-request cadence as six emails on days 1, 2, 4, 7, 14 and 21 at the post's time of day, any
# day, no holidays, as the default cadence. Mark a module or test with `email_cadence` for it.
PLAIN_EMAIL = """\
name: inbound-demo-request
description: Test fixture. Six emails on days 1, 2, 4, 7, 14 and 21 at the post's time of day.
window:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
  start: "00:00"
  end: "23:59"
  timezone: UTC
  skip_holidays: false
touches:
  - day: 1
    channel: email
    name: intro
    variants:
      - {name: a}
      - {name: b, subject: "{{ lead.first_name | clip(20) or 'Hello' }}, picking a time to talk"}
  - {day: 2, channel: email, name: quick-question}
  - {day: 4, channel: email, name: value-add}
  - {day: 7, channel: email, name: pain-point}
  - {day: 14, channel: email, name: new-angle, new_thread: true}
  - {day: 21, channel: email, name: break-up}
"""


def plain_email_setup(directory: Path) -> dict:
    """Sandbox arguments: the shipped cadences, demo-request as plain emails and the default."""
    cadences = directory / "cadences"
    cadences.mkdir(parents=True)
    for source in (REPO_ROOT / "cadences").glob("*.yaml"):
        shutil.copy(source, cadences / source.name)
    (cadences / "inbound-demo-request.yaml").write_text(PLAIN_EMAIL)
    (directory / "leadflow.yaml").write_text(_plain_email_config())
    return {"cadence_dir": cadences, "environment": {"CONFIG_FILE": str(directory / "leadflow.yaml")}}


@functools.cache
def _plain_email_config() -> str:
    """The shipped operator config with demo-request as the default cadence (once per process: PyYAML's
    pure-Python dump and load took ~0.1 s of CPU per test)."""
    config = yaml.safe_load((REPO_ROOT / "config" / "leadflow.yaml").read_text())
    config["routing"]["default_cadence"] = "inbound-demo-request"
    return yaml.safe_dump(config)


@pytest.fixture
def sb(request, tmp_path):
    from leadflow.local.sandbox import Sandbox

    marked = request.node.get_closest_marker("email_cadence")
    options = plain_email_setup(tmp_path / "email-cadence-sandbox") if marked else {}
    with Sandbox(start="2026-11-23T09:00:00Z", **options) as sandbox:
        yield sandbox


@pytest.fixture
def sbe(tmp_path):
    """The email cadence Sandbox, publishing SES Send events as the configuration set does."""
    from leadflow.local.sandbox import Sandbox

    with Sandbox(ses_send_events=True, **plain_email_setup(tmp_path / "setup")) as sandbox:
        yield sandbox


# The test files on the session's CDK synth (tests/test_infra.py's `synth` fixture, shared as
# `synth = test_infra.synth`): under pytest-xdist they run on one worker, which synthesizes once.
SYNTH_FILES = frozenset(
    path.name
    for path in Path(__file__).parent.glob("test_*.py")
    if re.search(r"^(synth = test_infra\.synth|def synth\()", path.read_text(encoding="utf-8"), re.M)
)


# The longest files (and the synth's), longest first: handed out before all others, so that none of
# them starts near the end while the other worker runs out of work (xdist orders files by their number
# of tests; test_speed_to_lead.py, 8 tests, came late and ran alone for minutes). Measured with
# `--durations` on 2 cores (tests/test_scheduling.py holds the names to existing files).
SLOW_FIRST = (
    "test_speed_to_lead.py",
    "synth",
    "test_guard_mutations.py",
    "test_queue_page.py",
    "test_held_posts.py",
    "test_report_function.py",
    "test_variants.py",
    "test_sending_guard.py",
    "test_stages.py",
    "test_intake_duplicates.py",
    "test_in_doubt.py",
    "test_cli.py",
    "test_operator_cli.py",
)


def slow_first(workqueue: OrderedDict[str, Any]) -> None:
    """Move SLOW_FIRST's scopes (file paths, or "synth") to the front of xdist's queue, in that order."""
    for name in reversed(SLOW_FIRST):
        for scope in [scope for scope in workqueue if Path(scope).name == name]:
            workqueue.move_to_end(scope, last=False)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` (`make test`), with the synth's files counted as one file, SLOW_FIRST first.

    (xdist's own `loadgroup` does nothing under pytest 9: it renames test ids through `item._nodeid`,
    which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LoadFileWithSynth(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "synth" if Path(path).name in SYNTH_FILES else path

        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_ordered", False):  # the queue is complete at the first assignment
                slow_first(self.workqueue)
                self._ordered = True
            super()._assign_work_unit(node)

    return LoadFileWithSynth(config, log)
