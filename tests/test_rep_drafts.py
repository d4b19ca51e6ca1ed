"""Steps the rep writes (issue 25, item 5): `channel: manual_email`, on the Sandbox with the real
state machines and the real intake routes.

The story: a lead asks for a demo and gets the first email; a meeting is booked (Calendly's
`invitee.created`); an hour after it ends the post-meeting cadence puts a recap *draft* in the
owner's queue (the execution goes on without waiting); the rep opens it from the queue page,
writes the notes the template left for them, and sends it; the lead gets it in the thread of
the first email, with the compliance footer and one-click unsubscribe. Then the guards: a draft
with its notes slot still open, a double submit, a send after the lead stopped, a forged or stale
link, a GET, a skip, a draft left until the next touch (expired), and the report's outcomes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from leadflow import clock, keys
from leadflow.answers.task_outcomes import find_task
from leadflow.cadence.asl import build_definition
from leadflow.cadence.model import Cadence, CadenceFileError, Channel, check_templates, load_cadences
from leadflow.local.events import ses_event
from leadflow.models import TaskStatus
from leadflow.report.records import TouchState
from leadflow.report.source import dataset_from_items
from leadflow.send import drafts
from leadflow.send.lint import Target
from leadflow.send.queue import queue_link
from leadflow.store import enrollment_items, event_items, suppression_items, task_items
from tests.helpers import reply_mime, to_lead
from tests.test_console import _scroll_width
from tests.test_meeting_clock import EMAIL, _calendly, _deliver
from tests.test_report_layout import CHROMIUM

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOTES = "- You follow up on 400 demo requests a month, by hand.\n- Pilot on the pricing form first."
PARENT_ID = re.compile(r"^<[^@<>\s]+@email\.amazonses\.com>$")  # SES's rewritten Message-ID, us-east-1


def _booked_with_draft(sb):
    """A demo request, a meeting booked for Wednesday 10:00-10:30 New York, and the recap's draft."""
    sb.post(
        "/leads", json={"email": EMAIL, "first_name": "Casey", "company": "Contoso", "form": "demo-request"}
    )
    lead_id = sb.find_lead(EMAIL)["id"]
    sb.advance_to("2026-11-24T16:00:00Z")
    assert _deliver(sb, _calendly("invitee.created", "2026-11-25T15:00:00Z", "2026-11-25T15:30:00Z")) == (
        "meeting_booked"
    )
    sb.advance_to("2026-11-25T17:00:00Z")  # the meeting ended 15:30; the draft is due 16:30
    (draft,) = [task for task in sb.tasks() if task["channel"] == "manual_email"]
    return lead_id, draft


def _path(link: str) -> str:
    return link[link.index("/tasks/") :]


def _post_form(sb, path, **fields):
    return sb.post(path, data=urlencode(fields), headers=FORM)


def _draft_path(draft) -> str:
    return f"/tasks/{draft['id']}/draft?token={keys.task_token(draft['id'])}"


def _post_meeting_mail(sb, lead_id):
    return [m for m in to_lead(sb, lead_id) if m["tags"].get("cadence") == "post-meeting"]


