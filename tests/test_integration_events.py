"""Integration events: every lead event on the EventBridge bus, in the documented schema, ids only
unless configured (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from leadflow.observability import IntegrationEvent, event_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "events.schema.json"
pytestmark = pytest.mark.email_cadence


def test_the_documented_schema_is_the_models():
    assert json.loads(SCHEMA_FILE.read_text()) == event_schema()


def test_a_lead_s_journey_on_the_bus_ids_only(sb):
    sb.post("/leads", json={"email": "ivy@example.com", "first_name": "Ivy", "source": "webinar"})
    sb.advance_to("2026-12-20T00:00:00Z")
    lead = sb.find_lead("ivy@example.com")
    events = [event for event in sb.integration_events if event["detail"]["lead_id"] == lead["id"]]
    kinds = [event["detail"]["kind"] for event in events]
    assert kinds[:2] == ["accepted", "enrolled"]
    assert kinds.count("touch_sent") == 6 and kinds[-1] == "completed"
    schema = json.loads(SCHEMA_FILE.read_text())
    for event in events:
        assert (event["bus"], event["source"]) == ("leadflow-lead-events", "leadflow")
        assert event["detail-type"] == f"lead.{event['detail']['kind']}"
        jsonschema.validate(event["detail"], schema)
        IntegrationEvent.model_validate(event["detail"])
    assert "ivy" not in json.dumps(events).lower()


def test_answers_and_stops_are_published(sb):
    sb.post("/leads", json={"email": "oli@example.com"})
    lead = sb.find_lead("oli@example.com")
    unsubscribe = sb.outbox()[-1]["headers"]["List-Unsubscribe"].split(">")[0].lstrip("<")
    sb.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    kinds = [e["detail"]["kind"] for e in sb.integration_events if e["detail"]["lead_id"] == lead["id"]]
    assert "opted_out" in kinds


def test_the_address_only_when_configured(tmp_path):
    from leadflow.local import Sandbox

    with Sandbox(environment={"EVENT_INCLUDE_EMAIL": "true"}) as sb:
        sb.post("/leads", json={"email": "pat@example.com"})
        (accepted,) = [e for e in sb.integration_events if e["detail"]["kind"] == "accepted"]
        assert accepted["detail"]["email"] == "pat@example.com"


def test_counts_carry_their_outcome_as_a_dimension(sb):
    sb.post("/leads", json={"email": "dee@example.com"})
    sb.advance(7 * 86400)
    touches = [d for d in sb.emitted_metrics if "Touches" in d]
    assert touches
    for document in touches:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["service", "outcome"]]
        assert document["outcome"] in {"sent", "skipped", "task", "settled"}
    posts = [d for d in sb.emitted_metrics if "Posts" in d]
    assert [d["outcome"] for d in posts] == ["new"]
