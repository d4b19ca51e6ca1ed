"""Sales stages from the CRM: a lead becomes an SQL, an opportunity, won or lost.

Three ways in, all ending in `set_stage`:
- `POST /leads/stage` with a server-to-server API key (`StageChange` as JSON);
- `POST /webhooks/crm`, authenticated before anything is read from it:
  - HubSpot, both the workflow "Send a webhook" action (properties with the email) and the Webhooks
    API of a public or private app (a JSON array of `contact.propertyChange` for lifecyclestage,
    `contact.creation`, `deal.propertyChange` for dealstage: an `objectId`, no email, resolved to a
    lead through the HubSpot id stored when a workflow webhook named it with the lead's email):
    `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 of method + URI + body +
    `X-HubSpot-Request-Timestamp` (milliseconds, at most 5 minutes old), the URI exactly as HubSpot
    called it (`signed_uris`);
  - Salesforce Outbound Messages (SOAP): Salesforce cannot sign them, so the endpoint URL carries a
    `token` equal to one of the webhook keys, and the message's OrganizationId must be one the
    operator configured. Or, with SALESFORCE_SOURCE_CIDRS set, no token: the request must come
    from one of those ranges (Salesforce's published ones) and name a configured organization.
    Each notification must carry its record's SystemModstamp or LastModifiedDate: one older than
    SALESFORCE_MAX_AGE, or whose Id was applied before, is acknowledged (Salesforce stops
    retrying) and not applied. Lead, Contact and Opportunity records: by Email, else by the record's
    Id (or an Opportunity's ContactId) stored when a message named it with an email; otherwise
    acknowledged and counted `unmatched`;
  - anything else: the generic JSON shape, signed like the meeting webhook
    (`X-Leadflow-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<raw body>">`);
- `leadflow stage EMAIL sql` locally.

The keys come from Secrets Manager (whitespace-separated; any one verifies, for rotation).
A stage is stored on the lead and as an event on the by_day index (the weekly report reads it);
a redelivered or older change never moves a lead back. An authentic event about no lead of ours
is acknowledged and counted (`unmatched`), never refused: a CRM retries or disables what it sees fail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import quote
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from leadflow import aws, clock, keys
from leadflow.config import settings
from leadflow.fields import networks, organization_ids
from leadflow.observability import logger
from leadflow.store import lead_items, notification_items

TOLERANCE = timedelta(minutes=5)
# Salesforce retries an unacknowledged outbound message for up to 24 hours; one hour more covers the
# queue between the record's change and the first delivery. The bound rests on the record's
# SystemModstamp / LastModifiedDate in the message: not signed (see docs/integrations.md).
SALESFORCE_MAX_AGE = timedelta(hours=25)
# Applied notification Ids are remembered longer than that: a repeat within the bound is known by its
# Id, a later one is refused by its age.
SALESFORCE_REMEMBER = 2 * SALESFORCE_MAX_AGE
GENERIC_HEADER = "x-leadflow-signature"
HUBSPOT_HEADER = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP = "x-hubspot-request-timestamp"
SOAP_OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
# HubSpot's v3 signature is over the URI with these characters decoded (its "Validating requests"
# table) and everything else as sent, e.g. `%20` stays `%20`.
HUBSPOT_LITERAL = ":/?@!$'()*,;"
# Where CRM record ids are indexed to leads (lead_items.index_contact kinds).
HUBSPOT_CONTACT, HUBSPOT_DEAL, SALESFORCE_RECORD = "HUBSPOT", "HUBSPOTDEAL", "SALESFORCE"
HUBSPOT_PROPERTIES = {"contact.propertyChange": "lifecyclestage", "deal.propertyChange": "dealstage"}
SALESFORCE_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


class SalesStage(StrEnum):
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"


# CRM values -> stages. HubSpot: contact lifecycle stages and the default deal pipeline's stage ids;
# Salesforce: the standard Lead Status and Opportunity StageName picklists (and common SQL labels).
HUBSPOT_STAGES = {
    "salesqualifiedlead": SalesStage.SQL,
    "opportunity": SalesStage.OPPORTUNITY,
    "customer": SalesStage.WON,
    "closedwon": SalesStage.WON,
    "closedlost": SalesStage.LOST,
}
SALESFORCE_STAGES = {
    "qualified": SalesStage.SQL,
    "sql": SalesStage.SQL,
    "sales qualified": SalesStage.SQL,
    "closed - converted": SalesStage.OPPORTUNITY,
    "closed - not converted": SalesStage.LOST,
    "closed won": SalesStage.WON,
    "closed lost": SalesStage.LOST,
}


class StageChange(BaseModel):
    """One stage change for one lead, named by its email address or its leadflow id."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, description="The lead's address (or give lead_id).")
    lead_id: str | None = Field(None, pattern=r"^[0-9a-f]{20}$", description="The lead's leadflow id.")
    stage: SalesStage = Field(description="sql, opportunity, won or lost.")
    at: datetime | None = Field(
        None, description="When the CRM changed it (ISO 8601 with zone; default now)."
    )
    amount: Decimal | None = Field(
        None, ge=0, max_digits=14, decimal_places=2, description="The deal's value (opportunity, won)."
    )
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR.")

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError("not an email address")
        return value

    @field_validator("at")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-23T14:00:00Z")
        return value

    @model_validator(mode="after")
    def _one_lead(self) -> StageChange:
        if (self.email is None) == (self.lead_id is None):
            raise ValueError("give the lead's email or its lead_id (one of them)")
        return self


