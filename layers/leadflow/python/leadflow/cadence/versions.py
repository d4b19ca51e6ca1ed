"""Cadence versions: an enrollment runs to its end on the cadence version it started with.

A cadence's version is a hash of its definition (Cadence.version). Enrolling keeps that definition
in the table; the execution input carries the version, and the step reads touch N from that version,
so editing and redeploying a cadence changes new enrollments only. (Step Functions itself keeps a
running execution on the state machine definition it started with.) Templates are files shared by
every version: a touch's copy may be corrected in flight, and `leadflow lint` warns before a change
would leave a running version without its template.
"""

from __future__ import annotations

from functools import cache

from leadflow import clock
from leadflow.cadence.model import Cadence
from leadflow.config import cadences
from leadflow.models import Enrollment
from leadflow.store import cadence_items

_kept: set[tuple[str, str]] = set()


def keep(cadence: Cadence) -> str:
    """Store the cadence's current version (once per process) and return it."""
    version = cadence.version
    if (cadence.name, version) not in _kept:
        cadence_items.put_version(cadence.name, version, cadence.model_dump_json(), clock.now())
        _kept.add((cadence.name, version))
    return version


def cadence_at(name: str, version: str | None) -> Cadence:
    """The cadence as it was at `version` (None: the current one, for enrollments made before versions)."""
    current = cadences().get(name)
    if current is not None and (version is None or current.version == version):
        return current
    if version is None:
        raise LookupError(f"no cadence {name!r}")
    return _stored(name, version)


def cadence_of(enrollment: Enrollment) -> Cadence:
    return cadence_at(enrollment.cadence, enrollment.version)


@cache
def _stored(name: str, version: str) -> Cadence:
    definition = cadence_items.get_version(name, version)
    if definition is None:
        raise LookupError(f"cadence {name!r} version {version} was never stored")
    return Cadence.model_validate_json(definition)


def forget() -> None:
    """Forget what this process stored and read (the Sandbox between runs)."""
    _kept.clear()
    _stored.cache_clear()
