import os
import shutil
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("TZ", "UTC")
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(name, value)

REPO_ROOT = Path(__file__).resolve().parents[1]
# For tests about something else than cadences (answers, duplicates, SES events): one plain email
# sequence, days 1, 2, 4, 7, 14 and 21 at the post's time of day, any day, no holidays, as the
# default cadence. Mark a module or test with `email_cadence` to run it on that.
PLAIN_EMAIL = """\
name: plain-email
description: Test fixture. Six emails on days 1, 2, 4, 7, 14 and 21 at the post's time of day.
window:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
  start: "00:00"
  end: "23:59"
  timezone: UTC
  skip_holidays: false
touches:
  - {day: 1, channel: email, name: one, template: inbound-demo-request/intro}
  - {day: 2, channel: email, name: two, template: inbound-demo-request/value-add}
  - {day: 4, channel: email, name: three, template: inbound-demo-request/new-angle}
  - {day: 7, channel: email, name: four, template: content-download/asset}
  - {day: 14, channel: email, name: five, template: content-download/case-study}
  - {day: 21, channel: email, name: six, template: inbound-demo-request/break-up}
"""


def plain_email_setup(directory: Path) -> dict:
    """Sandbox keyword arguments: the shipped cadences plus plain-email, routed to by default."""
    cadences = directory / "cadences"
    cadences.mkdir(parents=True)
    for source in (REPO_ROOT / "cadences").glob("*.yaml"):
        shutil.copy(source, cadences / source.name)
    (cadences / "plain-email.yaml").write_text(PLAIN_EMAIL)
    config = yaml.safe_load((REPO_ROOT / "config" / "leadflow.yaml").read_text())
    config["routing"]["default_cadence"] = "plain-email"
    (directory / "leadflow.yaml").write_text(yaml.safe_dump(config))
    return {"cadence_dir": cadences, "environment": {"CONFIG_FILE": str(directory / "leadflow.yaml")}}


@pytest.fixture
def sb(request, tmp_path):
    from leadflow.local.sandbox import Sandbox

    marked = request.node.get_closest_marker("email_cadence")
    options = plain_email_setup(tmp_path / "plain-email-sandbox") if marked else {}
    with Sandbox(start="2026-11-23T09:00:00Z", **options) as sandbox:
        yield sandbox
