"""Issue 22, item 7: guards a hand mutation run found unguarded (a one-line change to each passed
every test). Each test here fails under the mutation its docstring names, and passes on the real
code; each scenario runs end to end through the Sandbox and ends with `audit` clean.

- touches.py, `_send_sms`: the phone-suppression check at send time removed -> a number that
  texted STOP, posted again under a new email, gets SMS again. (Also intake/sms_opt_in.py `ask`:
  the same number's double opt-in request, found unguarded by running this file's mutations.)
- guard.py, `Rates.tripped`: the complaint-rate pause (`>=` to `>`, or the check removed).
- guard.py, `Rates.tripped` / `bounce_rate` / `enough` / `rates()`: the bounce threshold exactly
  reached (`>=` to `>`), its denominator (the sends in the window, not `window_sends`, not every
  send ever, not one more or one fewer), and `min_sends` exactly reached.
- enrollment_items.py, `claim_touch`: the stop check in the claim's conditional write removed, and
  the "already claimed" condition removed or loosened.
"""

from __future__ import annotations

import json

import pytest
from faults import before_call

from leadflow.store import enrollment_items

PHONE = "+14155550123"


def _assert_clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


def _texts_to(sb, number: str) -> list[dict]:
    return [entry for entry in sb.outbox() if entry["channel"] == "sms" and entry["to"] == number]


# -- 1. the phone suppression at send time -----------------------------------------------------------


def test_a_number_that_texted_stop_gets_no_sms_when_it_posts_again_under_a_new_email(sb):
    """Guards touches.py `_send_sms`: `if reason is None and lead.phone and suppression(phone)`
    -> `phone_suppressed`. Removed, the new lead's text touch goes to the number that said STOP:
    nothing else stops it (the new lead is active, its email is not suppressed, the claim and the
    send-time re-check look at the enrollment, the lead's status and its email only)."""
    first = {"email": "dana@first.example", "phone": PHONE, "sms_consent": True, "form": "demo-request"}
    assert sb.post("/leads", json=first).status_code == 202
    first_id = sb.find_lead(first["email"])["id"]
    sb.advance(3 * 86400)  # demo-request: touch 3 is a text on day 2
    (text,) = _texts_to(sb, PHONE)
    assert text["lead_id"] == first_id and text["touch"] == 3

    # The number answers STOP: two-way SMS publishes the documented JSON to the inbound topic.
    assert sb.deliver_sms(PHONE, "STOP") == {"outcomes": ["sms_opt_out"]}
    assert sb.lead(first_id)["status"] == "opted_out"

    # Days later (past the one-first-touch-per-phone-a-day limit) the same number posts again
    # under an address we never saw: a new lead, enrolled, its SMS consent ticked again.
    sb.advance(2 * 86400)
    second = {**first, "email": "dana@second.example"}
    assert sb.post("/leads", json=second).status_code == 202
    second_lead = sb.find_lead(second["email"])
    assert second_lead["id"] != first_id and second_lead["status"] == "active"
    assert second_lead["enrollments_detail"][0]["run_status"] == "running"
    sb.advance(30 * 86400)

    assert _texts_to(sb, PHONE) == [text]  # the STOP holds for the number, whatever the email
    touches = {touch["number"]: touch for touch in sb.lead(second_lead["id"])["touches"]}
    assert (touches[3]["channel"], touches[3]["status"], touches[3]["skip_reason"]) == (
        "sms",
        "skipped",
        "phone_suppressed",
    )
    # Email goes on: the STOP suppressed the first address and the number, not the new address.
    emails = [
        entry["touch"]
        for entry in sb.outbox()
        if entry["channel"] == "email" and entry["lead_id"] == second_lead["id"]
    ]
    assert emails[:2] == [1, 4]
    assert not [entry for entry in sb.outbox() if entry["lead_id"] == first_id and entry["touch"] > 3]
    _assert_clean(sb)


