"""Cadence files: the shipped ones load; a broken one fails with one clear error naming file, touch, field."""

import json
import textwrap

import pytest

from leadflow.cadence.model import (
    DEFAULT_CADENCE_DIR,
    CadenceFileError,
    Channel,
    Effort,
    json_schema_text,
    load_cadence,
    load_cadences,
)
from leadflow.cadence.terms import SCHEMA_FILE
from leadflow.cli import main

GOOD = """\
name: fixture
description: A fixture cadence.
window: {weekdays: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", timezone: Europe/Berlin}
touches:
  - {day: 1, channel: email, name: hello}
  - {day: 2, channel: call, name: ring, instruction: Ask about their timeline.}
  - {day: 2, channel: sms, name: text}
  - {day: 4, channel: linkedin, name: connect}
  - {day: 6, channel: video, name: loom}
"""


def _write(tmp_path, text, name="fixture"):
    cadences = tmp_path / "cadences"
    cadences.mkdir(exist_ok=True)
    path = cadences / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    for template in ("hello", "text"):
        target = tmp_path / "templates" / name / f"{template}.j2"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
    return path


def test_the_committed_json_schema_is_in_sync_with_the_models():
    committed = (DEFAULT_CADENCE_DIR / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == json_schema_text(), "run `leadflow schema --write`"
    schema = json.loads(committed)
    assert set(schema["$defs"]["Channel"]["enum"]) == {
        "email",
        "sms",
        "call",
        "linkedin",
        "video",
        "manual_email",
    }
    assert schema["additionalProperties"] is False


def test_leadflow_schema_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "leadflow cadence"


def test_a_good_file_loads_with_defaults_filled_in(tmp_path):
    path = _write(tmp_path, GOOD)
    cadence = load_cadences(path.parent, tmp_path / "templates")["fixture"]

    channels = [Channel.EMAIL, Channel.CALL, Channel.SMS, Channel.LINKEDIN, Channel.VIDEO]
    assert [touch.channel for touch in cadence.touches] == channels
    assert cadence.template(1) == "fixture/hello"
    assert cadence.touch(2).instruction == "Ask about their timeline."
    assert [touch.effort for touch in cadence.touches] == [
        Effort.LOW,
        Effort.MEDIUM,
        Effort.LOW,
        Effort.MEDIUM,
        Effort.HIGH,
    ]
    assert cadence.touch(3).requires_consent is True
    assert cadence.state_name(4) == "Day 04 · linkedin · connect"
    assert not cadence.routable
    assert cadence.window.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("channel: call, name: ring", "channel: fax, name: ring"),
            ["touch 2 (ring)", "field channel", "'sms'"],
        ),
        (
            ("day: 4, channel: linkedin", "day: 1, channel: linkedin"),
            ["touch 4 (connect)", "day 1 comes before day 2"],
        ),
        (("name: loom}", "name: loom, colour: red}"), ["touch 5 (loom)", "field colour", "not permitted"]),
        (("{day: 6,", "{day: 0,"), ["touch 5 (loom)", "field day", "greater than or equal to 1"]),
        (('start: "09:00"', "start: 9:00"), ["field window.start", 'quoted "HH:MM"']),
        (('end: "17:00"', 'end: "08:00"'), ["field window", "start 09:00 must be before end 08:00"]),
        (("Europe/Berlin", "Mars/Olympus"), ["field window.timezone", "not an IANA time zone"]),
        (("name: text}", "name: text, requires_consent: false}"), ["touch 3 (text)", "always require"]),
        (
            ("channel: video, name: loom", "channel: email, name: loom"),
            [],
        ),  # day 6 email: fine, but no template
        (
            ("day: 4, channel: linkedin", "day: 2, channel: email"),
            ["touch 4 (connect)", "already has an automated touch (touch 3)"],
        ),
        (("name: connect", "name: ring"), ["touch 4 (ring)", "name repeats"]),
    ],
)
def test_a_broken_file_names_the_file_the_touch_and_the_field(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))

    with pytest.raises(CadenceFileError) as caught:
        load_cadences(path.parent, tmp_path / "templates")

    message = str(caught.value)
    assert str(path) in message
    if not expected:  # the email touch without a template file
        expected = ["touch 5 (loom)", "field template", "fixture/loom.j2 does not exist"]
    for fragment in expected:
        assert fragment in message


def test_a_missing_email_template_is_an_error_but_a_task_needs_none(tmp_path):
    path = _write(tmp_path, GOOD)
    (tmp_path / "templates" / "fixture" / "hello.j2").unlink()
    with pytest.raises(CadenceFileError, match=r"touch 1 \(hello\), field template"):
        load_cadences(path.parent, tmp_path / "templates")


def test_the_file_name_must_match_the_cadence_name(tmp_path):
    path = _write(tmp_path, GOOD, name="other")
    with pytest.raises(CadenceFileError, match="must match the file name"):
        load_cadence(path)


def test_sms_needs_a_window_that_overlaps_sms_hours(tmp_path):
    text = GOOD.replace('start: "09:00", end: "17:00"', 'start: "21:00", end: "23:00"')
    with pytest.raises(CadenceFileError, match=r"touch 3 \(text\).*08:00-21:00"):
        load_cadence(_write(tmp_path, text))
