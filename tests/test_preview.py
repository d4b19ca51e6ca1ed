"""`leadflow preview` and `leadflow lint` work from a fresh clone: no AWS, no credentials, no build step."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leadflow.cadence.model import load_cadences
from leadflow.cadence.schedule import locale_for, plan
from leadflow.clock import parse_iso
from leadflow.local.sandbox import REPO_ROOT


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The repository's tracked files only, as `git clone` would give them (generated files left out)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    root = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    return root


def _leadflow(clone, *args):
    """Run the clone's own leadflow package from the clone, with no AWS settings in the environment."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "TABLE_", "HMAC_"))
    }
    environment["PYTHONPATH"] = str(clone / "layers" / "leadflow" / "python")
    return subprocess.run(
        [sys.executable, "-m", "leadflow.cli", *args],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_preview_renders_every_touch_with_its_planned_time_and_writes_html(clone):
    lead = clone / "lead.json"
    lead.write_text(
        json.dumps(
            {
                "email": "pat@acme.example",
                "first_name": "Pat",
                "company": "Acme Rockets",
                "form": "pricing",
                "timezone": "Europe/Berlin",
            }
        )
    )

    result = _leadflow(
        clone, "preview", "inbound-demo-request", "--lead", "lead.json", "--start", "2026-11-23T14:30:00Z"
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Lead: Pat at Acme Rockets <pat@acme.example>" in out
    planned = [line for line in out.splitlines() if line.startswith("Touch ")]
    cadence = load_cadences(clone / "cadences", clone / "templates")["inbound-demo-request"]
    # Planned and labelled in the lead's own zone; from the owner routing gives it; its form's copy.
    berlin = locale_for("Europe/Berlin", None, cadence.window)
    due = plan(cadence, parse_iso("2026-11-23T14:30:00Z"), berlin)
    assert [line.split(" · ")[-1] for line in planned] == [
        f"{moment.astimezone(berlin.tz):%a %Y-%m-%d %H:%M} Europe/Berlin" for moment in due
    ]
    assert planned[1].endswith("Tue 2026-11-24 15:30 Europe/Berlin")  # 15:30 their time, not UTC
    assert "Times in the lead's zone: Europe/Berlin" in out
    assert "From: Alex Rivera <alex@mail.leadflow.example> (owner)" in out
    assert "Form: pricing (Talk to us about pricing)" in out
    assert "Thanks for your question about pricing for Acme Rockets" in out
    assert "your demo" not in out.lower()
    assert "Hi Pat," in out and "Acme Rockets" in out
    assert "Variant a" in out and "Variant b" in out and "(this lead)" in out
    assert "Subject: Re: " in out  # follow-ups in the first email's thread
    pages = sorted(path.name for path in (clone / "out" / "preview" / "inbound-demo-request").iterdir())
    # The emails get pages; the call, the SMS and the LinkedIn task are listed in the text.
    assert pages == [
        "01-intro-a.html",
        "01-intro-b.html",
        "04-value-add.html",
        "06-new-angle.html",
        "07-break-up.html",
        "index.html",
    ]
    assert "Rep task: Call within their business hours." in out
    intro = (clone / "out" / "preview" / "inbound-demo-request" / "01-intro-a.html").read_text()
    assert "<p>Hi Pat,</p>" in intro and "Unsubscribe</a>" in intro


def test_preview_rejects_an_invalid_lead_file_and_an_unknown_cadence(clone):
    (clone / "bad.json").write_text(json.dumps({"email": "not-an-address"}))
    bad_lead = _leadflow(clone, "preview", "inbound-demo-request", "--lead", "bad.json")
    assert bad_lead.returncode == 2 and "email" in bad_lead.stderr
    unknown = _leadflow(clone, "preview", "no-such-cadence")
    assert unknown.returncode == 2 and "inbound-demo-request" in unknown.stderr


def test_lint_passes_from_a_fresh_clone(clone):
    result = _leadflow(clone, "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no violations" in result.stdout


def test_the_clone_runs_its_own_code(clone):
    result = subprocess.run(
        [sys.executable, "-c", "import leadflow; print(leadflow.__file__)"],
        env={**os.environ, "PYTHONPATH": str(clone / "layers" / "leadflow" / "python")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()).is_relative_to(clone)
