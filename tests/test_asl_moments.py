"""Touches due at the same moment share one Task, and a channel the lead cannot receive costs no Task of
its own: at most two transitions (Wait + Task) per distinct send moment (issue 13)."""

from collections import Counter

from leadflow.cadence import asl
from leadflow.cadence.model import DEFAULT_CADENCE_DIR, load_cadence, load_cadences
from leadflow.local.sandbox import Sandbox

STEP = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-step"
DEMO = load_cadence(DEFAULT_CADENCE_DIR / "inbound-demo-request.yaml")


def _tasks(definition):
    return {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}


def test_the_day_2_call_and_text_of_the_demo_cadence_share_one_task():
    assert [(DEMO.touch(n).day, DEMO.touch(n).channel.value) for n in (2, 3)] == [(2, "call"), (2, "sms")]
    assert asl.moments(DEMO) == [(1,), (2, 3), (4,), (5,), (6,), (7,)]
    definition = asl.build_definition(DEMO, STEP)
    shared = definition["States"][asl.task_state_name(DEMO, 2)]
    assert shared["Parameters"]["Payload"] == {
        "lead_id.$": "$.lead_id",
        "cadence.$": "$.cadence",
        "enrollment.$": "$.enrollment",
        "version.$": "$.version",
        "touch": 2,
        "through": 3,
    }
    # Straight on to touch 4's Wait: speed to lead's escalations run on schedules (issue 28).
    assert shared["Next"] == asl.wait_state_name(DEMO, 4)
    assert DEMO.state_name(3) not in definition["States"]  # no Task of the text's own
    touched = Counter(
        number
        for state in _tasks(definition).values()
        if "touch" in state["Parameters"]["Payload"]
        for number in range(
            state["Parameters"]["Payload"]["touch"],
            state["Parameters"]["Payload"].get("through", state["Parameters"]["Payload"]["touch"]) + 1,
        )
    )
    # Every touch after the first moment in exactly one Task; the first moment in none: it is sent
    # outside the execution, which starts at the second moment's Wait (issue 28).
    assert touched == Counter(range(2, 8))
    assert definition["StartAt"] == asl.wait_state_name(DEMO, 2)
    assert asl.task_state_name(DEMO, 1) not in definition["States"]


def test_every_shipped_cadence_has_one_task_and_at_most_one_wait_per_send_moment():
    for cadence in load_cadences(DEFAULT_CADENCE_DIR, DEFAULT_CADENCE_DIR.parent / "templates").values():
        states = asl.build_definition(cadence, STEP)["States"]
        moments = asl.moments(cadence)
        touch_tasks = [
            s for s in _tasks({"States": states}).values() if "touch" in s["Parameters"]["Payload"]
        ]
        waits = [name for name, state in states.items() if name.startswith("Until ") and "moved" not in name]
        # The first moment is sent outside the execution (issue 28), a meeting's clock included.
        assert asl.first_moment_outside(cadence), cadence.name
        assert len(touch_tasks) == len(moments) - 1, cadence.name
        assert len(waits) == len(moments) - 1, cadence.name
        assert states[states[asl.wait_state_name(cadence, moments[1][0])]["Next"]] in touch_tasks
        for group in moments:  # never two automated touches (email, SMS) in one moment
            assert sum(cadence.touch(number).automated for number in group) <= 1, (cadence.name, group)


def test_two_automated_touches_on_one_day_are_never_one_moment():
    twice = DEMO.model_copy(
        update={"touches": (DEMO.touch(1), DEMO.touch(1).model_copy(update={"name": "again"}))}
    )
    assert asl.moments(twice) == [(1,), (2,)]


def _run(sb, email, **fields):
    sb.post("/leads", json={"email": email, "first_name": "Ada", "form": "demo-request", **fields})
    lead = sb.find_lead(email)
    sb.advance(30 * 86400)
    return lead["id"], sb.execution(lead["id"])


def _invocations(execution):
    """Task states the cadence's send moments entered."""
    return sum(1 for name in execution["states"] if name.startswith("Day "))


def _send_transitions(execution):
    """Every transition: speed to lead's escalations are outside the execution (issue 28)."""
    return execution["transitions"]


def test_a_lead_without_sms_consent_costs_two_transitions_per_moment_and_its_text_no_task():
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        lead_id, execution = _run(sb, "nosms@example.com")
        assert execution["status"] == "SUCCEEDED"
        assert _send_transitions(execution) == 2 * (len(asl.moments(DEMO)) - 1) == 10
        # The first moment's Task is outside the execution (issue 28: an async invoke of the step).
        assert _invocations(execution) == len(asl.moments(DEMO)) - 1 == 5
        touches = {touch["number"]: touch for touch in sb.lead(lead_id)["touches"]}
        assert touches[3]["status"] == "skipped" and touches[2]["status"] == "task"
        assert [message["channel"] for message in sb.outbox()].count("sms") == 0


def test_a_lead_with_sms_consent_gets_the_call_task_and_the_text_from_one_task():
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        _, execution = _run(sb, "sms@example.com", phone="+1 415 555 2671", sms_consent=True)
        assert _send_transitions(execution) == 10
        (text,) = [message for message in sb.outbox() if message["channel"] == "sms"]
        (call,) = [task for task in sb.tasks() if task["touch"] == 2]
        assert text["touch"] == 3 and text["at"] == call["at"]
