"""Sales stages: the CRM webhook (HubSpot, Salesforce, generic signed), the API-key route and
`leadflow stage` set a lead's stage; the weekly report shows the funnel to SQL and its findings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, timedelta

import pytest

from leadflow.cli import main
from leadflow.local.sandbox import CRM_WEBHOOK_KEY, SALESFORCE_ORG_ID
from leadflow.store import event_items

API = "https://leadflowapi.execute-api.us-east-1.amazonaws.com/v1/webhooks/crm"


def _lead(sb, email):
    assert (
        sb.post("/leads", json={"email": email, "first_name": "Casey", "form": "demo-request"}).status_code
        == 202
    )
    return sb.find_lead(email)


def _hubspot(sb, body, *, key=CRM_WEBHOOK_KEY, age=timedelta(0)):
    stamp = str(int((sb.now() - age).timestamp() * 1000))
    signature = base64.b64encode(
        hmac.new(
            key.encode(), b"POST" + API.encode() + body.encode() + stamp.encode(), hashlib.sha256
        ).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": stamp,
    }
    return sb.post("/webhooks/crm", data=body, headers=headers)


def _salesforce_xml(email, status, modified, org=SALESFORCE_ORG_ID, notification="04l000000000001AAA"):
    """The sample outbound message of Salesforce's Outbound Messaging guide (a Lead notification),
    with the record's SystemModstamp and LastModifiedDate as Salesforce writes them (UTC, ms)."""
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org}</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/59.0/00D000000000001</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/59.0/00D000000000001</PartnerUrl>
   <Notification>
    <Id>{notification}</Id>
    <sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>00Q000000000001AAA</sf:Id>
     <sf:Email>{email}</sf:Email>
     <sf:Status>{status}</sf:Status>
     <sf:LastModifiedDate>{stamp}</sf:LastModifiedDate>
     <sf:SystemModstamp>{stamp}</sf:SystemModstamp>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""


def _stage(sb, lead):
    stored = sb.lead(lead["id"])
    return stored.get("stage"), [
        e["type"] for e in event_items.events(lead["id"]) if e["type"].startswith("stage_")
    ]


def test_hubspot_lifecycle_and_deal_stages(sb):
    lead = _lead(sb, "casey@northwind.example")
    body = json.dumps(
        {
            "objectId": 501,
            "properties": {
                "email": {"value": "casey@northwind.example"},
                "lifecyclestage": {"value": "salesqualifiedlead"},
            },
        }
    )
    answer = _hubspot(sb, body)
    assert (answer.status_code, answer.json()) == (200, {"status": {"stage_set": 1}})
    assert _stage(sb, lead) == ("sql", ["stage_sql"])
    # A redelivery changes nothing; a deal won carries its amount.
    assert _hubspot(sb, body).json() == {"status": {"unchanged": 1}}
    sb.advance(3 * 86400)
    won = json.dumps(
        [{"properties": {"email": "casey@northwind.example", "dealstage": "closedwon", "amount": "12000"}}]
    )
    assert _hubspot(sb, won).json() == {"status": {"stage_set": 1}}
    stored = sb.lead(lead["id"])
    assert (stored["stage"], str(stored["amount"])) == ("won", "12000")


def test_hubspot_refuses_a_wrong_or_stale_signature(sb):
    lead = _lead(sb, "casey@northwind.example")
    body = json.dumps(
        {"properties": {"email": "casey@northwind.example", "lifecyclestage": "salesqualifiedlead"}}
    )
    assert _hubspot(sb, body, key="not-the-key").status_code == 401
    assert _hubspot(sb, body, age=timedelta(minutes=6)).status_code == 401
    assert _stage(sb, lead) == (None, [])


def test_a_signed_body_with_bad_fields_gets_field_level_errors(sb):
    _lead(sb, "casey@northwind.example")
    body = json.dumps(
        {"event": "lead.stage", "email": "casey@northwind.example", "stage": "closed", "amount": -5}
    )
    answer = sb.post("/webhooks/crm", data=body, headers=sb.sign_crm_webhook(body))
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"stage", "amount"}
    not_json = "{"
    assert sb.post("/webhooks/crm", data=not_json, headers=sb.sign_crm_webhook(not_json)).status_code == 422


