"""Leads and what hangs off them: the email index, submissions (consent audit trail), contact status,
contact indexes (company domain, phone) and the owner rotation.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from leadflow import clock
from leadflow.clock import iso
from leadflow.models import (
    ContactStatus,
    Enrollment,
    Lead,
    SubmissionRecord,
)
from leadflow.store import suppression_items
from leadflow.store.enrollment_items import enrollment_item
from leadflow.store.items import (
    by_day_keys,
    dynamodb_table,
    enrollment_sk,
    get_consistently,
    is_condition_failure,
    lead_pk,
    put_new,
    query_prefix,
    serialize,
    submission_sk,
    ttl,
    update_if,
)
from leadflow.store.table import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE


def _submission_item(record: SubmissionRecord) -> dict[str, Any]:
    return {
        PARTITION_KEY: lead_pk(record.lead_id),
        SORT_KEY: submission_sk(record),
        "kind": "submission",
        **serialize(record),
        **ttl("submission", record.received_at),
    }


def create_lead(
    lead: Lead,
    email_key: str,
    enrollment: Enrollment | None,
    submission: SubmissionRecord | None = None,
    *,
    completing: bool = False,
) -> bool:
    """Claim the address, then write the post's record, the first enrollment (if any) and the lead.

    Returns False when the address is already taken (by another lead, or for `completing`, when
    the lead item is already written).

    Sequenced single-item writes instead of one transaction (a transaction costs twice the write
    units, and moto deep-copies the whole table per transaction item). The email index is the
    arbiter: one conditional put, so concurrent posts of one address create exactly one lead.
    The lead item comes last, so a lead item implies its enrollment and submission record exist.
    A crash after the claim leaves an index without its lead, and nothing started or sent (the
    execution starts only after this returns); the post that finds it later completes the lead
    under the indexed id (`completing=True`, see `intake.submission`). No write here can leave
    a lead without its index.
    """
    table = dynamodb_table()
    if completing:
        if lead_id_for_email(email_key) != lead.id:
            return False
    elif not put_new(
        {
            PARTITION_KEY: f"EMAIL#{email_key}",
            SORT_KEY: "EMAIL",
            "lead_id": lead.id,
            "created_at": iso(lead.created_at),
            **ttl("lead", lead.created_at),
        }
    ):
        return False
    if submission is not None:
        table.put_item(Item=_submission_item(submission))
    # An enrollment left by a crashed first attempt stays: nothing has started it yet.
    if enrollment is not None:
        put_new(enrollment_item(enrollment))
    lead_keys = {PARTITION_KEY: lead_pk(lead.id), SORT_KEY: "LEAD"}
    return put_new(
        {
            **lead_keys,
            **by_day_keys(lead.created_at, lead.id, "lead"),
            **serialize(lead),
            **ttl("lead", lead.created_at),
        }
    )


def email_claimed_at(email_key: str) -> datetime | None:
    """When the address's index was written (None: no index, or one older than this field)."""
    item = (
        dynamodb_table()
        .get_item(Key={PARTITION_KEY: f"EMAIL#{email_key}", SORT_KEY: "EMAIL"}, ConsistentRead=True)
        .get("Item")
    )
    return datetime.fromisoformat(str(item["created_at"])) if item and "created_at" in item else None


def record_submission(record: SubmissionRecord) -> None:
    dynamodb_table().put_item(Item=_submission_item(record))


def submissions(lead_id: str) -> list[SubmissionRecord]:
    return [SubmissionRecord.model_validate(item) for item in query_prefix(lead_id, "SUBMISSION#")]