def test_a_booked_meeting_puts_a_recap_draft_in_the_queue_and_the_rep_sends_it_in_the_thread(sb):
    lead_id, draft = _booked_with_draft(sb)
    (first,) = [m for m in to_lead(sb, lead_id) if m["tags"]["cadence"] == "inbound-demo-request"][:1]
    # The draft: the template rendered for the lead, the notes left to the rep, no footer (added at
    # the send), the thread's subject. The execution did not wait for it.
    assert draft["owner"] == "alex" and draft["status"] == "open"
    assert draft["subject"] == f"Re: {first['subject']}"
    assert draft["body"].startswith("Hi Casey,\n\nThank you for the meeting on Wednesday.")
    assert "[[your notes" in draft["body"] and "Unsubscribe" not in draft["body"]
    assert "points we covered" not in draft["body"]
    assert sb.execution(lead_id)["status"] == "RUNNING"
    assert _post_meeting_mail(sb, lead_id) == []  # nothing goes to the lead by itself
    (alert,) = [a for a in sb.rep_alerts() if draft["id"] in a["message"]]
    assert alert["rep"] == "alex" and "Edit and send the draft, or skip it: open http" in alert["message"]
    # A call outcome does not close a draft.
    outcome = sb.post(_path(draft["link"]), json={"outcome": "done"})
    assert outcome.status_code == 409 and sb.task(draft["id"])["status"] == "open"

    # The owner's queue lists it as a draft, linking to its page.
    link = queue_link("alex")
    queue = sb.get(link[link.index("/queue/") :]).text
    assert "email draft" in queue and f"“{draft['subject']}”" in queue
    (href,) = re.findall(r'href="\.\./(tasks/[^"]+)">Edit and send, or skip', queue)
    page = sb.get("/" + href.replace("&amp;", "&"))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<textarea name="body"' in page.text and 'value="send"' in page.text
    (action,) = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    send_path = f"/tasks/{action.replace('&amp;', '&')}"
    assert send_path.startswith(f"/tasks/{draft['id']}/draft?token=")

    # The notes slot still open: refused with the field named, nothing sent.
    unfinished = _post_form(sb, send_path, action="send", subject=draft["subject"], body=draft["body"])
    assert unfinished.status_code == 422 and "body: Value error, write your own text" in unfinished.text
    assert _post_meeting_mail(sb, lead_id) == []

    # The rep writes the notes and sends it through the intake route.
    body = draft["body"].replace(
        "[[your notes: the points you covered and what they asked for, in a few short lines]]", NOTES
    )
    sent = _post_form(sb, send_path, action="send", subject=draft["subject"], body=body)
    assert sent.status_code == 200 and "went to the lead in their thread" in sent.text
    (recap,) = _post_meeting_mail(sb, lead_id)
    headers = recap["headers"]
    # In the first email's thread, as the lead's client sees it: SES's rewritten Message-ID of it.
    parent = f"<{first['message_id']}@email.amazonses.com>"
    assert PARENT_ID.match(parent)
    assert headers["In-Reply-To"] == parent
    assert headers["References"].split()[-1] == parent
    assert recap["subject"] == f"Re: {first['subject']}" and recap["to"] == EMAIL
    assert headers["From"].startswith("Alex Rivera <")
    # The same compliance footer and unsubscribe headers as automatic mail.
    assert NOTES.splitlines()[0] in recap["text"]
    assert "Unsubscribe with one click: http" in recap["text"] and "100 Example Street" in recap["text"]
    assert "Unsubscribe</a> with one click" in recap["html"] and "&lt;" not in recap["html"].split("<p")[0]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe?token=" in headers["List-Unsubscribe"]
    assert recap["tags"] == {"cadence": "post-meeting", "touch": "1", "lead": lead_id, "enrollment": "2"}

    # It counts as a touch, sent; the task says so too.
    touch = enrollment_items.get_touch(lead_id, 2, 1)
    assert (touch.status.value, touch.channel, touch.in_reply_to) == ("sent", "manual_email", parent)
    assert touch.ses_message_id == f"<{recap['message_id']}@email.amazonses.com>"
    assert sb.task(draft["id"])["status"] == "sent"

    # A double submit sends nothing more.
    again = _post_form(sb, send_path, action="send", subject=draft["subject"], body=body)
    assert again.status_code == 409 and "already sent" in again.text
    assert len(_post_meeting_mail(sb, lead_id)) == 1

    # The rest of post-meeting runs; the decision email says nothing about a video it cannot know
    # was recorded (the walkthrough task may be open).
    sb.advance_to("2026-12-20T00:00:00Z")
    decision = [m for m in _post_meeting_mail(sb, lead_id) if m["tags"]["touch"] == "5"]
    assert len(decision) == 1
    assert not re.search(r"walkthrough|video", decision[0]["text"], re.IGNORECASE)
    assert sb.task(f"{lead_id}-2-4")["status"] == "open"  # the video task, never done
    assert sb.execution(lead_id)["status"] == "SUCCEEDED"
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_a_reply_to_the_reps_recap_is_matched_to_it(sb):
    lead_id, draft = _booked_with_draft(sb)
    body = draft["body"].replace(drafts.SLOT.search(draft["body"]).group(0), NOTES)
    assert (
        _post_form(sb, _draft_path(draft), action="send", subject=draft["subject"], body=body).status_code
        == 200
    )
    (recap,) = _post_meeting_mail(sb, lead_id)
    reply = reply_mime(
        EMAIL,
        subject=recap["subject"],
        body="Thanks, that is all of it.",
        headers={"In-Reply-To": f"<{recap['message_id']}@email.amazonses.com>"},
    )
    sb.deliver_email(reply)
    assert sb.lead(lead_id)["status"] == "replied"
    (replied,) = [event for event in event_items.events(lead_id) if event["type"] == "reply"]
    assert (replied["enrollment"], replied["touch"]) == (2, 1), replied
    assert sb.execution(lead_id)["status"] == "ABORTED"  # the reply stopped post-meeting
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_a_skipped_draft_counts_as_a_skipped_touch_and_sends_nothing(sb):
    lead_id, draft = _booked_with_draft(sb)
    skipped = _post_form(sb, _draft_path(draft), action="skip")
    assert skipped.status_code == 200 and "Skipped" in skipped.text
    touch = enrollment_items.get_touch(lead_id, 2, 1)
    assert (touch.status.value, touch.skip_reason) == ("skipped", "rep_skipped")
    late = _post_form(sb, _draft_path(draft), action="send", subject="Recap", body="Hi Casey, notes.")
    assert late.status_code == 409 and "skipped" in late.text
    assert _post_meeting_mail(sb, lead_id) == []
    audit = sb.audit()
    assert audit.clean, audit.lines()