def test_generic_signed_shape_and_unknown_leads(sb):
    lead = _lead(sb, "casey@northwind.example")
    body = json.dumps(
        {"event": "lead.stage", "email": "casey@northwind.example", "stage": "opportunity", "amount": 4500}
    )
    answer = sb.post("/webhooks/crm", data=body, headers=sb.sign_crm_webhook(body))
    assert (answer.status_code, answer.json()) == (200, {"status": {"stage_set": 1}})
    assert _stage(sb, lead) == ("opportunity", ["stage_opportunity"])
    stranger = json.dumps({"event": "lead.stage", "email": "nobody@else.example", "stage": "sql"})
    assert sb.post("/webhooks/crm", data=stranger, headers=sb.sign_crm_webhook(stranger)).json() == {
        "status": {"unknown_lead": 1}
    }
    assert (
        sb.post("/webhooks/crm", data=body, headers={"Content-Type": "application/json"}).status_code == 401
    )


def test_salesforce_outbound_message_is_acknowledged(sb):
    lead = _lead(sb, "casey@northwind.example")
    xml = _salesforce_xml("casey@northwind.example", "Qualified", sb.now())
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    answer = sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=xml, headers=headers)
    assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text
    assert _stage(sb, lead) == ("sql", ["stage_sql"])
    # Without the URL token, or from another organization: refused, nothing changes.
    assert sb.post("/webhooks/crm", data=xml, headers=headers).status_code == 401
    other = _salesforce_xml(
        "casey@northwind.example", "Closed - Not Converted", sb.now(), org="00D999999999999EAA"
    )
    assert sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=other, headers=headers).status_code == 401
    assert _stage(sb, lead) == ("sql", ["stage_sql"])


def test_the_api_key_route(sb):
    lead = _lead(sb, "casey@northwind.example")
    change = {"email": "casey@northwind.example", "stage": "lost"}
    assert sb.post("/leads/stage", json=change).status_code == 401
    assert sb.post("/leads/stage", json=change, headers={"X-Api-Key": "wrong"}).status_code == 401
    answer = sb.post(
        "/leads/stage", json={"lead_id": lead["id"], "stage": "lost"}, headers={"X-Api-Key": sb.api_key}
    )
    assert (answer.status_code, answer.json()) == (200, {"status": "stage_set"})
    bad = sb.post(
        "/leads/stage", json={"stage": "sql", "at": "2026-11-23T10:00"}, headers={"X-Api-Key": sb.api_key}
    )
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} >= {"at"}
    missing = sb.post(
        "/leads/stage",
        json={"email": "nobody@else.example", "stage": "sql"},
        headers={"X-Api-Key": sb.api_key},
    )
    assert missing.status_code == 404


