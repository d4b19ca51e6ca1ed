"""GET /openapi.json, and schemathesis property tests against it: no 5xx, no response outside the spec.

The API runs in-process (the Sandbox behind a WSGI adapter); examples are bounded to keep `make test` fast.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from leadflow.local.wsgi import wsgi_app

EXAMPLES = 80  # per generation mode (positive, negative); both encodings are drawn


# Invalid input is refused with one of the documented 4xx codes (413: the body is over 16 KiB).
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 409, 413, 415, 422]}}}
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_every_generated_request_within_its_spec_and_never_with_5xx(sb, mode):
    api = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_app(sb), config=CONFIG)
    operation = api["/leads"]["POST"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_within_spec(case):
        case.call_and_validate(checks=CHECKS)

    answers_within_spec()


def test_the_spec_is_served_and_documents_both_encodings_and_every_refusal(sb):
    response = sb.get("/openapi.json")

    assert response.status_code == 200
    operation = response.json()["paths"]["/leads"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert {"202", "303", "400", "409", "413", "415", "422"} <= set(operation["responses"])
    schema = response.json()["components"]["schemas"]["LeadSubmission"]
    assert schema["required"] == ["email"]
    assert {"phone", "country", "timezone", "email_consent", "sms_consent", "custom_fields", "fax"} <= set(
        schema["properties"]
    )
