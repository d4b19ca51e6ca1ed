"""A reply stops the lead's cadence at once, and nothing is sent afterwards."""

from tests.helpers import reply_mime, to_lead


def test_a_reply_after_touch_two_stops_everything(sb):
    lead = {"email": "linus@example.com", "first_name": "Linus", "form": "demo-request"}
    sb.post("/leads", json={**lead, "phone": "+1 415 555 2671", "sms_consent": True})
    lead_id = sb.find_lead("linus@example.com")["id"]
    sb.advance_to("2026-11-24T16:00:00Z")  # touches 2 (call task) and 3 (SMS) ran at 14:00
    assert [message["channel"] for message in sb.outbox()] == ["email", "sms"]
    # The day-2 call is open (touch 0 is the speed-to-lead call a demo request gets at once).
    assert [task["status"] for task in sb.tasks() if task["touch"] == 2] == ["open"]

    sb.deliver_email(reply_mime("Linus <Linus@Example.com>"))

    lead = sb.lead(lead_id)
    assert lead["status"] == "replied"
    enrollment = lead["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", "reply")
    assert enrollment["stopped_after_touch"] == 3
    assert sb.execution(lead_id)["status"] == "ABORTED"
    # No rep should still call a lead who answered; the one open task is to answer them (issue 24).
    assert {task["status"] for task in sb.tasks() if task["touch"] != 99} == {"cancelled"}
    assert [(task["touch"], task["status"]) for task in sb.tasks() if task["touch"] == 99] == [(99, "open")]

    sb.advance(30 * 86400)
    assert len(to_lead(sb, lead_id)) == 2  # (the reply itself was forwarded to the owner)
    assert sorted(task["touch"] for task in sb.tasks()) == [0, 2, 99]


def test_mail_from_an_unknown_sender_changes_nothing(sb):
    sb.post("/leads", json={"email": "known@example.com"})
    lead_id = sb.find_lead("known@example.com")["id"]

    result = sb.deliver_email(reply_mime("stranger@elsewhere.example"))

    assert result == {"outcomes": ["unknown_sender"]}
    assert sb.lead(lead_id)["status"] == "active"
    assert sb.execution(lead_id)["status"] == "RUNNING"