def test_a_draft_never_worked_expires_when_the_next_touch_runs(sb):
    lead_id, draft = _booked_with_draft(sb)
    next_at = clock.parse_iso(sb.lead(lead_id)["enrollments_detail"][-1]["schedule"][1])
    sb.advance_to(next_at - timedelta(minutes=5))
    assert sb.task(draft["id"])["status"] == "open"  # one moment before: still the rep's to send
    sb.advance_to(next_at + timedelta(minutes=5))
    assert sb.task(draft["id"])["status"] == "expired"
    touch = enrollment_items.get_touch(lead_id, 2, 1)
    assert (touch.status.value, touch.skip_reason) == ("skipped", "expired")
    late = _post_form(sb, _draft_path(draft), action="send", subject="Recap", body="Hi Casey, notes.")
    assert late.status_code == 409 and "expired" in late.text
    assert [m["tags"]["touch"] for m in _post_meeting_mail(sb, lead_id)] == ["2"]


def _stop_by_unsubscribe(sb, lead_id):
    (first, *_) = to_lead(sb, lead_id)
    path = re.search(r"<https?://[^>]+(/unsubscribe\?token=[a-z2-7]+)>", first["headers"]["List-Unsubscribe"])
    assert sb.post(path.group(1), data="List-Unsubscribe=One-Click", headers=FORM).status_code == 200


def _stop_by_reply(sb, lead_id):
    (first, *_) = to_lead(sb, lead_id)
    sb.deliver_email(
        reply_mime(
            EMAIL,
            body="We went with another vendor.",
            headers={"In-Reply-To": first["headers"]["Message-ID"]},
        )
    )


def _stop_by_bounce(sb, lead_id):
    (first, *_) = to_lead(sb, lead_id)
    sb.deliver_ses_event(
        ses_event(
            "Bounce",
            message_id=first["message_id"],
            recipients=[EMAIL],
            sent_at=sb.now(),
            at=sb.now(),
            tags={"cadence": "inbound-demo-request", "touch": "1"},
        )
    )


@pytest.mark.parametrize("stop", [_stop_by_unsubscribe, _stop_by_reply, _stop_by_bounce])
def test_a_draft_is_never_sent_after_the_lead_stopped(sb, stop):
    lead_id, draft = _booked_with_draft(sb)
    stop(sb, lead_id)
    assert sb.lead(lead_id)["status"] != "active"
    body = draft["body"].replace(drafts.SLOT.search(draft["body"]).group(0), NOTES)
    refused = _post_form(sb, _draft_path(draft), action="send", subject=draft["subject"], body=body)
    assert refused.status_code == 409 and re.search("nothing was sent", refused.text, re.IGNORECASE)
    assert _post_meeting_mail(sb, lead_id) == []


