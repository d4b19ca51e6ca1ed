"""Every channel arrives where it should: email and SMS in the outbox, rep tasks announced by SNS."""

import shutil
import textwrap

import pytest
import yaml

from leadflow import aws, clock, keys
from leadflow.local.sandbox import REPO_ROOT, Sandbox
from leadflow.models import Lead
from leadflow.send.touches import sms_skip_reason

EVERY_CHANNEL = """\
name: every-channel
description: A fixture that uses every channel.
match:
  - forms: [fixture]
window:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
  start: "08:00"
  end: "20:00"
  timezone: UTC
  skip_holidays: false
touches:
  - {day: 1, channel: email, name: hello}
  - {day: 2, channel: sms, name: text}
  - {day: 2, channel: call, name: ring, instruction: Ask what prompted the request.}
  - {day: 3, channel: linkedin, name: connect}
  - {day: 4, channel: video, name: loom, instruction: Record a 60-second walkthrough.}
  - {day: 5, channel: email, name: bye}
"""
EMAIL = (
    '{% extends "_layout.j2" %}{% block subject %}A note from us{% endblock %}'
    "{% block opener %}You asked about our product.{% endblock %}"
    "{% block cta %}Does a call {{ offer.phrase or 'soon' }} work?{% endblock %}"
)
SMS = (
    '{% extends "_sms.j2" %}'
    '{% block message %}Hi {{ lead.first_name or "there" }}, a quick text.{% endblock %}'
)
LEAD = {
    "email": "ada@engines.example",
    "first_name": "Ada",
    "company": "Engines",
    "form": "fixture",
    "phone": "+44 20 7946 0958",
    "sms_consent": True,
}


@pytest.fixture
def fixture_sb(tmp_path):
    cadences = tmp_path / "cadences"
    cadences.mkdir()
    (cadences / "every-channel.yaml").write_text(EVERY_CHANNEL)
    templates = tmp_path / "templates"
    (templates / "every-channel").mkdir(parents=True)
    for shared in (REPO_ROOT / "templates").glob("_*.j2"):
        shutil.copy(shared, templates / shared.name)
    for name, body in {"hello": EMAIL, "bye": EMAIL, "text": SMS}.items():
        (templates / "every-channel" / f"{name}.j2").write_text(body)
    config = yaml.safe_load((REPO_ROOT / "config" / "leadflow.yaml").read_text())
    config["forms"]["fixture"] = {"intent": "newsletter", "label": "Fixture"}
    # The reps work in London, as the lead is: a task alert reaches its owner inside their hours
    # (issue 25; off, it waits in their queue and morning digest).
    for rep in config["reps"]:
        rep["hours"] = {"timezone": "Europe/London", "start": "09:00", "end": "17:00"}
    config["routing"] = {
        "default_cadence": "every-channel",
        "meeting_booked_cadence": None,
        "meeting_missed_cadence": None,
    }
    (tmp_path / "leadflow.yaml").write_text(yaml.safe_dump(config))
    with Sandbox(
        start="2026-11-23T09:00:00Z",
        cadence_dir=cadences,
        template_dir=templates,
        environment={"CONFIG_FILE": str(tmp_path / "leadflow.yaml")},
    ) as sandbox:
        yield sandbox


def test_a_cadence_with_every_channel_delivers_each_where_it_belongs(fixture_sb):
    sb = fixture_sb
    sb.post("/leads", json=LEAD)
    lead_id = sb.find_lead(LEAD["email"])["id"]
    sb.advance_to("2026-12-01T00:00:00Z")

    outbox = sb.outbox()
    assert [(m["channel"], m["touch"], m["to"]) for m in outbox] == [
        ("email", 1, LEAD["email"]),
        ("sms", 2, "+442079460958"),  # E.164
        ("email", 6, LEAD["email"]),
    ]
    assert outbox[1]["text"] == "Hi Ada, a quick text. Reply STOP to opt out."
    assert outbox[1]["at"] == "2026-11-24T09:00:00Z" and outbox[1]["lead_id"] == lead_id

    tasks = sb.tasks()
    assert [(t["channel"], t["touch"], t["at"], t["status"]) for t in tasks] == [
        ("call", 3, "2026-11-24T09:00:00Z", "open"),
        ("linkedin", 4, "2026-11-25T09:00:00Z", "open"),
        ("video", 5, "2026-11-26T09:00:00Z", "open"),
    ]
    assert tasks[0]["instruction"] == "Ask what prompted the request."
    assert "LinkedIn" in tasks[1]["instruction"]  # the channel's default talking points
    for task in tasks:
        assert {"id", "lead_id", "channel", "at", "instruction", "status", "token"} <= set(task)
        assert task["lead_id"] == lead_id and keys.valid_task_token(task["id"], task["token"])

    # Each task is announced to its owner through SNS, with its signed link; never blocking the cadence.
    notes = sb.notifications()
    assert {"topic", "at", "subject", "message", "lead_id"} <= set(notes[0])
    task_notes = [note for note in notes if note["kind"] == "task"]
    assert [note["at"] for note in task_notes] == [task["at"] for task in tasks]
    for note, task in zip(task_notes, tasks, strict=True):
        assert note["lead_id"] == lead_id
        assert note["topic"] == sb.rep_alerts_topic_arn
        assert note["rep"] == sb.find_lead(LEAD["email"])["owner"]
        assert f"/tasks/{task['id']}?token={task['token']}" in note["message"]
        assert task["instruction"] in note["message"]
        assert "ada@engines.example" in note["message"]  # the lead's context for the rep
    execution = sb.execution(lead_id)
    assert execution["status"] == "SUCCEEDED"
    # Six touches at five send moments (the day-2 text and call share one Task): Wait + Task each after
    # the first, which is sent outside the execution (issue 28).
    assert execution["transitions"] == 2 * (5 - 1)