class Unauthenticated(Exception):
    """Missing, malformed, wrong or stale signature or token: answer 401 and change nothing."""


class NotAStageChange(Exception):
    """An authenticated delivery that sets no stage we track (another property, a ping)."""


class InvalidChange(Exception):
    """An authenticated delivery whose fields are wrong: answer 422 with `errors`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = errors


@cache
def webhook_keys() -> tuple[bytes, ...]:
    arn = settings().crm_webhook_secret_arn
    if not arn:
        return ()
    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)
    return tuple(key.encode() for key in str(secret["SecretString"]).split())


def _signed(message: bytes, signature: str, encode: Callable[[bytes], str]) -> bool:
    return any(
        hmac.compare_digest(encode(hmac.new(key, message, hashlib.sha256).digest()), signature.strip())
        for key in webhook_keys()
    )


def _hex(digest: bytes) -> str:
    return digest.hex()


def _base64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def provider_of(headers: Mapping[str, str], body: bytes) -> str:
    lowered = {name.lower() for name in headers}
    if HUBSPOT_HEADER in lowered:
        return "hubspot"
    if GENERIC_HEADER in lowered:
        return "generic"
    if body.lstrip().startswith(b"<"):
        return "salesforce"
    return "unknown"


def signed_uris(base: str, query: Mapping[str, list[str]] | None) -> list[str]:
    """The URIs HubSpot may have signed for a request to `base` with these (decoded, multi-valued)
    query parameters. API Gateway's REST proxy event has no raw query string, so it is re-encoded
    as HubSpot writes it: every value kept in order (a repeated key too), HubSpot's literal
    characters as they are, a space as `%20` (or `+`, for an endpoint URL written that way)."""
    if not query:
        return [base]
    found = []
    for space in ("%20", "+"):
        pairs = [
            f"{quote(name, safe=HUBSPOT_LITERAL)}={quote(value, safe=HUBSPOT_LITERAL)}".replace("%20", space)
            for name, values in query.items()
            for value in values
        ]
        found.append(f"{base}?{'&'.join(pairs)}")
    return list(dict.fromkeys(found))


def verify(
    provider: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str | list[str],
    query: Mapping[str, str],
    now: datetime | None = None,
    source_ip: str | None = None,
) -> None:
    """Raise Unauthenticated unless the delivery is authentic and fresh."""
    if not webhook_keys():
        raise Unauthenticated("no CRM webhook secret configured")
    now = now or clock.now()
    lowered = {name.lower(): value for name, value in headers.items()}
    if provider == "hubspot":
        stamp = lowered.get(HUBSPOT_TIMESTAMP, "")
        if not stamp.isdigit():
            raise Unauthenticated("hubspot: no request timestamp")
        uris = [url] if isinstance(url, str) else url
        if not any(
            _signed(
                method.upper().encode() + uri.encode() + raw_body + stamp.encode(),
                lowered[HUBSPOT_HEADER],
                _base64,
            )
            for uri in uris
        ):
            raise Unauthenticated("hubspot: wrong signature")
        if abs(now - datetime.fromtimestamp(int(stamp) / 1000, now.tzinfo)) > TOLERANCE:
            raise Unauthenticated("hubspot: stale timestamp")
        return
    if provider == "generic":
        fields = dict(part.strip().partition("=")[::2] for part in lowered[GENERIC_HEADER].split(","))
        stamp, signature = fields.get("t", ""), fields.get("v1", "")
        if not stamp.isdigit() or not signature:
            raise Unauthenticated("generic: malformed signature")
        if not _signed(stamp.encode() + b"." + raw_body, signature.lower(), _hex):
            raise Unauthenticated("generic: wrong signature")
        if abs(now - datetime.fromtimestamp(int(stamp), now.tzinfo)) > TOLERANCE:
            raise Unauthenticated("generic: stale timestamp")
        return
    if provider == "salesforce":
        allowlist = networks(settings().salesforce_source_cidrs)
        if allowlist:
            _from_salesforce(allowlist, source_ip, query)
            return
        token = query.get("token", "")
        if not token or not any(hmac.compare_digest(token.encode(), key) for key in webhook_keys()):
            raise Unauthenticated("salesforce: wrong or missing token")
        return
    raise Unauthenticated("no signature header")


def _from_salesforce(
    allowlist: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
    source_ip: str | None,
    query: Mapping[str, str],
) -> None:
    """The allowlist mode: the connection's source address (API Gateway's, not a header) is in one of
    Salesforce's ranges. Any Salesforce org sends from those: the OrganizationId check (parse) is
    what makes it ours, so the mode needs configured organizations."""
    if not organization_ids(settings().salesforce_org_ids):
        raise Unauthenticated("salesforce: the source allowlist needs SALESFORCE_ORG_IDS")
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        raise Unauthenticated("salesforce: no source address") from None
    if not any(address in network for network in allowlist):
        raise Unauthenticated("salesforce: source address outside the allowlist")
    if "token" in query:
        logger.warning("Salesforce endpoint URL still carries a token: remove it (the allowlist is on)")


def _validated(document: dict[str, Any], where: str) -> StageChange:
    try:
        return StageChange.model_validate(document)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        raise InvalidChange(
            [
                {"loc": (where, *problem["loc"]), "msg": problem["msg"], "type": problem["type"]}
                for problem in problems
            ]
        ) from None


def _hubspot_value(properties: Mapping[str, Any], name: str) -> Any:
    value = properties.get(name)
    return value.get("value") if isinstance(value, dict) else value


def _hubspot_time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, clock.now().tzinfo) if str(value).isdigit() else None


def parse_hubspot(document: Any) -> tuple[list[StageChange], dict[str, int]]:
    """A workflow webhook (one object or a list, each with its properties and `email`) or a Webhooks
    API batch (a list of subscription events): the stage changes, and the count of other outcomes
    (`unmatched`: an objectId no lead is known by; `ignored`: another property or event)."""
    changes: list[StageChange] = []
    others: dict[str, int] = {}
    for number, record in enumerate(document if isinstance(document, list) else [document]):
        if not isinstance(record, dict):
            raise InvalidChange([{"loc": (number,), "msg": "expected an object", "type": "dict_type"}])
        if "subscriptionType" in record:
            change, outcome = _hubspot_subscription_event(record)
            if change is not None:
                changes.append(change)
            else:
                others[outcome] = others.get(outcome, 0) + 1
            continue
        nested = record.get("properties")
        properties: dict[str, Any] = nested if isinstance(nested, dict) else record
        raw_stage = _hubspot_value(properties, "dealstage") or _hubspot_value(properties, "lifecyclestage")
        stage = HUBSPOT_STAGES.get(str(raw_stage or "").lower())
        _remember_hubspot_id(properties, record)
        if stage is None:
            continue
        changed = record.get("occurredAt") or _hubspot_value(properties, "hs_lastmodifieddate")
        at = _hubspot_time(changed)
        changes.append(
            _validated(
                {
                    "email": _hubspot_value(properties, "email"),
                    "stage": stage,
                    "at": at,
                    "amount": _hubspot_value(properties, "amount") or None,
                },
                str(number),
            )
        )
    if not changes and not others:
        raise NotAStageChange("no tracked lifecycle or deal stage")
    return changes, others


def _remember_hubspot_id(properties: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """A workflow webhook names the contact's (or deal's) HubSpot id with the lead's email: keep the
    id for the Webhooks API's events, which carry only the objectId. Only for a lead we have."""
    email = _hubspot_value(properties, "email")
    object_id = _hubspot_value(properties, "hs_object_id") or record.get("objectId") or record.get("vid")
    if not email or not str(object_id or "").isdigit():
        return
    # A deal workflow's webhook names the deal (its hs_object_id) and, as the operator maps it, the
    # associated contact's email.
    index = HUBSPOT_DEAL if _hubspot_value(properties, "dealstage") is not None else HUBSPOT_CONTACT
    lead_id = lead_items.lead_id_for_email(keys.email_key(str(email)))
    if lead_id and lead_id not in lead_items.leads_by_contact(index, str(object_id)):
        lead_items.index_external_id(index, str(object_id), lead_id)