def record_return(
    lead_id: str,
    at: datetime,
    profile: dict[str, Any],
    consent: dict[str, bool],
    email_key: str | None = None,
) -> None:
    """A known lead posted again: count it, fill profile fields still blank, and keep the latest consent.

    A post is activity: the lead (and its email index) is kept the full retention from now.
    """
    expiry = ttl("lead", at)[TTL_ATTRIBUTE]
    names: dict[str, str] = {"#ttl": TTL_ATTRIBUTE}
    values: dict[str, Any] = {":one": 1, ":at": iso(at), ":ttl": expiry}
    assignments = ["last_submitted_at = :at", "#ttl = :ttl"]
    for index, (name, value) in enumerate(profile.items()):
        names[f"#p{index}"] = name
        values[f":p{index}"] = value
        assignments.append(f"#p{index} = if_not_exists(#p{index}, :p{index})")
    for index, (name, given) in enumerate(consent.items()):
        names[f"#c{index}"] = name
        values[f":c{index}"] = given
        assignments.append(f"#c{index} = :c{index}")
    dynamodb_table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
        UpdateExpression="SET " + ", ".join(assignments) + " ADD resubmissions :one",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    if email_key:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: f"EMAIL#{email_key}", SORT_KEY: "EMAIL"},
            UpdateExpression="SET #ttl = :ttl",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE, "#pk": PARTITION_KEY},
            ExpressionAttributeValues={":ttl": expiry},
        )


def claim_returning_alert(lead_id: str, at: datetime, quiet_since: datetime) -> bool:
    """True for one caller when the lead was created, and last alerted about, before `quiet_since`."""
    return (
        update_if(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
            UpdateExpression="SET returning_alerted_at = :at",
            ConditionExpression="created_at < :quiet AND "
            "(attribute_not_exists(returning_alerted_at) OR returning_alerted_at < :quiet)",
            ExpressionAttributeValues={":at": iso(at), ":quiet": iso(quiet_since)},
        )
        is not None
    )


def lead_id_and_suppression(email_key: str) -> tuple[str | None, dict[str, Any] | None]:
    """The lead id indexed under an address and the address's suppression entry: a post's first two
    reads, consistent (as lead_id_for_email), in one round trip (BatchGetItem)."""
    index, suppressed = get_consistently(
        [(f"EMAIL#{email_key}", "EMAIL"), suppression_items.suppression_key(email_key)]
    )
    return (str(index["lead_id"]) if index else None), suppressed


def lead_id_for_email(email_key: str) -> str | None:
    # Consistent: a post racing the one that created the lead must see it.
    item = (
        dynamodb_table()
        .get_item(Key={PARTITION_KEY: f"EMAIL#{email_key}", SORT_KEY: "EMAIL"}, ConsistentRead=True)
        .get("Item")
    )
    return str(item["lead_id"]) if item else None


def get_lead(lead_id: str) -> Lead | None:
    item = (
        dynamodb_table()
        .get_item(Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"}, ConsistentRead=True)
        .get("Item")
    )
    return Lead.model_validate(item) if item else None


def get_lead_and_enrollment(lead_id: str, number: int) -> tuple[Lead | None, Enrollment | None]:
    """`get_lead` and the enrollment with its claim's state as stored (`enrollment_items.get_enrollment`
    with `settled=False`), read consistently in one BatchGetItem: a touch's first two reads, one round
    trip."""
    lead, enrollment = get_consistently(
        [(lead_pk(lead_id), "LEAD"), (lead_pk(lead_id), enrollment_sk(number))]
    )
    return (
        Lead.model_validate(lead) if lead else None,
        Enrollment.model_validate(enrollment) if enrollment else None,
    )


def set_contact_status(lead_id: str, status: ContactStatus, reason: str, at: datetime) -> None:
    """Record the lead's contact status. Opt-outs and bounces are final: nothing overwrites them."""
    final = [ContactStatus.OPTED_OUT.value, ContactStatus.BOUNCED.value]
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
            UpdateExpression="SET #status = :status, status_reason = :reason, status_at = :at, #ttl = :ttl",
            ConditionExpression="attribute_exists(#pk) AND NOT #status IN (:f0, :f1)",
            ExpressionAttributeNames={"#status": "status", "#pk": PARTITION_KEY, "#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":ttl": ttl("lead", at)[TTL_ATTRIBUTE],
                ":status": status.value,
                ":reason": reason,
                ":at": iso(at),
                ":f0": final[0],
                ":f1": final[1],
            },
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


def set_reply_intent(lead_id: str, fields: dict[str, Any]) -> None:
    """Record what the latest reply said (reply_intent, its line, reader, reply_at, snoozed_until,
    referral); a None value removes the attribute (a corrected not_now keeps no snooze date)."""
    present = {name: value for name, value in fields.items() if value is not None}
    removed = [name for name, value in fields.items() if value is None]
    names = {f"#{name}": name for name in fields} | {"#pk": PARTITION_KEY}
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in present)
    if removed:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
    dynamodb_table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
        UpdateExpression=expression,
        ConditionExpression="attribute_exists(#pk)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": value for name, value in present.items()},
    )