def test_sms_without_consent_is_never_sent_and_the_touch_says_why(fixture_sb):
    sb = fixture_sb
    sb.post("/leads", json={**LEAD, "sms_consent": False})
    sb.post("/leads", json={**LEAD, "email": "nophone@engines.example", "phone": None})
    sb.advance_to("2026-11-25T00:00:00Z")

    assert [m["channel"] for m in sb.outbox()] == ["email", "email"]
    skipped = {
        lead["email"]: [
            (t["number"], t["status"], t["skip_reason"]) for t in lead["touches"] if t["number"] == 2
        ]
        for lead in (sb.find_lead(LEAD["email"]), sb.find_lead("nophone@engines.example"))
    }
    assert skipped == {
        LEAD["email"]: [(2, "skipped", "no_sms_consent")],
        "nophone@engines.example": [(2, "skipped", "no_phone")],
    }
    # Skipped, not stuck: the call task of the same day is there and the cadence goes on.
    assert len([t for t in sb.tasks() if t["channel"] == "call"]) == 2


def test_sms_to_an_invalid_number_is_never_sent(fixture_sb):
    sb = fixture_sb
    sb.post("/leads", json=LEAD)
    lead_id = sb.find_lead(LEAD["email"])["id"]
    # Intake refuses invalid numbers; one that arrives by another way (an import) is caught at send.
    aws.client("dynamodb").update_item(
        TableName="leadflow",
        Key={"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": "LEAD"}},
        UpdateExpression="SET phone = :bad",
        ExpressionAttributeValues={":bad": {"S": "+1 555 0100"}},
    )
    sb.advance_to("2026-11-25T00:00:00Z")

    assert [m["channel"] for m in sb.outbox()] == ["email"]
    (touch,) = [t for t in sb.lead(lead_id)["touches"] if t["number"] == 2]
    assert (touch["status"], touch["skip_reason"]) == ("skipped", "invalid_phone")


@pytest.mark.parametrize(
    ("changes", "local_time", "reason"),
    [
        ({}, "2026-11-24T12:00:00Z", None),
        ({"sms_consent": False}, "2026-11-24T12:00:00Z", "no_sms_consent"),
        ({"sms_consent": None}, "2026-11-24T12:00:00Z", "no_sms_consent"),
        ({"phone": None}, "2026-11-24T12:00:00Z", "no_phone"),
        ({"phone": "12345"}, "2026-11-24T12:00:00Z", "invalid_phone"),
        ({}, "2026-11-24T21:00:00Z", "quiet_hours"),  # 21:00 London
        ({}, "2026-11-24T07:59:59Z", "quiet_hours"),
    ],
)
def test_sms_rules(changes, local_time, reason):
    lead = Lead(
        id="abcdef0123456789abcd",
        email="a@b.example",
        created_at=clock.parse_iso("2026-11-23T09:00:00Z"),
        phone="+442079460958",
        sms_consent=True,
        **{key: value for key, value in changes.items() if key not in ("phone", "sms_consent")},
    ).model_copy(update={key: value for key, value in changes.items() if key in ("phone", "sms_consent")})
    countries = frozenset({"GB"})
    assert sms_skip_reason(lead, "Europe/London", clock.parse_iso(local_time), countries) == reason


def test_sms_outside_the_allowed_countries_is_skipped():
    lead = Lead(
        id="abcdef0123456789abcd",
        email="a@b.example",
        created_at=clock.parse_iso("2026-11-23T09:00:00Z"),
        phone="+442079460958",
        sms_consent=True,
    )
    noon = clock.parse_iso("2026-11-24T12:00:00Z")
    assert sms_skip_reason(lead, "Europe/London", noon, frozenset({"US"})) == "country_not_allowed"


def test_a_broken_fixture_cadence_stops_the_sandbox_with_a_clear_error(tmp_path):
    from leadflow.cadence.model import CadenceFileError

    cadences = tmp_path / "cadences"
    cadences.mkdir()
    (cadences / "every-channel.yaml").write_text(
        textwrap.dedent(EVERY_CHANNEL).replace("day: 3, channel: linkedin", "day: 1, channel: linkedin")
    )
    with pytest.raises(CadenceFileError, match=r"touch 4 \(connect\): day 1 comes before day 2"):
        Sandbox(cadence_dir=cadences, template_dir=tmp_path).__enter__()