def test_a_number_that_texted_stop_gets_no_opt_in_request_when_it_posts_again(sb, tmp_path):
    """Guards intake/sms_opt_in.py `ask`: `if suppression(phone): return False`. Where a number must
    text YES first (abuse.sms_double_opt_in), a post texts it the request at once, outside any
    cadence and its send-time checks. Removed, a number that texted STOP and posts again under a
    new email is texted "reply YES" (found by the mutation run of this file: no test held it)."""
    import yaml

    from leadflow.config import settings

    config = yaml.safe_load(settings().config_file.read_text())
    config["abuse"]["sms_double_opt_in"] = ["GB"]
    (tmp_path / "opt-in.yaml").write_text(yaml.safe_dump(config))
    sb.set_environment({"CONFIG_FILE": str(tmp_path / "opt-in.yaml")})
    gb_phone = "+447400123456"
    first = {"email": "ada@first.example", "phone": gb_phone, "sms_consent": True, "form": "demo-request"}
    assert sb.post("/leads", json=first).status_code == 202
    (request,) = _texts_to(sb, gb_phone)
    assert "reply YES" in request["text"]
    assert sb.deliver_sms(gb_phone, "stop") == {"outcomes": ["sms_opt_out"]}

    sb.advance(2 * 86400)
    second = {**first, "email": "ada@second.example"}
    assert sb.post("/leads", json=second).status_code == 202
    second_id = sb.find_lead(second["email"])["id"]
    assert sb.lead(second_id)["enrollments_detail"][0]["run_status"] == "running"
    sb.advance(3 * 86400)
    assert _texts_to(sb, gb_phone) == [request]
    (touch,) = [touch for touch in sb.lead(second_id)["touches"] if touch["channel"] == "sms"]
    assert touch["status"] == "skipped"
    _assert_clean(sb)


# -- 2 and 3. the reputation guard's thresholds, through SES's own event notifications -------------


def _guard_sandbox(tmp_path, reputation: dict):
    """A Sandbox on the plain six-email cadence (every touch an email, any day, any hour) with this
    reputation guard configuration."""
    import yaml
    from conftest import plain_email_setup

    from leadflow.local import Sandbox

    options = plain_email_setup(tmp_path / "setup")
    config_file = tmp_path / "setup" / "leadflow.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["sending"] = {"reputation": reputation}
    config_file.write_text(yaml.safe_dump(config))
    return Sandbox(start="2026-11-23T09:00:00Z", **options)


def _send_first_touches(sb, count: int) -> list[dict]:
    """`count` leads post (distinct visitors: one IP may post 30 an hour); each gets its first
    email at once. Returns the outbox entries, in sending order."""
    for number in range(count):
        sb.post(
            "/leads",
            json={"email": f"lead{number:03d}@reputation.example", "first_name": "Kim"},
            source_ip=f"198.51.{100 + number // 200}.{number % 200 + 1}",
        )
    sent = [entry for entry in sb.outbox() if entry["channel"] == "email"]
    assert [entry["touch"] for entry in sent] == [1] * count
    return sent


def _ses_event(sb, kind: str, entry: dict) -> None:
    """SES's Bounce (permanent) or Complaint event for a message we sent, as the configuration set
    publishes it (SNS envelope, SQS batch: Sandbox.deliver_ses_event), tagged as our sends are."""
    from leadflow import clock
    from leadflow.local import events

    notification = events.ses_event(
        kind,
        message_id=entry["message_id"],
        recipients=[entry["to"]],
        sent_at=clock.parse_iso(entry["at"]),
        at=sb.now(),
        tags=entry["tags"],
    )
    assert sb.deliver_ses_event(notification) == {"batchItemFailures": []}


def _guard(sb) -> dict:
    from leadflow.send import guard

    return guard.status(sb.now())


def _pause_alerts(sb) -> list[dict]:
    from leadflow.send import guard

    return [alert for alert in sb.ops_alerts() if alert["subject"] == guard.PAUSE_SUBJECT]


def test_complaints_pause_email_exactly_at_the_complaint_rate_and_not_one_complaint_below(tmp_path):
    """Guards guard.py `Rates.tripped`: `complaint_rate >= max_complaint_rate` -> "complaint_rate".
    `>=` to `>` (or the check removed) lets 2 complaints in 40 sends, exactly 5%, through; so does
    dividing by `window_sends` (80) instead of the sends in the window (40), or `enough` turned to
    `sends > min_sends` (40 sends, min_sends 40), or a complaint counted as a bounce. The bounce
    threshold is out of reach: the pause must come from the complaint rate."""
    reputation = {"window_sends": 80, "min_sends": 40, "max_bounce_rate": 0.5, "max_complaint_rate": 0.05}
    with _guard_sandbox(tmp_path, reputation) as sb:
        sent = _send_first_touches(sb, 40)

        _ses_event(sb, "Complaint", sent[0])  # 1 of 40: 2.5%, one complaint below the threshold
        status = _guard(sb)
        assert (status["paused"], status["window_sends"], status["complaints"]) == (False, 40, 1)
        assert _pause_alerts(sb) == []
        # A complaint stops and suppresses its lead whatever the rate.
        assert sb.find_lead(sent[0]["to"])["status"] == "opted_out"

        _ses_event(sb, "Complaint", sent[1])  # 2 of 40: exactly 5.0%: paused at once
        status = _guard(sb)
        assert (status["paused"], status["pause_reason"], status["complaints"]) == (True, "complaint_rate", 2)
        (alert,) = _pause_alerts(sb)
        assert "complaint rate 5.000% (threshold 5.000%)" in alert["message"]

        _assert_clean(sb)
        # Paused: the next day's follow-ups wait (moved, not dropped).
        sb.advance(86400 + 3600)
        assert [entry for entry in sb.outbox() if entry["touch"] > 1] == []


