"""One-click unsubscribe: GET shows a page, POST opts out at once; bad tokens change nothing."""

import re

from leadflow import keys, tokens
from leadflow.local.sandbox import REPLY_DOMAIN
from leadflow.store import suppression_items
from tests.helpers import reply_mime

ONE_CLICK = {
    "data": "List-Unsubscribe=One-Click",
    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
}


def _enroll(sb, email):
    sb.post("/leads", json={"email": email, "first_name": "Uma"})
    lead_id = sb.find_lead(email)["id"]
    https = re.search(
        r"<https?://[^>]+(/unsubscribe\?token=[a-z2-7]+)>", sb.outbox()[-1]["headers"]["List-Unsubscribe"]
    )
    return lead_id, https.group(1)


def _assert_untouched(sb, lead_id):
    lead = sb.lead(lead_id)
    assert lead["status"] == "active"
    assert lead["enrollments_detail"][0]["run_status"] == "running"
    assert sb.execution(lead_id)["status"] == "RUNNING"
    assert suppression_items.suppression(keys.email_key(lead["email"])) is None


def test_one_click_post_opts_out_at_once_and_nothing_more_is_sent(sb):
    lead_id, path = _enroll(sb, "uma@example.com")

    response = sb.post(path, **ONE_CLICK)

    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    lead = sb.lead(lead_id)
    assert (lead["status"], lead["status_reason"]) == ("opted_out", "unsubscribe")
    enrollment = lead["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", "unsubscribe")
    assert suppression_items.suppression(keys.email_key("uma@example.com"))["reason"] == "unsubscribe"
    assert sb.execution(lead_id)["status"] == "ABORTED"

    sb.advance(30 * 86400)
    assert len(sb.outbox()) == 1


def test_get_shows_a_confirmation_page_with_a_button_and_changes_nothing(sb):
    lead_id, path = _enroll(sb, "scanner@example.com")

    response = sb.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    assert '<form method="post"' in response.text and "<button" in response.text
    assert "s•••@example.com" in response.text and "scanner@example.com" not in response.text
    _assert_untouched(sb, lead_id)


def test_a_tampered_token_gets_a_400_page_and_the_lead_stays_active(sb):
    lead_id, path = _enroll(sb, "tamper@example.com")
    token = path.rpartition("=")[2]
    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")

    for method in ("GET", "POST"):
        response = sb.request(
            method, f"/unsubscribe?token={tampered}", **(ONE_CLICK if method == "POST" else {})
        )
        assert response.status_code == 400
        assert "This link does not work" in response.text
    _assert_untouched(sb, lead_id)


def test_missing_malformed_and_unknown_tokens_get_400_and_change_nothing(sb):
    lead_id, _ = _enroll(sb, "bystander@example.com")
    unknown_lead = tokens.unsubscribe_token("ffffffffffffffffffff", 1, 1)  # validly signed, no such lead
    reply_token = tokens.sign(tokens.Purpose.REPLY, lead_id, 1, 1)  # genuine, but for replies
    for query in ("", "?token=", "?token=not-a-token", f"?token={unknown_lead}", f"?token={reply_token}"):
        assert sb.post(f"/unsubscribe{query}", **ONE_CLICK).status_code == 400, query
        assert sb.get(f"/unsubscribe{query}").status_code == 400, query
    _assert_untouched(sb, lead_id)


def test_unsubscribing_twice_is_harmless(sb):
    lead_id, path = _enroll(sb, "twice@example.com")
    assert sb.post(path, **ONE_CLICK).status_code == 200
    again = sb.post(path, **ONE_CLICK)
    assert again.status_code == 200 and "Already unsubscribed" in again.text
    assert "Already unsubscribed" in sb.get(path).text
    assert sb.lead(lead_id)["status"] == "opted_out"


def test_the_mailto_unsubscribe_opts_out_too(sb):
    lead_id, _ = _enroll(sb, "mailer@example.com")
    mailto = re.search(r"<mailto:([^?>]+)", sb.outbox()[0]["headers"]["List-Unsubscribe"]).group(1)
    assert mailto.endswith(f"@{REPLY_DOMAIN}")

    result = sb.deliver_email(reply_mime("mailer@example.com", to=mailto, subject="unsubscribe", body=""))

    assert result["outcomes"] == ["unsubscribe"]
    assert sb.lead(lead_id)["status"] == "opted_out"
    assert sb.execution(lead_id)["status"] == "ABORTED"


def test_a_suppressed_address_gets_nothing_more(sb):
    lead_id, _ = _enroll(sb, "suppressed@example.com")
    suppression_items.suppress(keys.email_key("suppressed@example.com"), "complaint", sb.now())

    sb.advance(30 * 86400)

    assert len(sb.outbox()) == 1
    assert sb.execution(lead_id)["status"] != "RUNNING"
