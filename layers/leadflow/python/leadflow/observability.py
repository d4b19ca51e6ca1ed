"""Powertools Logger and Metrics, shared by every handler.

Tracing comes from Lambda and Step Functions active tracing; the Powertools
Tracer would import the X-Ray SDK on every cold start, which intake cannot afford.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics(namespace="leadflow")


# -- integration events --------------------------------------------------------------------------
# Every lead event goes to an EventBridge bus (EVENT_BUS_NAME) for CRMs, warehouses and alerting:
# source "leadflow", detail-type "lead.<kind>", detail as IntegrationEvent (docs/events.schema.json).
# Ids only by default; EVENT_INCLUDE_EMAIL=true adds the address for integrations that need it.
# Publishing never fails a lead's flow: a refused put is logged and counted (IntegrationEventFailed).

import os  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any, Literal  # noqa: E402

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402

EVENT_SOURCE = "leadflow"
LeadEventKind = Literal[
    "accepted",
    "enrolled",
    "touch_sent",
    "touch_skipped",
    "task_due",
    "task_done",
    "replied",
    "meeting_booked",
    "meeting_cancelled",
    "stage_changed",
    "opted_out",
    "bounced",
    "completed",
    "failed",
    "stopped",
    "engaged",
]
# Stored event kinds (event_items.record_event) as integration kinds; the rest are not published.
STORED_KINDS: dict[str, LeadEventKind] = {
    "reply": "replied",
    "replied": "replied",
    "connected": "replied",
    "meeting_booked": "meeting_booked",
    "meeting": "meeting_booked",
    "meeting_cancelled": "meeting_cancelled",
    # Issue 14: a cancelled or missed meeting (the rebook cadence starts).
    "meeting_canceled": "meeting_cancelled",
    "no_show": "meeting_cancelled",
    "unsubscribe": "opted_out",
    "complaint": "opted_out",
    "consent_withdrawn": "opted_out",
    "bounce": "bounced",
    "bounced": "bounced",
    "operator_stop": "stopped",
    "account": "stopped",
    "open": "engaged",
    "click": "engaged",
}


class IntegrationEvent(BaseModel):
    """The `detail` of every event on the bus (JSON Schema: docs/events.schema.json)."""

    model_config = ConfigDict(extra="forbid", title="leadflow lead event")

    kind: LeadEventKind
    lead_id: str = Field(description="The lead's opaque id: no personal data.")
    at: str = Field(description="When it happened, ISO 8601 UTC.")
    cadence: str | None = None
    enrollment: int | None = None
    touch: int | None = None
    channel: str | None = None
    detail: str | None = Field(None, description="The kind's own word: the stage, the outcome, a reason.")
    email: str | None = Field(None, description="Only with EVENT_INCLUDE_EMAIL=true.")


# (kind, lead id, when, fields): one event for publish_events.
LeadEvent = tuple[LeadEventKind, str, datetime, dict[str, Any]]


def publish_event(kind: LeadEventKind, lead_id: str, at: datetime, **fields: Any) -> None:
    publish_events([(kind, lead_id, at, fields)])


def publish_events(events: Sequence[LeadEvent]) -> None:
    """Lead events (kind, lead id, time, fields) on the bus in one PutEvents request (EventBridge
    takes 10 a request): a call that has several to tell pays one round trip."""
    bus = os.environ.get("EVENT_BUS_NAME")
    if not bus or not events:
        return
    from leadflow import aws, clock

    entries = []
    for kind, lead_id, at, given in events:
        fields = dict(given)
        email = fields.pop("email", None)
        if os.environ.get("EVENT_INCLUDE_EMAIL", "").lower() == "true" and email:
            fields["email"] = email
        event = IntegrationEvent(kind=kind, lead_id=lead_id, at=clock.iso(at), **fields)
        entries.append(
            {
                "EventBusName": bus,
                "Source": EVENT_SOURCE,
                "DetailType": f"lead.{kind}",
                "Detail": event.model_dump_json(exclude_none=True),
                "Time": at,
            }
        )
    try:
        failed = aws.client("events").put_events(Entries=entries).get("FailedEntryCount", 0)
    except Exception as error:  # the lead's flow goes on; the metric raises the alarm
        logger.warning(
            "integration event not published",
            extra={"kinds": [kind for kind, *_ in events], "error": type(error).__name__},
        )
        failed = len(entries)
    if failed:
        metrics.add_metric(name="IntegrationEventFailed", unit="Count", value=failed)


def event_schema() -> dict[str, Any]:
    return IntegrationEvent.model_json_schema()


# -- counts with dimensions ----------------------------------------------------------------------
# One metric per thing counted, its outcome a dimension (Touches{outcome=sent}), not a metric name
# built per outcome: the dashboard and alarms select by dimension. EMF on stdout, as Powertools
# writes it; the Sandbox swaps the sink to keep them.

_metric_sink: Any = None


def set_metric_sink(sink: Any) -> None:
    """Where `count` documents go (None: stdout, for CloudWatch)."""
    global _metric_sink
    _metric_sink = sink


def count(name: str, value: float = 1, **dimensions: str) -> None:
    import json

    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    provider = AmazonCloudWatchEMFProvider(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "leadflow")
    )
    provider.add_metric(name=name, unit="Count", value=value)
    provider.add_dimension(name="service", value=os.environ.get("POWERTOOLS_SERVICE_NAME", "leadflow"))
    for dimension, dimension_value in dimensions.items():
        provider.add_dimension(name=dimension, value=str(dimension_value))
    document = provider.serialize_metric_set()
    if _metric_sink is not None:
        _metric_sink(document)
    else:
        print(json.dumps(document, separators=(",", ":")))
