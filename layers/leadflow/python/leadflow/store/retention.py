"""How long personal data is kept (config/leadflow.yaml: retention), a model of its own: every write of
an item that expires reads it (store.items.ttl), and a handler that needs nothing else of the operator
configuration (the SES events function's) reads it from the compiled configuration without importing
or building the whole configuration's models (leadflow.compiled.retention).
"""

# No `from __future__ import annotations`: see operator_config.

from pydantic import BaseModel, ConfigDict, Field


class Retention(BaseModel):
    """How long personal data is kept, per item type, in days (DynamoDB TTL and S3 lifecycle rules).

    Suppression entries (keyed hashes of addresses never to be mailed again) are kept forever:
    forgetting them would mail people who asked us to stop.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A lead and what hangs off it (enrollments, touches, tasks, indexes), after its last activity
    # (a post; touches and tasks count from when they happened). At least a cadence's length.
    leads_days: int = Field(730, ge=90, le=3650)
    # Each post's record: consent flags with the IP address, user agent and page (consent evidence).
    submissions_days: int = Field(730, ge=30, le=3650)
    # What leads did (replies, opens, clicks, bounces...): what the weekly report reads.
    events_days: int = Field(730, ge=30, le=3650)
    # Raw inbound mail (replies, bounces) in the S3 inbound bucket.
    inbound_mail_days: int = Field(30, ge=1, le=3650)