def test_the_send_checks_the_lead_itself_even_when_the_stop_left_the_draft_open(sb, monkeypatch):
    """Fault: the stop's task cancellation is lost (the draft stays open). The send's own checks
    (status, suppression) still refuse it, and close the draft."""
    lead_id, draft = _booked_with_draft(sb)
    monkeypatch.setattr(task_items, "cancel_open_tasks", lambda lead_id, at: [])
    _stop_by_unsubscribe(sb, lead_id)
    assert sb.task(draft["id"])["status"] == "open"
    body = draft["body"].replace(drafts.SLOT.search(draft["body"]).group(0), NOTES)
    refused = _post_form(sb, _draft_path(draft), action="send", subject=draft["subject"], body=body)
    assert refused.status_code == 409 and "The lead is opted_out" in refused.text
    assert _post_meeting_mail(sb, lead_id) == []


def test_a_suppressed_address_is_refused_while_the_lead_still_reads_active(sb):
    lead_id, draft = _booked_with_draft(sb)
    suppression_items.suppress(keys.email_key(EMAIL), "bounce", sb.now())  # e.g. bounced from another list
    refused = _post_form(
        sb, _draft_path(draft), action="send", subject=draft["subject"], body="Hi Casey, notes."
    )
    assert refused.status_code == 409 and "suppressed" in refused.text
    assert _post_meeting_mail(sb, lead_id) == []


def test_two_sends_racing_on_the_same_open_draft_send_one_email(sb):
    """Both read the draft open; the conditional write lets one through."""
    lead_id, draft = _booked_with_draft(sb)
    seen_open = find_task(draft["id"])  # what the second request read before the first one sent
    first = drafts.send_draft(seen_open, "Recap", "Hi Casey,\n\nNotes.")
    assert first.status is TaskStatus.SENT
    with pytest.raises(drafts.Refused) as second:
        drafts.send_draft(seen_open, "Recap", "Hi Casey,\n\nNotes.")
    assert second.value.status == 409 and "already sent" in second.value.message
    assert len(_post_meeting_mail(sb, lead_id)) == 1


def test_forged_stale_or_wrong_method_links_are_refused_with_4xx_and_send_nothing(sb, monkeypatch):
    lead_id, draft = _booked_with_draft(sb)
    fields = {"action": "send", "subject": "Recap", "body": "Hi Casey, notes."}
    forged = f"/tasks/{draft['id']}/draft?token={'1' * 10}.{'0' * 64}"
    assert _post_form(sb, forged, **fields).status_code == 403
    assert _post_form(sb, f"/tasks/{draft['id']}/draft", **fields).status_code == 403  # no token
    other = f"/tasks/{draft['id']}/draft?token={keys.task_token(lead_id + '-2-2')}"  # another task's
    assert _post_form(sb, other, **fields).status_code == 403
    days = 30  # operator config tasks.link_expiry_days (default)
    issued = sb.now() - timedelta(days=days, seconds=1)
    stale = f"/tasks/{draft['id']}/draft?token={keys.task_token(draft['id'], issued)}"
    expired = _post_form(sb, stale, **fields)
    assert expired.status_code == 410 and "expired" in expired.text
    unknown = "ffffffffffffffffffff-2-1"
    assert (
        _post_form(sb, f"/tasks/{unknown}/draft?token={keys.task_token(unknown)}", **fields).status_code
        == 404
    )
    # GET never sends (mail scanners open links): the route is POST only; the page GET shows the form.
    assert sb.get(_draft_path(draft)).status_code in (404, 405)
    assert sb.get(_path(draft["link"])).status_code == 200
    assert _post_meeting_mail(sb, lead_id) == []
    # One second younger than the expiry still sends.
    fresh = f"/tasks/{draft['id']}/draft?token={keys.task_token(draft['id'], issued + timedelta(seconds=2))}"
    assert _post_form(sb, fresh, **fields).status_code == 200
    assert len(_post_meeting_mail(sb, lead_id)) == 1


