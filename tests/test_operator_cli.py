"""The operator CLI against a running Sandbox through --endpoint-url, as another process (issue 16):
lead show/stop/pause/resume, suppress, enroll --csv and reengage."""

from __future__ import annotations

import json

import pytest

from leadflow import keys
from leadflow.cadence import reengage
from leadflow.config import operator_config
from tests.helpers import cli
from tests.helpers import endpoint as endpoint  # the fixture

pytestmark = pytest.mark.email_cadence
PLAIN = ["intro", "quick-question", "value-add", "pain-point", "new-angle", "break-up"]


def cli_json(endpoint, *argv: str) -> dict:
    return json.loads(cli(endpoint, *argv, "--json").stdout)


def _templates(lead: dict) -> list[str]:
    return [touch["template"].rpartition("/")[2] for touch in lead["touches"]]


def test_lead_show_stop_pause_resume_and_suppress_from_another_process(sb, endpoint):
    for name in ("ann", "bob", "cat", "dan"):
        sb.post("/leads", json={"email": f"{name}@example.com", "source": "webinar"})
    sb.advance_to("2026-11-24T12:00:00Z")  # touches 1 and 2 sent to everyone

    stopped = cli_json(endpoint, "lead", "stop", "bob@example.com")
    assert stopped["stopped"] == [1]
    suppressed = cli_json(endpoint, "suppress", "add", "cat@example.com", "--reason", "asked by phone")
    assert suppressed == {
        "hash": keys.email_key("cat@example.com"),
        "suppressed": True,
        "reason": "asked by phone",
    }
    paused = cli_json(endpoint, "lead", "pause", "dan@example.com", "--until", "2026-12-10")
    assert paused["paused_until"] == "2026-12-10" and paused["touches_moved"] == 4
    sb.clock.settle()

    sb.advance_to("2026-12-02T12:00:00Z")
    dan = sb.find_lead("dan@example.com")
    assert _templates(dan) == PLAIN[:2]  # paused: nothing since
    assert cli_json(endpoint, "lead", "resume", dan["id"])["resumed"] == 1
    sb.clock.settle()
    sb.advance(60)
    assert _templates(sb.find_lead("dan@example.com")) == PLAIN[:3]  # touch 3 at once, touches 1-2 not again

    sb.advance_to("2026-12-25T00:00:00Z")
    assert sb.find_lead("bob@example.com")["enrollments_detail"][0]["run_status"] == "stopped"
    assert _templates(sb.find_lead("cat@example.com")) == PLAIN[:2]  # suppressed: nothing more
    dan = sb.find_lead("dan@example.com")
    assert _templates(dan) == PLAIN and dan["enrollments_detail"][0]["run_status"] == "completed"

    # Every touch of a finished cadence, with channel, time, outcome and a console link.
    shown = cli_json(endpoint, "lead", "show", "ann@example.com")
    assert shown["lead"]["status"] == "active"
    (enrollment,) = shown["enrollments"]
    assert enrollment["status"] == "completed" and enrollment["version"]
    assert enrollment["console"].startswith("https://us-east-1.console.aws.amazon.com/states/home")
    assert enrollment["execution_arn"] in enrollment["console"]
    assert [touch["template"].rpartition("/")[2] for touch in shown["touches"]] == PLAIN
    assert {touch["channel"] for touch in shown["touches"]} == {"email"}
    assert all(touch["status"] == "sent" and touch["at"] for touch in shown["touches"])
    table = cli(endpoint, "lead", "show", "ann@example.com").stdout
    assert all(name in table for name in PLAIN) and "completed" in table

    listed = cli_json(endpoint, "suppress", "list")
    assert [entry["hash"] for entry in listed] == [keys.email_key("cat@example.com")]
    assert "cat@example.com" not in json.dumps(listed)
    assert cli_json(endpoint, "suppress", "check", "CAT@example.com")["suppressed"] is True
    assert cli_json(endpoint, "suppress", "remove", "cat@example.com")["suppressed"] is False
    assert cli_json(endpoint, "suppress", "list") == []


