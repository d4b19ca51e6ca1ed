"""Every rep alert inside its recipient's hours (issue 25, item 1), on the Sandbox.

Alex works 09:00-17:00 New York (14:00-22:00 UTC in November), Sam 09:00-17:00 Berlin (08:00-16:00
UTC), the manager 08:00-18:00 New York. A new-lead alert (a partner lead: Alex's, by the owner
rules) outside Alex's hours is held and reaches him in one message when his day starts; a hot
reply cannot wait and goes to the next person at work; ops alerts are not held.
"""

from __future__ import annotations

import json

import pytest

from leadflow.local.sandbox import Sandbox
from tests.faults import client_error, failing
from tests.helpers import cli
from tests.helpers import endpoint as endpoint  # the fixture
from tests.test_reply_intent import _reply_to_touch_1

PARTNER = {"first_name": "Pat", "company": "PartnerCo", "source": "partner"}


def _post_partner(sb, email):
    sb.post("/leads", json={**PARTNER, "email": email})
    lead = sb.find_lead(email)
    assert lead["owner"] == "alex"  # config/leadflow.yaml: partners -> alex
    return lead


def _alex(sb, kind=None):
    return [
        (n["at"], n["kind"])
        for n in sb.rep_alerts()
        if n["rep"] == "alex" and (kind is None or n["kind"] == kind)
    ]


def test_a_new_lead_alert_at_the_end_of_hours_is_held_until_the_next_start_and_arrives_batched():
    with Sandbox(start="2026-11-23T21:59:00Z") as sb:  # Monday 16:59 New York
        _post_partner(sb, "in-hours@partner.example")
        assert _alex(sb) == [("2026-11-23T21:59:00Z", "lead_accepted")]
        sb.advance_to("2026-11-23T22:00:00Z")  # 17:00: the end of hours is not in them
        late = _post_partner(sb, "at-five@partner.example")
        sb.advance_to("2026-11-24T08:00:00Z")  # 03:00 New York
        night = _post_partner(sb, "at-three@partner.example")
        assert _alex(sb) == [("2026-11-23T21:59:00Z", "lead_accepted")]

        sb.advance_to("2026-11-24T13:59:59Z")
        assert len(_alex(sb)) == 1  # nothing before 09:00
        sb.advance_to("2026-11-24T14:00:00Z")  # Tuesday 09:00 New York: both, in one message
        assert _alex(sb) == [
            ("2026-11-23T21:59:00Z", "lead_accepted"),
            ("2026-11-24T14:00:00Z", "held_alerts"),
        ]
        (batch,) = [n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]
        assert batch["subject"] == "While you were off: alerts held for your working hours"
        text = batch["message"]
        assert text.startswith("2 alerts came in while you were off")
        assert "came in Mon 23 Nov 17:00 EST (America/New_York)" in text
        assert "came in Tue 24 Nov 03:00 EST (America/New_York)" in text
        assert f"Lead id: {late['id']}" in text and f"Lead id: {night['id']}" in text
        # At exactly the start of hours an alert goes out at once.
        _post_partner(sb, "at-nine@partner.example")
        assert _alex(sb)[-1] == ("2026-11-24T14:00:00Z", "lead_accepted")
        sb.advance_to("2026-11-25T00:00:00Z")
        assert len([n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]) == 1  # delivered once
        audit = sb.audit()
        assert audit.clean and audit.counts["alerts.held"] == 0, audit.lines()


def test_on_a_public_holiday_the_alert_waits_for_the_next_working_day():
    with Sandbox(start="2026-11-26T15:00:00Z") as sb:  # Thanksgiving, 10:00 New York
        _post_partner(sb, "thanksgiving@partner.example")
        sb.advance_to("2026-11-27T13:59:00Z")
        assert _alex(sb) == []
        sb.advance_to("2026-11-27T14:00:00Z")  # Friday 09:00 New York
        assert _alex(sb) == [("2026-11-27T14:00:00Z", "held_alerts")]


