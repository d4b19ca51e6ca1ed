"""Speed to lead's escalations run outside the execution (issue 28, item 1), on the Sandbox.

Touch 1 opens the call task and creates an EventBridge Scheduler one-shot schedule for the next
alert; the Sandbox's clock fires it (moto only stores schedules), the step escalates and schedules
the next one; an outcome or a stop deletes the pending one; a schedule that was never created is
escalated by the sweep. The chain's timing itself is tests/test_speed_to_lead.py's.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from faults import client_error, failing

from leadflow import aws
from leadflow.cadence import schedules
from leadflow.config import settings
from leadflow.local.sandbox import Sandbox, function_arn
from leadflow.models import Task
from leadflow.send import escalations
from leadflow.store import task_items
from tests.helpers import reply_mime

DEMO = {"email": "dana@bigco.example", "first_name": "Dana", "company": "BigCo", "form": "demo-request"}
GROUP = "leadflow-escalations"


def _schedules(lead_id):
    """The lead's pending escalation schedules, in full."""
    client = aws.client("scheduler")
    listed = client.list_schedules(GroupName=GROUP, NamePrefix=f"speed-{lead_id}-")["Schedules"]
    return [client.get_schedule(GroupName=GROUP, Name=summary["Name"]) for summary in listed]


def _speed_alerts(sb, lead_id):
    return [
        (note["at"], note["rep"])
        for note in sb.rep_alerts()
        if note["lead_id"] == lead_id and note["kind"].startswith("speed_to_lead")
    ]


def _post(sb):
    sb.post("/leads", json=DEMO)  # Monday 10:00 New York: Alex is at work, the call is due by 10:05
    return sb.find_lead(DEMO["email"])


def test_touch_1_creates_a_one_shot_schedule_with_ids_only_and_the_execution_goes_straight_on():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        (schedule,) = _schedules(lead["id"])
        assert schedule["Name"] == f"speed-{lead['id']}-1-261123151000"
        assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
            "at(2026-11-23T15:10:00)",
            "UTC",
        )
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["ActionAfterCompletion"] == "DELETE"
        assert schedule["Target"]["Arn"] == function_arn("step")
        assert schedule["Target"]["RoleArn"].endswith(":role/leadflow-escalation-schedules")
        # Ids and the due time only: the Scheduler console shows this input.
        assert json.loads(schedule["Target"]["Input"]) == {
            "escalation": {"lead_id": lead["id"], "enrollment": 1, "due": "2026-11-23T15:10:00Z"}
        }
        assert "dana" not in schedule["Target"]["Input"].lower()

        # The execution is parked on touch 2's Wait: no escalation state anywhere (touch 1 was sent
        # outside it, issue 28).
        assert sb.execution(lead["id"])["states"] == [
            "Until Day 02 · call · discovery-call + sms · text-nudge",
        ]
        sb.advance_to("2026-11-23T15:10:00Z")
        assert _speed_alerts(sb, lead["id"])[-1] == ("2026-11-23T15:10:00Z", "alex")
        # Fired and deleted itself; the step created the next one.
        assert [s["Name"] for s in _schedules(lead["id"])] == [f"speed-{lead['id']}-1-261123152000"]
        sb.advance_to("2026-11-23T16:00:00Z")
        assert _schedules(lead["id"]) == []  # the manager's alert was the last
        assert len(sb.execution(lead["id"])["states"]) == 1  # still parked on touch 2's Wait


def test_an_outcome_deletes_the_pending_schedule():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        assert len(_schedules(lead["id"])) == 1
        sb.advance_to("2026-11-23T15:03:00Z")
        answer = sb.post(f"/tasks/{task['id']}?token={task['token']}", json={"outcome": "voicemail"})
        assert answer.status_code == 200
        assert _schedules(lead["id"]) == []
        # Out of the sweep's index too: nothing left to escalate.
        assert task_items.escalating_tasks() == []
        sb.advance_to("2026-11-23T17:00:00Z")
        assert _speed_alerts(sb, lead["id"]) == [("2026-11-23T15:00:00Z", "alex")]


