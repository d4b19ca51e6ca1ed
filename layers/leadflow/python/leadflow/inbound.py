"""Inbound mail: SES receiving stores the raw message in S3 and notifies us through SNS."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, ValidationError

from leadflow import aws, keys, stops, store
from leadflow.models import ContactStatus, StopReason
from leadflow.observability import logger


class S3Action(BaseModel):
    type: Literal["S3"]
    bucketName: str
    objectKey: str


class Receipt(BaseModel):
    action: S3Action


class ReceiptNotification(BaseModel):
    """The SES receipt notification (the SNS message body) for an S3 action."""

    notificationType: Literal["Received"]
    receipt: Receipt


def handle_notification(message: str) -> str:
    """Handle one SNS message; returns what was done, for logs and tests."""
    try:
        notification = ReceiptNotification.model_validate(json.loads(message))
    except (ValueError, ValidationError):
        logger.warning("ignored SNS message that is not an SES receipt notification")
        return "ignored"
    action = notification.receipt.action
    raw = aws.client("s3").get_object(Bucket=action.bucketName, Key=action.objectKey)["Body"].read()
    return handle_raw_mail(raw)


def handle_raw_mail(raw: bytes) -> str:
    """Match the mail to a lead by its sender and stop the lead as replied."""
    mail = message_from_bytes(raw, policy=policy.default)
    sender = parseaddr(str(mail.get("From", "")))[1]
    lead_id = store.lead_id_for_email(keys.email_key(sender)) if sender else None
    if lead_id is None:
        logger.info("ignored mail from an unknown sender")
        return "unknown_sender"
    stops.stop_lead(lead_id, ContactStatus.REPLIED, StopReason.REPLY)
    return "reply"