@pytest.mark.email_cadence
def test_a_hot_reply_outside_the_owners_hours_goes_to_the_next_person_at_work(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # Monday 10:00 New York
    lead = _post_partner(sb, "hot@partner.example")
    sb.advance_to("2026-11-24T09:00:00Z")  # Tuesday 04:00 New York, 10:00 Berlin
    sb.deliver_email(_reply_to_touch_1(sb, lead, "Sounds good, send me an invite for Thursday."))
    (hot,) = [n for n in sb.rep_alerts() if n["kind"] == "hot_reply"]
    assert (hot["rep"], hot["at"], hot["lead_id"]) == ("sam", "2026-11-24T09:00:00Z", lead["id"])
    assert hot["message"].startswith(
        "Alex Rivera is off until Tue 24 Nov 15:00 CET (Europe/Berlin): you are the next person at work"
    )


@pytest.mark.email_cadence
def test_a_hot_reply_when_nobody_is_at_work_is_held_for_the_owner(sb):
    sb.advance_to("2026-11-27T15:00:00Z")  # Friday 10:00 New York
    lead = _post_partner(sb, "weekend@partner.example")
    sb.advance_to("2026-11-28T12:00:00Z")  # Saturday: nobody works
    sb.deliver_email(_reply_to_touch_1(sb, lead, "Sounds good, send me an invite for Monday."))
    assert [n for n in sb.rep_alerts() if n["kind"] == "hot_reply"] == []
    sb.advance_to("2026-11-30T14:00:00Z")  # Monday 09:00 New York
    (batch,) = [n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]
    assert batch["rep"] == "alex" and "Hot reply" in batch["message"]


def test_an_overdue_held_alert_shows_in_the_audit_and_a_failed_delivery_loses_nothing():
    with Sandbox(start="2026-11-24T08:00:00Z") as sb:  # Tuesday 03:00 New York
        sb.deliver_held_alerts = False  # the sweep does not run
        lead = _post_partner(sb, "overdue@partner.example")
        sb.advance_to("2026-11-24T14:30:00Z")  # due 14:00: half an hour is still in bounds
        assert sb.audit().clean
        sb.advance_to("2026-11-24T14:30:01Z")
        (breach,) = sb.audit().breaches
        assert (breach.invariant, breach.lead_id) == ("alert_held_too_long", lead["id"])
        assert "lead_accepted alert for alex due 2026-11-24T14:00:00Z" in breach.detail

        error = client_error("InternalError", "Publish", 500)
        with failing("sns", "Publish", error) as failed, pytest.raises(Exception, match="InternalError"):
            sb.invoke("sweep", {"audit": False})
        assert len(failed) == 1 and _alex(sb) == []
        # The failed run's claim holds the alert for its lease; the run after it delivers.
        sb.advance_to("2026-11-24T14:35:00Z")
        sb.invoke("sweep", {"audit": False})
        assert _alex(sb) == []
        sb.advance_to("2026-11-24T14:41:00Z")
        sb.invoke("sweep", {"audit": False})
        assert _alex(sb) == [("2026-11-24T14:41:00Z", "held_alerts")]
        sb.invoke("sweep", {"audit": False})
        assert len(_alex(sb)) == 1
        assert sb.audit().clean


def test_the_same_alert_held_twice_is_delivered_once_and_ops_alerts_are_never_held():
    from leadflow.models import Lead
    from leadflow.send import alerts
    from leadflow.store import lead_items

    with Sandbox(start="2026-11-24T08:00:00Z") as sb:  # Tuesday 03:00 New York
        lead = _post_partner(sb, "twice@partner.example")
        stored: Lead = lead_items.get_lead(lead["id"])
        alerts.alert_owner(stored, alerts.AlertKind.MEETING_BOOKED, "Booked for Thursday.")
        alerts.alert_owner(stored, alerts.AlertKind.MEETING_BOOKED, "Booked for Thursday.")  # a retry
        alerts.alert_ops("Sending paused", "ops at night", {"kind": "test"})
        assert [n["subject"] for n in sb.ops_alerts()] == ["Sending paused"]
        sb.advance_to("2026-11-24T14:00:00Z")
        (batch,) = [n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]
        assert batch["message"].count("Booked for Thursday.") == 1
        assert batch["message"].startswith("2 alerts")  # the new lead and the meeting


def test_erasing_a_lead_deletes_the_alerts_held_about_it():
    from leadflow.intake.erase import erase_person

    with Sandbox(start="2026-11-24T08:00:00Z") as sb:  # Tuesday 03:00 New York
        _post_partner(sb, "erased@partner.example")
        kept = _post_partner(sb, "kept@partner.example")
        assert sb.audit().counts["alerts.held"] == 2
        assert erase_person("erased@partner.example").removed["held rep alerts"] == 1
        sb.advance_to("2026-11-24T14:00:00Z")
        (batch,) = [n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]
        assert batch["message"].startswith("1 alert came in") and kept["id"] in batch["message"]
        assert "erased@partner.example" not in batch["message"]


def test_leadflow_sweep_delivers_held_alerts_as_the_sweep_function_does(sb, endpoint):
    """`leadflow sweep` against a running stack is the sweep function's 5-minute run, held alerts
    included. It acts as of the Sandbox's time (--now): Alex's 09:00, whatever the wall clock says."""
    sb.deliver_held_alerts = False  # the sweep function does not run: only the command delivers
    _post_partner(sb, "cli@partner.example")  # Monday 04:00 New York: held
    sb.advance_to("2026-11-23T13:59:59Z")  # a second before Alex's 09:00
    assert json.loads(cli(endpoint, "sweep").stdout)["held_alerts_delivered"] == 0
    sb.advance_to("2026-11-23T14:00:00Z")
    assert _alex(sb) == []
    report = json.loads(cli(endpoint, "sweep").stdout)
    assert report["held_alerts_delivered"] == 1
    assert [kind for _, kind in _alex(sb)] == ["held_alerts"]


def test_erasing_a_lead_removes_its_held_alerts_across_query_pages_and_keeps_the_others():
    """Erasure reads the owner's held alerts filtered to the lead; a filtered Query can return empty
    pages, so every page must be read. Pages of one item here stand in for pages of 1 MB."""
    from leadflow.intake.erase import erase_person
    from leadflow.store import alert_items

    with Sandbox(start="2026-11-24T08:00:00Z") as sb:  # 03:00 New York: Alex's alerts are held
        for email in ("first@partner.example", "erased@partner.example", "third@partner.example"):
            _post_partner(sb, email)
        erased_id = sb.find_lead("erased@partner.example")["id"]
        kept_id = sb.find_lead("third@partner.example")["id"]
        assert len(alert_items.held_for_lead("alex", erased_id)) == 1
        assert len(alert_items.held_for_lead("alex", kept_id)) == 1

        def one_item_pages(params: dict, **_: object) -> None:
            params["Limit"] = 1

        client = alert_items.dynamodb_table().meta.client
        client.meta.events.register("provide-client-params.dynamodb.Query", one_item_pages)
        try:
            erase_person("erased@partner.example")
            assert alert_items.held_for_lead("alex", erased_id) == []
        finally:
            client.meta.events.unregister("provide-client-params.dynamodb.Query", one_item_pages)
        assert len(alert_items.held_for_lead("alex", kept_id)) == 1, "another lead's alert stays held"
        sb.advance_to("2026-11-24T14:00:00Z")  # 09:00 New York: the held batch names two leads
        (batch,) = [n for n in sb.rep_alerts() if n["kind"] == "held_alerts"]
        assert batch["message"].startswith("2 alerts came in while you were off")
        assert sb.audit().clean, sb.audit().lines()
