"""Issue 28, item 2: the execution ARN is derived from its deterministic name, not written by the start.

A post writes its enrollment once before touch 1: the start leaves the ARN to touch 1's claim
(enrollments.started), which stores it as it takes the enrollment out of the sweep's index. Until that
claim nothing in the table says the execution started, and nothing may be lost or doubled for it:
stops and erasure derive the ARN (executions.arn_of), the sweep asks Step Functions before it starts
an enrollment whose start lease ran out and records the ARN it finds, and starts one whose execution
never started. Each story ends with `leadflow audit` clean.
"""

from __future__ import annotations

import pytest
from faults import before_call, client_error, crash, failing

from leadflow import aws
from leadflow.cadence import executions
from leadflow.config import settings
from leadflow.models import RunStatus
from leadflow.store import enrollment_items

pytestmark = pytest.mark.email_cadence

HAND_OVER_REFUSED = client_error("TooManyRequestsException", "Invoke", 429, "Rate exceeded.")


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent(sb, lead_id: str) -> list[int]:
    return [message["touch"] for message in sb.outbox() if message["lead_id"] == lead_id]


def _clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


def _enrollment_writes(calls: list[str]):
    """Record the UpdateExpression of every enrollment write the code makes (table client)."""

    def note(params: dict) -> None:
        key = params.get("Key") or params.get("Item") or {}
        if str(key.get("sk", "")).startswith("ENROLLMENT#"):
            calls.append(params.get("UpdateExpression", "put"))

    client = aws.table(settings().table_name).meta.client
    return (
        before_call("dynamodb", "UpdateItem", note, times=10**6, client=client),
        before_call("dynamodb", "PutItem", note, times=10**6, client=client),
    )


def test_a_post_writes_its_enrollment_once_before_touch_1_whose_claim_stores_the_derived_arn(sb):
    calls: list[str] = []
    updates, puts = _enrollment_writes(calls)
    with updates, puts:
        lead_id = _post(sb, "one.write@example.com")
    # The enrollment's put, then touch 1's claim: no write of the ARN between them.
    assert len(calls) == 2 and calls[0] == "put" and "touch_state = :claimed" in calls[1]
    (enrollment,) = enrollment_items.enrollments(lead_id)
    execution = sb.execution(lead_id)
    machine = settings().state_machine_arns[enrollment.cadence]
    assert enrollment.execution_arn == execution["arn"] == executions.arn(machine, enrollment.execution_name)
    assert _sent(sb, lead_id) == [1]
    assert enrollment_items.needing_attention(enrollment_items.Attention.START) == []
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _clean(sb)


def test_a_stop_before_touch_1s_claim_stops_the_execution_by_its_derived_arn(sb):
    from leadflow.cadence import stops
    from leadflow.models import StopReason

    with failing("lambda", "Invoke", HAND_OVER_REFUSED):
        lead_id = _post(sb, "early.stop@example.com")
    assert enrollment_items.enrollments(lead_id)[0].execution_arn is None  # nothing claimed it yet
    assert sb.execution(lead_id)["status"] == "RUNNING"
    sb.clock.settle()
    (stopped,) = stops.stop_enrollments(lead_id, StopReason.REPLY)
    sb.clock.settle()
    assert stopped.run_status is RunStatus.STOPPED
    assert sb.execution(lead_id)["status"] == "ABORTED"
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == []
    _clean(sb)


def test_erasure_before_touch_1s_claim_stops_the_execution_by_its_derived_arn(sb):
    from leadflow.intake.erase import erase_person

    with failing("lambda", "Invoke", HAND_OVER_REFUSED):
        lead_id = _post(sb, "early.erasure@example.com")
    sb.clock.settle()
    erasure = erase_person("early.erasure@example.com")
    sb.clock.settle()
    assert erasure.executions_stopped == 1
    assert sb.execution(lead_id)["status"] == "ABORTED"
    _clean(sb)


def test_the_sweep_records_a_running_execution_whose_arn_was_left_to_touch_1_and_never_starts_it_again(sb):
    from leadflow.cadence import first_moment

    started: list[dict] = []
    with failing("lambda", "Invoke", HAND_OVER_REFUSED):
        lead_id = _post(sb, "unrecorded@example.com")
    with before_call("stepfunctions", "StartExecution", started.append, times=10**6):
        sb.advance(60)  # the start lease ran out; touch 1 still unclaimed
        assert sb.sweep()["started"] == 0  # Step Functions says it runs: no second start
        (enrollment,) = enrollment_items.enrollments(lead_id)
        assert enrollment.execution_arn == sb.execution(lead_id)["arn"]
        assert enrollment_items.needing_attention(enrollment_items.Attention.START) == [(lead_id, 1)]
        assert _sent(sb, lead_id) == []  # within the grace: Lambda could still be retrying
        sb.advance(first_moment.SWEEP_GRACE.total_seconds())
        report = sb.sweep()
    assert started == [] and (report["started"], report["first_touches"]) == (0, 1)
    assert _sent(sb, lead_id) == [1]
    assert len(sb.executions(lead_id)) == 1
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _clean(sb)


def test_the_sweep_still_starts_an_enrollment_whose_starter_crashed_before_starting_it(sb):
    """The intake died between the enrollment's write and StartExecution: running, no ARN, no
    execution. Step Functions knows no execution of its name: once the lease ran out, the sweep
    starts it, and touch 1 goes out once."""
    with failing("stepfunctions", "StartExecution", crash()) as refused:
        try:
            sb.post("/leads", json={"email": "crashed.starter@example.com", "first_name": "Ada"})
        except Exception as error:  # the Sandbox may raise the handler's crash as Lambda reports it
            assert type(error).__name__ == "Runtime.ExitError"
    assert len(refused) == 1
    lead_id = sb.find_lead("crashed.starter@example.com")["id"]
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.run_status, enrollment.execution_arn, sb.executions(lead_id)) == (
        RunStatus.RUNNING,
        None,
        [],
    )
    assert sb.sweep()["started"] == 0  # its starter's lease still runs
    sb.advance(60)
    assert sb.sweep()["started"] == 1
    assert _sent(sb, lead_id) == [1]
    assert enrollment_items.enrollments(lead_id)[0].execution_arn == sb.execution(lead_id)["arn"]
    assert sb.sweep()["started"] == 0
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _clean(sb)


def test_a_repost_before_touch_1s_claim_never_starts_a_second_execution(sb):
    with failing("lambda", "Invoke", HAND_OVER_REFUSED):
        lead_id = _post(sb, "reposted@example.com")
    assert _post(sb, "reposted@example.com") == lead_id  # within the start lease: left alone
    sb.advance(60)
    # Past the lease the re-post takes the start again: the same name and input find the running
    # execution, and touch 1 is handed over with it.
    assert _post(sb, "reposted@example.com") == lead_id
    assert len(sb.executions(lead_id)) == 1 and _sent(sb, lead_id) == [1]
    assert enrollment_items.enrollments(lead_id)[0].execution_arn == sb.execution(lead_id)["arn"]
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _clean(sb)
