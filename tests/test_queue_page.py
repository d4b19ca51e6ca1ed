"""A rep's queue page (issue 25, item 2): open tasks, overdue first, with the lead's context and
outcome buttons, behind a signed per-rep link that rotates; readable on a 375-px phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from leadflow import keys
from leadflow.config import settings
from leadflow.local.sandbox import Sandbox
from tests.test_console import _scroll_width
from tests.test_report_layout import CHROMIUM

DEMO = {"company": "BigCo", "form": "demo-request"}


def _queue(sb, rep="alex", token=None):
    from leadflow.send.queue import queue_link

    link = queue_link(rep)
    path = link[link.index("/queue/") :]
    if token is not None:
        path = re.sub(r"token=[^&]+", f"token={token}", path)
    return sb.get(path)


def _alex_with_two_calls(sb):
    # One first touch per phone number a day (abuse limits): a number each.
    ann = {**DEMO, "email": "ann@a.example", "first_name": "Ann", "phone": "+1 415 555 0142"}
    sb.post("/leads", json=ann)  # alex: due 15:05
    sb.post("/leads", json={**DEMO, "email": "bo@b.example", "first_name": "Bo", "phone": "+1 415 555 0143"})
    sb.advance_to("2026-11-23T15:20:00Z")
    sb.post("/leads", json={**DEMO, "email": "cy@c.example", "first_name": "Cy", "phone": "+1 415 555 0144"})
    sb.advance_to("2026-11-23T15:22:00Z")


def test_the_queue_lists_open_tasks_overdue_first_and_records_an_outcome_from_the_list():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York
        _alex_with_two_calls(sb)
        # The link reaches the rep in their alerts.
        (alert,) = [n for n in sb.rep_alerts() if n["kind"] == "speed_to_lead" and n["rep"] == "alex"][:1]
        assert "All your open tasks: " in alert["message"] and "/queue/alex?token=" in alert["message"]
        page = _queue(sb)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        text = page.text
        assert "2 open · 1 overdue" in text
        assert text.index("Overdue") < text.index("Ann") < text.index("Coming up") < text.index("Cy")
        assert "Bo" not in text  # Sam's
        assert 'href="tel:+14155550142"' in text and 'href="tel:+14155550144"' in text and "BigCo" in text
        assert "due Mon 23 Nov 10:05 EST (America/New_York)" in text

        (ann_action,) = [a for a in re.findall(r'action="([^"]+)"', text) if "tasks/" in a][:1]
        assert '<button name="outcome" value="no_answer">' in text  # what the posted form sends
        path = "/" + ann_action.replace("&amp;", "&").removeprefix("../")
        done = sb.post(
            path, data="outcome=no_answer", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert done.status_code == 200
        after = _queue(sb).text
        assert "1 open · 0 overdue" in after and "Ann" not in after and "Cy" in after


def test_a_wrong_or_rotated_queue_link_shows_nothing():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        _alex_with_two_calls(sb)
        assert _queue(sb, token="0" * 64).status_code == 403
        sams = keys.queue_token("sam", 1)
        assert _queue(sb, token=sams).status_code == 403  # another rep's link
        # Rotation: a link signed for version 1 no longer opens version 2.
        assert keys.valid_queue_token("alex", 1, keys.queue_token("alex", 1))
        assert not keys.valid_queue_token("alex", 2, keys.queue_token("alex", 1))


def test_raising_a_reps_queue_link_version_closes_the_old_link_and_the_new_one_opens(tmp_path):
    """Rotation through the page itself: the operator raises `queue_link_version` in the config."""
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        _alex_with_two_calls(sb)
        old = keys.queue_token("alex", 1)
        assert _queue(sb, token=old).status_code == 200
        config = yaml.safe_load(Path(settings().config_file).read_text())
        (alex,) = [rep for rep in config["reps"] if rep["id"] == "alex"]
        alex["queue_link_version"] = 2
        rotated = tmp_path / "leadflow.yaml"
        rotated.write_text(yaml.safe_dump(config))
        sb.set_environment({"CONFIG_FILE": str(rotated)})
        assert _queue(sb, token=old).status_code == 403
        page = _queue(sb)  # the link the alerts and digests carry from now on
        assert page.status_code == 200 and "Ann" in page.text
        assert _queue(sb, token=keys.queue_token("alex", 2)).status_code == 200


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
def test_the_queue_fits_375_px():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        _alex_with_two_calls(sb)
        page = _queue(sb).text
    scroll, client = _scroll_width(page, 375)
    assert client == 375 and scroll <= 375, scroll


def _digests(sb):
    """The morning digests SES accepted: (rep, local send time as UTC, message)."""
    return [(m["tags"]["rep"], m["at"], m) for m in sb.outbox() if m["tags"].get("kind") == "digest"]


def test_each_rep_gets_a_morning_digest_email_on_working_days_whose_link_opens_their_queue():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        _alex_with_two_calls(sb)  # Monday: Alex has Ann's and Cy's calls, Sam has Bo's

        def hourly_run(at):
            sb.advance_to(at)
            sb.invoke("sweep", {"audit": True})
            return [(rep, at) for rep, at, _ in _digests(sb)]

        # Tuesday: 06:59 Berlin is too early for Sam; 07:00 is his; 11:59 UTC is 06:59 New York.
        assert hourly_run("2026-11-24T05:59:00Z") == []
        assert hourly_run("2026-11-24T06:00:00Z") == [("sam", "2026-11-24T06:00:00Z")]
        assert hourly_run("2026-11-24T11:59:00Z") == [("sam", "2026-11-24T06:00:00Z")]
        assert hourly_run("2026-11-24T12:00:00Z")[-1] == ("alex", "2026-11-24T12:00:00Z")
        assert len(hourly_run("2026-11-24T13:00:00Z")) == 2  # once a day each
        (digest,) = [m for rep, _, m in _digests(sb) if rep == "alex"]
        assert digest["to"] == "alex@mail.leadflow.example"
        assert digest["subject"] == "Your tasks for today: 2 (2 overdue)"
        assert "2 open tasks for today (2 overdue)" in digest["text"]
        ann = "OVERDUE Mon 23 Nov 10:05 EST (America/New_York): call Ann (BigCo), +14155550142"
        assert ann in digest["text"]
        assert 'href="tel:+14155550142"' in digest["html"]
        assert [n for n in sb.rep_alerts() if n["kind"] == "morning_digest"] == []  # an email, not an alert
        link = re.search(r"Your queue: \S+(/queue/alex\?token=\S+)", digest["text"]).group(1)
        queue = sb.get(link)
        assert queue.status_code == 200 and "Ann" in queue.text and "Cy" in queue.text
        # Thanksgiving (a US holiday): no digest for Alex in New York; a Saturday: none for Sam.
        assert len(hourly_run("2026-11-26T12:00:00Z")) == 2
        assert len(hourly_run("2026-11-28T06:00:00Z")) == 2


def test_the_digest_window_ends_at_09_30_and_a_failed_send_is_retried_within_it():
    from tests.faults import client_error, failing

    with Sandbox(start="2026-11-24T14:30:00Z") as sb:  # Tuesday 09:30 New York, 15:30 Berlin
        sb.invoke("sweep", {"audit": True})
        assert _digests(sb) == []  # both windows are over
    with Sandbox(start="2026-11-24T12:00:00Z") as sb:  # 07:00 New York
        error = client_error("Throttling", "SendEmail", 400)
        with failing("sesv2", "SendEmail", error), pytest.raises(Exception, match="Throttling"):
            sb.invoke("sweep", {"audit": True})
        assert _digests(sb) == []
        sb.advance_to("2026-11-24T13:00:00Z")  # the next hourly run, past the claim's lease
        sb.invoke("sweep", {"audit": True})
        assert [(rep, at) for rep, at, _ in _digests(sb)] == [("alex", "2026-11-24T13:00:00Z")]
        sb.advance_to("2026-11-24T14:00:00Z")
        sb.invoke("sweep", {"audit": True})
        assert len(_digests(sb)) == 1


def test_a_queue_row_shows_the_notes_left_on_the_leads_earlier_tasks():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York
        _alex_with_two_calls(sb)
        ann = sb.find_lead("ann@a.example")
        (speed,) = [t for t in sb.tasks() if t["lead_id"] == ann["id"] and t["touch"] == 0]
        noted = sb.post(
            f"/tasks/{speed['id']}?token={speed['token']}",
            data="outcome=no_answer&note=Assistant+says+call+back+after+3",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert noted.status_code == 200
        assert "Assistant says call back" not in _queue(sb).text  # the noted task left the queue
        sb.advance_to("2026-11-25T15:00:00Z")  # Ann's cadence call (day 2) is open now
        assert [t["touch"] for t in sb.tasks() if t["lead_id"] == ann["id"] and t["status"] == "open"] == [2]
        page = _queue(sb).text
        assert "<dt>Note</dt><dd>Mon 23 Nov 10:22 EST (America/New_York) (no_answer): " in page
        assert "Assistant says call back after 3" in page
        assert '<input name="note"' in page  # a note goes with the outcome recorded from the list


def test_a_queue_row_shows_the_booked_meetings_time_on_the_rep_clock(sb):
    from tests.test_rep_drafts import _booked_with_draft

    _booked_with_draft(sb)  # Casey's meeting: Wednesday 25 Nov 15:00-15:30 UTC, booked, held
    sb.advance_to("2026-12-01T15:00:00Z")  # post-meeting's decision call (day 6) is open, overdue
    page = _queue(sb).text
    assert "<h3>call · due Mon 30 Nov 11:30 EST (America/New_York)</h3>" in page
    assert "<dt>Meeting</dt><dd>Wed 25 Nov 10:00 EST (America/New_York)</dd>" in page


def test_the_recap_draft_row_shows_the_meeting_it_recaps(sb):
    from tests.test_rep_drafts import _booked_with_draft

    _booked_with_draft(sb)  # the recap draft is open in Alex's queue
    page = _queue(sb).text
    draft = page[page.index("email draft · due") :]
    draft = draft[: draft.index("</section>")]
    assert "<dt>Meeting</dt><dd>Wed 25 Nov 10:00 EST (America/New_York)</dd>" in draft


# A company name with no place to break (a pasted domain), as forms get: what pushes a row sideways.
LONG_COMPANY = "BigCoLogisticsInternationalHoldingsNorthAmericaInboundOperations.example"


def _alex_with_every_row_kind(sb):
    """Alex's queue on Wednesday 25 Nov, 12:00 New York: a call overdue with the note left on the
    lead's earlier call, the recap draft (manual_email) of a held meeting, a call coming up for a
    lead whose message is one long pasted URL; every call row has its note field."""
    from tests.test_rep_drafts import _booked_with_draft
    from tests.test_tasks_page import DEMO as DANA

    _alex_with_two_calls(sb)
    ann = sb.find_lead("ann@a.example")
    (speed,) = [t for t in sb.tasks() if t["lead_id"] == ann["id"] and t["touch"] == 0]
    sb.post(
        f"/tasks/{speed['id']}?token={speed['token']}",
        data="outcome=no_answer&note=Assistant+says+call+back+after+3",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    # Owners go round: Ann Alex, Bo Sam, Cy Alex, Eve Sam, Casey Alex, Fay Sam, Dana Alex.
    sb.post("/leads", json={**DEMO, "email": "eve@e.example", "first_name": "Eve"})
    _booked_with_draft(sb)  # Casey's recap draft, due Wednesday 16:30 UTC; now 17:00
    sb.post("/leads", json={**DEMO, "email": "fay@f.example", "first_name": "Fay"})
    sb.post("/leads", json={**DANA, "company": LONG_COMPANY})
    page = _queue(sb).text
    assert "Overdue" in page and "Coming up" in page
    assert "<dt>Note</dt>" in page and '<input name="note"' in page
    assert "email draft · due" in page and "Edit and send, or skip" in page
    assert "inbound-routing-runbook-2026-q4-final" in page and LONG_COMPANY in page
    # A row's context is the task page's: the form, the fit, what was sent and the last answer.
    assert "Request a demo (demo-request)" in page and "Fit</dt><dd>" in page
    assert "): email sent" in page and "Last answer</dt><dd>none yet" in page
    return page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
def test_the_queue_with_every_row_kind_and_the_morning_digest_fit_375_px():
    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        page = _alex_with_every_row_kind(sb)
        sb.advance_to("2026-11-26T12:00:00Z")  # Thanksgiving: no digest for Alex; Friday's then
        sb.advance_to("2026-11-27T12:00:00Z")
        sb.invoke("sweep", {"audit": True})
        (digest,) = [m for rep, _, m in _digests(sb) if rep == "alex" and m["at"] == "2026-11-27T12:00:00Z"]
    scroll, client = _scroll_width(page, 375)
    assert client == 375 and scroll <= 375, scroll
    assert LONG_COMPANY in digest["html"] and 'href="tel:' in digest["html"]
    scroll, client = _scroll_width(digest["html"], 375)
    assert client == 375 and scroll <= 375, scroll
    # Without their styles (no wrapping of long words) both scroll sideways: the measure can fail.
    assert _scroll_width(re.sub(r"<style>.*?</style>", "", page, flags=re.S), 375)[0] > 375
    assert _scroll_width(digest["html"].replace("overflow-wrap:anywhere", ""), 375)[0] > 375
