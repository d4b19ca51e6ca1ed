"""POST /erasures: a CRM erases a person (GDPR art. 17), authenticated by its API key.

    POST /erasures   X-Api-Key: <key>   {"email": "person@example.com"}

200 with what was removed (leadflow.intake.erase); 401 without a known API key; 422 with field
errors for a bad body. The same erasure as `leadflow erase EMAIL`. Idempotent.
"""

from __future__ import annotations

import json
from typing import Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError

from functions.intake.errors import field_errors
from leadflow import keys
from leadflow.intake import erase
from leadflow.observability import logger

router = Router()
HEADERS = {"Cache-Control": "no-store"}


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, body, headers=HEADERS)


@router.post("/erasures", include_in_schema=False)
def post_erasure() -> Response[Any]:
    event = cast(APIGatewayProxyEvent, router.current_event)
    client = keys.api_client(event.get_header_value("x-api-key", case_sensitive=False))
    if client is None:
        return _json(401, {"message": "Send a known API key in X-Api-Key: erasures are for your CRM."})
    try:
        body = json.loads(event.decoded_body or "")
        request = ErasureRequest.model_validate(body)
    except ValueError as error:  # ValidationError is a ValueError; so is JSON that does not parse
        problems = (
            error.errors()
            if isinstance(error, ValidationError)
            else [{"loc": ("body",), "msg": 'send JSON like {"email": "…"}', "type": "json_invalid"}]
        )
        return _json(422, {"message": "Invalid erasure request.", "errors": field_errors(problems)})
    erasure = erase.erase_person(str(request.email))
    logger.info("erasure requested", extra={"client": client})
    return _json(200, {"erased": True, **erasure.as_dict()})
