"""Bulk enrollment from a CSV file (`leadflow enroll --csv`): each row validated as the API validates
a form post, new leads stored and enrolled in the named cadence, known ones enrolled in it, paced
under the StartExecution quota. Rows that fail validation are reported, never half-imported.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from leadflow import keys
from leadflow.cadence.enrollments import EnrollmentRefused, enroll
from leadflow.config import cadences, operator_config
from leadflow.intake.submission import SubmissionRejected, accept
from leadflow.models import LeadSubmission
from leadflow.send.alerts import AlertKind, alert_owner
from leadflow.store import lead_items

CLIENT = "csv-import"


@dataclass(frozen=True)
class Rejected:
    line: int
    field: str
    message: str


@dataclass
class Import:
    enrolled: list[str] = field(default_factory=list)
    already_running: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def import_csv(
    path: Path,
    cadence: str,
    *,
    rate_per_second: float = 25.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Import:
    if cadence not in cadences():
        raise ValueError(f"no cadence {cadence!r} (known: {', '.join(sorted(cadences()))})")
    result = Import()
    context = {"default_phone_region": operator_config().intake.default_phone_region, "form": True}
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames or "email" not in reader.fieldnames:
            raise ValueError(f"{path}: the first line names the columns, and one is `email`")
        for line, row in enumerate(reader, start=2):
            fields = {name: value for name, value in row.items() if name and value not in (None, "")}
            try:
                submission = LeadSubmission.model_validate(fields, context=context)
            except ValidationError as error:
                for problem in error.errors(include_url=False):
                    where = ".".join(str(part) for part in problem["loc"]) or "row"
                    result.rejected.append(Rejected(line, where, str(problem["msg"])))
                continue
            try:
                _enroll_row(submission, cadence, result)
            except (SubmissionRejected, EnrollmentRefused) as refused:
                result.rejected.append(Rejected(line, getattr(refused, "field", "email"), str(refused)))
            sleep(1.0 / rate_per_second)
    return result


def _enroll_row(submission: LeadSubmission, cadence: str, result: Import) -> None:
    known = lead_items.lead_id_for_email(keys.email_key(submission.email))
    if known is None:
        accepted = accept(submission, client=CLIENT, cadence=cadence)
        lead_id = lead_items.lead_id_for_email(keys.email_key(submission.email))
        if lead_id and accepted.outcome.value == "new":
            result.enrolled.append(lead_id)
        elif accepted.outcome.value == "suppressed":
            raise EnrollmentRefused("the address is suppressed")
        return
    lead = lead_items.get_lead(known)
    enrollment = enroll(known, cadence, "csv import")
    # enroll() returns the running enrollment when the lead already runs this cadence.
    if lead is not None and enrollment.number > lead.enrollments:
        result.enrolled.append(known)
        # A new lead's acceptance alerts its owner; a known one's owner learns of the import here.
        alert_owner(lead, AlertKind.LEAD_IMPORTED, f"Enrolled in {cadence} from a list import.")
    else:
        result.already_running += 1