def _hubspot_subscription_event(event: Mapping[str, Any]) -> tuple[StageChange | None, str]:
    """One Webhooks API event: a stage change for a known objectId, or why not."""
    kind = str(event.get("subscriptionType"))
    if HUBSPOT_PROPERTIES.get(kind) != event.get("propertyName"):
        return None, "ignored"  # contact.creation and other properties: nothing to set
    stage = HUBSPOT_STAGES.get(str(event.get("propertyValue") or "").lower())
    if stage is None:
        return None, "ignored"
    index = HUBSPOT_DEAL if kind.startswith("deal.") else HUBSPOT_CONTACT
    found = lead_items.leads_by_contact(index, str(event.get("objectId")))
    if not found:
        logger.info("HubSpot event about no known lead", extra={"subscription": kind})
        return None, "unmatched"
    return _validated(
        {"lead_id": found[-1], "stage": stage, "at": _hubspot_time(event.get("occurredAt"))}, kind
    ), ""


class SalesforceNotification(NamedTuple):
    """One `<Notification>` of an outbound message: its Id, its record's latest modification time
    (SystemModstamp or LastModifiedDate, the later), and the stage change it carries (None: no
    tracked status)."""

    id: str
    modified: datetime
    change: StageChange | None
    tracked: bool = True  # a tracked stage, whether or not a lead was found (change None: unmatched)


