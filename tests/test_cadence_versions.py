"""Editing a cadence during a run leaves running executions on their version (issue 16)."""

from __future__ import annotations

import yaml

from leadflow.local import Sandbox
from leadflow.store import cadence_items
from tests.conftest import plain_email_setup

START = "2026-11-23T09:00:00Z"


def test_editing_a_cadence_during_a_run_leaves_running_executions_on_their_version(tmp_path):
    setup = plain_email_setup(tmp_path)
    cadence_file = tmp_path / "cadences" / "inbound-demo-request.yaml"
    with Sandbox(start=START, **setup) as sb:
        old = sb.cadences["inbound-demo-request"]
        sb.post("/leads", json={"email": "first@example.com"})
        sb.advance_to("2026-11-25T12:00:00Z")  # touches 1 and 2 sent (days 1 and 2)
        first = sb.find_lead("first@example.com")
        assert len(first["touches"]) == 2

        # The operator drops touch 3 (value-add), moves the break-up to day 10, and deploys.
        edited = yaml.safe_load(cadence_file.read_text())
        edited["touches"] = [touch for touch in edited["touches"] if touch["name"] != "value-add"]
        edited["touches"][-1]["day"] = 10
        edited["touches"][-2]["day"] = 9
        cadence_file.write_text(yaml.safe_dump(edited))
        sb.redeploy()
        new = sb.cadences["inbound-demo-request"]
        assert new.version != old.version and len(new.touches) == 5

        sb.post("/leads", json={"email": "second@example.com"})
        sb.advance_to("2026-12-20T12:00:00Z")

        first = sb.find_lead("first@example.com")
        second = sb.find_lead("second@example.com")
        # The running execution finished on the version it started with: six touches, on its days.
        assert first["enrollments_detail"][0]["version"] == old.version
        assert sb.execution(first["id"])["input"]["version"] == old.version
        assert [touch["template"] for touch in first["touches"]] == [touch.template for touch in old.touches]
        assert first["enrollments_detail"][0]["run_status"] == "completed"
        # A new enrollment runs the new version.
        assert second["enrollments_detail"][0]["version"] == new.version
        assert [touch["template"] for touch in second["touches"]] == [touch.template for touch in new.touches]
        assert second["enrollments_detail"][0]["run_status"] == "completed"
        # Both definitions are kept, for executions still on either.
        assert cadence_items.get_version("inbound-demo-request", old.version) == old.model_dump_json()
        assert cadence_items.get_version("inbound-demo-request", new.version) == new.model_dump_json()
