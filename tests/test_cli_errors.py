"""Every failure a user can cause gives one line on stderr and exit 2, never a traceback (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from leadflow.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]
LEADFLOW = str(Path(sys.executable).parent / "leadflow")
MAIL = REPO_ROOT / "tests" / "fixtures" / "mail"


def _broken_yaml(tmp: Path) -> list[str]:
    cadences = tmp / "cadences"
    shutil.copytree(REPO_ROOT / "cadences", cadences)
    path = cadences / "inbound-demo-request.yaml"
    path.write_text(path.read_text() + "\ntouches: [unclosed\n  - : :\n")
    return ["lint", "--cadences", str(cadences)]


def _missing_template(tmp: Path) -> list[str]:
    templates = tmp / "templates"
    shutil.copytree(REPO_ROOT / "templates", templates)
    shutil.rmtree(templates / "post-meeting")
    return ["lint", "--templates", str(templates)]


def _fixed(*argv: str) -> Callable[[Path], list[str]]:
    return lambda tmp: list(argv)


IN_PROCESS = {
    "lint: a YAML syntax error": (_broken_yaml, "inbound-demo-request.yaml"),
    "lint: a missing template": (_missing_template, "does not exist"),
    "schedule --at yesterday": (_fixed("schedule", "inbound-demo-request", "--at", "yesterday"), "ISO 8601"),
    "schedule --tz Mars/Base": (_fixed("schedule", "inbound-demo-request", "--tz", "Mars/Base"), "IANA"),
    "schedule --country ZZ": (_fixed("schedule", "inbound-demo-request", "--country", "ZZ"), "ISO 3166"),
    "schedule: unknown cadence": (_fixed("schedule", "no-such-cadence"), "no cadence"),
    "demo --leads 0": (_fixed("demo", "--leads", "0"), "at least 1"),
    "demo --days -1": (_fixed("demo", "--days", "-1"), "at least 1"),
    "demo --reply-share 5": (_fixed("demo", "--reply-share", "5"), "between 0 and 1"),
    "demo --start notadate": (_fixed("demo", "--start", "notadate"), "ISO 8601"),
    "report --since notadate": (_fixed("report", "--since", "notadate"), "not a date"),
    "preview: unknown cadence": (_fixed("preview", "no-such-cadence"), "no-such-cadence"),
    "serve --port 70000": (_fixed("serve", "--port", "70000"), "65535"),
    "no command": (_fixed(), "required"),
}


def _one_line_exit_2(status: int, stderr: str, expected: str) -> None:
    assert status == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert expected in lines[0]
    assert lines[0].startswith("leadflow")


@pytest.mark.parametrize("case", sorted(IN_PROCESS))
def test_expected_failures_are_one_line_and_exit_2(case, tmp_path, capsys):
    build, expected = IN_PROCESS[case]
    try:
        status = main(build(tmp_path))
    except SystemExit as exit_:  # argparse's usage errors
        status = int(exit_.code or 0)
    _one_line_exit_2(status, capsys.readouterr().err, expected)


def _environment(**extra: str) -> dict[str, str]:
    """A user's shell without AWS credentials (and no instance metadata to fall back on)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent")
    environment.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_MAX_ATTEMPTS="1", **extra)
    return environment


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report", "--region", "us-east-1"], "no AWS credentials"),
        (["report", "--endpoint-url", "http://127.0.0.1:9"], "cannot reach http://127.0.0.1:9"),
        (
            [
                "report",
                "--since",
                "2026-12-01",
                "--until",
                "2026-11-01",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            "--since must be before --until",
        ),
        (["report", "--profile", "nobody-has-this-profile"], "nobody-has-this-profile"),
    ],
    ids=[
        "report without credentials",
        "report with an unreachable endpoint",
        "report since after until",
        "report with an unknown profile",
    ],
)
def test_report_failures_as_a_user_sees_them(argv, expected, tmp_path):
    done = subprocess.run(
        [LEADFLOW, *argv, "--out", str(tmp_path)],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_line_exit_2(done.returncode, done.stderr, expected)


def test_classify_into_a_closed_pipe_is_one_line_not_a_traceback():
    # More output than a pipe buffers (64 KiB), so the writer meets the closed end.
    one = next(MAIL.rglob("*.eml"))
    process = subprocess.Popen(
        [LEADFLOW, "classify", *[one.name] * 1500],
        cwd=one.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # as `| head -1` does, then leave
    process.stdout.close()
    stderr = process.stderr.read().decode()
    status = process.wait(timeout=120)
    _one_line_exit_2(status, stderr, "broken pipe")


def test_debug_shows_the_traceback(tmp_path):
    done = subprocess.run(
        [LEADFLOW, "--debug", *_broken_yaml(tmp_path)], env=_environment(), capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "CadenceFileError" in done.stderr
