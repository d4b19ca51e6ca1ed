"""A lead's cadence end to end on the Sandbox: intake, waits, sends, completion."""

from datetime import timedelta

from leadflow.clock import iso, parse_iso

POST_TIME = "2026-11-23T09:00:00Z"
PLAYBOOK_DAYS = [1, 2, 4, 7, 14, 21]


def test_first_touch_is_in_the_outbox_when_the_post_returns(sb):
    sb.advance_to("2026-11-23T10:17:42Z")
    response = sb.post("/leads", json={"email": "ada@example.com", "first_name": "Ada"})

    assert response.status_code == 202
    outbox = sb.outbox()
    assert len(outbox) == 1
    first = outbox[0]
    assert (first["to"], first["touch"], first["channel"]) == ("ada@example.com", 1, "email")
    assert first["at"] == "2026-11-23T10:17:42Z"
    assert first["message_id"]
    assert first["lead_id"] == sb.find_lead("ada@example.com")["id"]


def test_without_a_reply_all_six_touches_go_out_on_their_days_and_the_execution_succeeds(sb):
    sb.post("/leads", json={"email": "grace@example.com", "first_name": "Grace"})
    lead = sb.find_lead("grace@example.com")

    sb.advance_to("2026-12-14T08:59:59Z")  # one second before day 22 would start
    sent = sb.outbox()

    expected = [iso(parse_iso(POST_TIME) + timedelta(days=day - 1)) for day in PLAYBOOK_DAYS]
    assert [message["at"] for message in sent] == expected
    assert [message["touch"] for message in sent] == [1, 2, 3, 4, 5, 6]
    # Six different messages (subjects repeat: follow-ups reply in the first email's thread).
    assert len({message["text"].split("\n-- \n")[0] for message in sent}) == 6
    execution = sb.execution(lead["id"])
    assert execution["status"] == "SUCCEEDED"
    # Two transitions per touch (Wait + Task), touch 1 has no Wait: no polling anywhere.
    assert execution["transitions"] == 2 * 6 - 1
    assert sb.lead(lead["id"])["enrollments_detail"][0]["run_status"] == "completed"


def test_nothing_is_sent_before_its_time(sb):
    sb.post("/leads", json={"email": "early@example.com"})
    sb.advance_to("2026-11-24T08:59:59Z")
    assert len(sb.outbox()) == 1
    sb.advance(1)
    assert [message["touch"] for message in sb.outbox()] == [1, 2]


def test_execution_input_has_ids_only_and_a_readable_name_and_states(sb):
    sb.post(
        "/leads",
        json={"email": "private.person@example.com", "first_name": "Private", "company": "Secret Co"},
    )
    lead = sb.find_lead("private.person@example.com")
    execution = sb.execution(lead["id"])

    assert execution["input"] == {"lead_id": lead["id"], "cadence": "inbound-demo-request", "enrollment": 1}
    assert execution["name"] == f"{lead['id']}-inbound-demo-request-1"
    assert "private" not in lead["id"] and "example" not in lead["id"]
    assert execution["states"][:2] == ["Day 01 · email · intro", "Until Day 02 · email · quick-question"]


def test_lead_ids_are_random_not_derived_from_the_address():
    from leadflow.keys import new_lead_id

    ids = {new_lead_id() for _ in range(1000)}
    assert len(ids) == 1000
