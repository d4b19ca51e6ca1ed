"""Cadence versions: each definition an enrollment started on, kept so its execution finishes on it.

pk=CADENCE#<name>  sk=VERSION#<version>  definition=<the cadence as JSON>
"""

from __future__ import annotations

from datetime import datetime

from leadflow.clock import iso
from leadflow.store.items import dynamodb_table, put_new
from leadflow.store.table import PARTITION_KEY, SORT_KEY


def _key(name: str, version: str) -> dict[str, str]:
    return {PARTITION_KEY: f"CADENCE#{name}", SORT_KEY: f"VERSION#{version}"}


def put_version(name: str, version: str, definition: str, at: datetime) -> None:
    """Keep a version's definition; the first write stays (the same version is the same text)."""
    put_new({**_key(name, version), "definition": definition, "first_used_at": iso(at)})


def get_version(name: str, version: str) -> str | None:
    """The definition (JSON) of a cadence version, if it was ever used."""
    item = dynamodb_table().get_item(Key=_key(name, version), ConsistentRead=True).get("Item")
    return str(item["definition"]) if item else None
