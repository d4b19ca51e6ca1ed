"""Issue 22, item 3: an outage of the table longer than the retries. Ops hear of every failed
execution while the table refuses every write, and the sweep resumes each enrollment its dead
execution left `running` once the table takes writes again; the audit ends clean."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from faults import client_error, failing

from leadflow import aws, clock
from leadflow.cadence import asl
from leadflow.config import settings
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

pytestmark = pytest.mark.email_cadence

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
OUTAGE = timedelta(minutes=15)
# The sweep's EventBridge rule delivers its constant input (infra/constructs/alarms.py).
SWEEP_RULE_INPUT = {"audit": False}


@contextlib.contextmanager
def table_outage(start: datetime, length: timedelta) -> Iterator[list[dict]]:
    """Every DynamoDB write, on both clients the code uses, refused as throttled while the
    simulated clock is in [start, start + length); reads still answer. Yields the refused calls."""
    throttled = lambda: client_error("ProvisionedThroughputExceededException", "Write", 400)  # noqa: E731
    during = lambda params: start <= clock.now() < start + length  # noqa: E731
    refused: list[dict] = []
    clients = (aws.table(settings().table_name).meta.client, aws.client("dynamodb"))
    with contextlib.ExitStack() as stack:
        for client in clients:
            for operation in WRITES:
                calls = stack.enter_context(
                    failing("dynamodb", operation, throttled, times=10**6, when=during, client=client)
                )
                refused.append(calls)  # type: ignore[arg-type]
        yield refused


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


def test_an_outage_longer_than_the_retries_alerts_ops_and_the_sweep_resumes_every_lead(sb):
    leads = [_post(sb, f"outage{number}@example.com") for number in range(3)]
    assert all(_sent(sb, lead_id) == [1] for lead_id in leads)
    # The outage begins as the first touch 2 falls due: the first writes after touch 1.
    due = sorted(enrollment_items.enrollments(lead_id)[0].schedule[1] for lead_id in leads)
    start = due[0]
    assert due[-1] - start < OUTAGE - timedelta(minutes=5)  # every touch 2 meets it with its retries
    with table_outage(start, OUTAGE) as refused:
        sb.advance_to(start + timedelta(minutes=5))
        sb.invoke("sweep", SWEEP_RULE_INPUT)  # on its schedule: it can fix nothing yet
        sb.advance_to(start + OUTAGE - timedelta(seconds=1))
        assert sum(len(calls) for calls in refused) > 0
        # Every execution gave up; its enrollment could not be marked failed, yet ops were told.
        for lead_id in leads:
            execution = sb.execution(lead_id)
            assert execution["status"] == "FAILED", lead_id
            assert execution["states"][-2:] == [asl.RECORD_FAILURE_STATE, asl.FAILED_STATE]
            (enrollment,) = enrollment_items.enrollments(lead_id)
            assert enrollment.run_status is RunStatus.RUNNING and enrollment.failure_error is None
        alerts = sb.ops_alerts()
        assert sorted(alert["lead_id"] for alert in alerts) == sorted(leads)  # one each, during it
        assert all(start <= clock.parse_iso(alert["at"]) < start + OUTAGE for alert in alerts)
        assert all("outage" not in alert["message"] for alert in alerts)  # ids only, no address
        # A re-post during the outage: the table refuses its first write (the per-IP count), so the
        # function fails (API Gateway answers 502) before it reads or changes any enrollment.
        with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
            sb.post("/leads", json={"email": "outage0@example.com", "first_name": "Ada"})
    assert all(_sent(sb, lead_id) == [1] for lead_id in leads)
    assert not sb.audit().clean  # three enrollments running without their execution
    # After it, before the sweep: a re-post neither enrolls the lead again nor drops it.
    assert sb.post("/leads", json={"email": "outage1@example.com", "first_name": "Ada"}).status_code == 202
    assert [e.number for e in enrollment_items.enrollments(leads[1])] == [1]
    result = sb.invoke("sweep", SWEEP_RULE_INPUT)
    assert result["sweep"]["resumed"] == 3 and sb.metric_total("Sweep_resumed") == 3
    assert sb.invoke("sweep", SWEEP_RULE_INPUT)["sweep"]["resumed"] == 0  # each once
    sb.advance(30 * 86400)
    for lead_id in leads:
        assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6], lead_id
        assert [execution["status"] for execution in sb.executions(lead_id)] == ["FAILED", "SUCCEEDED"]
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.run_status is RunStatus.COMPLETED and enrollment.attempt == 2
    report = sb.audit()
    assert report.clean, report.lines()
