"""Erase a person (GDPR art. 17): `leadflow erase EMAIL` and the CRM's POST /erasures.

In this order, so nothing can reach the person while their data goes:
1. Suppress the address by its keyed hash: every later touch, of any enrollment, ends at its
   suppression check, and a later post of the address is not stored (intake) and contacts no one.
2. Stop every execution of the lead's enrollments.
3. Delete the lead's items: the lead, its submissions (consent records), enrollments, touches,
   rep tasks, reserved send slots, markers; the email, company-domain and phone index entries
   and the Message-ID index entries of its messages; the rep alerts about it held for a rep's
   hours (send.alerts); and the address's held posts (intake.held), lead or not.
4. Delete the raw inbound mail stored in S3 that names the address or carries one of the lead's
   reply or unsubscribe tokens.
What stays: the suppression entry (a keyed hash, no address) and the lead's report events
(reply, bounce, open...: kind, time, cadence, touch), stripped of any free text and links, under
the random lead id that no longer leads anywhere: the weekly aggregates stay true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leadflow import aws, clock, keys, tokens
from leadflow.cadence import executions
from leadflow.config import operator_config, settings
from leadflow.intake.contacts import DOMAIN, PHONE, company_domain
from leadflow.models import Enrollment, Lead, RunStatus
from leadflow.observability import logger, metrics
from leadflow.send.alerts import MANAGER
from leadflow.store import alert_items, erase_items, held_items, lead_items, suppression_items
from leadflow.store.items import lead_pk

# Event attributes that may carry words or links of the person; everything else is counts and ids.
EVENT_FREE_TEXT = ("text", "note", "link", "message_id", "subject", "detail", "reason")
# The raw-mail prefix SES receipt rules write to (infra.constructs.email.INBOUND_PREFIX).
INBOUND_PREFIX = "inbound/"
_TOKEN = re.compile(rb"(?:reply|unsubscribe)\+([a-z0-9]{37})@", re.IGNORECASE)


@dataclass
class Erasure:
    """What an erasure removed, by kind (printed by the CLI, returned by the API)."""

    lead_found: bool = False
    executions_stopped: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    events_anonymized: int = 0
    raw_mails_deleted: int = 0
    suppression_kept: bool = True

    def count(self, kind: str, amount: int = 1) -> None:
        self.removed[kind] = self.removed.get(kind, 0) + amount

    def summary(self) -> str:
        removed = ", ".join(f"{number} {kind}" for kind, number in sorted(self.removed.items())) or "nothing"
        return (
            f"{'lead found' if self.lead_found else 'no lead with this address'}; stopped "
            f"{self.executions_stopped} executions; deleted {removed}; {self.raw_mails_deleted} raw inbound "
            f"mails deleted; {self.events_anonymized} report events kept without identity; "
            "the keyed-hash suppression entry stays"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_found": self.lead_found,
            "executions_stopped": self.executions_stopped,
            "removed": dict(sorted(self.removed.items())),
            "raw_mails_deleted": self.raw_mails_deleted,
            "events_anonymized": self.events_anonymized,
            "suppression_kept": self.suppression_kept,
        }


def _kind(sort_key: str) -> str:
    return sort_key.split("#", 1)[0].lower()


def erase_person(address: str) -> Erasure:
    """Erase everything about one address (see the module docstring). Idempotent."""
    now = clock.now()
    email_key = keys.email_key(address)
    suppression_items.suppress(email_key, "erased", now)
    erasure = Erasure()
    lead_id = lead_items.lead_id_for_email(email_key)
    lead = lead_items.get_lead(lead_id) if lead_id else None
    if lead_id:
        erasure.lead_found = True
        _erase_lead(lead_id, lead, erasure)
        if erase_items.delete(f"EMAIL#{email_key}", "EMAIL"):
            erasure.count("index entries")
    for key in held_items.held_for(email_key):
        if erase_items.delete(str(key["pk"]), str(key["sk"])):
            erasure.count("held posts")
    erasure.raw_mails_deleted = _delete_raw_mail(address, lead_id)
    metrics.add_metric(name="PersonErased", unit="Count", value=1)
    logger.info("person erased", extra={"lead_id": lead_id, **erasure.as_dict()})
    return erasure


def _erase_lead(lead_id: str, lead: Lead | None, erasure: Erasure) -> None:
    items = erase_items.partition(lead_id)
    for item in items:
        if not str(item["sk"]).startswith("ENROLLMENT#"):
            continue
        enrollment = Enrollment.model_validate(item)
        # Stored, or derived for a running one whose touch 1 claim did not store it yet (enrollments.started).
        started = enrollment.execution_arn or enrollment.run_status is RunStatus.RUNNING
        execution = executions.arn_of(enrollment) if started else None
        if execution:
            executions.stop(execution, "erased")
            erasure.executions_stopped += 1
    if lead is not None:
        for kind, detail in ((DOMAIN, company_domain(lead.email)), (PHONE, lead.phone)):
            if detail and erase_items.delete(f"{kind}#{keys.email_key(detail)}", lead_pk(lead_id)):
                erasure.count("index entries")
    for item in items:
        pk, sk = str(item["pk"]), str(item["sk"])
        if sk.startswith("EVENT#"):
            erase_items.remove_attributes(pk, sk, [name for name in EVENT_FREE_TEXT if name in item])
            erasure.events_anonymized += 1
            continue
        if sk.startswith(f"{lead_items.EXTERNAL_ID}#"):
            # A CRM's id for the lead (HubSpot, Salesforce): its index entry points at the lead.
            _, kind, external_id = sk.split("#", 2)
            if erase_items.delete(f"{kind}#{external_id}", lead_pk(lead_id)):
                erasure.count("index entries")
        if sk.startswith("TOUCH#"):
            for name in ("message_id", "ses_message_id", "own_message_id"):
                message_id = str(item.get(name) or "").strip("<>")
                if message_id and erase_items.delete(f"MSG#{message_id}", "MSG"):
                    erasure.count("message index entries")
        if erase_items.delete(pk, sk):
            erasure.count({"lead": "leads"}.get(_kind(sk), _kind(sk) + "s"))
    config = operator_config()
    for person in [rep.id for rep in config.reps] + [MANAGER]:
        for key in alert_items.held_for_lead(person, lead_id):
            if erase_items.delete(str(key["pk"]), str(key["sk"])):
                erasure.count("held rep alerts")


def _delete_raw_mail(address: str, lead_id: str | None) -> int:
    """Delete stored inbound mail that names the address or carries one of the lead's tokens."""
    bucket = settings().inbound_bucket
    if not bucket:
        return 0
    s3 = aws.client("s3")
    needle = keys.normalize_email(address).encode()
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=INBOUND_PREFIX):
        for entry in page.get("Contents", []):
            raw = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            if needle in raw.lower() or (lead_id and _carries_token(raw, lead_id)):
                s3.delete_object(Bucket=bucket, Key=entry["Key"])
                deleted += 1
    return deleted


def _carries_token(raw: bytes, lead_id: str) -> bool:
    for token in _TOKEN.findall(raw):
        text = token.decode("ascii").lower()
        target = tokens.verify(tokens.Purpose.REPLY, text) or tokens.verify(tokens.Purpose.UNSUBSCRIBE, text)
        if target is not None and target.lead_id == lead_id:
            return True
    return False
