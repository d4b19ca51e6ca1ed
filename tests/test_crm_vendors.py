"""CRM webhooks in the vendors' documented shapes (tests/fixtures/vendors/hubspot, salesforce):
HubSpot's Webhooks API (objectId only) resolved through the id a workflow webhook stored, its v3
signature on the URI exactly as called, and Salesforce outbound messages for Contact and Opportunity
(no Email), matched or acknowledged as unmatched, never refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC
from pathlib import Path

import pytest

from leadflow.local.sandbox import CRM_WEBHOOK_KEY, SALESFORCE_ORG_ID

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
API = "https://leadflowapi.execute-api.us-east-1.amazonaws.com/v1/webhooks/crm"
EMAIL = "casey@northwind.example"
SOAP = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def fill(path: str, **values: str) -> str:
    text = (VENDORS / path).read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def hubspot(sb, body: str, query: str = "", signed_query: str | None = None):
    """POST as HubSpot does: the signature over the URI as HubSpot calls it (`signed_query`: another
    one, to prove a mismatch is refused)."""
    stamp = str(int(sb.now().timestamp() * 1000))
    uri = API + (signed_query if signed_query is not None else query)
    message = b"POST" + uri.encode() + body.encode() + stamp.encode()
    signature = base64.b64encode(
        hmac.new(CRM_WEBHOOK_KEY.encode(), message, hashlib.sha256).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": stamp,
    }
    return sb.post("/webhooks/crm" + query, data=body, headers=headers)


@pytest.fixture
def lead(sb):
    sb.post("/leads", json={"email": EMAIL, "first_name": "Casey", "form": "demo-request"})
    return sb.find_lead(EMAIL)


def occurred(sb) -> str:
    return str(int(sb.now().timestamp() * 1000))


def test_the_webhooks_api_batch_sets_the_stage_of_a_contact_known_by_its_id(sb, lead):
    workflow = fill(
        "hubspot/workflow-webhook.json", CONTACT_ID="1246965", EMAIL=EMAIL, OCCURRED_AT=occurred(sb)
    )
    assert hubspot(sb, workflow).json() == {"status": {"ignored": 1}}  # stage "lead": only the id is kept

    batch = fill(
        "hubspot/webhooks-api-batch.json", CONTACT_ID="1246965", DEAL_ID="9001", OCCURRED_AT=occurred(sb)
    )
    answer = hubspot(sb, batch)

    assert answer.status_code == 200
    # The SQL lands; contact.creation sets nothing; the deal is not one we know: counted, not refused.
    assert answer.json() == {"status": {"stage_set": 1, "ignored": 1, "unmatched": 1}}
    assert sb.lead(lead["id"])["stage"] == "sql"


def test_a_deal_known_from_its_workflow_webhook_is_won_by_the_webhooks_api(sb, lead):
    deal_workflow = (
        '{"properties": {"hs_object_id": {"value": "9001"}, "email": {"value": "' + EMAIL + '"}, '
        '"dealstage": {"value": "appointmentscheduled"}}}'
    )
    hubspot(sb, deal_workflow)
    batch = fill("hubspot/webhooks-api-batch.json", CONTACT_ID="5", DEAL_ID="9001", OCCURRED_AT=occurred(sb))

    assert hubspot(sb, batch).json() == {"status": {"stage_set": 1, "ignored": 1, "unmatched": 1}}
    assert sb.lead(lead["id"])["stage"] == "won"


def test_webhooks_api_events_about_no_known_object_are_acknowledged_and_counted(sb, lead):
    batch = fill("hubspot/webhooks-api-batch.json", CONTACT_ID="777", DEAL_ID="888", OCCURRED_AT=occurred(sb))

    answer = hubspot(sb, batch)

    assert (answer.status_code, answer.json()) == (200, {"status": {"unmatched": 2, "ignored": 1}})
    assert sb.lead(lead["id"]).get("stage") is None
    assert sb.metric_total("CrmWebhooks", outcome="unmatched") == 2


@pytest.mark.parametrize(
    "query",
    ["", "?src=hub%20spot", "?a=1&a=2", "?portal=33&src=hub%20spot&tag=x&tag=y", "?at=12%3A30&to=a%40b"],
)
def test_the_v3_signature_is_checked_on_the_uri_exactly_as_hubspot_called_it(sb, lead, query):
    body = fill("hubspot/workflow-webhook.json", CONTACT_ID="1", EMAIL=EMAIL, OCCURRED_AT=occurred(sb))
    body = body.replace('"lead"', '"salesqualifiedlead"')
    # HubSpot decodes %3A and %40 in the URI it signs (its table), and leaves %20 as it is.
    signed = query.replace("%3A", ":").replace("%40", "@")

    answer = hubspot(sb, body, query, signed_query=signed)

    assert (answer.status_code, answer.json()) == (200, {"status": {"stage_set": 1}})


@pytest.mark.parametrize(
    ("query", "signed"),
    [("?a=1&a=2", "?a=2&a=1"), ("?a=1&a=2", "?a=2"), ("?src=hub%20spot", "?src=hub%2Bspot")],
)
def test_a_signature_over_another_uri_is_refused(sb, lead, query, signed):
    body = fill("hubspot/workflow-webhook.json", CONTACT_ID="1", EMAIL=EMAIL, OCCURRED_AT=occurred(sb))

    assert hubspot(sb, body, query, signed_query=signed).status_code == 401


def _salesforce(sb, path: str, **values: str):
    stamp = sb.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    xml = fill(path, ORG=SALESFORCE_ORG_ID, MODIFIED=stamp, **values)
    answer = sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=xml, headers=SOAP)
    assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text, answer.text
    return answer


def test_a_salesforce_opportunity_without_email_is_won_through_its_contact(sb, lead):
    _salesforce(sb, "salesforce/contact.xml", EMAIL=EMAIL)  # Contact 003…: sql, and its Id kept
    assert sb.lead(lead["id"])["stage"] == "sql"

    _salesforce(
        sb, "salesforce/opportunity.xml", CONTACT="0035w00003AbCdEAAV", NOTIFICATION="04l5w00000A1b2dAAB"
    )

    stored = sb.lead(lead["id"])
    assert (stored["stage"], str(stored["amount"])) == ("won", "48000.0")
    assert sb.metric_total("CrmWebhooks", outcome="stage_set") == 2


def test_a_salesforce_opportunity_about_no_known_contact_is_acknowledged_and_counted(sb, lead):
    _salesforce(
        sb, "salesforce/opportunity.xml", CONTACT="0035w00009ZzZzZAAV", NOTIFICATION="04l5w00000A1b2eAAB"
    )

    assert sb.lead(lead["id"]).get("stage") is None
    assert sb.metric_total("CrmWebhooks", outcome="unmatched") == 1


def test_an_erasure_removes_the_crm_ids_kept_for_the_lead(sb, lead):
    from leadflow.intake.erase import erase_person
    from leadflow.store import lead_items

    workflow = fill(
        "hubspot/workflow-webhook.json", CONTACT_ID="1246965", EMAIL=EMAIL, OCCURRED_AT=occurred(sb)
    )
    hubspot(sb, workflow)
    _salesforce(sb, "salesforce/contact.xml", EMAIL=EMAIL)
    assert lead_items.leads_by_contact("HUBSPOT", "1246965") == [lead["id"]]
    assert lead_items.leads_by_contact("SALESFORCE", "0035w00003AbCdEAAV") == [lead["id"]]

    erase_person(EMAIL)

    assert lead_items.leads_by_contact("HUBSPOT", "1246965") == []
    assert lead_items.leads_by_contact("SALESFORCE", "0035w00003AbCdEAAV") == []
    batch = fill(
        "hubspot/webhooks-api-batch.json", CONTACT_ID="1246965", DEAL_ID="9", OCCURRED_AT=occurred(sb)
    )
    assert hubspot(sb, batch).json() == {"status": {"unmatched": 2, "ignored": 1}}
