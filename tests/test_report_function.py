"""The report function on the Sandbox, after a demo run: one email with HTML, text and CSV to the
configured recipients, the HTML archived in S3 under the key the email names, aggregates only."""

import csv
import io
import re
from datetime import timedelta

import pytest

from leadflow.clock import parse_iso
from leadflow.config import operator_config
from leadflow.local.demo import simulate, synthetic_leads
from leadflow.local.sandbox import Sandbox

START = "2026-11-16T09:00:00Z"


@pytest.fixture(scope="module")
def after_demo():
    """A demo run of 12 leads over 2 days, then the scheduled report for the week after it."""
    population = synthetic_leads(12, 2, 0.5, 11, parse_iso(START))
    with Sandbox(start=START) as sb:
        end = simulate(sb, population)
        before = len(sb.outbox())
        # Monday 08:00 in the configured time zone, the week after the leads' cadences ended.
        run = sb.run_report(parse_iso("2026-12-14T14:00:00Z"))
        sent = sb.outbox()[before:]
        archived = {suffix: sb.archived(key) for suffix, key in run["keys"].items()}
        again = sb.run_report(parse_iso("2026-12-14T14:00:00Z"))
        after_retry = len(sb.outbox())
        manual = sb.run_report(since=parse_iso(START), until=end)
        leads = [sb.find_lead(lead.email) for lead in population]
        # Leads are people; a booked meeting adds a post-meeting enrollment, counted apart.
        enrolled = sb.summary()["enrolled"]
        yield {
            "enrolled": enrolled,
            "run": run,
            "sent": sent,
            "archived": archived,
            "again": again,
            "retry_sent": after_retry - before - len(sent),
            "manual": manual,
            "population": population,
            "leads": leads,
            "sb": sb,
            "end": end,
        }


def test_one_email_to_the_configured_recipients(after_demo):
    (email,) = after_demo["sent"]
    assert email["to"] == ", ".join(operator_config().report_recipients) == "sales-team@leadflow.example"
    assert email["subject"].startswith("Leadflow Demo Co follow-up report, week of 2026-12-07")
    assert email["lead_id"] is None


def test_the_email_has_html_text_and_a_csv_attachment(after_demo):
    (email,) = after_demo["sent"]
    assert email["html"].lstrip().startswith("<!DOCTYPE html>")
    assert "WHAT TO CHANGE" in email["text"]
    (attachment,) = email["attachments"]
    assert attachment["content_type"] == "text/csv"
    assert attachment["filename"] == "leadflow-report-2026-12-07.csv"
    rows = list(csv.reader(io.StringIO(attachment["content"])))
    assert rows[0] == ["window", "section", "dimension", "segment", "metric", "value"]
    leads = {(r[0], r[1], r[4]): r[5] for r in rows if r[1] == "overall"}
    assert leads[("trailing 90 days", "overall", "leads")] == str(len(after_demo["population"]))
    assert leads[("trailing 90 days", "overall", "enrollments")] == str(after_demo["enrolled"])


def test_the_html_is_archived_under_the_weeks_date_and_named_in_the_email(after_demo):
    run, (email,) = after_demo["run"], after_demo["sent"]
    assert run["status"] == "sent"
    assert run["keys"]["html"] == "reports/2026-12-07/report.html"
    assert after_demo["archived"]["html"].strip() == email["html"].strip()
    location = f"s3://leadflow-reports/{run['keys']['html']}"
    assert location in email["html"] and location in email["text"]
    assert "X-Amz-Signature" not in email["html"] and "https://" not in email["text"]


def test_the_week_is_the_seven_local_days_before_the_run(after_demo):
    run = after_demo["run"]
    # America/Chicago is UTC-6 in December: local midnight Monday Dec 7 to Monday Dec 14.
    assert (run["since"], run["until"]) == ("2026-12-07T06:00:00Z", "2026-12-14T06:00:00Z")
    assert run["leads"] == 0  # the demo's leads arrived earlier: they count in the trailing 90 days
    (email,) = after_demo["sent"]
    assert "2026-12-07 00:00 to 2026-12-14 00:00 (America/Chicago)" in email["text"]
    assert "Mon 07 Dec 2026 00:00 to Mon 14 Dec 2026 00:00 (America/Chicago)" in email["html"]


def test_a_retried_run_sends_nothing_more(after_demo):
    assert after_demo["again"]["status"] == "already_sent"
    assert after_demo["retry_sent"] == 0


def test_a_manual_run_over_the_demo_counts_every_lead(after_demo):
    manual = after_demo["manual"]
    assert manual["status"] == "sent"
    assert manual["leads"] == len(after_demo["population"]) == 12


def test_no_script_no_svg_and_no_lead_details_anywhere(after_demo):
    (email,) = after_demo["sent"]
    parts = [email["subject"], email["html"], email["text"], *after_demo["archived"].values()]
    html = email["html"].lower()
    assert "<script" not in html and "<svg" not in html and "javascript:" not in html
    assert "<img" not in html and "<link" not in html  # nothing loads from elsewhere
    for lead in after_demo["population"]:
        for part in parts:
            assert lead.email not in part
            assert re.search(rf"\b{re.escape(lead.company)}\b", part) is None
            assert re.search(rf"\b{re.escape(lead.first_name)}\b", part) is None
    for lead in after_demo["leads"]:
        assert all(lead["id"] not in part for part in parts)


def test_the_report_reads_by_index_never_by_scan(after_demo, monkeypatch):
    from leadflow import aws

    sb = after_demo["sb"]
    client = aws.client("dynamodb")
    calls = []
    for operation in ("scan", "query", "batch_get_item"):
        original = getattr(client, operation)

        def recorder(*args, _operation=operation, _original=original, **kwargs):
            calls.append((_operation, kwargs.get("IndexName")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(client, operation, recorder)
    sb.run_report(since=parse_iso(START), until=after_demo["end"] + timedelta(days=1), force=True)
    assert calls and "scan" not in {operation for operation, _ in calls}
    assert {index for op, index in calls if op == "query"} == {"by_day"}


def test_the_cycle_collector_is_paused_only_while_the_report_reads_and_aggregates():
    import gc

    from leadflow.report.weekly import cycle_collection_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), cycle_collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("a failed read")
    assert gc.isenabled()
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_the_demos_email_opens_with_its_verdicts_and_fits_gmail(after_demo):
    """Issue 27 rerun on the demo: the email's HTML part (as carried, quoted-printable) under 90 KB, a
    multipart/mixed message with the CSV, verdicts first in both parts, the subject naming the top one."""
    from email import message_from_bytes, policy

    from moto.ses.models import ses_backends

    from leadflow.local.events import ACCOUNT_ID, REGION

    run = after_demo["run"]
    (sent,) = [m for m in ses_backends[ACCOUNT_ID][REGION].sent_messages if m.id == run["message_id"]]
    message = message_from_bytes(sent.raw_data.encode(), policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    parts = {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html", "text/csv"}
    assert len(parts["text/html"].get_payload().encode()) < 90_000
    text = parts["text/plain"].get_content().replace("\r\n", "\n")
    verdicts = text.split("\n\n")[1].splitlines()
    assert verdicts[0].startswith("VERDICTS") and 1 < len(verdicts) <= 6
    top = verdicts[1].split("] ", 1)[1]  # "1. [act] <headline>; <action>."
    assert top.rsplit("; ", 1)[0] in message["Subject"]
    html = parts["text/html"].get_content()
    assert html.index(">Verdicts") < html.index(">Speed to lead") < html.index(">Headlines")