def test_lead_commands_fail_in_one_line(sb, endpoint):
    done = cli(endpoint, "lead", "show", "nobody@example.com", expect=2)
    assert done.stderr.strip() == "leadflow lead: no lead nobody@example.com"
    sb.post("/leads", json={"email": "eve@example.com"})
    done = cli(endpoint, "lead", "pause", "eve@example.com", "--until", "2020-01-01", expect=2)
    assert "not in the future" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_enroll_csv_validates_rows_like_the_api_and_reports_the_rejected(sb, endpoint, tmp_path):
    sb.post("/leads", json={"email": "known@example.com"})
    rows = tmp_path / "leads.csv"
    rows.write_text(
        "email,first_name,country,source\n"
        "new.one@example.com,Nia,GB,import\n"
        "not-an-address,Bad,US,import\n"
        "known@example.com,Kim,US,import\n"
        "zed@example.com,Zed,ZZ,import\n"
    )
    result = cli_json(endpoint, "enroll", "--csv", str(rows), "--cadence", "re-engagement", "--rate", "500")
    sb.clock.settle()
    assert result["enrolled"] == 2
    assert [(row["line"], row["field"]) for row in result["rejected"]] == [(3, "email"), (5, "country")]
    new = sb.find_lead("new.one@example.com")
    assert [e["cadence"] for e in new["enrollments_detail"]] == ["re-engagement"]
    assert (new["first_name"], new["country"]) == ("Nia", "GB")
    known = sb.find_lead("known@example.com")
    assert [e["cadence"] for e in known["enrollments_detail"]] == ["inbound-demo-request", "re-engagement"]
    assert sb.find_lead("zed@example.com") is None
    # Running again enrolls nobody twice.
    again = cli_json(endpoint, "enroll", "--csv", str(rows), "--cadence", "re-engagement", "--rate", "500")
    assert (again["enrolled"], again["already_running"]) == (0, 2)


def _reengage(sb, settings, *, dry_run):
    with sb._handler_lock:
        run = reengage.reengage(settings, dry_run=dry_run, sleep=lambda seconds: None)
    sb.clock.settle()
    return run


def test_reengage_dry_run_changes_nothing_and_a_run_enrolls_only_the_eligible_once_per_limit(sb, endpoint):
    for name in ("ann", "bob", "cat"):
        sb.post("/leads", json={"email": f"{name}@example.com", "source": "webinar"})
    sb.advance_to("2026-11-24T12:00:00Z")
    cli(endpoint, "lead", "stop", "bob@example.com")  # stopped: not dormant, an operator's call
    sb.advance_to("2026-12-20T00:00:00Z")  # ann's and cat's cadences ended on 12-13
    cli(endpoint, "suppress", "add", "cat@example.com")
    settings = operator_config().reengagement.model_copy(update={"max_per_lead": 1})

    sb.advance_to("2027-03-01T00:00:00Z")  # under 90 days since the end
    assert _reengage(sb, settings, dry_run=True).eligible == []

    sb.advance_to("2027-03-14T00:00:00Z")
    before = sb.summary()
    dry = cli_json(endpoint, "reengage", "--dry-run")
    ann = sb.find_lead("ann@example.com")
    assert dry["eligible"] == [ann["id"]] and dry["enrolled"] == []
    assert dry["segments"] == [{"source": "webinar", "band": "low", "engagement": "none", "leads": 1}]
    assert dry["skipped"] == {"stopped": 1, "suppressed": 1}
    assert sb.summary() == before  # nothing changed

    run = _reengage(sb, settings, dry_run=False)
    assert run.enrolled == [ann["id"]]
    assert [e["cadence"] for e in sb.find_lead("ann@example.com")["enrollments_detail"]] == [
        "inbound-demo-request",
        "re-engagement",
    ]
    assert _reengage(sb, settings, dry_run=False).enrolled == []  # running now: not twice

    sb.advance_to("2027-07-01T00:00:00Z")  # re-engagement ended over 90 days ago: limit of one reached
    again = _reengage(sb, settings, dry_run=False)
    assert again.enrolled == [] and again.skipped["limit reached"] == 1
    assert len(sb.find_lead("ann@example.com")["enrollments_detail"]) == 2
