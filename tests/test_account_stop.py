"""Account-level stop: one contact at a company answers, colleagues' cadences stop too."""

from __future__ import annotations

import pytest

from leadflow.config import operator_config
from leadflow.intake import contacts
from leadflow.operator_config import load_operator_config
from tests.helpers import reply_mime

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence


def _post(sb, email):
    sb.post("/leads", json={"email": email})
    return sb.find_lead(email)["id"]


def _run(sb, lead_id):
    enrollment = sb.lead(lead_id)["enrollments_detail"][0]
    return enrollment["run_status"], enrollment["stop_reason"]


def test_a_reply_stops_colleagues_at_the_same_company(sb):
    ada = _post(sb, "ada@contoso.example")
    grace = _post(sb, "grace@CONTOSO.example")
    other = _post(sb, "linus@fabrikam.example")

    sb.deliver_email(reply_mime("ada@contoso.example", body="Let's talk."))

    assert _run(sb, ada) == ("stopped", "reply")
    assert _run(sb, grace) == ("stopped", "account")
    assert sb.lead(grace)["status"] == "active", "the colleague did not answer: only the cadence stops"
    assert _run(sb, other) == ("running", None)
    sent = len(sb.outbox())
    sb.advance(30 * 86400)
    assert len(sb.outbox()) == sent + 5, "only the other company's cadence goes on"


def test_free_mail_is_never_a_company(sb):
    one = _post(sb, "ada.lovelace@gmail.com")
    two = _post(sb, "grace.hopper@gmail.com")
    sb.deliver_email(reply_mime("ada.lovelace@gmail.com"))
    assert _run(sb, one) == ("stopped", "reply")
    assert _run(sb, two) == ("running", None)


def test_an_opt_out_stops_no_colleague(sb):
    ada = _post(sb, "ada@contoso.example")
    grace = _post(sb, "grace@contoso.example")
    sb.deliver_email(reply_mime("ada@contoso.example", body="unsubscribe"))
    assert _run(sb, ada) == ("stopped", "unsubscribe")
    assert _run(sb, grace) == ("running", None)


def test_the_account_level_stop_can_be_turned_off(sb, tmp_path, monkeypatch):
    config = tmp_path / "leadflow.yaml"
    shipped = (sb.cadence_dir.parent / "leadflow.yaml").read_text()
    config.write_text(shipped.replace("account_level_stop: true", "account_level_stop: false"))
    monkeypatch.setenv("CONFIG_FILE", str(config))
    from leadflow.config import settings

    settings.cache_clear()
    assert operator_config().answers.account_level_stop is False
    ada = _post(sb, "ada@contoso.example")
    grace = _post(sb, "grace@contoso.example")
    sb.deliver_email(reply_mime("ada@contoso.example"))
    assert _run(sb, ada) == ("stopped", "reply")
    assert _run(sb, grace) == ("running", None)
    assert load_operator_config(config).answers.account_level_stop is False


@pytest.mark.parametrize(
    ("address", "company"),
    [
        ("Ada@Contoso.Example", "contoso.example"),
        ("ada@gmail.com", None),
        ("ada@outlook.com", None),
        ("ada@web.de", None),
        ("ada@eu.contoso.example", "eu.contoso.example"),
        ("not-an-address", None),
    ],
)
def test_company_domain(address, company):
    assert contacts.company_domain(address) == company