def _salesforce_time(value: str, loc: tuple[str, ...]) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidChange(
            [{"loc": loc, "msg": "not an ISO 8601 time with zone", "type": "datetime_parsing"}]
        )
    return moment


def parse_salesforce(
    raw_body: bytes, organizations: frozenset[str]
) -> tuple[str, list[SalesforceNotification]]:
    """An Outbound Message: its organization (15-character id) and its notifications of Lead,
    Contact or Opportunity records (Email and Status / StageName, SystemModstamp or LastModifiedDate)."""
    try:
        root = ElementTree.fromstring(raw_body)
    except ElementTree.ParseError as error:
        raise InvalidChange([{"loc": ("body",), "msg": f"not XML: {error}", "type": "xml_invalid"}]) from None
    notifications = root.find(f".//{SOAP_OUTBOUND}notifications")
    if notifications is None:
        raise NotAStageChange("not an outbound message")
    organization = notifications.findtext(f"{SOAP_OUTBOUND}OrganizationId") or ""
    if organizations and organization[:15] not in {org[:15] for org in organizations}:
        raise Unauthenticated("salesforce: unknown OrganizationId")
    found = []
    for number, notification in enumerate(notifications.findall(f"{SOAP_OUTBOUND}Notification")):
        where = str(number)
        notification_id = (notification.findtext(f"{SOAP_OUTBOUND}Id") or "").strip()
        if not notification_id:
            raise InvalidChange([{"loc": (where, "Id"), "msg": "missing", "type": "missing"}])
        record = notification.find(f"{SOAP_OUTBOUND}sObject")
        fields = {
            child.tag.rpartition("}")[2]: (child.text or "")
            for child in (record if record is not None else [])
        }
        stamps = [
            _salesforce_time(fields[name], (where, "sObject", name))
            for name in ("SystemModstamp", "LastModifiedDate")
            if fields.get(name)
        ]
        if not stamps:
            raise InvalidChange(
                [
                    {
                        "loc": (where, "sObject", "SystemModstamp"),
                        "msg": "add SystemModstamp (or LastModifiedDate) to the outbound message's "
                        "fields: it bounds the age of a message leadflow accepts",
                        "type": "missing",
                    }
                ]
            )
        raw_stage = fields.get("Leadflow_Stage__c") or fields.get("StageName") or fields.get("Status") or ""
        stage = SALESFORCE_STAGES.get(raw_stage.strip().lower()) or (
            SalesStage(raw_stage) if raw_stage in SalesStage._value2member_map_ else None
        )
        change = None
        lead_id = _salesforce_lead(fields) if stage is not None else None
        if stage is not None and (lead_id or fields.get("Email")):
            change = _validated(
                {
                    "email": None if lead_id else fields.get("Email"),
                    "lead_id": lead_id,
                    "stage": stage,
                    "at": fields.get("LastModifiedDate") or fields.get("SystemModstamp"),
                    "amount": fields.get("Amount") or None,
                },
                where,
            )
        found.append(SalesforceNotification(notification_id, max(stamps), change, stage is not None))
    if not any(notification.tracked for notification in found):
        raise NotAStageChange("no tracked status")
    return organization[:15], found


