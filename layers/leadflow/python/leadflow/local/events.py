"""The real event shapes AWS delivers to our functions, built for the local runtime and tests.

API Gateway REST proxy events, SNS envelopes and SES receipt notifications,
shaped as the AWS documentation shows them.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any
from urllib.parse import parse_qs, urlsplit

from leadflow.clock import iso

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def api_gateway_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None,
    headers: dict[str, str],
    at: datetime,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    """An API Gateway REST API proxy-integration event (payload format 1.0)."""
    split = urlsplit(path)
    query = parse_qs(split.query, keep_blank_values=True)
    is_base64 = False
    text_body: str | None
    if isinstance(body, bytes):
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode(), True
    else:
        text_body = body
    return {
        "resource": "/{proxy+}",
        "path": split.path,
        "httpMethod": method.upper(),
        "headers": dict(headers) or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": split.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "leadflowapi",
            "resourceId": "proxy",
            "resourcePath": "/{proxy+}",
            "httpMethod": method.upper(),
            "path": f"/prod{split.path}",
            "stage": "prod",
            "protocol": "HTTP/1.1",
            "domainName": "leadflowapi.execute-api.us-east-1.amazonaws.com",
            "requestId": str(uuid.uuid4()),
            "requestTime": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(at.timestamp() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "leadflow-sandbox")},
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


def sns_envelope(topic_arn: str, message: str, *, at: datetime, subject: str | None = None) -> dict[str, Any]:
    """The event SNS hands a subscribed Lambda function: one record per invocation."""
    message_id = str(uuid.uuid4())
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": iso(at).replace("Z", ".000Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
                    "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def ses_receipt_notification(
    raw: bytes, *, bucket: str, key: str, topic_arn: str, recipients: list[str], at: datetime
) -> dict[str, Any]:
    """What SES receiving publishes to SNS after an S3 action stored the raw message."""
    parsed = message_from_bytes(raw, policy=policy.default)
    timestamp = iso(at).replace("Z", ".000Z")

    def addresses(name: str) -> list[str]:
        return [address for _, address in getaddresses([str(value) for value in parsed.get_all(name, [])])]

    return {
        "notificationType": "Received",
        "receipt": {
            "timestamp": timestamp,
            "processingTimeMillis": 420,
            "recipients": recipients,
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {
                "type": "S3",
                "topicArn": topic_arn,
                "bucketName": bucket,
                "objectKeyPrefix": key.rpartition("/")[0],
                "objectKey": key,
            },
        },
        "mail": {
            "timestamp": timestamp,
            "source": next(iter(addresses("Return-Path") or addresses("From")), ""),
            "messageId": key.rpartition("/")[2],
            "destination": recipients,
            "headersTruncated": False,
            "headers": [{"name": name, "value": str(value)} for name, value in parsed.items()],
            "commonHeaders": {
                "from": [str(value) for value in parsed.get_all("From", [])],
                "to": [str(value) for value in parsed.get_all("To", [])],
                "messageId": str(parsed.get("Message-ID", "")),
                "subject": str(parsed.get("Subject", "")),
            },
        },
    }


def scheduler_event(at: datetime, schedule_arn: str) -> dict[str, Any]:
    """What the report's EventBridge Scheduler schedule delivers: its input, context attributes filled in."""
    from leadflow.report.weekly import SCHEDULE_INPUT

    values = {
        "<aws.scheduler.scheduled-time>": iso(at),
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": "1",
    }
    return {name: values.get(value, value) for name, value in SCHEDULE_INPUT.items()}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def reply_email(
    sender: str,
    *,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain human reply as a mail client sends it (raw MIME)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.net>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()
