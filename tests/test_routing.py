"""Scoring and routing: the cadence from source/form, computed score band and type; owners; API keys."""

from pathlib import Path

import pytest

from leadflow import clock
from leadflow.cadence.model import FitBand
from leadflow.intake.routing import fit_score
from leadflow.models import Lead
from leadflow.operator_config import OperatorConfigError, load_operator_config

CONFIG = load_operator_config(Path(__file__).resolve().parents[1] / "config" / "leadflow.yaml")


def _lead(**fields):
    return Lead(id="abcdef0123456789abcd", created_at=clock.parse_iso("2026-11-23T09:00:00Z"), **fields)


@pytest.mark.parametrize(
    ("fields", "score"),
    [
        ({"email": "pat@gmail.com"}, 0),
        ({"email": "pat@acme.example"}, 25),  # a company domain
        ({"email": "pat@acme.example", "title": "VP Sales"}, 55),
        ({"email": "pat@acme.example", "title": "Marketing Manager", "country": "DE"}, 55),
        ({"email": "pat@acme.example", "title": "CEO", "country": "US", "phone": "+14155552671"}, 80),
        ({"email": "pat@yahoo.com", "title": "Founder", "form": "demo-request"}, 50),
        (
            {"email": "a@acme.example", "title": "Chief Revenue Officer", "country": "JP", "form": "pricing"},
            90,
        ),
    ],
)
def test_the_fit_score_comes_from_the_configured_rules(fields, score):
    assert fit_score(_lead(**fields), CONFIG.scoring) == score


def test_bands_follow_the_configured_thresholds():
    bands = CONFIG.scoring.bands
    assert [bands.band(score) for score in (0, 39, 40, 69, 70, 100)] == [
        FitBand.LOW,
        FitBand.LOW,
        FitBand.MEDIUM,
        FitBand.MEDIUM,
        FitBand.HIGH,
        FitBand.HIGH,
    ]


def test_a_scoring_rule_needs_exactly_one_condition(tmp_path):
    text = (Path(__file__).resolve().parents[1] / "config" / "leadflow.yaml").read_text()
    broken = tmp_path / "leadflow.yaml"
    broken.write_text(text.replace("{field: phone, present: true, points: 10}", "{field: phone, points: 10}"))
    with pytest.raises(OperatorConfigError, match=r"scoring\.rules\.5.*exactly one of"):
        load_operator_config(broken)


def _route(sb, email, headers=None, **fields):
    response = sb.post("/leads", json={"email": email, **fields}, headers=headers)
    assert response.status_code == 202, response.text
    lead = sb.find_lead(email)
    return lead["cadence"], lead["score"], lead["band"]


def test_leads_land_in_the_cadence_their_source_score_and_type_call_for(sb):
    crm = {"X-Api-Key": sb.api_key}
    assert _route(sb, "demo@acme.example", form="demo-request")[0] == "inbound-demo-request"
    assert _route(sb, "ebook@acme.example", form="follow-up-guide")[0] == "content-download"
    assert _route(sb, "content@acme.example", source="content")[0] == "content-download"
    # No form that says so, but a high computed score: the high-intent cadence.
    assert _route(sb, "vp@acme.example", title="VP Sales", country="US", phone="+1 415 555 2671") == (
        "inbound-demo-request",
        80,
        "high",
    )
    # Low fit, no form: the default (routing.default_cadence).
    assert _route(sb, "someone@gmail.com") == ("content-download", 0, "low")
    # Dormant leads come from a CRM with its API key: re-engagement.
    assert _route(sb, "old@acme.example", headers=crm, lead_type="dormant")[0] == "re-engagement"
    # Content forms win over a high score: priority 20 before 30.
    assert (
        _route(sb, "cto@acme.example", form="follow-up-guide", title="CTO", country="US")[0]
        == "content-download"
    )


def test_a_public_post_that_claims_a_high_score_or_a_type_does_not_get_them(sb):
    cadence, score, band = _route(sb, "liar@gmail.com", score=99, lead_type="dormant", owner="sam")
    assert (cadence, score, band) == ("content-download", 0, "low")
    lead = sb.find_lead("liar@gmail.com")
    assert (lead["lead_type"], lead["posted_by"]) == ("inbound", None)


