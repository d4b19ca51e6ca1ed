"""Cadences as data: a YAML file per cadence, validated into pydantic models.

The cadence file is the single source of truth for a sequence: it drives the
state machine definition (asl.py), the CDK stack, the schedule and the docs.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CADENCE_DIR = Path(__file__).resolve().parents[4] / "cadences"
CADENCE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")


class Channel(StrEnum):
    EMAIL = "email"


class Touch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int = Field(ge=1, le=365, description="Playbook day: 1 is the day the lead arrives.")
    channel: Channel
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=30, description="Short label, e.g. value-add."
    )


class Cadence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=CADENCE_NAME.pattern)
    description: str = Field(min_length=1)
    touches: tuple[Touch, ...] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _days_in_order(self) -> Cadence:
        for number, (before, after) in enumerate(zip(self.touches, self.touches[1:], strict=False), start=2):
            if after.day < before.day:
                raise ValueError(
                    f"touch {number}: day {after.day} comes before day {before.day} of touch {number - 1}"
                )
        return self

    def touch(self, number: int) -> Touch:
        """The touch by its 1-based number."""
        return self.touches[number - 1]

    def state_name(self, number: int) -> str:
        """Readable Step Functions state name, e.g. "Day 04 · email · value-add"."""
        touch = self.touch(number)
        return f"Day {touch.day:02d} · {touch.channel.value} · {touch.name}"


class CadenceFileError(ValueError):
    """A cadence file that cannot be used; the message names the file, the touch and the field."""


def _describe(error: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid cadence"]
    for problem in error.errors():
        location = list(problem["loc"])
        where = []
        if len(location) >= 2 and location[0] == "touches" and isinstance(location[1], int):
            where.append(f"touch {location[1] + 1}")
            location = location[2:]
        if location:
            where.append("field " + ".".join(str(part) for part in location))
        lines.append(f"  {', '.join(where) or 'cadence'}: {problem['msg']}")
    return "\n".join(lines)


def load_cadence(path: Path) -> Cadence:
    """Load and validate one cadence file; raise CadenceFileError naming file, touch and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CadenceFileError(f"{path}: cannot read cadence: {error}") from error
    try:
        cadence = Cadence.model_validate(raw)
    except ValidationError as error:
        raise CadenceFileError(_describe(error, path)) from error
    if cadence.name != path.stem:
        raise CadenceFileError(f"{path}: field name: {cadence.name!r} must match the file name {path.stem!r}")
    return cadence


@cache
def load_cadences(directory: Path = DEFAULT_CADENCE_DIR) -> dict[str, Cadence]:
    """Every cadence in a directory, by name."""
    cadences = {}
    for path in sorted(directory.glob("*.yaml")):
        cadence = load_cadence(path)
        cadences[cadence.name] = cadence
    if not cadences:
        raise CadenceFileError(f"{directory}: no cadence files (*.yaml)")
    return cadences