def confirm_sms(lead_id: str, at: datetime) -> None:
    """The lead's number texted YES to the opt-in request (the first confirmation stays)."""
    dynamodb_table().update_item(
        Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
        UpdateExpression="SET sms_confirmed_at = if_not_exists(sms_confirmed_at, :at)",
        ConditionExpression="attribute_exists(#pk)",
        ExpressionAttributeNames={"#pk": PARTITION_KEY},
        ExpressionAttributeValues={":at": iso(at)},
    )


def index_contact(kind: str, key: str, lead_id: str) -> None:
    """Index a lead under a keyed hash of a contact detail: kind DOMAIN (company) or PHONE."""
    dynamodb_table().put_item(
        Item={
            PARTITION_KEY: f"{kind}#{key}",
            SORT_KEY: lead_pk(lead_id),
            "lead_id": lead_id,
            **ttl("lead", clock.now()),
        }
    )


# The lead partition's note of an external id index entry: EXTID#<kind>#<id>.
EXTERNAL_ID = "EXTID"


def index_external_id(kind: str, external_id: str, lead_id: str) -> None:
    """Index a lead under another system's id for it (a HubSpot contact or deal, a Salesforce
    record), and note that entry in the lead's partition so an erasure finds and removes it."""
    index_contact(kind, external_id, lead_id)
    dynamodb_table().put_item(
        Item={
            PARTITION_KEY: lead_pk(lead_id),
            SORT_KEY: f"{EXTERNAL_ID}#{kind}#{external_id}",
            **ttl("lead", clock.now()),
        }
    )


def leads_by_contact(kind: str, key: str) -> list[str]:
    """Lead ids indexed under a contact detail's key, oldest index entry first."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key(PARTITION_KEY).eq(f"{kind}#{key}")}
    while True:
        page = dynamodb_table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return [str(item["lead_id"]) for item in items]
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def next_turn(rotation: str) -> int:
    """The next number (1, 2, ...) of a round-robin rotation: an atomic counter, safe under concurrency."""
    result = dynamodb_table().update_item(
        Key={PARTITION_KEY: f"ROTATION#{rotation}", SORT_KEY: "COUNTER"},
        UpdateExpression="ADD turns :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    return int(result["Attributes"]["turns"])


def set_stage(lead_id: str, stage: str, at: datetime, amount: Decimal | None, currency: str | None) -> bool:
    """Record a CRM stage: an event on the by_day index (once per time and stage: a redelivery
    changes nothing), and the lead's current stage unless a later change is already there.

    Returns False when the event was already recorded.
    """
    from leadflow.store import event_items  # a CRM webhook's: every function imports this module

    details: dict[str, Any] = {"amount": amount, "currency": currency}
    if not event_items.record_event(lead_id, f"stage_{stage}", at, details=details, once=True):
        return False
    values: dict[str, Any] = {":stage": stage, ":at": iso(at)}
    assignments = ["#stage = :stage", "stage_at = :at"]
    if amount is not None:
        values[":amount"] = amount
        assignments.append("amount = :amount")
    try:
        dynamodb_table().update_item(
            Key={PARTITION_KEY: lead_pk(lead_id), SORT_KEY: "LEAD"},
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression="attribute_exists(#pk) AND "
            "(attribute_not_exists(stage_at) OR stage_at <= :at)",
            ExpressionAttributeNames={"#stage": "stage", "#pk": PARTITION_KEY},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise
    return True
