"""GDPR erasure (issue 12): `leadflow erase EMAIL` and POST /erasures leave the address nowhere but
as its keyed hash, stop the lead's execution, keep anonymous report events, and contact no one."""

from __future__ import annotations

import json

import pytest

from leadflow import keys
from leadflow.cli import main
from tests import table_calls
from tests.helpers import reply_mime, to_lead

PERSON = {
    "email": "Ada.Quillfeather@Northwind-Erase.example",
    "first_name": "Ada",
    "last_name": "Quillfeather",
    "phone": "+14155550123",
    "company": "Northwind Erase Ltd",
    "sms_consent": True,
    "form": "demo-request",
}
COLLEAGUE = {"email": "bo.keep@northwind-erase.example", "first_name": "Bo", "form": "demo-request"}
TRACES = ("ada.quillfeather@northwind-erase.example", "quillfeather", "4155550123")


def _everything(sb) -> list[tuple[str, str]]:
    """(where, text) for every item of every DynamoDB table and every object of every S3 bucket."""
    from leadflow import aws

    found = []
    dynamodb = aws.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            found.extend((f"table {table}", json.dumps(item)) for item in page["Items"])
    s3 = aws.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
                found.append((f"s3://{bucket['Name']}/{entry['Key']}", body.decode("utf-8", "replace")))
    return found


def _traces(sb) -> list[str]:
    return [where for where, text in _everything(sb) for trace in TRACES if trace in text.lower()]


def _person_with_history(sb) -> dict:
    sb.post("/leads", json=PERSON)
    sb.post("/leads", json=COLLEAGUE)
    lead = sb.find_lead(PERSON["email"])
    sb.advance_to("2026-11-24T15:00:00Z")  # the first email went out; the day-2 call task exists
    first = to_lead(sb, lead["id"])[0]
    # An out-of-office reply lands in the inbound bucket, raw, and is matched to the lead.
    raw = reply_mime(
        "Ada Quillfeather <ada.quillfeather@northwind-erase.example>",
        subject="Automatic reply: Your demo request",
        body="I am out of the office until Thursday. Call +1 415 555 0123 if urgent.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": first["headers"]["Message-ID"]},
        at=sb.now(),
    )
    sb.deliver_email(raw)
    assert _traces(sb), "the scan must see the person before the erasure"
    return lead


def test_leadflow_erase_leaves_the_address_nowhere_but_as_its_keyed_hash(sb, capsys):
    lead = _person_with_history(sb)
    assert sb.execution(lead["id"])["status"] == "RUNNING"
    assert sb.tasks()

    assert main(["erase", PERSON["email"]]) == 0
    printed = capsys.readouterr().out
    assert "lead found" in printed and "stopped 1 executions" in printed
    assert "1 raw inbound mails deleted" in printed and "suppression entry stays" in printed

    assert _traces(sb) == []
    hashed = keys.email_key(PERSON["email"])
    stored = _everything(sb)
    assert any(f"SUPPRESS#{hashed}" in text for _, text in stored)
    assert sb.execution(lead["id"])["status"] == "ABORTED"
    assert sb.lead(lead["id"]) is None
    assert not [task for task in sb.tasks() if task["lead_id"] == lead["id"]]
    # Report events stay, without identity: the weekly aggregates still count them.
    events = [json.loads(text) for where, text in stored if f"LEAD#{lead['id']}" in text]
    assert events and all(item["sk"]["S"].startswith("EVENT#") for item in events)
    # The colleague at the same company is untouched.
    assert sb.find_lead(COLLEAGUE["email"])["status"] == "active"

    # Posting the address again stores nothing and contacts no one.
    sent_before, alerts_before = len(sb.outbox()), len(sb.rep_alerts())
    assert sb.post("/leads", json=PERSON).status_code in (200, 201, 202)
    sb.advance(7 * 86400)
    assert _traces(sb) == []
    assert not [m for m in sb.outbox()[sent_before:] if "quillfeather" in m["to"].lower()]
    assert not [m for m in sb.outbox()[sent_before:] if "4155550123" in m["to"].replace(" ", "")]
    assert len(sb.rep_alerts()) == alerts_before or all(
        "quillfeather" not in alert["message"].lower() for alert in sb.rep_alerts()[alerts_before:]
    )
    sb.run_report(force=True)  # the report still builds on what stays
    audit = sb.audit()
    assert audit.clean, audit.lines()  # no execution left running for what was erased
    assert main(["erase", PERSON["email"]]) == 0  # idempotent
    assert "no lead with this address" in capsys.readouterr().out


def test_the_crm_erases_through_the_authenticated_api(sb):
    lead = _person_with_history(sb)
    assert sb.post("/erasures", json={"email": PERSON["email"]}).status_code == 401
    wrong_key = sb.post("/erasures", json={"email": PERSON["email"]}, headers={"X-Api-Key": "nope"})
    assert wrong_key.status_code == 401
    bad = sb.post("/erasures", json={"email": "not an address"}, headers={"X-Api-Key": sb.api_key})
    assert bad.status_code == 422
    assert [error["field"] for error in bad.json()["errors"]] == ["email"]
    assert _traces(sb)  # refused requests erased nothing

    with table_calls.recorded_calls("leadflow") as calls:
        response = sb.post("/erasures", json={"email": PERSON["email"]}, headers={"X-Api-Key": sb.api_key})
    assert "dynamodb:DeleteItem" in calls["intake"] <= table_calls.reachable_actions("intake")

    assert response.status_code == 200
    body = response.json()
    assert (body["erased"], body["lead_found"], body["executions_stopped"]) == (True, True, 1)
    assert body["removed"]["leads"] == 1 and body["removed"]["submissions"] == 1
    assert body["raw_mails_deleted"] == 1
    assert response.headers["Cache-Control"] == "no-store"
    assert _traces(sb) == []
    assert sb.execution(lead["id"])["status"] == "ABORTED"


@pytest.mark.parametrize("argv", [["erase"], ["erase", "--table"]])
def test_erase_without_an_address_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