def test_a_reply_stops_the_lead_and_deletes_the_pending_schedule():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        sb.advance_to("2026-11-23T15:04:00Z")
        sb.deliver_email(reply_mime("Dana <dana@bigco.example>", body="Call me at 3pm please.", at=sb.now()))
        assert sb.lead(lead["id"])["status"] == "replied"
        assert _schedules(lead["id"]) == []
        assert [t["status"] for t in sb.tasks() if t["touch"] == 0] == ["cancelled"]
        sb.advance_to("2026-11-23T17:00:00Z")
        assert _speed_alerts(sb, lead["id"]) == [("2026-11-23T15:00:00Z", "alex")]
        audit = sb.audit()
        assert audit.clean, audit.lines()


def test_a_reply_after_the_chains_last_alert_asks_scheduler_for_nothing():
    """The manager's alert at 15:30 ends the chain: its schedule fired and deleted itself, and the task
    keeps escalate_at 15:30 with an alert recorded at that time. A reply then has no schedule to
    delete: it cancels the task without a Scheduler call (most replies come after the chain)."""
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        sb.advance_to("2026-11-23T15:30:00Z")
        (task,) = [t for t in task_items.tasks(lead["id"]) if t.touch == 0]
        assert task.escalate_at == datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
        assert task.escalations[-1]["at"] == "2026-11-23T15:30:00Z"  # the boundary: at escalate_at
        assert _schedules(lead["id"]) == []
        calls: list[str] = []

        def called(model, **_):
            calls.append(model.name)

        client = aws.client("scheduler")
        client.meta.events.register("before-call.scheduler", called)
        try:
            sb.deliver_email(reply_mime("Dana <dana@bigco.example>", body="Call me at 3pm.", at=sb.now()))
        finally:
            client.meta.events.unregister("before-call.scheduler", called)
        assert calls == []
        assert sb.lead(lead["id"])["status"] == "replied"
        assert [t["status"] for t in sb.tasks() if t["touch"] == 0] == ["cancelled"]
        audit = sb.audit()
        assert audit.clean, audit.lines()


def test_an_escalation_is_pending_until_an_alert_at_its_time_or_its_schedules_retry_hour_is_over():
    """What a stop or an outcome deletes (schedules.cancel_escalation): the schedule of escalate_at,
    unless an alert went out at or after that time (the chain's last), or Scheduler's retry hour and
    a margin are over (it fired or was given up on, and deleted itself)."""
    due = datetime(2026, 11, 23, 15, 10, tzinfo=UTC)
    first = {"at": "2026-11-23T15:00:00Z", "rep": "alex", "step": "owner"}
    task = Task(
        id="lead-1-0",
        lead_id="lead",
        enrollment=1,
        touch=0,
        cadence="demo",
        channel="call",
        name="speed-to-lead",
        instruction="Call now.",
        due_at=due,
        escalations=[first],
        escalate_at=due,
    )
    spent = due + schedules.SPENT_AFTER
    assert spent == datetime(2026, 11, 23, 16, 20, tzinfo=UTC)
    assert schedules.escalation_pending(task, spent - timedelta(seconds=1))
    assert not schedules.escalation_pending(task, spent)
    just_before = task.model_copy(update={"escalations": [first, {**first, "at": "2026-11-23T15:09:59Z"}]})
    assert schedules.escalation_pending(just_before, due)
    at_its_time = task.model_copy(update={"escalations": [first, {**first, "at": "2026-11-23T15:10:00Z"}]})
    assert not schedules.escalation_pending(at_its_time, due)
    assert not schedules.escalation_pending(task.model_copy(update={"escalate_at": None}), due)


def test_a_repeated_fire_alerts_once():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        (schedule,) = _schedules(lead["id"])
        fired = json.loads(schedule["Target"]["Input"])
        sb.advance_to("2026-11-23T15:10:00Z")
        alerts = _speed_alerts(sb, lead["id"])
        assert len(alerts) == 2
        # Scheduler delivers at least once: the same input again is a stale escalation.
        assert sb.invoke("step", fired) == {"outcome": "stale"}
        assert _speed_alerts(sb, lead["id"]) == alerts
        assert len(_schedules(lead["id"])) == 1