def _salesforce_lead(fields: Mapping[str, str]) -> str | None:
    """The lead a Lead, Contact or Opportunity record is about: by Email (and then its record Id is
    kept for later messages without one), else by its Id or an Opportunity's ContactId."""
    record_id = (fields.get("Id") or "").strip()
    email = (fields.get("Email") or "").strip()
    if email:
        lead_id = lead_items.lead_id_for_email(keys.email_key(email))
        if lead_id and record_id and lead_id not in lead_items.leads_by_contact(SALESFORCE_RECORD, record_id):
            lead_items.index_external_id(SALESFORCE_RECORD, record_id, lead_id)
        return lead_id
    for candidate in filter(None, (record_id, (fields.get("ContactId") or "").strip())):
        found = lead_items.leads_by_contact(SALESFORCE_RECORD, candidate)
        if found:
            return found[-1]
    return None


def apply_salesforce(organization: str, notifications: list[SalesforceNotification]) -> dict[str, int]:
    """Apply each notification that is fresh and new; outcome -> count. A notification older than
    SALESFORCE_MAX_AGE (`too_old`), timed in the future beyond TOLERANCE (`from_the_future`) or
    applied before (`repeat`) changes nothing; each is still acknowledged by the caller."""
    now = clock.now()
    source = f"salesforce#{organization}"
    outcomes: dict[str, int] = {}
    for notification in notifications:
        if not notification.tracked:
            continue
        age = now - notification.modified
        if age > SALESFORCE_MAX_AGE:
            outcome = "too_old"
        elif -age > TOLERANCE:
            outcome = "from_the_future"
        elif notification_items.seen(source, notification.id):
            outcome = "repeat"
        elif notification.change is None:
            outcome = "unmatched"  # acknowledged: a retry would not find the lead either
            logger.info(
                "Salesforce notification about no known lead", extra={"notification": notification.id}
            )
        else:
            # Applied, then remembered: a crash in between lets Salesforce's retry apply it again,
            # which set_stage makes harmless (one event per time and stage); never the other way.
            outcome = set_stage(notification.change)
            notification_items.remember(source, notification.id, now, now + SALESFORCE_REMEMBER)
        if outcome in ("too_old", "from_the_future", "repeat"):
            modified = clock.iso(notification.modified)
            logger.warning(
                "Salesforce notification refused",
                extra={"why": outcome, "notification": notification.id, "modified": modified},
            )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def parse_generic(document: Any) -> list[StageChange]:
    """`{"event": "lead.stage", "email" | "lead_id", "stage", "at"?, "amount"?, "currency"?}`."""
    if not isinstance(document, dict) or document.get("event") != "lead.stage":
        raise NotAStageChange("not a lead.stage event")
    return [_validated({k: v for k, v in document.items() if k != "event"}, "body")]


def set_stage(change: StageChange) -> str:
    """Store the change; returns stage_set, unchanged (already there, or older) or unknown_lead."""
    lead_id = change.lead_id or (lead_items.lead_id_for_email(keys.email_key(change.email or "")))
    lead = lead_items.get_lead(lead_id) if lead_id else None
    if lead is None:
        return "unknown_lead"
    now = clock.now()
    at = min(change.at, now) if change.at else now
    if not lead_items.set_stage(lead.id, change.stage.value, at, change.amount, change.currency):
        return "unchanged"
    logger.info("sales stage set", extra={"lead_id": lead.id, "stage": change.stage.value})
    return "stage_set"


def handle_webhook(
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str | list[str],
    query: Mapping[str, str],
    organizations: frozenset[str] = frozenset(),
    source_ip: str | None = None,
) -> dict[str, int]:
    """Authenticate, parse and apply a CRM delivery: outcome -> count. Raises Unauthenticated or
    InvalidChange; an authenticated delivery about something else counts as `ignored`."""
    provider = provider_of(headers, raw_body)
    verify(provider, raw_body, headers, method=method, url=url, query=query, source_ip=source_ip)
    try:
        if provider == "salesforce":
            return apply_salesforce(*parse_salesforce(raw_body, organizations))
        try:
            document = json.loads(raw_body)
        except ValueError:
            raise InvalidChange(
                [{"loc": ("body",), "msg": "not valid JSON", "type": "json_invalid"}]
            ) from None
        changes, outcomes = (
            parse_hubspot(document) if provider == "hubspot" else (parse_generic(document), {})
        )
    except NotAStageChange as error:
        logger.info("CRM webhook ignored", extra={"provider": provider, "why": str(error)})
        return {"ignored": 1}
    for change in changes:
        outcome = set_stage(change)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
