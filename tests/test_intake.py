"""POST /leads: valid posts get 202, bad input gets 422 or 400, and nothing is written for it."""

import pytest

from leadflow import aws
from leadflow.intake.submission import START_LEASE


def _stored_items():
    return aws.client("dynamodb").scan(TableName="leadflow")["Items"]


def _all_executions(sb):
    sfn = aws.client("stepfunctions")
    return [
        e
        for arn in sb.state_machine_arns.values()
        for e in sfn.list_executions(stateMachineArn=arn)["executions"]
    ]


def test_a_valid_post_is_accepted(sb):
    response = sb.post("/leads", json={"email": "ada@example.com", "first_name": "Ada", "company": "Engines"})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"status", "submission_id"}
    assert body["status"] == "received"
    lead = sb.find_lead("ADA@example.com ")
    assert lead["status"] == "active"
    assert lead["company"] == "Engines"
    assert len(_all_executions(sb)) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": "No Email"}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b@c.example"}, "email"),
        ({"email": 42}, "email"),
        ({"email": "typed@example.com", "first_name": 123}, "first_name"),
        ({"email": "typed@example.com", "company": ["a", "list"]}, "company"),
        ({"email": "long@example.com", "first_name": "x" * 101}, "first_name"),
    ],
)
def test_invalid_fields_get_422_with_field_messages_and_nothing_is_stored(sb, payload, field):
    response = sb.post("/leads", json=payload)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in {error["field"] for error in errors}
    assert all(error["message"] for error in errors)
    assert _stored_items() == []
    assert _all_executions(sb) == []


@pytest.mark.parametrize("body", ["{not json", "", "email=ada@example.com", "[1, 2"])
def test_a_body_that_is_not_json_gets_400(sb, body):
    response = sb.post("/leads", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert _stored_items() == []
    assert _all_executions(sb) == []


def test_a_json_array_gets_422(sb):
    response = sb.post("/leads", json=[{"email": "ada@example.com"}])
    assert response.status_code == 422
    assert _stored_items() == []


def test_a_duplicate_post_answers_like_a_new_one_and_starts_nothing(sb):
    first = sb.post("/leads", json={"email": "twice@example.com", "first_name": "Tw"})
    sb.advance(3600)
    second = sb.post("/leads", json={"email": "Twice@Example.com", "first_name": "Other"})

    assert (second.status_code, second.headers) == (first.status_code, first.headers)
    assert set(second.json()) == set(first.json())
    assert second.json()["status"] == first.json()["status"]
    assert len(second.json()["submission_id"]) == len(first.json()["submission_id"])
    assert second.json()["submission_id"] != first.json()["submission_id"]
    assert len(_all_executions(sb)) == 1
    assert len(sb.outbox()) == 1
    assert sb.find_lead("twice@example.com")["first_name"] == "Tw"


def test_a_lead_whose_execution_never_started_is_resumed_by_the_next_post(sb, monkeypatch):
    from leadflow.cadence import executions

    def crash(*args, **kwargs):
        raise ConnectionError("network down between the write and the start")

    with monkeypatch.context() as patch:
        patch.setattr(executions, "start", crash)
        with pytest.raises(ConnectionError):
            sb.post("/leads", json={"email": "resume@example.com"})
    assert _all_executions(sb) == []

    # Within the start lease the crashed poster still owns the start; after it, any post resumes it.
    sb.post("/leads", json={"email": "resume@example.com"})
    assert _all_executions(sb) == []
    sb.advance(START_LEASE.total_seconds() + 1)
    response = sb.post("/leads", json={"email": "resume@example.com"})

    assert response.status_code == 202
    assert len(_all_executions(sb)) == 1
    assert len(sb.outbox()) == 1


@pytest.mark.parametrize("consent", ["", 1, "yes", "maybe"])
def test_a_json_consent_must_be_a_boolean(sb, consent):
    response = sb.post("/leads", json={"email": "consent@example.com", "sms_consent": consent})
    assert response.status_code == 422
    assert "sms_consent" in {error["field"] for error in response.json()["errors"]}
    assert _stored_items() == []


@pytest.mark.parametrize("score", ["92", True, 92.5])
def test_a_json_score_must_be_a_whole_number(sb, score):
    response = sb.post("/leads", json={"email": "score@example.com", "score": score})
    assert response.status_code == 422
    assert "score" in {error["field"] for error in response.json()["errors"]}
    assert _stored_items() == []


def test_a_form_checkbox_gives_consent(sb):
    response = sb.post("/leads", data={"email": "box@example.com", "sms_consent": "on", "email_consent": ""})
    assert response.status_code == 202
    lead = sb.find_lead("box@example.com")
    assert lead["sms_consent"] is True
    assert lead.get("email_consent") is None