def test_leadflow_stage_on_the_command_line(sb, capsys):
    lead = _lead(sb, "casey@northwind.example")
    assert main(["stage", "casey@northwind.example", "sql"]) == 0
    assert _stage(sb, lead) == ("sql", ["stage_sql"])
    assert main(["stage", "nobody@else.example", "sql"]) == 2
    assert main(["stage", "casey@northwind.example", "won", "--amount", "-1"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("leadflow stage: ") for line in errors)
    with pytest.raises(SystemExit) as exit_:
        main(["stage", "casey@northwind.example", "closed"])
    assert exit_.value.code == 2


def test_the_report_shows_the_funnel_to_sql_and_flags_loose_qualification(sb):
    """30 inbound leads; 12 book a meeting (the scheduling webhook), the CRM marks one of them an
    SQL (HubSpot) and another lost (Salesforce): a high demo rate with a low SQL rate."""
    start = sb.now()
    emails = [f"lead{n}@company{n}.example" for n in range(30)]
    for email in emails:
        _lead(sb, email)
        sb.advance(600)
    for n, email in enumerate(emails[:12]):
        booking = json.dumps(
            {
                "event": "meeting.booked",
                "id": f"booking-{n}",
                "email": email,
                "booked_at": sb.now().isoformat(),
            }
        )
        assert (
            sb.post("/webhooks/meeting", data=booking, headers=sb.sign_meeting_webhook(booking)).status_code
            == 200
        )
    sb.advance(2 * 86400)
    qualified = json.dumps({"properties": {"email": emails[0], "lifecyclestage": "salesqualifiedlead"}})
    assert _hubspot(sb, qualified).json() == {"status": {"stage_set": 1}}
    lost = _salesforce_xml(emails[1], "Closed - Not Converted", sb.now())
    answer = sb.post(
        f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=lost, headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 200
    sb.advance(30 * 86400)  # every cadence has run its course
    run = sb.run_report(since=start, until=sb.now(), force=True)
    text = sb.archived(run["keys"]["txt"])
    # The funnel: 30 leads, all contacted, 12 responded (the meetings), 12 met, 1 SQL.
    assert re.search(
        r"^inbound-demo-request +30 +30 +30 \(100%\) +12 \(40%\) +0 \(0%\) +12 \(40%\) +1 \(3%\) +0 \(0%\)",
        text,
        re.M,
    ), text
    assert re.search(r"^Follow-up to SQL +1 \(3\.3%\)", text, re.M)
    # The findings, each in one line with value, band and verdict.
    assert "inbound-demo-request: follow-up to SQL 3% — below the inbound band (band 10–20%)" in text
    assert (
        "inbound-demo-request: meetings 40% of leads but SQL 3% — high demo rate, low SQL conversion" in text
    )
    assert "tighten the BANT criteria" in text
    html = sb.archived(run["keys"]["html"])
    assert "high demo rate, low SQL conversion" in html


SOAP = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def _outbound(sb, xml):
    answer = sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=xml, headers=SOAP)
    assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text, answer.text
    return answer


def _outcomes(sb):
    return {
        outcome: sb.metric_total("CrmWebhooks", outcome=outcome)
        for outcome in ("stage_set", "unchanged", "repeat", "too_old", "from_the_future")
    }


def test_a_salesforce_message_captured_and_replayed_is_acknowledged_and_not_applied(sb):
    """Issue 22: an outbound message (key in the URL) captured and replayed two days later set the
    stage again. Now Salesforce's own retry of a delivered message and the replay both get the
    Ack (Salesforce stops retrying) and change nothing: the first by its remembered notification
    Id, the second by its age."""
    from leadflow import aws
    from leadflow.answers.stages import SALESFORCE_REMEMBER
    from leadflow.config import settings

    lead = _lead(sb, "casey@northwind.example")
    captured = _salesforce_xml(
        "casey@northwind.example", "Qualified", sb.now(), notification="04l0000000AAA01"
    )
    _outbound(sb, captured)
    assert _stage(sb, lead) == ("sql", ["stage_sql"])
    # Salesforce did not get the Ack in time and delivers the same notification again.
    sb.advance(600)
    _outbound(sb, captured)
    assert _outcomes(sb) == {"stage_set": 1, "unchanged": 0, "repeat": 1, "too_old": 0, "from_the_future": 0}
    # The Id is remembered (an expiring item, ids only) for longer than the age bound.
    key = {"pk": f"CRMNOTE#salesforce#{SALESFORCE_ORG_ID[:15]}#04l0000000AAA01", "sk": "CRMNOTE"}
    item = aws.table(settings().table_name).get_item(Key=key)["Item"]
    assert int(item["expires_at"]) == int(
        (sb.now() - timedelta(seconds=600) + SALESFORCE_REMEMBER).timestamp()
    )
    # The CRM moves the lead on; two days later the captured message is replayed.
    sb.advance(86400)
    _outbound(
        sb, _salesforce_xml("casey@northwind.example", "Closed Won", sb.now(), notification="04l0000000AAA02")
    )
    sb.advance(86400)
    _outbound(sb, captured)
    assert _outcomes(sb) == {"stage_set": 2, "unchanged": 0, "repeat": 1, "too_old": 1, "from_the_future": 0}
    assert _stage(sb, lead) == ("won", ["stage_sql", "stage_won"])


def test_the_age_bound_of_a_salesforce_notification_is_exact(sb):
    from leadflow.answers.stages import SALESFORCE_MAX_AGE, TOLERANCE

    _lead(sb, "casey@northwind.example")
    cases = [
        (sb.now() - SALESFORCE_MAX_AGE, "stage_set"),
        (sb.now() - SALESFORCE_MAX_AGE - timedelta(seconds=1), "too_old"),
        (sb.now() + TOLERANCE, "stage_set"),
        (sb.now() + TOLERANCE + timedelta(seconds=1), "from_the_future"),
    ]
    for number, (modified, expected) in enumerate(cases):
        before = _outcomes(sb)
        status = "Qualified" if number % 2 == 0 else "Closed Lost"
        xml = _salesforce_xml(
            "casey@northwind.example", status, modified, notification=f"04l00000000AGE{number}"
        )
        _outbound(sb, xml)
        after = _outcomes(sb)
        assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {expected: 1}, modified


def test_a_salesforce_notification_without_a_modification_time_or_id_is_refused_with_field_errors(sb):
    _lead(sb, "casey@northwind.example")
    xml = _salesforce_xml("casey@northwind.example", "Qualified", sb.now())
    no_time = re.sub(r"\s*<sf:(LastModifiedDate|SystemModstamp)>[^<]*</sf:\1>", "", xml)
    answer = sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=no_time, headers=SOAP)
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert "SystemModstamp" in error["message"] and "LastModifiedDate" in error["message"]
    no_id = xml.replace("<Id>04l000000000001AAA</Id>", "")
    assert sb.post(f"/webhooks/crm?token={CRM_WEBHOOK_KEY}", data=no_id, headers=SOAP).status_code == 422
    assert sb.lead(sb.find_lead("casey@northwind.example")["id"]).get("stage") is None


