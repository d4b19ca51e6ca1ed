"""Rep task outcomes through the signed link: connected stops the cadence; a wrong token changes nothing."""

import pytest

from tests.helpers import rep_alerts

DEMO = {"email": "grace@hopper.example", "first_name": "Grace", "form": "demo-request"}
# Day 2 of the demo-request cadence: 09:00 in New York plus the lead's window-start jitter (< 20 min).
CALL_DUE = "2026-11-24T14:20:00Z"


def cadence_tasks(sb):
    """The cadence's own rep tasks (touch 0 is the speed-to-lead call: tests/test_speed_to_lead.py)."""
    return [task for task in sb.tasks() if task["touch"] > 0]


def _call_task(sb):
    sb.post("/leads", json=DEMO)
    sb.advance_to(CALL_DUE)
    (task,) = cadence_tasks(sb)
    assert (task["channel"], task["status"]) == ("call", "open")
    return sb.find_lead(DEMO["email"])["id"], task


def test_connected_posted_with_its_token_stops_the_cadence(sb):
    lead_id, task = _call_task(sb)
    sent_before = len(sb.outbox())

    response = sb.post(
        f"/tasks/{task['id']}?token={task['token']}", json={"outcome": "connected", "note": "Talked."}
    )

    assert response.status_code == 200
    assert response.json() == {"task_id": task["id"], "status": "connected", "stopped": True}
    lead = sb.lead(lead_id)
    assert lead["status"] == "replied"
    assert (lead["enrollments_detail"][0]["run_status"], lead["enrollments_detail"][0]["stop_reason"]) == (
        "stopped",
        "connected",
    )
    assert sb.execution(lead_id)["status"] == "ABORTED"
    assert sb.task(task["id"])["note"] == "Talked."
    sb.advance(30 * 86400)
    assert len(sb.outbox()) == sent_before
    assert len(cadence_tasks(sb)) == 1


@pytest.mark.parametrize(
    "query",
    ["?token=" + "0" * 64, "", "?token=", "?token=abc", "?tok=" + "0" * 64],
)
def test_a_wrong_or_missing_token_gets_403_and_changes_nothing(sb, query):
    lead_id, task = _call_task(sb)

    response = sb.post(f"/tasks/{task['id']}{query}", json={"outcome": "connected"})
    page = sb.get(f"/tasks/{task['id']}{query}")

    assert (response.status_code, page.status_code) == (403, 403)
    assert "token" in response.json()["message"]
    assert sb.task(task["id"])["status"] == "open"
    assert sb.lead(lead_id)["status"] == "active"
    assert sb.execution(lead_id)["status"] == "RUNNING"


def test_a_token_for_another_task_is_wrong(sb):
    lead_id, task = _call_task(sb)
    other = f"{lead_id}-1-5"  # the LinkedIn task to come, same lead
    other_token = sb.task(task["id"])["token"]
    response = sb.post(f"/tasks/{other}?token={other_token}", json={"outcome": "done"})
    assert response.status_code == 403


def test_no_answer_lets_the_cadence_go_on(sb):
    lead_id, task = _call_task(sb)
    response = sb.post(f"/tasks/{task['id']}?token={task['token']}", json={"outcome": "no_answer"})
    assert response.json() == {"task_id": task["id"], "status": "no_answer", "stopped": False}
    sb.advance_to("2026-12-31T00:00:00Z")
    assert sb.execution(lead_id)["status"] == "SUCCEEDED"
    assert [t["status"] for t in cadence_tasks(sb)] == ["no_answer", "open"]


def test_meeting_booked_stops_the_cadence_and_asks_for_the_time_then_starts_post_meeting_on_it(sb):
    lead_id, task = _call_task(sb)
    link = f"/tasks/{task['id']}?token={task['token']}"
    page = sb.get(link)
    assert 'type="datetime-local" name="meeting_at"' in page.text and "America/New_York" in page.text
    response = sb.post(link, data={"outcome": "meeting_booked", "meeting_at": ""})

    assert response.status_code == 200  # a form post from the task page gets a page back
    assert "text/html" in response.headers["Content-Type"]
    assert "Add the meeting" in response.text
    lead = sb.lead(lead_id)
    assert lead["status"] == "meeting_booked"
    # No time yet: the cadence stopped, post-meeting waits for the meeting's time.
    assert [(e["cadence"], e["run_status"]) for e in lead["enrollments_detail"]] == [
        ("inbound-demo-request", "stopped")
    ]
    assert "no time came with it" in rep_alerts(sb)[-1]["message"]

    # The rep gives the time on the same page, in the lead's local time: 10:00 New York.
    again = sb.post(link, data={"outcome": "meeting_booked", "meeting_at": "2026-12-01T10:00"})
    assert again.status_code == 200
    lead = sb.lead(lead_id)
    assert [(e["cadence"], e["run_status"], e["reason"]) for e in lead["enrollments_detail"]] == [
        ("inbound-demo-request", "stopped", "intake"),
        ("post-meeting", "running", "meeting booked"),
    ]
    post_meeting = lead["enrollments_detail"][-1]
    assert (post_meeting["meeting"]["starts_at"], post_meeting["meeting"]["ends_at"]) == (
        "2026-12-01T15:00:00Z",
        "2026-12-01T15:30:00Z",
    )
    assert post_meeting["schedule"][0] == "2026-12-01T16:30:00Z"  # an hour after it ends
    assert sb.executions(lead_id)[-1]["name"] == f"{lead_id}-post-meeting-2"


