"""The report's schedule and its event: configuration, the week it covers, the events it accepts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadflow.local.events import scheduler_event
from leadflow.local.sandbox import REPO_ROOT
from leadflow.operator_config import OperatorConfigError, load_operator_config
from leadflow.report.build import weekly_period
from leadflow.report.weekly import SCHEDULE_INPUT, ReportRequest

MINIMAL = """
company: {name: X, website: "https://x.example", postal_address: "1 Long Road, Springfield"}
reps: [{id: alex, name: Alex, email: alex@x.example}, {id: sam, name: Sam, email: sam@x.example}]
"""


def test_the_shipped_configuration_schedules_monday_0800_in_its_time_zone():
    config = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
    schedule = config.report.schedule
    assert (schedule.weekday, schedule.time, schedule.timezone) == ("mon", "08:00", "America/Chicago")
    assert schedule.expression == "cron(0 8 ? * MON *)"
    assert config.report_recipients == ("sales-team@leadflow.example",)


def test_defaults_monday_0800_utc_to_every_rep(tmp_path):
    path = tmp_path / "leadflow.yaml"
    path.write_text(MINIMAL)
    config = load_operator_config(path)
    assert config.report.schedule.expression == "cron(0 8 ? * MON *)"
    assert config.report.schedule.timezone == "UTC"
    assert config.report_recipients == ("alex@x.example", "sam@x.example")


def test_a_configured_schedule(tmp_path):
    path = tmp_path / "leadflow.yaml"
    path.write_text(MINIMAL + "report: {schedule: {weekday: fri, time: '17:30', timezone: Asia/Tokyo}}\n")
    assert load_operator_config(path).report.schedule.expression == "cron(30 17 ? * FRI *)"


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ("{schedule: {timezone: Mars/Olympus}}", "report.schedule.timezone"),
        ("{schedule: {time: '8am'}}", "report.schedule.time"),
        ("{recipients: [not-an-address]}", "report.recipients.0"),
    ],
)
def test_a_broken_report_section_names_the_field(tmp_path, report, field):
    path = tmp_path / "leadflow.yaml"
    path.write_text(MINIMAL + f"report: {report}\n")
    with pytest.raises(OperatorConfigError, match=field.replace(".", r"\.")):
        load_operator_config(path)


def test_the_week_is_seven_local_days_even_across_a_clock_change():
    # US daylight saving ends on Sunday 1 November 2026: that local week lasts 169 hours.
    chicago = ZoneInfo("America/Chicago")
    week = weekly_period(datetime(2026, 11, 2, 14, 0, tzinfo=UTC), "America/Chicago")
    assert week.start == datetime(2026, 10, 26, tzinfo=chicago)
    assert week.end == datetime(2026, 11, 2, tzinfo=chicago)
    assert week.end - week.start == timedelta(hours=169)
    assert week.name == "week of 2026-10-26"


def test_the_schedules_event_and_an_eventbridge_scheduled_event_both_parse():
    event = scheduler_event(datetime(2026, 11, 23, 14, 0, tzinfo=UTC), "arn:aws:scheduler:::schedule/x")
    assert set(event) == set(SCHEDULE_INPUT)
    assert not any("<aws.scheduler" in str(value) for value in event.values())
    assert ReportRequest.model_validate(event).scheduled_time == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    rule_event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-23T14:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/weekly-report"],
        "detail": {},
    }
    assert ReportRequest.model_validate(rule_event).scheduled_time == datetime(
        2026, 11, 23, 14, 0, tzinfo=UTC
    )


def test_a_malformed_manual_run_is_rejected_and_sends_nothing(sb):
    before = len(sb.outbox())
    result = sb.invoke("report", {"since": "2026-11-01T00:00:00Z"})
    assert result["status"] == "rejected"
    assert "since and until together" in result["errors"][0]["message"]
    assert sb.invoke("report", {"since": "2026-11-01", "until": "2026-11-08"})["status"] == "rejected"
    assert len(sb.outbox()) == before
