"""No PII where operators and the console look (issue 12): a full demo with DEBUG logging, then a
scan of the logs, every execution's input, output and history, the metrics and the archived report
for every synthetic lead's email, first name and phone number. Zero hits."""

from __future__ import annotations

import io
import json
import logging
import re

from leadflow import aws, fields
from leadflow.local.demo import simulate, synthetic_leads, write_report
from leadflow.observability import logger
from tests import table_calls

START = "2026-11-23T09:00:00Z"


def _needles(population) -> dict[str, re.Pattern[str]]:
    needles: dict[str, re.Pattern[str]] = {}
    for lead in population:
        needles[lead.email] = re.compile(re.escape(lead.email), re.IGNORECASE)
        needles[lead.first_name] = re.compile(rf"\b{re.escape(lead.first_name)}\b")
        if lead.phone:
            e164 = fields.phone_number(lead.phone, lead.country)
            digits = re.sub(r"\D", "", lead.phone)
            for form in {lead.phone, e164, digits, e164.lstrip("+")}:
                needles[form] = re.compile(re.escape(form))
    return needles


def _executions(sb) -> list[str]:
    client = aws.client("stepfunctions")
    documents = []
    for arn in sb.state_machine_arns.values():
        for page in client.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for execution in page["executions"]:
                described = client.describe_execution(executionArn=execution["executionArn"])
                documents.append(json.dumps(described, default=str))
                history = client.get_execution_history(
                    executionArn=execution["executionArn"], maxResults=1000
                )
                documents.append(json.dumps(history["events"], default=str))
    return documents


def test_a_full_demo_at_debug_leaves_no_lead_detail_in_logs_executions_metrics_or_the_report(
    tmp_path, monkeypatch
):
    from leadflow.clock import parse_iso
    from leadflow.local.sandbox import Sandbox

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    population = synthetic_leads(16, 2, 0.4, 11, parse_iso(START))
    try:
        with Sandbox(start=START) as sb, table_calls.recorded_calls("leadflow") as calls:
            assert logger._logger.getEffectiveLevel() == logging.DEBUG
            end = simulate(sb, population)
            report = write_report(sb, end, tmp_path / "out")  # the report as due when the run ends
            executions = _executions(sb)
            metrics = json.dumps(sb.emitted_metrics)
            archive = [sb.archived(key) for key in report["keys"].values()]
            summary = sb.summary()
    finally:
        logger._logger.removeHandler(handler)

    logs = captured.getvalue()
    # The scan looks at real material: logs at DEBUG, every lead's execution, metrics, the report.
    assert logs.count("\n") > 100
    assert len(executions) >= 2 * len(population)
    assert sb.metric_total("Touches", outcome="sent") > 0 and "Touches" in metrics
    assert summary["replied"] >= 1
    places = {"logs": [logs], "executions": executions, "metrics": [metrics], "report archive": archive}
    hits = [
        (place, needle)
        for place, documents in places.items()
        for document in documents
        for needle, pattern in _needles(population).items()
        if pattern.search(document)
    ]
    assert hits == []
    # Least privilege, checked from the other side: every DynamoDB action a handler really made in
    # the demo is one the code reader found (and so one its role is granted, tests/test_infra.py).
    assert {"intake", "step", "inbound", "report"} <= calls.keys()
    for function, made in calls.items():
        assert made <= table_calls.reachable_actions(function), function
