"""A reply stops the lead's cadence at once, and nothing is sent afterwards."""

from tests.helpers import reply_mime, to_lead


def test_a_reply_after_touch_two_stops_everything(sb):
    sb.post("/leads", json={"email": "linus@example.com", "first_name": "Linus"})
    lead_id = sb.find_lead("linus@example.com")["id"]
    sb.advance_to("2026-11-24T12:00:00Z")  # touch 2 went out at 09:00
    assert len(sb.outbox()) == 2

    sb.deliver_email(reply_mime("Linus <Linus@Example.com>"))

    lead = sb.lead(lead_id)
    assert lead["status"] == "replied"
    enrollment = lead["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", "reply")
    assert enrollment["stopped_after_touch"] == 2
    assert sb.execution(lead_id)["status"] == "ABORTED"

    sb.advance(30 * 86400)
    assert len(to_lead(sb, lead_id)) == 2  # (the reply itself was forwarded to the owner)


def test_mail_from_an_unknown_sender_changes_nothing(sb):
    sb.post("/leads", json={"email": "known@example.com"})
    lead_id = sb.find_lead("known@example.com")["id"]

    result = sb.deliver_email(reply_mime("stranger@elsewhere.example"))

    assert result == {"outcomes": ["unknown_sender"]}
    assert sb.lead(lead_id)["status"] == "active"
    assert sb.execution(lead_id)["status"] == "RUNNING"
