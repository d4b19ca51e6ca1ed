"""A probable answer that proves nothing pauses the cadence and asks the owner (issue 22, item 1).

Before, a human reply that passed no check for its From (GRAY), or an in-thread reply SES flagged
as spam, was dropped without a word: no stop, no alert, the rep never learned a prospect answered.
Now it is held: the lead's cadence pauses, the owner gets the message with a confirm link (it acts
as the answer) and a dismiss link (the cadence resumes); by itself it stops and suppresses nobody,
and it stays on the lead's record.
"""

from __future__ import annotations

import re

import pytest

from leadflow import keys
from leadflow.answers import held
from leadflow.models import HeldMail
from leadflow.store import event_items, suppression_items
from tests.helpers import rep_alerts, reply_mime, to_lead

pytestmark = pytest.mark.email_cadence

# A sender without SPF, DKIM or DMARC records: nothing fails, nothing passes (SES says GRAY).
GRAY = {"spf": "GRAY", "dkim": "GRAY", "dmarc": "GRAY"}
ADA = "ada@analytical.example"


def _lead(sb, email=ADA):
    sb.post("/leads", json={"email": email, "first_name": "Ada", "company": "Analytical"})
    lead_id = sb.find_lead(email)["id"]
    sb.advance_to("2026-11-24T15:00:00Z")  # touches 1 and 2 went out; 10:00 New York, the owner at work
    return lead_id


def _held_alerts(sb):
    return [alert for alert in rep_alerts(sb) if alert["kind"] == "held_mail"]


def _links(alert):
    """The alert's confirm and dismiss links, by decision."""
    found = re.findall(r"(\S+/held-mail/\S+decision=(confirm|dismiss))", alert["message"])
    return {decision: link for link, decision in found}


def _post(sb, link, decision):
    """The page's button: a form post to the link's path and token."""
    return sb.post(link.partition("&decision=")[0], data={"decision": decision})


def _paused(sb, lead_id):
    lead = sb.lead(lead_id)
    assert lead["status"] == "active", "held mail stops nobody"
    assert [e["run_status"] for e in lead["enrollments_detail"]] == ["running"]
    assert suppression_items.suppression(keys.email_key(lead["email"])) is None, "and suppresses nobody"
    sb.advance(5 * 86400)
    assert [m["touch"] for m in to_lead(sb, lead_id)] == [1, 2], "the cadence waits"


def test_a_gray_reply_pauses_the_cadence_and_the_owner_confirms_it_as_the_reply(sb):
    ada = _lead(sb)
    raw = reply_mime(ADA, body="Yes, Thursday at 10 works for a call.", at=sb.now())

    assert sb.deliver_email(raw, verdicts=GRAY) == {"outcomes": ["held"]}

    [alert] = _held_alerts(sb)
    assert "Yes, Thursday at 10 works" in alert["message"], "the owner reads what they wrote"
    assert alert["lead_id"] == ada
    [event] = [e for e in event_items.events(ada) if e["type"] == "held_mail"]
    assert (event["classified_as"], event["held"], event["matched_by"]) == ("reply", "unproven", "address")
    _paused(sb, ada)

    links = _links(alert)
    page = sb.get(links["confirm"])
    assert page.status_code == 200 and "Thursday at 10" in page.text
    assert 'value="confirm"' in page.text and 'value="dismiss"' not in page.text, "one button: this link's"
    assert sb.lead(ada)["status"] == "active", "opening the page (a link scanner) decides nothing"

    answer = _post(sb, links["confirm"], "confirm")
    assert answer.status_code == 200 and "Confirmed" in answer.text
    assert sb.lead(ada)["status"] == "replied"
    assert sb.lead(ada)["enrollments_detail"][0]["stop_reason"] == "reply"
    assert suppression_items.suppression(keys.email_key(ADA)) is None, "a reply suppresses nothing"

    again = _post(sb, links["dismiss"], "dismiss")
    assert again.status_code == 200 and "Already decided (confirmed)" in again.text
    assert sb.lead(ada)["status"] == "replied", "the first decision wins"
    sb.advance(14 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2]
    report = sb.audit()
    assert report.clean, report.lines()


def test_dismissing_it_resumes_the_cadence_at_once(sb):
    ada = _lead(sb)
    sb.deliver_email(reply_mime(ADA, body="Who is this?", at=sb.now()), verdicts=GRAY)
    [alert] = _held_alerts(sb)
    _paused(sb, ada)

    answer = _post(sb, _links(alert)["dismiss"], "dismiss")

    assert answer.status_code == 200 and "resumes" in answer.text
    sb.advance(2 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2, 3], (
        "touch 3 went out without waiting for the hold"
    )
    assert _post(sb, _links(alert)["dismiss"], "dismiss").text.count("Already decided (dismissed)") == 1
    sb.advance(30 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2, 3, 4, 5, 6]
    report = sb.audit()
    assert report.clean, report.lines()