def _bounce_until_paused(sb, sent: list[dict], bounces: int) -> list[tuple[int, bool]]:
    """Permanent bounces for the first `bounces` sends, one at a time: (window sends, paused) after each."""
    seen = []
    for entry in sent[:bounces]:
        _ses_event(sb, "Bounce", entry)
        status = _guard(sb)
        seen.append((status["window_sends"], status["paused"]))
    return seen


def test_bounces_pause_email_at_exactly_5_percent_of_the_sends_in_the_window(tmp_path):
    """Guards guard.py `Rates.tripped`: `bounce_rate >= max_bounce_rate` (5.00%), and what it is
    a rate of. 110 sends, a window of the last 100 (blocks of 10): 4 bounces (4%) go on, the 5th
    (5 of 100, exactly 5.00%) pauses. Killed mutations: `>=` to `>`; the denominator every send
    ever (5 of 110) or one more (5 of 101); `enough` turned to `sends > min_sends` (100 of 100)."""
    reputation = {"window_sends": 100, "min_sends": 100, "max_bounce_rate": 0.05, "max_complaint_rate": 0.5}
    with _guard_sandbox(tmp_path, reputation) as sb:
        sent = _send_first_touches(sb, 110)
        assert _bounce_until_paused(sb, sent, 4) == [(100, False)] * 4
        assert _pause_alerts(sb) == []

        assert _bounce_until_paused(sb, sent[4:], 1) == [(100, True)]
        status = _guard(sb)
        assert (status["pause_reason"], status["bounces"], status["bounce_rate"]) == ("bounce_rate", 5, 0.05)
        (alert,) = _pause_alerts(sb)
        assert (
            "over the last 100 sends the permanent bounce rate is 5.00% (threshold 5.00%)" in alert["message"]
        )
        _assert_clean(sb)


def test_5_bounces_in_101_sends_are_under_5_percent_and_the_6th_pauses(tmp_path):
    """Guards the denominator of guard.py `Rates.bounce_rate` from the other side: 101 sends in a
    window of 200, so 5 bounces are 4.95%, the nearest below 5.00% (no pause), 6 are 5.94%
    (paused). Killed mutations: the denominator one fewer (5 of 100 pauses early), or
    `window_sends` instead of the sends counted (6 of 200 never pauses)."""
    reputation = {"window_sends": 200, "min_sends": 100, "max_bounce_rate": 0.05, "max_complaint_rate": 0.5}
    with _guard_sandbox(tmp_path, reputation) as sb:
        sent = _send_first_touches(sb, 101)
        assert _bounce_until_paused(sb, sent, 6) == [(101, False)] * 5 + [(101, True)]
        (alert,) = _pause_alerts(sb)
        assert "permanent bounce rate is 5.94%" in alert["message"]
        _assert_clean(sb)


# -- 4. the claim's conditional write, end to end -------------------------------------------------


def _table_client():
    from leadflow import aws
    from leadflow.config import settings

    return aws.table(settings().table_name).meta.client


def _claim_of(touch: int):
    """Matches the step's claim of `touch` (enrollment_items.claim_touch's UpdateItem)."""

    def matches(params: dict) -> bool:
        values = params.get("ExpressionAttributeValues", {})
        claimed = "touch_state = :claimed" in params.get("UpdateExpression", "")
        return claimed and values.get(":touch") in (touch, {"N": str(touch)})

    return matches