# Documentation ranges (RFC 5737) stand in for Salesforce's published outbound-message ranges,
# which cannot be fetched here: the mode takes whatever CIDR blocks the operator configures.
SALESFORCE_RANGES = "198.51.100.0/24, 2001:db8:5f::/48"


def test_with_the_source_allowlist_salesforce_needs_no_url_token_but_an_address_inside_it(sb):
    """The alternative to the URL key: the connection's source address (API Gateway's sourceIp, not
    a header a client sets) inside the configured ranges, and the configured organization."""
    lead = _lead(sb, "casey@northwind.example")
    sb.set_environment({"SALESFORCE_SOURCE_CIDRS": SALESFORCE_RANGES})
    xml = _salesforce_xml("casey@northwind.example", "Qualified", sb.now(), notification="04l0000000IP001")

    def deliver(source_ip, path="/webhooks/crm", data=xml):
        return sb.post(path, data=data, headers=SOAP, source_ip=source_ip)

    # Outside the ranges (the first address after the IPv4 block, or another network): refused,
    # even with the right token in the URL; a forwarded-for header changes nothing.
    assert deliver("198.51.101.0").status_code == 401
    assert deliver("203.0.113.7", path=f"/webhooks/crm?token={CRM_WEBHOOK_KEY}").status_code == 401
    spoofed = sb.post("/webhooks/crm", data=xml, headers={**SOAP, "X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 401
    assert _stage(sb, lead) == (None, [])
    # Inside (the block's last address; an IPv6 one): acknowledged and applied, no token needed.
    answer = deliver("198.51.100.255")
    assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text
    assert _stage(sb, lead) == ("sql", ["stage_sql"])
    won = _salesforce_xml("casey@northwind.example", "Closed Won", sb.now(), notification="04l0000000IP002")
    assert deliver("2001:db8:5f::1", data=won).status_code == 200
    assert _stage(sb, lead) == ("won", ["stage_sql", "stage_won"])
    # Any Salesforce org sends from those ranges: another organization is still refused.
    other = _salesforce_xml(
        "casey@northwind.example",
        "Closed Lost",
        sb.now(),
        org="00D999999999999EAA",
        notification="04l0000000IP003",
    )
    assert deliver("198.51.100.8", data=other).status_code == 401
    # Without configured organizations the allowlist alone proves nothing: refused.
    sb.set_environment({"SALESFORCE_ORG_IDS": ""})
    lost = _salesforce_xml("casey@northwind.example", "Closed Lost", sb.now(), notification="04l0000000IP004")
    assert deliver("198.51.100.8", data=lost).status_code == 401
    assert _stage(sb, lead) == ("won", ["stage_sql", "stage_won"])


def test_allowlist_and_organization_settings_are_validated():
    from leadflow.fields import networks, organization_ids

    assert [str(block) for block in networks(SALESFORCE_RANGES)] == ["198.51.100.0/24", "2001:db8:5f::/48"]
    assert networks("") == ()
    for bad in ("198.51.100.1/24", "198.51.100.0/33", "salesforce"):
        with pytest.raises(ValueError, match="is not a CIDR block"):
            networks(bad)
    ids = ("00D000000000001EAA", "00D000000000002")
    assert organization_ids(", ".join(ids)) == ids
    for bad in ("00D0000001", "001000000000001AAA", "00D000000000001EA!"):
        with pytest.raises(ValueError, match="not a Salesforce organization id"):
            organization_ids(bad)
