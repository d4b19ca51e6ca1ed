"""SMS double opt-in per country (issue 17): a form's SMS consent counts once the number texts YES."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

GB_PHONE = "+447400123456"
US_PHONE = "+12065550143"


def _audit_clean(sb):
    """Every abuse case ends with `leadflow audit`'s invariants (nothing lost, twice, or after a stop)."""
    report = sb.audit()
    assert report.clean, report.lines()


@pytest.fixture
def opt_in_gb(sb, tmp_path):
    config = yaml.safe_load(
        Path(os.environ.get("CONFIG_FILE", sb.cadence_dir.parent / "config" / "leadflow.yaml")).read_text()
    )
    config.setdefault("abuse", {})["sms_double_opt_in"] = ["GB"]
    path = tmp_path / "opt-in.yaml"
    path.write_text(yaml.safe_dump(config))
    sb.set_environment({"CONFIG_FILE": str(path)})


def _post(sb, email, phone):
    sb.post("/leads", json={"email": email, "form": "demo-request", "phone": phone, "sms_consent": True})
    return sb.find_lead(email)["id"]


def _texts(sb, phone):
    return [m["text"] for m in sb.outbox() if m["channel"] == "sms" and m["to"] == phone]


def _sms_touch(sb, lead_id):
    [touch] = [t for t in sb.lead(lead_id)["touches"] if t["channel"] == "sms"]
    return touch["status"], touch["skip_reason"]


def test_without_a_yes_no_cadence_text_goes(sb, opt_in_gb):
    lead_id = _post(sb, "ada@engines.example", GB_PHONE)
    assert len(_texts(sb, GB_PHONE)) == 1 and "reply YES" in _texts(sb, GB_PHONE)[0]
    sb.advance(3 * 86400)
    assert _sms_touch(sb, lead_id) == ("skipped", "awaiting_sms_opt_in")
    assert len(_texts(sb, GB_PHONE)) == 1, "only the request"
    _audit_clean(sb)


def test_a_yes_lets_the_cadence_text_go_and_stops_nothing(sb, opt_in_gb):
    lead_id = _post(sb, "ada@engines.example", GB_PHONE)
    assert sb.deliver_sms(GB_PHONE, "Yes!") == {"outcomes": ["sms_confirmed"]}
    assert sb.lead(lead_id)["sms_confirmed_at"] is not None
    sb.advance(3 * 86400)
    assert _sms_touch(sb, lead_id) == ("sent", None)
    assert sb.lead(lead_id)["status"] == "active", "the YES is no reply: the cadence goes on"
    assert len(_texts(sb, GB_PHONE)) == 2
    _audit_clean(sb)


def test_other_countries_need_no_yes(sb, opt_in_gb):
    lead_id = _post(sb, "bob@engines.example", US_PHONE)
    assert _texts(sb, US_PHONE) == []
    sb.advance(3 * 86400)
    assert _sms_touch(sb, lead_id) == ("sent", None)
    assert sb.deliver_sms(US_PHONE, "yes") == {"outcomes": ["sms_reply"]}, "a yes is a reply there"


def test_off_by_default(sb):
    lead_id = _post(sb, "ada@engines.example", GB_PHONE)
    sb.advance(3 * 86400)
    assert _sms_touch(sb, lead_id) == ("sent", None)
