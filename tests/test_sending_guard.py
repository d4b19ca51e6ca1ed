"""Protect the sender (issue 12): daily caps with warm-up, and the reputation guard's pause."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import yaml

from leadflow import clock
from leadflow.cli import main
from leadflow.operator_config import SendingConfig
from tests import table_calls
from tests.conftest import plain_email_setup

DAY_ONE = "2026-11-23T09:00:00Z"  # a Monday; the plain email cadence sends any day, 00:00-23:59 UTC


def _sandbox(tmp_path, sending: dict):
    """A Sandbox on the plain six-email cadence with this `sending` configuration."""
    from leadflow.local.sandbox import Sandbox

    options = plain_email_setup(tmp_path / "setup")
    config_file = tmp_path / "setup" / "leadflow.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["sending"] = sending
    config_file.write_text(yaml.safe_dump(config))
    return Sandbox(start=DAY_ONE, **options)


def _emails(sb) -> list[dict]:
    return [entry for entry in sb.outbox() if entry["channel"] == "email"]


def test_the_cap_follows_the_warm_up_ramp_then_the_daily_cap():
    sending = SendingConfig.model_validate(
        {
            "daily_cap": 500,
            "domains": {"mail.example": {"warmup": {"started": "2026-11-01", "ramp": [20, 40, 80]}}},
        }
    )
    start = date(2026, 11, 1)
    assert [sending.cap("mail.example", start + timedelta(days=n)) for n in range(5)] == [
        20,
        40,
        80,
        500,
        500,
    ]
    assert sending.cap("MAIL.example", start) == 20
    assert sending.cap("other.example", start) == 500
    assert SendingConfig.model_validate({}).cap("mail.example", start) is None


def test_a_cap_of_50_sends_50_first_touches_a_day_in_arrival_order(tmp_path):
    with _sandbox(tmp_path, {"daily_cap": 50}) as sb:
        arrivals = []
        for number in range(120):  # one lead every 5 minutes, 09:00-18:55 UTC on day one
            email = f"lead{number:03d}@arrivals.example"
            assert sb.post("/leads", json={"email": email, "first_name": "Pat"}).status_code in (
                200,
                201,
                202,
            )
            arrivals.append(email)
            sb.advance(300)
        sb.advance_to("2026-11-27T00:00:00Z")
        emails = _emails(sb)
        audit = sb.audit()
        assert audit.clean, audit.lines()  # nothing lost, sent twice or after a stop

    first = [entry for entry in emails if entry["touch"] == 1]
    # Every lead got its first touch: nothing dropped.
    assert sorted(entry["to"] for entry in first) == sorted(arrivals)
    by_day = Counter(entry["at"][:10] for entry in first)
    assert by_day == {"2026-11-23": 50, "2026-11-24": 50, "2026-11-25": 20}
    # In arrival order, day by day and within each day.
    assert [entry["to"] for entry in sorted(first, key=lambda entry: entry["at"])] == arrivals
    # No day ever sends more than the cap, follow-ups included; follow-ups took what was left.
    all_by_day = Counter(entry["at"][:10] for entry in emails)
    assert max(all_by_day.values()) <= 50
    assert all_by_day["2026-11-25"] == 50  # 20 held first touches, then 30 follow-ups
    # A follow-up never went out on a day a held first touch was still waiting for.
    last_first_day = max(entry["at"][:10] for entry in first)
    assert not [
        e for e in emails if e["touch"] > 1 and e["at"][:10] < "2026-11-25" and e["to"] > arrivals[49]
    ]
    assert last_first_day == "2026-11-25"


def _bounce(sb, entry: dict) -> None:
    sb.deliver_ses_event(
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": entry["to"], "status": "5.1.1"}],
                "timestamp": clock.iso(sb.now()),
                "feedbackId": f"feedback-{entry['message_id']}",
            },
            "mail": {
                "timestamp": entry["at"],
                "messageId": entry["message_id"],
                "source": "alex@mail.leadflow.example",
                "destination": [entry["to"]],
            },
        }
    )


def test_the_guard_pauses_email_within_one_send_and_resume_sends_the_held_in_order(tmp_path, capsys):
    guard = {"reputation": {"window_sends": 40, "min_sends": 20, "max_bounce_rate": 0.05}}
    with _sandbox(tmp_path, guard) as sb, table_calls.recorded_calls("leadflow") as calls:
        for number in range(30):
            sb.post(
                "/leads",
                json={"email": f"early{number:02d}@guard.example", "first_name": "Kim"},
                source_ip=f"198.51.100.{number}",  # distinct visitors: one IP may post 30 an hour
            )
            sb.advance(60)
        sent = _emails(sb)
        assert len(sent) == 30

        _bounce(sb, sent[0])  # 1 of 30: 3.3%, under 5%
        assert main(["sending", "status"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert (status["paused"], status["window_sends"], status["bounces"]) == (False, 30, 1)
        assert not sb.ops_alerts()

        _bounce(sb, sent[1])  # 2 of 30: 6.7% >= 5%: paused at once
        (alert,) = sb.ops_alerts()
        assert "paused" in alert["subject"] and "6.67%" in alert["message"]
        assert "5.00%" in alert["message"]

        # Leads keep coming while paused: accepted, enrolled, nothing sent; nothing is dropped.
        held = []
        for number in range(5):
            email = f"late{number}@guard.example"
            sb.post("/leads", json={"email": email, "first_name": "Lee"}, source_ip=f"203.0.113.{number}")
            held.append(email)
            sb.advance(60)
        sb.advance(2 * 86400)
        assert len(_emails(sb)) == 30
        assert all(sb.find_lead(email)["status"] == "active" for email in held)

        assert main(["sending", "resume"]) == 0
        assert "resumed" in capsys.readouterr().out
        sb.advance(86400)
        after = _emails(sb)[30:]
        resumed_first = [entry["to"] for entry in after if entry["touch"] == 1]
        assert resumed_first == held  # in the order they arrived
        # The 28 un-bounced early leads get their follow-ups too, in order of their first touches.
        follow_ups = [entry["to"] for entry in after if entry["touch"] == 2]
        assert follow_ups == [entry["to"] for entry in sent[2:]]
        assert main(["sending", "resume"]) == 0  # not paused: says so, changes nothing
        assert "not paused" in capsys.readouterr().out
        audit = sb.audit()
        assert audit.clean, audit.lines()
    # What the step and events functions really called is what their roles are granted.
    assert {"step", "events"} <= calls.keys()
    for function, made in calls.items():
        assert made <= table_calls.reachable_actions(function), function
