"""Duplicates without leaking: one lead and one execution per address, engagement recorded,
re-enrollment by policy, and Idempotency-Key retries answered alike."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import yaml

from leadflow.cadence.stops import stop_lead
from leadflow.intake.submission import accept
from leadflow.models import ContactStatus, LeadSubmission, RequestOrigin, StopReason
from leadflow.store import lead_items
from tests.intake_helpers import all_executions, returning_alerts, stored_items

# Answers, not cadences: a plain six-email default cadence (tests/conftest.py).
pytestmark = pytest.mark.email_cadence

CADENCE_DAYS = 21


@pytest.fixture
def no_post_rate_limits(sb, tmp_path):
    """These tests are about duplicates, not abuse: lift the post-rate limits (test_abuse_limits.py)."""
    config = yaml.safe_load(Path(os.environ["CONFIG_FILE"]).read_text())
    config.setdefault("abuse", {}).update(posts_per_ip_per_hour=10_000, posts_per_inbox_per_day=10_000)
    generous = tmp_path / "generous-limits.yaml"
    generous.write_text(yaml.safe_dump(config))
    sb.set_environment({"CONFIG_FILE": str(generous)})


def _shape(response):
    """Everything a poster can see, less the random submission id (its length stays)."""
    body = response.json()
    headers = tuple(sorted(response.headers.items()))
    return response.status_code, headers, tuple(sorted(body)), body["status"], len(body["submission_id"])


def test_200_sequential_posts_of_one_address_give_one_lead_one_execution_and_new_lead_answers(
    sb, no_post_rate_limits
):
    new_lead = sb.post("/leads", json={"email": "someone-else@example.com"})
    answers = [
        sb.post("/leads", json={"email": "Repeat@Example.com", "first_name": "Rae"}) for _ in range(200)
    ]

    assert {_shape(answer) for answer in answers} == {_shape(new_lead)}
    assert len({answer.json()["submission_id"] for answer in answers}) == 200
    lead = sb.find_lead("repeat@example.com")
    assert len(sb.executions(lead["id"])) == 1
    assert len(all_executions(sb)) == 2
    assert len([item for item in stored_items() if item["sk"]["S"] == "LEAD"]) == 2
    assert lead["resubmissions"] == 199
    assert len(lead_items.submissions(lead["id"])) == 200
    assert len([message for message in sb.outbox() if message["lead_id"] == lead["id"]]) == 1


def test_200_concurrent_posts_of_one_address_give_one_lead_and_one_execution(sb, no_post_rate_limits):
    """Concurrency at the domain + DynamoDB level: 200 threads accept the same address at once.

    (Lambda never runs two events in one process, and Powertools keeps the current event on a
    class attribute, so threads share the accept logic and the table, not the resolver.)
    """
    submission = LeadSubmission.model_validate({"email": "burst@example.com", "first_name": "Bu"})
    origin = RequestOrigin(source_ip="198.51.100.7", user_agent="burst")
    start = threading.Barrier(50)
    ids: list[str] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            start.wait()
            ids.append(accept(submission, origin).submission_id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=post) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sb.clock.settle()

    assert errors == []
    assert len(set(ids)) == 200
    lead = sb.find_lead("burst@example.com")
    assert len([item for item in stored_items() if item["sk"]["S"] == "LEAD"]) == 1
    assert len(all_executions(sb)) == 1
    assert len(lead["enrollments_detail"]) == 1
    assert len(lead_items.submissions(lead["id"])) == 200
    assert len(sb.outbox()) == 1
    # A double-click burst is not "the lead came back": no alert right after the first post.
    assert returning_alerts(sb) == []


def test_a_lead_who_comes_back_while_running_is_an_engagement_signal_and_alerts_the_owner_once(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    sb.post("/leads", json={"email": "back@example.com", "first_name": "Bea", "company": "Hive"})
    lead_id = sb.find_lead("back@example.com")["id"]
    sb.advance(2 * 86400)

    sb.post("/leads", json={"email": "back@example.com", "phone": "+1 650 253 0000", "company": "Other"})
    sb.advance(600)
    sb.post("/leads", json={"email": "back@example.com"})  # within the alert cooldown

    lead = sb.lead(lead_id)
    assert lead["resubmissions"] == 2
    assert lead["company"] == "Hive"  # known fields are kept
    assert lead["phone"] == "+16502530000"  # blank ones are filled
    assert [record.outcome for record in lead_items.submissions(lead_id)] == ["new", "returned", "returned"]
    assert len(sb.executions(lead_id)) == 1
    (alert,) = returning_alerts(sb)
    assert (alert["kind"], alert["lead_id"]) == ("lead_returned", lead_id)
    assert "Bea" in alert["message"] and "back@example.com" in alert["message"]


def test_after_the_cadence_ends_a_lead_is_enrolled_again_only_after_the_cooldown(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    sb.post("/leads", json={"email": "again@example.com"})
    lead_id = sb.find_lead("again@example.com")["id"]
    sb.advance(CADENCE_DAYS * 86400)
    assert sb.lead(lead_id)["enrollments_detail"][0]["run_status"] == "completed"

    sb.advance(10 * 86400)
    sb.post("/leads", json={"email": "again@example.com"})
    assert len(sb.executions(lead_id)) == 1

    # 36 days after it completed (the policy says 30): Tuesday 19 January, at work (Monday is Martin
    # Luther King Day, a US holiday: the owner's alert would wait for Tuesday).
    sb.advance(26 * 86400)
    sb.post("/leads", json={"email": "again@example.com"})

    lead = sb.lead(lead_id)
    assert [enrollment["number"] for enrollment in lead["enrollments_detail"]] == [1, 2]
    second = sb.executions(lead_id)[-1]
    assert (second["name"], second["status"]) == (f"{lead_id}-inbound-demo-request-2", "RUNNING")
    assert [record.outcome for record in lead_items.submissions(lead_id)][-1] == "enrolled"
    assert [alert["kind"] for alert in returning_alerts(sb)] == ["lead_returned", "lead_reenrolled"]
    assert len([message for message in sb.outbox() if message["enrollment"] == 2]) == 1


def test_opted_out_and_bounced_leads_are_never_enrolled_again_and_the_answer_is_the_same(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    new_lead = sb.post("/leads", json={"email": "fresh@example.com"})
    for address, status, reason in [
        ("out@example.com", ContactStatus.OPTED_OUT, StopReason.UNSUBSCRIBE),
        ("gone@example.com", ContactStatus.BOUNCED, StopReason.BOUNCE),
    ]:
        sb.post("/leads", json={"email": address})
        lead_id = sb.find_lead(address)["id"]
        stop_lead(lead_id, status, reason)
        sb.advance(365 * 86400)

        answer = sb.post("/leads", json={"email": address, "email_consent": True})

        assert _shape(answer) == _shape(new_lead)
        assert len(sb.executions(lead_id)) == 1
        assert sb.lead(lead_id)["status"] == status.value
        assert lead_items.submissions(lead_id)[-1].outcome == "suppressed"
    assert [alert["kind"] for alert in returning_alerts(sb)] == ["suppressed_lead_returned"] * 2


def test_a_never_policy_keeps_a_finished_lead_out(tmp_path):
    from leadflow.local.sandbox import REPO_ROOT, Sandbox

    config = (
        (REPO_ROOT / "config" / "leadflow.yaml")
        .read_text()
        .replace("policy: after_cooldown", "policy: never")
    )
    (tmp_path / "leadflow.yaml").write_text(config)
    with Sandbox(environment={"CONFIG_FILE": str(tmp_path / "leadflow.yaml")}) as sb:
        sb.post("/leads", json={"email": "never@example.com"})
        lead_id = sb.find_lead("never@example.com")["id"]
        sb.advance(400 * 86400)
        sb.post("/leads", json={"email": "never@example.com"})

        assert len(sb.executions(lead_id)) == 1
        assert lead_items.submissions(lead_id)[-1].outcome == "returned"


def test_consent_given_after_a_no_starts_the_first_enrollment(sb):
    sb.post("/leads", data={"email": "later-yes@example.com", "email_consent": "false"})
    lead_id = sb.find_lead("later-yes@example.com")["id"]
    assert all_executions(sb) == []

    sb.advance(3600)
    sb.post("/leads", data={"email": "later-yes@example.com", "email_consent": "true"})

    lead = sb.lead(lead_id)
    assert lead["email_consent"] is True
    assert [enrollment["number"] for enrollment in lead["enrollments_detail"]] == [1]
    assert len(sb.outbox()) == 1


def test_an_idempotency_key_makes_a_retry_return_the_same_answer(sb):
    body = {"email": "retry@example.com", "first_name": "Ret"}
    first = sb.post("/leads", json=body, headers={"Idempotency-Key": "form-42"})
    retry = sb.post("/leads", json=body, headers={"Idempotency-Key": "form-42"})
    other_key = sb.post("/leads", json=body, headers={"Idempotency-Key": "form-43"})

    assert first.status_code == retry.status_code == 202
    assert retry.json() == first.json()
    assert other_key.json()["submission_id"] != first.json()["submission_id"]
    lead_id = sb.find_lead("retry@example.com")["id"]
    assert len(lead_items.submissions(lead_id)) == 2  # the retry did not post again
    assert len(stored_items("leadflow-idempotency")) == 2


def test_an_idempotency_key_reused_for_another_lead_gets_422(sb):
    sb.post("/leads", json={"email": "one@example.com"}, headers={"Idempotency-Key": "shared"})
    reused = sb.post("/leads", json={"email": "two@example.com"}, headers={"Idempotency-Key": "shared"})

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["message"]
    assert sb.find_lead("two@example.com") is None


def test_an_idempotent_form_retry_redirects_again(sb):
    form = {"email": "formretry@example.com", "redirect": "https://leadflow.example/thanks"}
    first = sb.post("/leads", data=form, headers={"Idempotency-Key": "f1"})
    retry = sb.post("/leads", data=form, headers={"Idempotency-Key": "f1"})

    assert first.status_code == retry.status_code == 303
    assert retry.headers["Location"] == first.headers["Location"]
    assert len(lead_items.submissions(sb.find_lead("formretry@example.com")["id"])) == 1


def test_a_post_that_crashed_after_claiming_the_address_is_completed_by_the_next_post(sb, monkeypatch):
    """create_lead writes the email index first and the lead last: a crash in between leaves an
    index without its lead and nothing started; the next post of the address completes the lead
    under the indexed id, with one enrollment and one execution."""
    real_put_new = lead_items.put_new

    def crash_on_the_lead(item):
        if item["sk"] == "LEAD":
            raise ConnectionError("the function died before writing the lead")
        return real_put_new(item)

    submission = LeadSubmission.model_validate({"email": "crash@example.com", "first_name": "Cy"})
    monkeypatch.setattr(lead_items, "put_new", crash_on_the_lead)
    with pytest.raises(ConnectionError):
        accept(submission)
    monkeypatch.setattr(lead_items, "put_new", real_put_new)
    assert [item for item in stored_items() if item["sk"]["S"] == "LEAD"] == []
    assert all_executions(sb) == []

    sb.advance(60)  # past the creator's lease
    from leadflow.cadence.sweep import sweep

    assert sweep().started == 0  # an enrollment without its lead waits for the next post
    assert all_executions(sb) == []
    answer = sb.post("/leads", json={"email": "crash@example.com", "first_name": "Cy"})

    assert answer.status_code == 202
    lead = sb.find_lead("crash@example.com")
    assert len([item for item in stored_items() if item["sk"]["S"] == "LEAD"]) == 1
    assert [enrollment["number"] for enrollment in lead["enrollments_detail"]] == [1]
    assert len(sb.executions(lead["id"])) == 1
    assert [record.outcome for record in lead_items.submissions(lead["id"])] == ["new", "new"]
    assert len([message for message in sb.outbox() if message["lead_id"] == lead["id"]]) == 1
    assert sb.audit().clean
