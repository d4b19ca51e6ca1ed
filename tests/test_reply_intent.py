"""Issue 24 end to end: what a human reply says decides what happens next (Sandbox, raw MIME).

Every reply is written as the lead's mail client sends it: in thread to touch 1 (In-Reply-To its
SES Message-ID), the writer's words on top, the client's attribution line in the writer's
language, and touch 1 quoted below it, footer and unsubscribe link included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from bench.intent import ATTRIBUTION  # each language's attribution line above the quote
from leadflow import keys
from leadflow.answers import reply_actions
from leadflow.answers.intent import Intent
from leadflow.cadence import enrollments
from leadflow.cadence.enrollments import EnrollmentRefused, enroll
from leadflow.models import Lead
from leadflow.store import event_items, lead_items, suppression_items
from tests.helpers import rep_alerts, to_lead

pytestmark = pytest.mark.email_cadence

REMOVE_ME = {
    "en": "Please remove me from your list.",
    "de": "Bitte tragen Sie mich aus Ihrem Verteiler aus.",
    "fr": "Merci de me retirer de votre liste, je ne souhaite plus recevoir vos messages. Désinscrivez-moi.",
    "es": "Por favor, denme de baja de su lista.",
    "pt": "Por favor, me remova da sua lista de e-mails.",
    "nl": "Graag afmelden, ik wil geen mails meer ontvangen.",
    "it": "Per favore rimuovetemi dalla vostra lista.",
    "ja": "今後のメール配信は不要です。配信停止をお願いします。",
}


def _post(sb, email: str, **fields) -> dict:
    sb.post("/leads", json={"email": email, "first_name": "Kim", **fields})
    return sb.find_lead(email)


def _reply_to_touch_1(sb, lead: dict, body: str, language: str = "en", name: str = "Kim Lee") -> bytes:
    """A reply in thread to touch 1, quoting it whole (its footer's unsubscribe link too)."""
    first = to_lead(sb, lead["id"])[0]
    message = EmailMessage()
    message["From"] = f"{name} <{lead['email']}>"
    message["To"] = "alex@mail.leadflow.example"
    message["Subject"] = "Re: " + first["subject"]
    message["Date"] = format_datetime(sb.now())
    message["Message-ID"] = f"<reply-{lead['id']}@mail.example.net>"
    message["In-Reply-To"] = f"<{first['message_id']}@email.amazonses.com>"
    quoted = "\n".join(f"> {line}" for line in first["text"].splitlines())
    message.set_content(f"{body}\n\n{ATTRIBUTION[language]}\n{quoted}\n")
    return message.as_bytes()


def _answered(sb, email: str, body: str, language: str = "en", **fields) -> dict:
    lead = _post(sb, email, **fields)
    sb.advance(3600)
    sb.deliver_email(_reply_to_touch_1(sb, lead, body, language))
    return sb.find_lead(email)


def _reply_event(lead_id: str) -> dict:
    return next(event for event in event_items.events(lead_id) if event["type"] in ("reply", "unsubscribe"))


@pytest.mark.parametrize("language", sorted(REMOVE_ME))
def test_remove_me_in_each_language_opts_out_like_the_link_and_a_later_post_does_not_re_enroll(sb, language):
    lead = _answered(sb, f"remove-{language}@example.com", REMOVE_ME[language], language)

    assert lead["status"] == "opted_out"
    assert (lead["reply_intent"], lead["reply_intent_by"]) == ("unsubscribe", "rules")
    assert lead["reply_intent_line"] in REMOVE_ME[language]
    assert suppression_items.suppression(keys.email_key(lead["email"]))
    assert _reply_event(lead["id"])["intent"] == "unsubscribe"
    sb.advance(60 * 86400)  # past the re-enrollment cooldown
    _post(sb, lead["email"])
    again = sb.find_lead(lead["email"])
    assert (again["status"], again["enrollments"]) == ("opted_out", 1)
    assert len(to_lead(sb, lead["id"])) == 1


def test_a_positive_reply_alerts_the_owner_as_hot_with_a_task_due_in_five_minutes(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # inside the owner's hours (09:00-17:00 New York)
    lead = _answered(sb, "yes@example.com", "Sounds good, send me an invite for Thursday.")

    assert (lead["status"], lead["reply_intent"]) == ("replied", "interested")
    assert lead["reply_intent_line"] == "Sounds good, send me an invite for Thursday."
    (alert,) = [alert for alert in rep_alerts(sb) if alert["kind"] == "hot_reply"]
    assert "Intent: interested" in alert["message"] and "Answer within 5 minutes" in alert["message"]
    (task,) = [task for task in sb.tasks() if task["touch"] == reply_actions.REPLY_TOUCH]
    replied_at = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert datetime.fromisoformat(task["due_at"]) == replied_at + timedelta(minutes=5)
    assert task["status"] == "open"


def test_a_question_in_japanese_is_a_hot_reply(sb):
    lead = _answered(sb, "q@example.jp", "料金はいくらでしょうか？", "ja")
    assert lead["reply_intent"] == "question"
    assert [alert["kind"] for alert in rep_alerts(sb) if alert["lead_id"] == lead["id"]][-1] == "hot_reply"


@pytest.mark.parametrize(
    ("language", "body", "day"),
    [
        ("en", "Not right now. Circle back in March and we can talk.", "2027-03-01"),
        ("de", "Im Moment nicht, melden Sie sich bitte nach Neujahr wieder.", "2027-01-07"),
        ("es", "Ahora no es buen momento. Escríbeme dentro de seis meses.", "2027-05-23"),
        ("en", "I'm traveling until the 14th, let's talk after.", "2026-12-15"),
    ],
)
def test_not_now_snoozes_to_the_day_named_in_the_leads_zone_and_mails_on_it_not_before(
    sb, language, body, day
):
    lead = _answered(sb, f"later-{language}@example.com", body, language, timezone="Europe/Berlin")

    assert (lead["reply_intent"], lead["snoozed_until"]) == ("not_now", day)
    (snooze,) = [e for e in lead["enrollments_detail"] if e["reason"] == reply_actions.NOT_NOW_REASON]
    assert (snooze["cadence"], snooze["zone"]) == ("not-now", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    starts = datetime.fromisoformat(day).replace(tzinfo=berlin)
    sb.advance_to(starts - timedelta(seconds=1))
    assert len(to_lead(sb, lead["id"])) == 1, "nothing goes out before the day they named"
    sb.advance_to(starts + timedelta(days=7))
    again = [m for m in to_lead(sb, lead["id"]) if m["tags"].get("cadence") == "not-now"]
    assert len(again) == 1
    sent = datetime.fromisoformat(again[0]["at"]).astimezone(berlin)
    # On that day, or the first weekday of the cadence's window after it.
    assert timedelta(0) <= sent.date() - starts.date() < timedelta(days=4)
    assert sb.audit().clean


def test_not_now_without_a_day_snoozes_for_the_re_engagement_interval(sb):
    lead = _answered(sb, "vague@example.com", "Not a priority right now, sorry.")
    assert lead["reply_intent"] == "not_now"
    assert lead["snoozed_until"] == "2027-02-21"  # 23 November + 90 days (reengagement.after_days)


def test_a_referral_records_the_person_alerts_the_owner_and_never_mails_them(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    lead = _answered(
        sb,
        "ref@acme.example",
        "I'm not the right person. Talk to Maria García (maria.garcia@acme.example), she runs ops.",
    )

    assert lead["reply_intent"] == "referral"
    assert lead["referral"] == {"name": "Maria García", "email": "maria.garcia@acme.example"}
    alert = [alert for alert in rep_alerts(sb) if alert["lead_id"] == lead["id"]][-1]
    assert (
        "maria.garcia@acme.example" in alert["message"] and "Never mailed automatically" in alert["message"]
    )
    (task,) = [task for task in sb.tasks() if task["touch"] == reply_actions.REPLY_TOUCH]
    assert "Maria García <maria.garcia@acme.example>" in task["instruction"]
    sb.advance(30 * 86400)
    assert not [m for m in sb.outbox() if "maria" in str(m.get("to", "")).lower()]
    assert sb.find_lead("maria.garcia@acme.example") is None
    assert _reply_event(lead["id"])["intent"] == "referral"


def test_wrong_person_stops_and_no_automated_cadence_enrolls_them_again(sb):
    lead = _answered(sb, "wrong@example.com", "Sorry, wrong person. I don't handle marketing tools.")
    assert (lead["status"], lead["reply_intent"]) == ("replied", "wrong_person")
    with pytest.raises(EnrollmentRefused, match="wrong person"):
        enroll(lead["id"], "re-engagement", "re-engagement")
    sb.advance(60 * 86400)
    assert len(to_lead(sb, lead["id"])) == 1


def test_not_interested_stops_without_a_break_up_and_holds_re_engagement_for_the_quiet_period(sb):
    lead = _answered(sb, "no@example.com", "Thanks, but we're not interested.")
    assert (lead["status"], lead["reply_intent"]) == ("replied", "not_interested")
    with pytest.raises(EnrollmentRefused, match="not interested"):
        enroll(lead["id"], "re-engagement", "re-engagement")
    sb.advance(30 * 86400)
    assert len(to_lead(sb, lead["id"])) == 1, "no break-up"


def test_the_not_interested_hold_ends_exactly_after_the_quiet_period(sb):
    replied = datetime(2026, 11, 23, 10, tzinfo=UTC)
    lead = Lead(
        id="a" * 20,
        email="no@example.com",
        created_at=replied,
        reply_intent="not_interested",
        reply_at=replied,
    )
    quiet = timedelta(days=180)  # answers.not_interested_quiet_days, default
    assert enrollments.reply_hold(lead, replied + quiet - timedelta(seconds=1))
    assert enrollments.reply_hold(lead, replied + quiet) is None
    assert enrollments.reply_hold(lead.model_copy(update={"reply_intent": "interested"}), replied) is None


def test_a_quoted_footer_unsubscribe_link_does_not_count(sb):
    lead = _answered(sb, "quoted@example.com", "Happy to chat, Thursday works.")
    first = to_lead(sb, lead["id"])[0]
    assert "unsubscribe" in first["text"].lower(), "touch 1's footer (quoted in the reply) names it"
    assert (lead["status"], lead["reply_intent"]) == ("replied", "interested")
    assert not suppression_items.suppression(keys.email_key(lead["email"]))


def test_an_ambiguous_reply_goes_to_the_rep_and_opts_nobody_out(sb):
    lead = _answered(sb, "maybe@example.com", "If these keep coming I will unsubscribe.")
    assert lead["status"] == "replied"
    assert (lead["reply_intent"], lead["reply_intent_by"]) == ("question", "unsure")
    assert not suppression_items.suppression(keys.email_key(lead["email"]))
    assert [alert["kind"] for alert in rep_alerts(sb) if alert["lead_id"] == lead["id"]][-1] == "hot_reply"


def test_the_intent_is_stored_with_the_reply_event(sb):
    lead = _answered(sb, "event@example.com", "Not interested, thanks.")
    event = _reply_event(lead["id"])
    assert (event["type"], event["intent"], event["intent_by"]) == ("reply", "not_interested", "rules")
    assert lead_items.get_lead(lead["id"]).reply_intent == Intent.NOT_INTERESTED.value


def test_lead_show_and_the_console_show_the_intent_its_line_and_the_snooze_day(sb, capsys):
    import json

    from leadflow.cli import main
    from leadflow.local.serve import console_page

    lead = _answered(sb, "show@example.com", "Not now. Circle back in March.")
    assert main(["lead", "show", lead["email"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["lead"]
    assert (shown["reply_intent"], shown["reply_intent_line"], shown["snoozed_until"]) == (
        "not_now",
        "Not now. Circle back in March.",
        "2027-03-01",
    )
    assert main(["lead", "show", lead["email"]]) == 0
    assert 'reply: not_now (by rules)  "Not now. Circle back in March."  snoozed until 2027-03-01' in (
        capsys.readouterr().out
    )
    page = console_page(sb)
    assert "<b>not_now</b>" in page and "snoozed until 2027-03-01" in page


def _correction_link(sb, lead_id: str) -> str:
    import re

    alert = [alert for alert in rep_alerts(sb) if alert["lead_id"] == lead_id][-1]
    return re.search(r"https?://\S+/replies/\S+", alert["message"]).group(0)


def test_a_rep_corrects_the_intent_in_one_click_and_the_correction_is_what_is_counted(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    lead = _answered(sb, "fix@example.com", "Thanks, but we're not interested.")
    link = _correction_link(sb, lead["id"])

    page = sb.get(link)
    assert page.status_code == 200 and 'value="not_now"' in page.text
    assert sb.find_lead(lead["email"])["reply_intent"] == "not_interested", "GET changes nothing"
    forged = sb.post(link.replace("token=", "token=1"), data={"intent": "not_now"})
    assert forged.status_code == 403
    assert sb.post(link, data={"intent": "maybe"}).status_code == 422

    done = sb.post(link, data={"intent": "not_now"})
    assert done.status_code == 200 and "not_interested -&gt; not_now" in done.text
    fixed = sb.find_lead(lead["email"])
    assert (fixed["reply_intent"], fixed["reply_intent_by"]) == ("not_now", "rep")
    assert fixed["snoozed_until"] == "2027-02-21"  # no day stated: the re-engagement interval
    assert (_reply_event(lead["id"])["intent"], _reply_event(lead["id"])["intent_by"]) == ("not_now", "rep")
    (snooze,) = [e for e in fixed["enrollments_detail"] if e["reason"] == reply_actions.NOT_NOW_REASON]
    assert snooze["run_status"] == "running"

    # Corrected again (it was a yes after all): the snooze stops, nothing is planned any more.
    answer = sb.post(link, json={"intent": "interested"})
    assert answer.json()["intent"] == "interested"
    again = sb.find_lead(lead["email"])
    assert again["snoozed_until"] is None and again["reply_intent"] == "interested"
    (snooze,) = [e for e in again["enrollments_detail"] if e["reason"] == reply_actions.NOT_NOW_REASON]
    assert snooze["run_status"] == "stopped"
    sb.advance_to("2027-03-01T00:00:00Z")
    assert len(to_lead(sb, lead["id"])) == 1


def test_a_correction_to_unsubscribe_opts_out_and_an_opt_out_stays_final(sb):
    lead = _answered(sb, "optout@example.com", "Hmm.")
    link = _correction_link(sb, lead["id"])
    assert sb.post(link, json={"intent": "unsubscribe"}).status_code == 200
    assert sb.find_lead(lead["email"])["status"] == "opted_out"
    assert suppression_items.suppression(keys.email_key(lead["email"]))
    undone = sb.post(link, json={"intent": "interested"}).json()
    assert "the opt-out stands (final)" in undone["done"]
    assert sb.find_lead(lead["email"])["status"] == "opted_out"


def test_the_weekly_report_shows_the_intent_mix_the_positive_reply_rate_and_who_is_due_back(sb):
    yes = _answered(sb, "r-yes@example.com", "Sounds good, let's talk on Thursday.")
    no = _answered(sb, "r-no@example.com", "Thanks, but we're not interested.")
    later = _answered(sb, "r-later@example.com", "I'm traveling until the 14th, let's talk after.")
    assert [lead["reply_intent"] for lead in (yes, no, later)] == ["interested", "not_interested", "not_now"]
    # The rep reads "no" again: it was a question after all. The correction is what the report counts.
    assert sb.post(_correction_link(sb, no["id"]), json={"intent": "question"}).status_code == 200

    run = sb.run_report("2026-12-14T14:00:00Z")  # Monday 08:00 Chicago: the week of 7 December
    text = next(message for message in sb.outbox() if message["subject"].startswith("Leadflow Demo Co"))[
        "text"
    ]
    html = sb.archived(run["keys"]["html"])

    section = text.split("REPLY INTENTS")[1].split("CHANNEL MIX")[0]
    assert "inbound-demo-request: reply rate 100.0% (3 of 3), positive reply rate 66.7% (2 of 3)" in section
    header, row = [line.split() for line in section.splitlines() if line.strip().startswith(("step", "1 "))][
        :2
    ]
    assert dict(zip(header[1:], row[1:], strict=True)) == {
        "interested": "1",
        "question": "1",
        "not_now": "1",
        "referral": "0",
        "wrong_person": "0",
        "not_interested": "0",
        "unsubscribe": "0",
    }
    # The not-now lead's touch is due on Tuesday 15 December: in the week after the report's period.
    assert "NOT-NOW LEADS DUE BACK THIS WEEK: 1" in section and "Tue 15 Dec 1" in section
    assert "Reply intents" in html and "Not-now leads due back this week: <strong>1</strong>" in html
    assert later["email"] not in text and later["email"] not in html


def test_remove_me_in_words_by_sms_opts_out_and_the_event_carries_the_intent(sb):
    lead = _post(sb, "texter@example.com", phone="+1 206 555 0143", sms_consent=True)
    sb.advance(7200)
    assert sb.deliver_sms("+12065550143", "Please remove me from this list") == {"outcomes": ["sms_reply"]}
    after = sb.find_lead(lead["email"])
    assert (after["status"], after["reply_intent"]) == ("opted_out", "unsubscribe")
    assert suppression_items.suppression(keys.email_key("+12065550143"))
    assert _reply_event(lead["id"])["intent"] == "unsubscribe"