def test_a_reply_landing_between_the_steps_read_and_its_claim_creates_no_rep_task(sb, monkeypatch):
    """Guards enrollment_items.py `claim_touch`: `run_status = :running AND` in the claim's
    condition. A call touch becomes a rep task with no provider call, so no send-time re-check
    stands behind the claim: removed, the claim succeeds on the stopped enrollment and the rep is
    asked to call a lead who already answered.

    The fault: the step read the enrollment and the lead (running, contactable); the lead's reply
    is delivered (SES receiving -> SNS -> the inbound function) just before the step's claim of
    touch 2 reaches DynamoDB."""
    from leadflow.local.sandbox import LambdaContext, function_name
    from tests.helpers import reply_mime

    # The reply's StopExecution reaches the execution after its step returned (moto cannot abort a
    # Task mid-call: it corrupts the execution); the step must create nothing either way.
    stopped_executions = []
    monkeypatch.setattr("leadflow.cadence.executions.stop", lambda arn, cause: stopped_executions.append(arn))
    email = "reply.before.claim@example.com"
    assert (
        sb.post("/leads", json={"email": email, "first_name": "Ada", "form": "demo-request"}).status_code
        == 202
    )
    lead_id = sb.find_lead(email)["id"]
    (intro,) = [entry for entry in sb.outbox() if entry["lead_id"] == lead_id]
    reply = reply_mime(
        f"Ada <{email}>",
        to=intro["headers"]["Reply-To"],
        subject=f"Re: {intro['subject']}",
        headers={"In-Reply-To": intro["headers"]["Message-ID"]},
    )

    def reply_arrives(params: dict) -> None:
        inbound = sb.handlers["inbound"].lambda_handler
        inbound(sb.inbound_mail_event(reply), LambdaContext(function_name("inbound")))

    with before_call(
        "dynamodb", "UpdateItem", reply_arrives, when=_claim_of(2), client=_table_client()
    ) as hit:
        sb.advance_to("2026-11-25T00:00:00Z")  # touch 2, the discovery call, is due on day 2
    assert len(hit) == 1

    lead = sb.lead(lead_id)
    enrollment = lead["enrollments_detail"][0]
    assert (lead["status"], enrollment["run_status"], enrollment["stop_reason"]) == (
        "replied",
        "stopped",
        "reply",
    )
    assert [task for task in sb.tasks() if task["lead_id"] == lead_id and task["touch"] == 2] == []
    assert [touch["number"] for touch in lead["touches"]] == [1]
    assert (enrollment["last_touch"], enrollment["stopped_after_touch"]) == (1, 1)  # the claim never landed
    assert stopped_executions == [enrollment["execution_arn"]]
    execution = sb.execution(lead_id)
    assert execution["status"] == "SUCCEEDED" and execution["states"][-1].startswith("Stopped")
    sb.advance(30 * 86400)
    assert [entry["touch"] for entry in sb.outbox() if entry["lead_id"] == lead_id] == [1]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_retry_that_ran_while_the_first_attempt_stalled_before_its_claim_is_not_sent_twice(sb, monkeypatch):
    """Guards enrollment_items.py `claim_touch`: `(last_touch < :touch OR (last_touch = :touch AND
    touch_state = :released))` in the claim's condition. Removed or loosened (`<=`, or without
    `touch_state = :released`), the first attempt claims a touch its retry already sent, and the
    lead gets the email twice.

    The fault: the first attempt of touch 2 read the enrollment (touch 2 unclaimed) and stalled
    before its claim; the Task timed out and Step Functions invoked the function again with the
    same payload (a Lambda timeout does not stop the first attempt's process at once). The retry
    claims, sends and records touch 2; then the first attempt's claim reaches DynamoDB. Only the
    claim's condition stands between it and a second send: its pre-checks all passed before the
    retry ran, and the send-time re-check looks at the stop, not at the claim."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    from leadflow import aws
    from leadflow.local.sandbox import function_arn

    # What Lambda was asked to run: the step's payloads, as the state machine sent them.
    payloads: list[str] = []
    serve = LambdaSimpleBackend.invoke

    def recording(self, function_name, qualifier, body, headers, response_headers):
        if function_name.endswith("leadflow-step"):
            payloads.append(body.decode() if isinstance(body, bytes | bytearray) else body)
        return serve(self, function_name, qualifier, body, headers, response_headers)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", recording)
    assert sb.post("/leads", json={"email": "retried@example.com", "first_name": "Ada"}).status_code == 202
    lead_id = sb.find_lead("retried@example.com")["id"]
    retries = []

    def retry_runs_meanwhile(params: dict) -> None:
        answer = aws.client("lambda").invoke(FunctionName=function_arn("step"), Payload=payloads[-1])
        retries.append(json.loads(answer["Payload"].read()))

    claim_2 = _claim_of(2)
    with before_call("dynamodb", "UpdateItem", retry_runs_meanwhile, when=claim_2, client=_table_client()):
        sb.advance_to("2026-11-24T12:00:00Z")  # touch 2 is due at 09:00 on day 2
    assert json.loads(payloads[-1])["touch"] == 2
    assert [retry["outcome"] for retry in retries] == ["sent"]  # the retry sent touch 2

    sent = [entry["touch"] for entry in sb.outbox() if entry["lead_id"] == lead_id]
    assert sent == [1, 2]
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.last_touch, enrollment.touch_state) == (2, "sent")
    assert sb.execution(lead_id)["status"] == "RUNNING"
    sb.advance(30 * 86400)
    assert [entry["touch"] for entry in sb.outbox() if entry["lead_id"] == lead_id] == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)