def test_two_runs_that_read_the_same_task_record_one_alert():
    """The claim: each alert is recorded only against the number of alerts its run read."""
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        read = task_items.get_task(lead["id"], 1, 0)
        assert len(read.escalations) == 1
        at = sb.now() + timedelta(minutes=10)
        assert task_items.add_escalation(read, at, "alex", "owner again") is True
        assert task_items.add_escalation(read, at, "alex", "owner again") is False  # a duplicate
        again = task_items.get_task(lead["id"], 1, 0)
        assert [e["step"] for e in again.escalations] == ["owner", "owner again"]
        assert task_items.add_escalation(again, at, "sam", "next rep") is True


def test_a_schedule_that_could_not_be_created_is_escalated_by_the_sweep():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        with failing("scheduler", "CreateSchedule", client_error("ThrottlingException", "CreateSchedule")):
            lead = _post(sb)
        assert sb.execution(lead["id"])["status"] == "RUNNING"  # touch 1 is not failed by it
        assert _schedules(lead["id"]) == []
        assert sb.metric_total("EscalationScheduleFailed") == 1
        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        assert task["escalate_at"] == "2026-11-23T15:10:00Z"  # noted before the schedule was tried

        sb.advance_to("2026-11-23T15:19:59Z")
        assert sb.invoke("sweep", {})["sweep"]["escalated"] == 0  # not overdue yet: a late fire may come
        assert len(_speed_alerts(sb, lead["id"])) == 1
        sb.advance_to("2026-11-23T15:20:00Z")
        assert sb.invoke("sweep", {})["sweep"]["escalated"] == 1
        assert _speed_alerts(sb, lead["id"]) == [
            ("2026-11-23T15:00:00Z", "alex"),
            ("2026-11-23T15:20:00Z", "alex"),  # the owner again, late but not lost
        ]
        assert sb.invoke("sweep", {})["sweep"]["escalated"] == 0  # once
        # The chain goes on by schedule from there: the next rep 10 minutes later.
        sb.advance_to("2026-11-23T15:30:00Z")
        assert _speed_alerts(sb, lead["id"])[-1] == ("2026-11-23T15:30:00Z", "sam")
        sb.advance_to("2026-11-23T17:00:00Z")
        assert [rep for _, rep in _speed_alerts(sb, lead["id"])] == ["alex", "alex", "sam", "_manager"]
        # The last alert's own write took the task out of the sweep's index: no write left for it.
        assert task_items.escalating_tasks() == []
        assert sb.invoke("sweep", {})["sweep"]["escalated"] == 0
        audit = sb.audit()
        assert audit.clean, audit.lines()


def test_an_overdue_escalation_reads_its_lead_and_enrollment_in_one_batch_get_item():
    """The sweep's fallback (and a fired schedule) reads the task's lead and enrollment in one
    consistent BatchGetItem (lead_items.get_lead_and_enrollment), never the enrollment on its own."""
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        with failing("scheduler", "CreateSchedule", client_error("ThrottlingException", "CreateSchedule")):
            lead = _post(sb)
        sb.advance_to("2026-11-23T15:20:00Z")
        partition, batches, gets = f"LEAD#{lead['id']}", [], []

        def record(params, model, **_):
            if model.name == "GetItem":
                gets.append((params["Key"]["pk"], params["Key"]["sk"]))
            else:
                for request in params["RequestItems"].values():
                    batches.append([(key["pk"], key["sk"]) for key in request["Keys"]])

        client = aws.table(settings().table_name).meta.client
        for operation in ("GetItem", "BatchGetItem"):
            client.meta.events.register(f"provide-client-params.dynamodb.{operation}", record)
        try:
            assert sb.invoke("sweep", {})["sweep"]["escalated"] == 1
        finally:
            for operation in ("GetItem", "BatchGetItem"):
                client.meta.events.unregister(f"provide-client-params.dynamodb.{operation}", record)

        assert [(partition, "LEAD"), (partition, "ENROLLMENT#001")] in batches
        assert (partition, "ENROLLMENT#001") not in gets
        assert sb.audit().clean


