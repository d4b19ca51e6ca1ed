"""POST /leads from real web forms: both encodings, redirects, fields, refusals, honeypot, CORS, consent."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from leadflow.models import LeadSubmission
from leadflow.store import lead_items
from tests.intake_helpers import all_executions, assert_nothing_stored, stored_items

FORM = "application/x-www-form-urlencoded"
THANKS = "https://www.leadflow.example/thanks?from=demo"


# -- both encodings -------------------------------------------------------------------------------


def test_a_form_post_with_an_allowed_redirect_gets_303_there_and_the_lead_is_enrolled(sb):
    response = sb.post("/leads", data={"email": "form@example.com", "first_name": "Form", "redirect": THANKS})

    assert response.status_code == 303
    assert response.headers["Location"] == THANKS
    lead = sb.find_lead("form@example.com")
    assert lead["first_name"] == "Form"
    assert sb.execution(lead["id"])["status"] == "RUNNING"
    assert len(sb.outbox()) == 1


@pytest.mark.parametrize(
    "redirect",
    [
        "https://evil.example/thanks",
        "//evil.example/thanks",
        "https://leadflow.example@evil.example/",
        "https://leadflow.example.evil.example/",
        "https:\\\\evil.example",
        "http://leadflow.example/thanks",  # an allowed host, but not the allowed origin (scheme)
        "https://leadflow.example:8443/thanks",
        "javascript:alert(1)",
        "/thanks",
        "https://leadflow.example/\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_a_form_post_with_a_foreign_redirect_gets_no_redirect_there_and_the_lead_is_enrolled(sb, redirect):
    response = sb.post("/leads", data={"email": "foreign@example.com", "redirect": redirect})

    assert response.status_code == 202
    assert "Location" not in response.headers
    assert set(response.json()) == {"status", "submission_id"}
    lead = sb.find_lead("foreign@example.com")
    assert sb.execution(lead["id"])["status"] == "RUNNING"


def test_a_json_post_gets_202_json_even_with_a_redirect_field(sb):
    response = sb.post("/leads", json={"email": "json@example.com", "redirect": THANKS})

    assert response.status_code == 202
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["status"] == "received"


def test_a_hidden_false_before_a_checked_box_means_true_the_last_value_wins(sb):
    body = "email=box%40example.com&email_consent=false&email_consent=on&sms_consent=false"
    sb.post("/leads", data=body, headers={"Content-Type": f"{FORM}; charset=UTF-8"})

    lead = sb.find_lead("box@example.com")
    assert (lead["email_consent"], lead["sms_consent"]) == (True, False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("email=twice%40example.com&lead_type=a&lead_type=b", "lead_type"),
        ("email=twice%40example.com&first_name=Ada&first_name=Grace", "first_name"),
        ("email=a%40example.com&email=b%40example.com", "email"),
        ("email=twice%40example.com&sms_consent=maybe&sms_consent=on", "sms_consent"),
    ],
)
def test_a_field_a_form_sends_twice_is_refused_unless_it_is_a_consent_checkbox(sb, body, field):
    response = sb.post("/leads", data=body, headers={"Content-Type": FORM, "Accept": "application/json"})

    assert response.status_code == 422
    assert field in response.text
    assert_nothing_stored(sb)


def test_a_custom_field_a_form_sends_twice_keeps_every_value(sb):
    body = "email=multi%40example.com&interest=pricing&interest=security&interest="
    sb.post("/leads", data=body, headers={"Content-Type": FORM})

    assert sb.find_lead("multi@example.com")["custom_fields"] == {"interest": "pricing, security"}


@pytest.mark.parametrize("field", ["lead_type", "score", "country", "email_consent"])
def test_a_blank_form_field_counts_as_not_given(sb, field):
    sb.post("/leads", data={"email": "given@example.com"})
    response = sb.post("/leads", data={"email": "blank@example.com", field: " "})

    assert response.status_code == 202
    given, blank = sb.find_lead("given@example.com"), sb.find_lead("blank@example.com")
    assert blank.get(field) == given.get(field)


def test_the_spec_says_what_a_form_may_send_that_json_may_not(sb):
    schemas = sb.get("/openapi.json").json()["components"]["schemas"]
    as_json, as_form = schemas["LeadSubmission"], schemas["LeadSubmissionForm"]

    json_consent = {str(option.get("type")) for option in as_json["properties"]["sms_consent"]["anyOf"]}
    form_consent = {str(option.get("type")) for option in as_form["properties"]["sms_consent"]["anyOf"]}
    assert json_consent == {"boolean", "null"}
    assert {"boolean", "string", "array", "null"} == form_consent
    assert {"type": "string", "pattern": r"^\s*$"}.items() <= as_json["properties"]["lead_type"]["anyOf"][
        -1
    ].items()


def test_a_base64_encoded_body_is_read(sb):
    event_body = base64.b64encode(json.dumps({"email": "b64@example.com"}).encode())
    response = sb.post(
        "/leads", data=b"\xff" + event_body, headers={"Content-Type": "application/json"}
    )  # bytes that are not UTF-8 arrive base64-encoded, as API Gateway sends binary bodies
    assert response.status_code == 400  # ...and these are not JSON

    response = sb.post("/leads", data=json.dumps({"email": "b64@example.com"}).encode())
    assert response.status_code == 415  # no Content-Type at all


# -- fields ---------------------------------------------------------------------------------------


def test_every_field_is_normalized_and_kept(sb):
    response = sb.post(
        "/leads",
        json={
            "email": "  Grace.Hopper@Example.COM ",
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "Navy",
            "title": "Rear Admiral",
            "phone": "030 901820",
            "country": "de",
            "timezone": "europe/berlin",
            "source": "demo-request",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "launch",
            "utm_term": "cobol",
            "utm_content": "hero",
            "email_consent": True,
            "sms_consent": False,
            "message": "We need this.",
            "team_size": 42,
            "How did you hear about us?": "a colleague",
        },
    )

    assert response.status_code == 202
    lead = sb.find_lead("grace.hopper@example.com")
    assert lead["email"] == "grace.hopper@example.com"
    assert (lead["phone"], lead["country"], lead["timezone"]) == ("+4930901820", "DE", "Europe/Berlin")
    assert (lead["utm_source"], lead["utm_campaign"], lead["source"]) == (
        "newsletter",
        "launch",
        "demo-request",
    )
    assert lead["custom_fields"] == {"team_size": "42", "How did you hear about us?": "a colleague"}
    assert lead["message"] == "We need this."


def test_a_national_number_without_a_country_is_read_in_the_default_region(sb):
    sb.post("/leads", data={"email": "us@example.com", "phone": "(650) 253-0000"})
    assert sb.find_lead("us@example.com")["phone"] == "+16502530000"


def test_unknown_fields_fill_the_custom_map_up_to_its_cap_and_the_rest_is_dropped(sb):
    extra = {f"field_{number:02d}": f"value {number}" for number in range(30)}
    extra["nested"] = {"not": "a string"}
    response = sb.post("/leads", json={"email": "many@example.com", "long": "y" * 2000, **extra})

    assert response.status_code == 202
    custom = sb.find_lead("many@example.com")["custom_fields"]
    assert len(custom) == 20
    assert custom["long"] == "y" * 500
    assert "nested" not in custom
    assert all(len(value) <= 500 for value in custom.values())


def test_every_string_field_is_length_capped():
    schema = LeadSubmission.model_json_schema()
    strings = {
        name: variant
        for name, spec in schema["properties"].items()
        for variant in spec.get("anyOf", [spec])
        if variant.get("type") == "string"
    }
    assert set(strings) >= {"email", "first_name", "phone", "country", "timezone", "message", "utm_source"}
    assert all("maxLength" in variant for variant in strings.values()), strings
    custom = schema["properties"]["custom_fields"]
    assert custom["maxProperties"] == 20
    (value,) = custom["patternProperties"].values()
    assert value["maxLength"] == 500


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"phone": "+1 555"}, "phone"),
        ({"country": "ZZ"}, "country"),
        ({"country": "USA"}, "country"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"email_consent": "maybe"}, "email_consent"),
        ({"custom_fields": {"k": "v" * 501}}, "custom_fields.k"),
        ({"custom_fields": {f"k{n}": "v" for n in range(21)}}, "custom_fields"),
        ({"message": "m" * 5001}, "message"),
        ({"utm_campaign": "u" * 201}, "utm_campaign"),
        ({"email": "ada@example.com" + "x" * 250}, "email"),
    ],
)
def test_invalid_fields_get_422_naming_the_field(sb, payload, field):
    response = sb.post("/leads", json={"email": "ada@example.com", **payload})

    assert response.status_code == 422
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert field in errors
    assert errors[field]
    assert not errors[field].startswith("Value error")
    assert_nothing_stored(sb)


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/mixed; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        None,
    ],
)
def test_an_unsupported_media_type_gets_415_saying_what_to_send(sb, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = sb.post("/leads", data='{"email": "ada@example.com"}', headers=headers)

    assert response.status_code == 415
    assert "application/json" in response.json()["message"] or "UTF-8" in response.json()["message"]
    assert_nothing_stored(sb)


def test_a_body_over_16_kib_gets_413_and_one_of_exactly_16_kib_is_accepted(sb):
    document = json.dumps({"email": "size@example.com"})
    at_limit = document + " " * (16 * 1024 - len(document))
    over = at_limit + " "

    refused = sb.post("/leads", data=over, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413
    assert "16 KiB" in refused.json()["message"]
    assert_nothing_stored(sb)

    form_over = sb.post("/leads", data={"email": "size@example.com", "message": "m" * 17000})
    assert form_over.status_code == 413
    assert_nothing_stored(sb)

    accepted = sb.post("/leads", data=at_limit, headers={"Content-Type": "application/json"})
    assert accepted.status_code == 202


@pytest.mark.parametrize("body", ['{"email": "a@example.com"', "[" * 5000 + "]" * 5000, "nul\x00l", "NaN{"])
def test_a_json_body_that_does_not_parse_gets_400_with_where(sb, body):
    response = sb.post("/leads", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["message"].startswith("The body is not valid JSON")
    assert_nothing_stored(sb)


def test_a_form_body_that_is_not_utf8_gets_400(sb):
    response = sb.post("/leads", data="email=%FF%FE%40example.com", headers={"Content-Type": FORM})

    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]
    assert_nothing_stored(sb)


def test_an_invalid_form_post_goes_back_to_the_form_with_the_errors_in_the_query_string(sb):
    form_page = "https://www.leadflow.example/demo?plan=pro"
    response = sb.post(
        "/leads",
        data={"email": "not-an-address", "phone": "12", "error_redirect": form_page, "redirect": THANKS},
    )

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "www.leadflow.example"
    query = parse_qs(location.query)
    assert query["plan"] == ["pro"]
    assert query["errors"] == ["email,phone"]
    assert "@-sign" in query["error_email"][0]
    assert "phone number" in query["error_phone"][0]
    assert_nothing_stored(sb)


def test_an_invalid_form_post_from_a_foreign_page_gets_a_plain_error_page(sb):
    response = sb.post(
        "/leads",
        data={"email": "<script>x</script>", "error_redirect": "https://evil.example/form"},
        headers={"Referer": "https://evil.example/form"},
    )

    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Please check the form" in response.text
    assert "email" in response.text
    assert "<script>" not in response.text
    assert_nothing_stored(sb)


def test_an_invalid_form_post_goes_back_to_an_allowed_referer(sb):
    response = sb.post("/leads", data={"email": ""}, headers={"Referer": "https://leadflow.example/contact"})

    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://leadflow.example/contact?errors=email")
    assert_nothing_stored(sb)


# -- honeypot -------------------------------------------------------------------------------------


def test_a_honeypot_hit_looks_like_success_and_stores_and_starts_nothing(sb):
    real = sb.post("/leads", json={"email": "person@example.com"})
    bot = sb.post("/leads", json={"email": "bot@example.com", "first_name": "Bot", "fax": "555-0100"})

    assert (bot.status_code, bot.headers) == (real.status_code, real.headers)
    assert set(bot.json()) == set(real.json())
    assert len(bot.json()["submission_id"]) == len(real.json()["submission_id"])
    assert sb.find_lead("bot@example.com") is None
    assert len(all_executions(sb)) == 1
    assert sb.metric_total("HoneypotHits") == 1


def test_a_honeypot_hit_on_an_html_form_gets_the_thank_you_redirect_and_nothing_is_stored(sb):
    response = sb.post("/leads", data={"email": "bot@example.com", "fax": "x", "redirect": THANKS})

    assert response.status_code == 303
    assert response.headers["Location"] == THANKS
    assert_nothing_stored(sb)
    assert sb.metric_total("HoneypotHits") == 1


def test_a_bot_probing_with_invalid_fields_gets_what_a_person_would_and_nothing_is_stored(sb):
    person = sb.post("/leads", json={"email": "not an address"})
    bot = sb.post("/leads", json={"email": "not an address", "fax": "555-0100"})

    assert (bot.status_code, bot.headers, bot.json()) == (person.status_code, person.headers, person.json())
    assert_nothing_stored(sb)


# -- CORS -----------------------------------------------------------------------------------------


def test_an_allowed_origin_gets_its_own_origin_back_and_a_foreign_one_gets_no_cors_header(sb):
    allowed = sb.post(
        "/leads", json={"email": "cors@example.com"}, headers={"Origin": "https://leadflow.example"}
    )
    foreign = sb.post(
        "/leads", json={"email": "cors@example.com"}, headers={"Origin": "https://evil.example"}
    )

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://leadflow.example"
    assert foreign.status_code == 202
    assert not any(name.lower().startswith("access-control-") for name in foreign.headers)


def test_a_preflight_from_an_allowed_origin_is_answered_and_one_from_elsewhere_is_not(sb):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = sb.request("OPTIONS", "/leads", headers={"Origin": "https://www.leadflow.example", **preflight})
    foreign = sb.request("OPTIONS", "/leads", headers={"Origin": "https://evil.example", **preflight})

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.leadflow.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert_nothing_stored(sb)


def test_refusals_carry_cors_headers_so_the_page_can_read_them(sb):
    response = sb.post(
        "/leads", data="x", headers={"Content-Type": "text/plain", "Origin": "https://leadflow.example"}
    )
    assert response.status_code == 415
    assert response.headers["Access-Control-Allow-Origin"] == "https://leadflow.example"


# -- consent --------------------------------------------------------------------------------------


def test_every_post_records_its_consent_with_time_form_ip_and_user_agent(sb):
    headers = {"User-Agent": "Mozilla/5.0 (Test)", "Referer": "https://leadflow.example/demo"}
    sb.post(
        "/leads", data={"email": "c@example.com", "source": "demo", "email_consent": "on"}, headers=headers
    )
    sb.advance(7200)
    sb.post(
        "/leads", json={"email": "c@example.com", "source": "pricing", "sms_consent": True}, headers=headers
    )

    lead = sb.find_lead("c@example.com")
    first, second = lead_items.submissions(lead["id"])
    assert (first.form, first.email_consent, first.sms_consent) == ("demo", True, None)
    assert (second.form, second.email_consent, second.sms_consent) == ("pricing", None, True)
    assert first.received_at.isoformat() == "2026-11-23T09:00:00+00:00"
    assert second.received_at.isoformat() == "2026-11-23T11:00:00+00:00"
    assert (first.source_ip, first.user_agent, first.page) == (
        "203.0.113.10",
        "Mozilla/5.0 (Test)",
        "https://leadflow.example/demo",
    )
    assert (lead["email_consent"], lead["sms_consent"]) == (True, True)


def test_email_consent_false_sends_no_automated_email_and_alerts_the_owner(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    response = sb.post(
        "/leads", json={"email": "noemail@example.com", "first_name": "Nora", "email_consent": False}
    )
    sb.advance(30 * 86400)

    assert response.status_code == 202
    assert set(response.json()) == {"status", "submission_id"}
    lead = sb.find_lead("noemail@example.com")
    assert lead["email_consent"] is False
    assert lead["enrollments_detail"] == []
    assert all_executions(sb) == []
    assert sb.outbox() == []
    (alert,) = sb.rep_alerts()
    assert alert["kind"] == "manual_follow_up"
    assert alert["lead_id"] == lead["id"]
    assert "Nora" in alert["message"]
    assert "noemail@example.com" in alert["message"]


def test_a_running_lead_whose_crm_posts_email_consent_false_is_stopped_and_gets_no_more_email(sb):
    sb.advance_to("2026-11-23T15:00:00Z")  # 10:00 New York, 16:00 Berlin: alerts reach the owner at work
    sb.post("/leads", json={"email": "later@example.com"})
    lead_id = sb.find_lead("later@example.com")["id"]
    sb.advance_to("2026-11-27T15:00:00Z")  # the nurture cadence's second email went out at 14:00
    assert len(sb.outbox()) == 2

    # Authenticated (API key): proof enough. A public post needs confirming (test_consent_withdrawal).
    sb.post(
        "/leads",
        data={"email": "later@example.com", "email_consent": "false"},
        headers={"X-Api-Key": sb.api_key},
    )
    sb.advance(30 * 86400)

    enrollment = sb.lead(lead_id)["enrollments_detail"][0]
    assert (enrollment["run_status"], enrollment["stop_reason"]) == ("stopped", "consent_withdrawn")
    assert sb.execution(lead_id)["status"] == "ABORTED"
    assert len(sb.outbox()) == 2
    # The new-lead alert, the day-3 LinkedIn task, then the hand-off.
    assert [alert["kind"] for alert in sb.rep_alerts()] == ["lead_accepted", "task", "manual_follow_up"]


def test_nothing_is_stored_for_a_refused_post_even_with_an_idempotency_key(sb):
    response = sb.post("/leads", json={"email": "x"}, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422
    assert_nothing_stored(sb)
    assert stored_items("leadflow-idempotency") == []
