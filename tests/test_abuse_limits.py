"""The public form is no mail or SMS bomber (issue 17).

Acceptance: 40 plus-variant posts of one inbox produce one first-touch email that day; 40 posts with
one phone produce at most one SMS; an SMS to a country outside the allowlist is recorded `skipped`
with its reason. Refused posts get the same 202 and are counted in metrics; posts over a post limit
are held, never dropped (issue 22: tests/test_held_posts.py).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow import fields
from leadflow.intake import held
from leadflow.operator_config import Abuse, OperatorConfig
from leadflow.store import limit_items

VICTIM_PHONE = "+12065550143"


def _audit_clean(sb):
    """Every abuse case ends with `leadflow audit`'s invariants (nothing lost, twice, or after a stop)."""
    report = sb.audit()
    assert report.clean, report.lines()


def _first_touches(sb):
    return [message for message in sb.outbox() if message["channel"] == "email" and message["touch"] == 1]


def _posts(sb, name):
    return sb.metric_total("Posts", outcome=name)


@pytest.mark.email_cadence
def test_forty_plus_variants_of_one_inbox_get_one_first_touch(sb):
    variants = [f"v.ic.tim+{n}@gmail.com" for n in range(20)] + [
        f"victim+{n}@googlemail.com" for n in range(20)
    ]
    answers = [
        sb.post("/leads", json={"email": address}, source_ip=f"198.51.100.{n}")
        for n, address in enumerate(variants)
    ]
    assert {answer.status_code for answer in answers} == {202}, "no oracle: every post is answered alike"
    assert len({answer.json()["submission_id"] for answer in answers}) == 40
    sb.advance(12 * 3600)

    assert len(_first_touches(sb)) == 1
    assert (_posts(sb, "new"), _posts(sb, "first_touch_limited"), _posts(sb, "held")) == (1, 4, 35)
    limited = sb.find_lead("v.ic.tim+1@gmail.com")
    assert limited["enrollments_detail"] == [], "kept, without a cadence"
    assert sb.find_lead("victim+30@googlemail.com") is None, "over the post rate: held, not a lead"
    assert len(sb.held_posts()) == 35
    sb.advance_to("2026-11-24T09:30:00Z")
    assert len(_first_touches(sb)) == 1, "and no late first touch either"
    assert {breach.invariant for breach in sb.audit().breaches} == {"post_held"}, "flagged, not silent"
    for item in held.held_posts():
        held.dismiss(item)  # the operator's judgment: a bomber
    _audit_clean(sb)


@pytest.mark.email_cadence
def test_the_inbox_may_get_another_first_touch_the_next_day(sb):
    sb.post("/leads", json={"email": "ada@gmail.com"})
    sb.advance_to("2026-11-24T09:00:00Z")
    sb.post("/leads", json={"email": "a.da+2@gmail.com"})
    assert sb.find_lead("a.da+2@gmail.com")["enrollments_detail"][0]["run_status"] == "running"


def test_forty_posts_with_one_phone_get_at_most_one_sms(sb):
    for n in range(40):
        sb.post(
            "/leads",
            json={
                "email": f"person{n}@company{n}.example",
                "form": "demo-request",
                "phone": VICTIM_PHONE,
                "sms_consent": True,
            },
            source_ip=f"198.51.100.{n}",
        )
    sb.advance(3 * 86400)
    texts = [
        message for message in sb.outbox() if message["channel"] == "sms" and message["to"] == VICTIM_PHONE
    ]
    assert len(texts) == 1
    assert _posts(sb, "new") == 1
    assert _posts(sb, "first_touch_limited") == 39
    _audit_clean(sb)


@pytest.mark.email_cadence
def test_an_authenticated_client_is_not_limited(sb):
    for n in range(3):
        sb.post("/leads", json={"email": f"ada+crm{n}@gmail.com"}, headers={"X-Api-Key": sb.api_key})
    assert len(_first_touches(sb)) == 3