def test_undecided_the_hold_ends_by_itself(sb):
    ada = _lead(sb)
    sb.deliver_email(reply_mime(ADA, body="Maybe.", at=sb.now()), verdicts=GRAY)
    [hold] = held_mail_of(ada)
    sb.advance_to(hold.paused_until.isoformat().replace("+00:00", "Z"))
    sb.advance(4 * 86400)
    assert len(to_lead(sb, ada)) >= 3, "a forger delays the cadence at most by the hold"
    assert sb.lead(ada)["status"] == "active"
    report = sb.audit()
    assert report.clean, report.lines()


def held_mail_of(lead_id):
    from leadflow.store.items import query_prefix

    return [HeldMail.model_validate(item) for item in query_prefix(lead_id, "HELDMAIL#")]


def test_an_in_thread_reply_flagged_as_spam_is_held_not_dropped(sb):
    ada = _lead(sb)
    second = to_lead(sb, ada)[1]
    raw = reply_mime(
        ADA,
        body="Send me the pricing sheet please.",
        headers={"In-Reply-To": f"<{second['message_id']}@email.amazonses.com>"},
        at=sb.now(),
    )

    assert sb.deliver_email(raw, verdicts={"spam": "FAIL"}) == {"outcomes": ["held"]}

    [alert] = _held_alerts(sb)
    assert "flagged as spam" in alert["message"] and "pricing sheet" in alert["message"]
    _paused(sb, ada)
    [hold] = held_mail_of(ada)
    assert (hold.why, hold.enrollment, hold.touch) == ("spam", 1, 2), "attributed to the touch it answers"
    report = sb.audit()
    assert report.clean, report.lines()


def test_the_same_mail_out_of_our_thread_and_flagged_as_spam_is_only_recorded(sb):
    ada = _lead(sb)
    raw = reply_mime(ADA, body="Buy cheap watches.", at=sb.now())
    assert sb.deliver_email(raw, verdicts={"spam": "FAIL"}) == {"outcomes": ["suspicious"]}
    assert _held_alerts(sb) == []
    sb.advance(2 * 86400)
    assert [m["touch"] for m in to_lead(sb, ada)] == [1, 2, 3], "no pause"


def test_a_held_unsubscribe_confirmed_opts_the_lead_out(sb):
    ada = _lead(sb)
    raw = reply_mime(ADA, subject="unsubscribe", body="Please remove me from your list.", at=sb.now())
    assert sb.deliver_email(raw, verdicts=GRAY) == {"outcomes": ["held"]}
    assert suppression_items.suppression(keys.email_key(ADA)) is None, "not by itself"
    [alert] = _held_alerts(sb)
    assert "asked to unsubscribe" in alert["message"]

    _post(sb, _links(alert)["confirm"], "confirm")

    assert sb.lead(ada)["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key(ADA))["reason"] == "unsubscribe"
    report = sb.audit()
    assert report.clean, report.lines()


def test_a_redelivered_notification_holds_once_and_many_holds_alert_once_a_day(sb):
    ada = _lead(sb)
    raw = reply_mime(ADA, body="Yes.", at=sb.now())
    event = sb.inbound_mail_event(raw, verdicts=GRAY)
    sb.invoke("inbound", event)
    sb.invoke("inbound", event)  # SNS delivers at least once
    assert len(held_mail_of(ada)) == 1
    sb.deliver_email(reply_mime(ADA, body="Also this.", at=sb.now()), verdicts=GRAY)
    assert len(held_mail_of(ada)) == 2, "each one is kept"
    assert len(_held_alerts(sb)) == 1, "a forger cannot flood the owner"


@pytest.mark.parametrize("token", ["", "0" * 64, "wrong"])
def test_a_link_without_its_token_decides_nothing(sb, token):
    ada = _lead(sb)
    sb.deliver_email(reply_mime(ADA, body="Yes.", at=sb.now()), verdicts=GRAY)
    [hold] = held_mail_of(ada)
    assert sb.get(f"/held-mail/{hold.id}?token={token}&decision=confirm").status_code == 403
    answer = sb.post(f"/held-mail/{hold.id}?token={token}", data={"decision": "confirm"})
    assert answer.status_code == 403
    other = f"{ada}-{'0' * 16}"  # a genuine token of another id opens nothing either
    assert (
        sb.post(
            f"/held-mail/{other}?token={keys.held_mail_token(hold.id)}", data={"decision": "confirm"}
        ).status_code
        == 403
    )
    assert sb.lead(ada)["status"] == "active"


def test_a_post_without_a_decision_is_refused(sb):
    ada = _lead(sb)
    sb.deliver_email(reply_mime(ADA, body="Yes.", at=sb.now()), verdicts=GRAY)
    [hold] = held_mail_of(ada)
    link = f"/held-mail/{hold.id}?token={keys.held_mail_token(hold.id)}"
    assert sb.post(link, data={"decision": "delete"}).status_code == 422
    assert sb.post(link, json={"decision": "confirm"}).status_code == 200
    assert sb.lead(ada)["status"] == "replied"


def test_the_hold_lasts_the_documented_bound():
    from datetime import UTC, datetime

    assert held.held_until(datetime(2026, 11, 24, 12, tzinfo=UTC)) == datetime(2026, 12, 4, tzinfo=UTC)
