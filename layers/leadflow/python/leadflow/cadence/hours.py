"""When people are at work: a rep's or the manager's business hours (config/leadflow.yaml: reps[].hours,
speed_to_lead.manager.hours), a model of its own. Every sweep delivers the rep alerts held for whoever
is at work (send.held_alerts): it reads their hours from the compiled configuration without importing or
building the whole configuration's models (leadflow.compiled.alert_hours).
"""

# No `from __future__ import annotations`: see operator_config.

from datetime import UTC, date, datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadflow.cadence.terms import Weekday
from leadflow.fields import IanaZone

# The `rep` attribute of an alert for the manager (config speed_to_lead.manager): never a rep id
# (those start with a letter or digit), so no rep's subscription filter lets it through.
MANAGER = "_manager"

# A local clock time as the file writes it, "HH:MM" (24 h).
LOCAL_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


# A run of days off longer than this (weekends and holidays) means a broken calendar: give up there.
MAX_DAYS_OFF = 30


class BusinessHours(BaseModel):
    """When a rep works, in their own time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekdays: tuple[Weekday, ...] = Field(
        (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI), min_length=1
    )
    start: str = Field("09:00", pattern=LOCAL_TIME, description='Local "HH:MM".')
    end: str = Field("17:00", pattern=LOCAL_TIME, description='Local "HH:MM", exclusive.')
    timezone: IanaZone = Field("America/New_York", description="IANA time zone, e.g. Europe/Berlin.")
    # Whose public holidays are days off (ISO 3166-1 alpha-2); default: the country of `timezone`.
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    def working_day(self, day: date) -> bool:
        from leadflow.cadence.schedule import country_of_zone, public_holiday

        if day.weekday() not in {weekday.number for weekday in self.weekdays}:
            return False
        country = self.country or country_of_zone(self.timezone)
        return not (country and public_holiday(country, day))

    def working(self, moment: datetime) -> bool:
        """Whether the person is at work at `moment`: a working day (not a public holiday), in hours."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        return start <= local.time() < end and self.working_day(local.date())

    def opening(self, moment: datetime) -> datetime:
        """`moment` if the person is working then, else the start of their next working day (UTC)."""
        if self.working(moment):
            return moment
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        start = time.fromisoformat(self.start)
        day = local.date() if local.time() < start else local.date() + timedelta(days=1)
        for _ in range(MAX_DAYS_OFF):
            if self.working_day(day):
                break
            day += timedelta(days=1)
        return datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