def test_the_draft_post_is_validated_field_by_field(sb):
    lead_id, draft = _booked_with_draft(sb)
    path = _draft_path(draft)

    def errors(document):
        response = sb.post(path, json=document)
        assert response.status_code == 422, response.text
        return {error["field"]: error["message"] for error in response.json()["errors"]}

    assert "action" in errors({"subject": "Recap", "body": "Hi"})
    assert "action" in errors({"action": "publish", "subject": "Recap", "body": "Hi"})
    assert "subject" in errors({"action": "send", "subject": "x" * 201, "body": "Hi"})
    assert "body" in errors({"action": "send", "subject": "Recap", "body": "x" * 10_001})
    assert errors({"action": "send", "subject": "Recap", "body": "  "}) == {
        "body": "the body may not be empty"
    }
    assert errors({"action": "send", "subject": "", "body": "Hi"}) == {
        "subject": "the subject may not be empty"
    }
    slot = errors({"action": "send", "subject": "Recap", "body": "Hi [[ notes ]] bye"})
    assert slot["body"].endswith("write your own text in place of [[notes]] before sending")
    assert sb.post(path, data="not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert _post_meeting_mail(sb, lead_id) == []
    # At the limits it goes (a 200-character subject, a 10,000-character body).
    ok = sb.post(path, json={"action": "send", "subject": "x" * 200, "body": "y" * 10_000})
    assert ok.status_code == 200 and ok.json()["status"] == "sent"
    assert len(_post_meeting_mail(sb, lead_id)) == 1


def test_the_report_counts_each_draft_by_how_it_ended():
    """Sent, skipped by the rep, expired unworked: a touch each, with the outcome, due when the draft
    was handed over (the post-meeting recap's 24 hours count from it); an open one apart."""
    due, worked = "2026-11-25T16:30:00Z", "2026-11-27T10:00:00Z"

    def touch(number, status, at=due, **fields):
        return {
            "sk": f"TOUCH#002#{number:02d}",
            "lead_id": "l1",
            "enrollment": 2,
            "number": number,
            "channel": "manual_email",
            "status": status,
            "sent_at": at,
            **fields,
        }

    def task(number, status):
        return {
            "sk": f"TASK#002#{number:02d}",
            "lead_id": "l1",
            "enrollment": 2,
            "touch": number,
            "channel": "manual_email",
            "status": status,
            "due_at": due,
            "outcome_at": None if status == "open" else worked,
        }

    items = [
        touch(1, "sent", worked),
        task(1, "sent"),
        touch(2, "skipped", worked, skip_reason="rep_skipped"),
        task(2, "skipped"),
        touch(3, "skipped", worked, skip_reason="expired"),
        task(3, "expired"),
        touch(4, "task"),
        task(4, "open"),
        touch(5, "task"),  # the touch record's update was lost: the task tells
        task(5, "sent"),
        touch(6, "sent", worked),  # the task item is gone: the touch record tells
    ]
    dataset = dataset_from_items(items)
    found = {
        r.number: (r.state, r.outcome, clock.iso(r.at), r.due and clock.iso(r.due)) for r in dataset.touches
    }
    assert found == {
        1: (TouchState.SENT, "sent", worked, due),
        2: (TouchState.SKIPPED, "skipped", worked, due),
        3: (TouchState.SKIPPED, "expired", worked, due),
        4: (TouchState.TASK_OPEN, None, due, due),
        5: (TouchState.SENT, "sent", worked, due),
        6: (TouchState.SENT, "sent", worked, None),
    }


def test_a_manual_step_costs_the_state_machine_what_an_email_step_does():
    """The execution never waits on the rep: the same states and transitions as with an email there."""
    cadence = load_cadences()["post-meeting"]
    assert cadence.touch(1).channel is Channel.MANUAL_EMAIL
    as_email = cadence.model_copy(
        update={
            "touches": (cadence.touch(1).model_copy(update={"channel": Channel.EMAIL}), *cadence.touches[1:])
        }
    )

    def shape(definition):
        return [
            (state["Type"], sorted(k for k in state if k != "Comment"))
            for state in definition["States"].values()
        ]

    arn = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-step"
    assert shape(build_definition(cadence, arn)) == shape(build_definition(as_email, arn))


def test_a_manual_email_needs_its_template_and_takes_no_variants(tmp_path):
    base = {
        "name": "x-cadence",
        "description": "d",
        "touches": [{"day": 1, "channel": "manual_email", "name": "recap"}],
    }
    cadence = Cadence.model_validate(base)
    assert cadence.touch(1).effort.value == "medium" and not cadence.touch(1).automated
    with pytest.raises(CadenceFileError, match=r"recap\.j2 does not exist"):
        check_templates(cadence, tmp_path / "x-cadence.yaml", tmp_path)
    arms = [{"name": "a"}, {"name": "b", "subject": "Other"}]
    with pytest.raises(ValueError, match="new_thread and subject variants are for emails only"):
        Cadence.model_validate({**base, "touches": [{**base["touches"][0], "variants": arms}]})
    arms = [{"name": "a"}, {"name": "b", "template": "x-cadence/other"}]
    with pytest.raises(ValueError, match="a rep writes a manual_email; no variants"):
        Cadence.model_validate({**base, "touches": [{**base["touches"][0], "variants": arms}]})
    # The lint reads the draft as the email it becomes.
    assert Target(load_cadences()["post-meeting"], 1).channel == "email"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")
def test_the_draft_page_fits_375_px(sb):
    _lead_id, draft = _booked_with_draft(sb)
    page = sb.get(_path(draft["link"])).text
    assert '<textarea name="body"' in page
    scroll, client = _scroll_width(page, 375)
    assert client == 375 and scroll <= 375, scroll


def test_a_stop_that_lands_after_the_claim_is_still_caught_before_ses(sb, monkeypatch):
    """Fault: the lead unsubscribes between the draft's claim and the SES call (the stop's task
    cancellation finds the draft `sending`, not open, and leaves it). The re-check after the claim
    refuses the send and closes the draft as cancelled."""
    lead_id, draft = _booked_with_draft(sb)
    claim = task_items.claim_draft

    def claim_then_stop(*args, **kwargs):
        claimed = claim(*args, **kwargs)
        _stop_by_unsubscribe(sb, lead_id)
        return claimed

    monkeypatch.setattr(task_items, "claim_draft", claim_then_stop)
    body = draft["body"].replace(drafts.SLOT.search(draft["body"]).group(0), NOTES)
    refused = _post_form(sb, _draft_path(draft), action="send", subject=draft["subject"], body=body)
    assert refused.status_code == 409 and "The lead is opted_out" in refused.text
    assert _post_meeting_mail(sb, lead_id) == []
    assert sb.task(draft["id"])["status"] == "cancelled"


def test_a_send_interrupted_after_the_ses_call_stays_in_doubt_and_the_audit_flags_it(sb, monkeypatch):
    """Fault at the adapter: SES's answer is lost (a read timeout). The draft is neither resent nor
    reopened; the page says so; `leadflow audit` flags it once its bound has passed."""
    from botocore.exceptions import ReadTimeoutError

    from leadflow.cadence.audit import DRAFT_SEND_BOUND
    from leadflow.send import mail

    lead_id, draft = _booked_with_draft(sb)

    def lost(message, tags):
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    monkeypatch.setattr(mail, "send", lost)
    fields = {"action": "send", "subject": draft["subject"], "body": "Hi Casey,\n\nNotes."}
    interrupted = _post_form(sb, _draft_path(draft), **fields)
    assert interrupted.status_code == 503 and "may have gone out" in interrupted.text
    assert sb.task(draft["id"])["status"] == "sending"
    monkeypatch.undo()
    again = _post_form(sb, _draft_path(draft), **fields)
    assert again.status_code == 409 and "being sent" in again.text
    assert _post_meeting_mail(sb, lead_id) == []
    sb.advance(DRAFT_SEND_BOUND.total_seconds())
    assert sb.audit().breach_counts()["draft_in_doubt"] == 0  # at the bound: still settling
    sb.advance(1)
    (breach,) = [b for b in sb.audit().breaches if b.invariant == "draft_in_doubt"]
    assert (breach.lead_id, breach.enrollment) == (lead_id, 2) and draft["id"] in breach.detail