def test_the_clock_fires_only_schedules_that_still_exist_and_deletes_them_after():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        client = aws.client("scheduler")
        target = {
            "Arn": function_arn("sweep"),
            "RoleArn": "arn:aws:iam::123456789012:role/x",
            "Input": json.dumps({}),
        }
        kept, deleted = (f"{name}-{uuid.uuid4().hex}" for name in ("kept", "deleted"))
        for name in (kept, deleted):
            client.create_schedule(
                GroupName=GROUP,
                Name=name,
                ScheduleExpression="at(2026-11-23T10:30:00)",
                ScheduleExpressionTimezone="America/New_York",  # 15:30 UTC
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
            )
        client.delete_schedule(GroupName=GROUP, Name=deleted)
        runs = []
        original = sb.handlers["sweep"].lambda_handler
        sb.handlers["sweep"].lambda_handler = lambda event, context: (
            runs.append(sb.now()) or original(event, context)
        )
        try:
            sb.advance_to("2026-11-23T15:29:59Z")
            assert runs == []
            sb.advance_to("2026-11-23T16:00:00Z")
        finally:
            sb.handlers["sweep"].lambda_handler = original
        assert runs == [datetime(2026, 11, 23, 15, 30, tzinfo=UTC)]
        assert client.list_schedules(GroupName=GROUP, NamePrefix=kept)["Schedules"] == []


def test_the_schedule_name_fits_schedulers_limit_for_the_longest_lead_id():
    name = escalations.schedule_name("a" * 40, 999, datetime(2026, 11, 23, 15, 10, tzinfo=UTC))
    assert len(name) <= 64


def test_a_schedule_that_could_not_be_deleted_fires_to_the_closed_task_and_does_nothing():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        (task,) = [t for t in sb.tasks() if t["touch"] == 0]
        sb.advance_to("2026-11-23T15:03:00Z")
        with failing("scheduler", "DeleteSchedule", client_error("ThrottlingException", "DeleteSchedule")):
            answer = sb.post(f"/tasks/{task['id']}?token={task['token']}", json={"outcome": "connected"})
        assert answer.status_code == 200  # the outcome is recorded all the same
        assert len(_schedules(lead["id"])) == 1
        sb.advance_to("2026-11-23T15:10:00Z")
        assert _schedules(lead["id"]) == []  # fired, found the task closed, deleted after completion
        assert _speed_alerts(sb, lead["id"]) == [("2026-11-23T15:00:00Z", "alex")]


def test_a_fire_that_fails_is_retried_by_the_schedules_retry_policy():
    from leadflow.config import settings

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        table = aws.table(settings().table_name).meta.client
        throttled = client_error("ProvisionedThroughputExceededException", "GetItem")
        with failing("dynamodb", "GetItem", throttled, when=lambda p: "TASK#" in str(p["Key"]), client=table):
            sb.advance_to("2026-11-23T15:10:30Z")  # the fire at 15:10 fails
        assert len(_speed_alerts(sb, lead["id"])) == 1
        sb.advance_to("2026-11-23T15:11:00Z")  # Scheduler retries it a minute later
        assert _speed_alerts(sb, lead["id"])[-1] == ("2026-11-23T15:11:00Z", "alex")


def test_an_execution_started_before_issue_28_hands_its_chain_over_to_schedules():
    """Its escalation state invokes the step with `escalate` (the ASL it started on): one alert, then
    the chain goes on by schedule."""
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        lead = _post(sb)
        for schedule in _schedules(lead["id"]):  # as if touch 1 had run before schedules existed
            aws.client("scheduler").delete_schedule(GroupName=GROUP, Name=schedule["Name"])
        sb.advance_to("2026-11-23T15:10:00Z")
        assert len(_speed_alerts(sb, lead["id"])) == 1
        execution = sb.execution(lead["id"])["input"]
        # The state it started on passed the ids (its input now also holds the second moment's time).
        ids = {key: execution[key] for key in ("lead_id", "cadence", "enrollment", "version")}
        result = sb.invoke("step", {**ids, "touch": 1, "escalate": True})
        assert (result["outcome"], result["escalate_at"]) == ("escalated", None)  # its Choice moves on
        assert _speed_alerts(sb, lead["id"])[-1] == ("2026-11-23T15:10:00Z", "alex")
        assert [s["Name"] for s in _schedules(lead["id"])] == [f"speed-{lead['id']}-1-261123152000"]
        sb.advance_to("2026-11-23T15:20:00Z")
        assert _speed_alerts(sb, lead["id"])[-1] == ("2026-11-23T15:20:00Z", "sam")