def test_a_server_to_server_post_sets_score_type_and_owner(sb):
    cadence, score, band = _route(
        sb, "vip@gmail.com", headers={"X-Api-Key": sb.api_key}, score=95, lead_type="customer", owner="sam"
    )
    assert (cadence, score, band) == ("inbound-demo-request", 95, "high")
    lead = sb.find_lead("vip@gmail.com")
    assert (lead["lead_type"], lead["owner"], lead["posted_by"]) == ("customer", "sam", "crm")


def test_a_wrong_api_key_gets_401_and_nothing_is_stored(sb):
    response = sb.post("/leads", json={"email": "x@acme.example", "score": 99}, headers={"X-Api-Key": "nope"})
    assert response.status_code == 401
    assert sb.find_lead("x@acme.example") is None


def test_an_unknown_owner_from_a_trusted_caller_is_a_field_error(sb):
    response = sb.post(
        "/leads", json={"email": "o@acme.example", "owner": "zed"}, headers={"X-Api-Key": sb.api_key}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner"
    assert sb.find_lead("o@acme.example") is None


def test_owners_by_territory_by_source_else_round_robin(sb):
    owners = {}
    for number, fields in enumerate(
        [{"country": "DE"}, {"country": "AT"}, {"source": "partner"}, {}, {}, {}, {"country": "US"}]
    ):
        email = f"lead{number}@acme.example"
        sb.post("/leads", json={"email": email, **fields})
        owners[email] = sb.find_lead(email)["owner"]
    assert list(owners.values()) == ["sam", "sam", "alex", "alex", "sam", "alex", "sam"]


def test_the_owner_alert_carries_the_simulated_time_of_the_post(sb):
    sb.advance_to("2026-11-27T14:55:00Z")  # 15:55 in Berlin: Sam is at work
    sb.post(
        "/leads",
        json={"email": "fast@acme.example", "first_name": "Fay", "country": "DE", "form": "follow-up-guide"},
    )
    lead = sb.find_lead("fast@acme.example")

    (alert,) = [note for note in sb.notifications() if note["kind"] == "lead_accepted"]
    assert alert["at"] == "2026-11-27T14:55:00Z"
    assert alert["lead_id"] == lead["id"] and alert["rep"] == "sam"
    # On the owner's clock (issue 25: no bare UTC times), and the lead's own.
    posted = "posted Fri 27 Nov 15:55 CET (Europe/Berlin) (Fri 15:55 their time, Europe/Berlin)"
    assert posted in alert["message"]
    assert "Fay" in alert["message"] and "fast@acme.example" in alert["message"]
    assert "Fit score: 40 (medium)" in alert["message"]  # no demo/pricing form points (20)
    # Speed to lead: the alert and the first email in the same simulated second.
    assert sb.outbox()[0]["at"] == alert["at"]


def test_leadflow_route_prints_the_cadence_and_why(tmp_path, capsys):
    """Issue 14: `leadflow route --lead lead.json` says where a lead goes: rule, band and score."""
    import json

    from leadflow.cli import main

    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"email": "a@bigco.example", "form": "demo-request", "source": "website"}))
    assert main(["route", "--lead", str(demo)]) == 0
    out = capsys.readouterr().out
    assert "cadence: inbound-demo-request" in out
    assert "why: its rule form demo-request, contact-sales, pricing (fit score 45, band medium)" in out
    assert "source: website (attribution only)" in out and "speed to lead: a call task" in out

    vip = tmp_path / "vip.json"
    vip.write_text(
        json.dumps({"email": "vp@bigco.example", "form": "newsletter", "title": "VP Sales", "country": "US"})
    )
    assert main(["route", "--lead", str(vip)]) == 0
    out = capsys.readouterr().out
    assert "cadence: inbound-demo-request" in out and "why: its rule band high" in out
    assert "speed to lead: no" in out

    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"email": "someone@gmail.com"}))
    assert main(["route", "--lead", str(bare)]) == 0
    assert "why: no cadence's rule: the default cadence (fit score 0, band low)" in capsys.readouterr().out

    assert main(["route", "--lead", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("leadflow route: ")
