"""GET/POST /unsubscribe?token=…: the confirmation page and the one-click opt-out (RFC 8058)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.intake.routes.pages import HTML, PAGE_HEADERS
from leadflow.answers import unsubscribe
from leadflow.models import ContactStatus
from leadflow.observability import metrics

router = Router()


def _page(status: int, html: str) -> Response[Any]:
    return Response(status, HTML, html, headers=PAGE_HEADERS)


def _token() -> str | None:
    return router.current_event.get_query_string_value("token")


@router.get("/unsubscribe")
def confirm() -> Response[Any]:
    """A confirmation page with a button; changes nothing (scanners follow links)."""
    token = _token()
    found = unsubscribe.resolve(token)
    if found is None:
        return _page(400, unsubscribe.page("invalid"))
    state = "already" if found.lead.status is ContactStatus.OPTED_OUT else "confirm"
    return _page(200, unsubscribe.page(state, lead=found.lead, token=token))


@router.post("/unsubscribe")
def one_click() -> Response[Any]:
    """One-click opt-out (body `List-Unsubscribe=One-Click`, from the mail provider or the page)."""
    found = unsubscribe.resolve(_token())
    if found is None:
        metrics.add_metric(name="UnsubscribeRejected", unit="Count", value=1)
        return _page(400, unsubscribe.page("invalid"))
    outcome = unsubscribe.opt_out(found)
    metrics.add_metric(name="Unsubscribed", unit="Count", value=1)
    return _page(200, unsubscribe.page(outcome.value, lead=found.lead))
