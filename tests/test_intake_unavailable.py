"""Issue 22 leftover: the table unavailable while a lead is posted. The post is answered 503 with
Retry-After (a page saying to send again for an HTML form), never API Gateway's 502; nothing is
enrolled by it, and the same post sent again after Retry-After enrolls the lead once.

Faults are injected at the adapters (botocore events on both DynamoDB clients the code uses) as
DynamoDB answers them, and every post goes through the Sandbox's API as an API Gateway proxy event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from botocore.exceptions import ReadTimeoutError
from faults import client_error, failing

from functions.intake.errors import RETRY_AFTER_SECONDS
from leadflow import aws
from leadflow.config import settings
from leadflow.intake import submission
from leadflow.intake.submission import START_LEASE
from leadflow.store.table import SORT_KEY

pytestmark = pytest.mark.email_cadence

DYNAMODB_URL = "https://dynamodb.us-east-1.amazonaws.com/"
FORM_PAGE = "https://www.leadflow.example/demo"
THANKS = "https://www.leadflow.example/thanks"


def throttled() -> Exception:
    return client_error("ProvisionedThroughputExceededException", "PutItem", 400)


def unavailable() -> Exception:
    return client_error("ServiceUnavailable", "PutItem", 503)


def timed_out() -> Exception:
    return ReadTimeoutError(endpoint_url=DYNAMODB_URL, error="Read timeout on endpoint URL")


def _sort_key(params: dict) -> str:
    value = params.get("Item", {}).get(SORT_KEY)
    return str(value.get("S") if isinstance(value, dict) else value)


@contextlib.contextmanager
def put_fails(error, sort_key: str, *, after: bool = False) -> Iterator[list[dict]]:
    """The next PutItem of an item whose sort key starts with `sort_key` fails, on whichever client
    writes it; `after=True`: DynamoDB wrote it and the answer was lost (a read timeout)."""
    failed: list[dict] = []

    def when(params: dict) -> bool:
        if failed or not _sort_key(params).startswith(sort_key):
            return False
        failed.append(params)
        return True

    clients = (aws.table(settings().table_name).meta.client, aws.client("dynamodb"))
    with contextlib.ExitStack() as stack:
        for client in clients:
            stack.enter_context(failing("dynamodb", "PutItem", error, when=when, after=after, client=client))
        yield failed


def _lead(email: str) -> dict:
    return {"email": email, "first_name": "Ada", "company": "Acme", "form": "demo-request"}


def _first_touches(sb, email: str) -> list[dict]:
    return [m for m in sb.outbox() if m["channel"] == "email" and m["touch"] == 1 and email in str(m["to"])]


def _enrolled_once(sb, email: str) -> None:
    lead = sb.find_lead(email)
    assert lead is not None
    assert len(sb.executions(lead["id"])) == 1
    assert len(_first_touches(sb, email)) == 1


def _unavailable(response) -> None:
    assert response.status_code == 503, response
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("error", [throttled, unavailable, timed_out], ids=["throttled", "5xx", "timeout"])
def test_a_json_post_refused_by_the_table_is_answered_503_and_its_retry_enrolls_once(sb, error):
    email = "ada@acme.example"
    # The first write of a new lead: the claim of its address.
    with put_fails(error, "EMAIL") as failed:
        response = sb.post("/leads", json=_lead(email))
    assert failed
    _unavailable(response)
    assert response.headers["Content-Type"] == "application/json"
    assert "send the same request again" in response.json()["message"]
    assert sb.metric_total("IntakeUnavailable") == 1  # its alarm pages ops (tests/test_infra.py)
    assert sb.find_lead(email) is None and sb.outbox() == []

    sb.advance(RETRY_AFTER_SECONDS)
    assert sb.post("/leads", json=_lead(email)).status_code == 202
    _enrolled_once(sb, email)
    assert sb.audit().clean


def test_a_form_post_cut_off_between_its_writes_gets_a_page_and_its_retry_completes_the_lead(sb, monkeypatch):
    """The address is claimed, then the table fails: the half-written lead is never enrolled twice
    nor lost. A retry before Retry-After is told to wait again; at Retry-After it completes the lead."""
    monkeypatch.setattr(submission, "CREATION_WAIT_SECONDS", 0.0)
    email = "grace@acme.example"
    form = {**_lead(email), "redirect": THANKS, "error_redirect": FORM_PAGE}
    with put_fails(unavailable, "SUBMISSION") as failed:
        response = sb.post("/leads", data=form)
    assert failed
    _unavailable(response)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "send the form again" in response.text
    assert sb.find_lead(email) is None and sb.outbox() == []

    lease = int(START_LEASE.total_seconds())
    sb.advance(lease - 1)
    _unavailable(sb.post("/leads", data=form))  # its creator's lease still runs
    sb.advance(RETRY_AFTER_SECONDS - (lease - 1))
    response = sb.post("/leads", data=form)
    assert (response.status_code, response.headers["Location"]) == (303, THANKS)
    _enrolled_once(sb, email)
    assert sb.audit().clean


def test_a_lead_written_but_its_answer_lost_is_enrolled_once_by_the_retry(sb):
    """The lead item's write timed out after DynamoDB wrote it: no execution started yet. The
    retry finds the lead and starts its pending enrollment, once."""
    email = "katherine@acme.example"
    with put_fails(timed_out, "LEAD", after=True) as failed:
        _unavailable(sb.post("/leads", json=_lead(email)))
    assert failed
    assert sb.outbox() == []

    sb.advance(RETRY_AFTER_SECONDS)
    assert sb.post("/leads", json=_lead(email)).status_code == 202
    _enrolled_once(sb, email)
    sb.advance(RETRY_AFTER_SECONDS)  # a second retry starts nothing more
    assert sb.post("/leads", json=_lead(email)).status_code == 202
    _enrolled_once(sb, email)
    assert sb.audit().clean


def test_an_aws_error_that_retrying_cannot_fix_is_not_disguised_as_503(sb):
    """A validation error from DynamoDB is a fault of ours: it stays an error (API Gateway's 502)."""
    error = lambda: client_error("ValidationException", "PutItem", 400)  # noqa: E731
    with put_fails(error, "EMAIL"), pytest.raises(Exception, match="ValidationException"):
        sb.post("/leads", json=_lead("ada@acme.example"))
