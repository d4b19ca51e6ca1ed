"""The cadence vocabulary a module can use without the cadence models: where cadence files live, the
channels, efforts, weekdays and fit bands, name patterns, the SMS quiet hours, reading YAML, and the
lead's contact status (whether a cadence may reach them; `leadflow.models` re-exports it).

Kept apart from model.py (the models, re-exported there) so that a cold start that reads no cadence
(events, inbound, sweep) does not build the cadence models: `leadflow.models`, `operator_config` and
`config` import these names from here (~14 ms of those cold starts); and the report, whose operator
configuration names contact statuses, does not build leadflow.models (~100M instructions, ~14 ms).
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any

# The repository root in a checkout (layers/leadflow/python/leadflow/cadence/); in Lambda the layer
# puts the package at /opt/python and cadences at /opt/cadences.
_PACKAGE_PARENTS = Path(__file__).resolve().parents
PROJECT_ROOT = _PACKAGE_PARENTS[5] if len(_PACKAGE_PARENTS) > 5 else Path("/opt")
DEFAULT_CADENCE_DIR = PROJECT_ROOT / "cadences"
SCHEMA_FILE = "cadence.schema.json"
CADENCE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")
SLUG = r"^[a-z0-9][a-z0-9_-]*$"
# Carrier and TCPA-style quiet hours: no SMS before 08:00 or from 21:00, lead's local time.
SMS_EARLIEST = time(8, 0)
SMS_LATEST = time(21, 0)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CALL = "call"
    LINKEDIN = "linkedin"
    VIDEO = "video"
    # An email the rep writes: a draft rendered from the template goes to the owner's queue; the rep
    # edits and sends it (or skips it) from the task page (leadflow.send.drafts).
    MANUAL_EMAIL = "manual_email"

    @property
    def automated(self) -> bool:
        """Sent by leadflow itself; the other channels become rep tasks."""
        return self in (Channel.EMAIL, Channel.SMS)

    @property
    def needs_template(self) -> bool:
        return self.automated or self is Channel.MANUAL_EMAIL

    @property
    def renders_as(self) -> str:
        """The template frame the channel renders with: a rep's draft is an email."""
        return Channel.EMAIL.value if self is Channel.MANUAL_EMAIL else self.value


class Effort(StrEnum):
    """How much of a rep's attention a touch takes (reports weigh results by it)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


DEFAULT_EFFORT = {
    Channel.EMAIL: Effort.LOW,
    Channel.SMS: Effort.LOW,
    Channel.LINKEDIN: Effort.MEDIUM,
    Channel.CALL: Effort.MEDIUM,
    Channel.VIDEO: Effort.HIGH,
    Channel.MANUAL_EMAIL: Effort.MEDIUM,
}


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as `date.weekday()` counts."""
        return list(Weekday).index(self)


class FitBand(StrEnum):
    """Fit-score bands; the thresholds live in config/leadflow.yaml (scoring.bands)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class YamlFileError(ValueError):
    """A YAML file cannot be read or parsed; the message says why."""


def read_yaml(path: Path) -> Any:
    """A YAML file's data, loaded safely; raises YamlFileError.

    libyaml's safe loader where PyYAML was built with it (its wheels are): the pure-Python one takes
    tens of milliseconds per file. PyYAML is imported here, by the cold starts that read YAML only.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as error:
        raise YamlFileError(str(error)) from error


class ContactStatus(StrEnum):
    """Where the relationship with the lead stands, across all cadences."""

    ACTIVE = "active"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    OPTED_OUT = "opted_out"
    BOUNCED = "bounced"