@pytest.mark.parametrize(("phone", "country"), [("+37061234567", "LT"), ("+2348031234567", "NG")])
def test_an_sms_outside_the_allowlist_is_skipped_with_its_reason(sb, phone, country):
    assert fields.phone_country(phone) == country
    sb.post(
        "/leads",
        json={"email": "ada@engines.example", "form": "demo-request", "phone": phone, "sms_consent": True},
    )
    sb.advance(3 * 86400)
    lead = sb.find_lead("ada@engines.example")
    [sms] = [touch for touch in lead["touches"] if touch["channel"] == "sms"]
    assert (sms["status"], sms["skip_reason"]) == ("skipped", "country_not_allowed")
    assert [message for message in sb.outbox() if message["channel"] == "sms"] == []
    assert [t["status"] for t in lead["touches"] if t["channel"] == "email"][:1] == ["sent"], "email goes on"
    _audit_clean(sb)


def test_a_stranger_texting_help_from_abroad_gets_no_answer(sb):
    assert sb.deliver_sms("+37061234567", "HELP") == {"outcomes": ["unknown_sender"]}
    assert sb.deliver_sms("+12065550100", "HELP") == {"outcomes": ["sms_help"]}


# -- configuration -------------------------------------------------------------------------------------

COMPANY = {"name": "Acme", "website": "https://acme.example", "postal_address": "1 Main Street, Springfield"}
REPS = [{"id": "alex", "name": "Alex", "email": "alex@acme.example"}]


def test_the_sms_allowlist_defaults_to_the_owners_territories_and_the_default_region():
    config = OperatorConfig.model_validate(
        {
            "company": COMPANY,
            "reps": REPS,
            "intake": {"default_phone_region": "GB"},
            "owners": [
                {"name": "dach", "countries": ["DE", "AT", "CH"], "reps": ["alex"]},
                {"name": "partners", "sources": ["partner"], "reps": ["alex"]},
            ],
        }
    )
    assert config.sms_countries == {"DE", "AT", "CH", "GB"}
    assert config.abuse == Abuse(), "safe defaults without an abuse section"
    assert (config.abuse.first_touches_per_inbox_per_day, config.abuse.captcha) == (1, None)
    explicit = config.model_copy(update={"abuse": Abuse(sms_countries=("US",))})
    assert explicit.sms_countries == {"US"}


@pytest.mark.parametrize(
    "abuse",
    [
        {"first_touches_per_inbox_per_day": 0},
        {"posts_per_ip_per_hour": -1},
        {"sms_countries": ["usa"]},
        {"captcha": {"provider": "hcaptcha", "secret": "x"}},
        {"captcha": {"provider": "turnstile"}},
        {"unknown": 1},
    ],
)
def test_bad_abuse_settings_are_refused(abuse):
    with pytest.raises(ValidationError):
        OperatorConfig.model_validate({"company": COMPANY, "reps": REPS, "abuse": abuse})


@pytest.mark.parametrize(
    ("address", "inbox"),
    [
        ("A.Da+promo@GoogleMail.com", "ada@gmail.com"),
        ("ada@gmail.com", "ada@gmail.com"),
        ("first.last+x@Contoso.example", "first.last@contoso.example"),
        ("+tag@example.com", "+tag@example.com"),
    ],
)
def test_inbox_folding(address, inbox):
    assert fields.inbox(address) == inbox


def test_a_counter_stops_at_its_limit(sb):
    from datetime import UTC, datetime

    ends = datetime(2026, 11, 24, tzinfo=UTC)
    assert [limit_items.take("T", "k", "w", 2, ends) for _ in range(4)] == [True, True, False, False]
    assert limit_items.take("T", "k", "w2", 2, ends), "a new window starts at zero"


def test_a_held_slot_is_taken_again_for_free(sb):
    from datetime import UTC, datetime

    ends = datetime(2026, 11, 24, tzinfo=UTC)
    takes = [limit_items.take_for("T", "inbox", "w", 1, ends, holder) for holder in ("a", "a", "b", "a")]
    assert takes == [True, True, False, True], "concurrent posts of one address share its slot"
