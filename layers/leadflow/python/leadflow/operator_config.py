"""Operator configuration (config/leadflow.yaml): company identity and the sales reps.

Loaded once per cold start and validated; a broken file fails loudly, naming the file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError, model_validator


class Company(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    website: HttpUrl
    postal_address: str = Field(min_length=10, max_length=300)


class Rep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    title: str = Field("", max_length=100)


class OperatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    company: Company
    reps: tuple[Rep, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_rep_ids(self) -> OperatorConfig:
        ids = [rep.id for rep in self.reps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"rep ids must be unique: {ids}")
        return self

    def rep(self, rep_id: str) -> Rep:
        return next(rep for rep in self.reps if rep.id == rep_id)


class OperatorConfigError(ValueError):
    """The operator configuration file cannot be used; the message names the file and the field."""


@cache
def load_operator_config(path: Path) -> OperatorConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return OperatorConfig.model_validate(raw)
    except (OSError, yaml.YAMLError) as error:
        raise OperatorConfigError(f"{path}: cannot read: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"field {'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise OperatorConfigError(f"{path}: invalid configuration: {problems}") from error