def test_a_meeting_time_goes_only_with_meeting_booked(sb):
    _, task = _call_task(sb)
    response = sb.post(
        f"/tasks/{task['id']}?token={task['token']}",
        json={"outcome": "no_answer", "meeting_at": "2026-12-01T10:00:00Z"},
    )
    assert response.status_code == 422


def test_a_final_outcome_cannot_be_changed_but_may_be_repeated(sb):
    _, task = _call_task(sb)
    link = f"/tasks/{task['id']}?token={task['token']}"
    assert sb.post(link, json={"outcome": "connected"}).status_code == 200
    assert sb.post(link, json={"outcome": "connected"}).json()["stopped"] is False
    changed = sb.post(link, json={"outcome": "no_answer"})
    assert changed.status_code == 409
    assert sb.task(task["id"])["status"] == "connected"


@pytest.mark.parametrize(
    ("body", "status"),
    [({"outcome": "maybe"}, 422), ({}, 422), ({"outcome": "done", "note": "x" * 2001}, 422)],
)
def test_invalid_outcomes_get_field_errors(sb, body, status):
    _, task = _call_task(sb)
    response = sb.post(f"/tasks/{task['id']}?token={task['token']}", json=body)
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] in ("outcome", "note")
    assert sb.task(task["id"])["status"] == "open"


def test_the_task_page_shows_the_instruction_and_one_button_per_outcome(sb):
    _, task = _call_task(sb)
    page = sb.get(f"/tasks/{task['id']}?token={task['token']}")
    assert page.status_code == 200
    for outcome in ("done", "no_answer", "voicemail", "connected", "meeting_booked"):
        assert f'value="{outcome}"' in page.text
    assert "offer two slots" in page.text  # the cadence file's instruction


def test_an_unknown_task_with_a_valid_token_is_404(sb):
    from leadflow import keys

    missing = "0123456789abcdef0123-1-2"
    response = sb.post(f"/tasks/{missing}?token={keys.task_token(missing)}", json={"outcome": "done"})
    assert response.status_code == 404


def test_a_reply_cancels_the_open_task(sb):
    from tests.helpers import reply_mime

    _, task = _call_task(sb)
    sb.deliver_email(reply_mime(f"Grace <{DEMO['email']}>"))
    assert sb.task(task["id"])["status"] == "cancelled"


def test_task_answers_carry_no_store_and_no_referrer(sb):
    _, task = _call_task(sb)
    link = f"/tasks/{task['id']}?token={task['token']}"
    answers = [
        sb.get(link),
        sb.get(f"/tasks/{task['id']}?token=" + "0" * 64),
        sb.post(link, json={"outcome": "bogus"}),
        sb.post(link, data={"outcome": "no_answer"}),
    ]
    assert [answer.status_code for answer in answers] == [200, 403, 422, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_a_task_link_expires_after_the_configured_days_with_a_clear_page(sb):
    from leadflow import keys

    _, task = _call_task(sb)
    link = f"/tasks/{task['id']}?token={task['token']}"
    sb.advance(29 * 86400)
    assert sb.get(link).status_code == 200  # day 29 of a 30-day link

    sb.advance(2 * 86400)
    page = sb.get(link)
    assert page.status_code == 410
    assert "This task link has expired: links work for 30 days" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    posted = sb.post(link, json={"outcome": "connected"})
    assert posted.status_code == 410
    assert "expired" in posted.json()["message"]
    form = sb.post(link, data={"outcome": "connected"})
    assert (form.status_code, "text/html" in form.headers["Content-Type"]) == (410, True)
    assert sb.task(task["id"])["status"] == "open"  # nothing changed

    # A link issued three years ago, genuinely signed, is expired; a forged issue time is invalid.
    old = keys.task_token(task["id"], keys.clock.now().replace(year=keys.clock.now().year - 3))
    assert sb.get(f"/tasks/{task['id']}?token={old}").status_code == 410
    issued, _, mac = task["token"].partition(".")
    forged = f"{int(issued) + 40 * 86400}.{mac}"
    assert sb.get(f"/tasks/{task['id']}?token={forged}").status_code == 403
