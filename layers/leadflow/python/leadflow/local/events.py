"""The real event shapes AWS delivers to our functions, built for the local runtime and tests.

API Gateway REST proxy events, SNS envelopes and SES receipt notifications,
shaped as the AWS documentation shows them.
"""

from __future__ import annotations

import base64
import hashlib
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
    stage: str = "v1",
) -> dict[str, Any]:
    """An API Gateway REST API proxy-integration event (payload format 1.0).

    `path` is the resource path, as API Gateway passes it; the stage shows only in requestContext.
    """
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
            "path": f"/{stage}{split.path}",
            "stage": stage,
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


# The Authentication-Results words for SES's verdict statuses (RFC 8601 result names).
_RESULT_WORDS = {"PASS": "pass", "FAIL": "fail", "GRAY": "none", "PROCESSING_FAILED": "temperror"}


def ses_received_mail(
    raw: bytes,
    *,
    recipients: list[str],
    at: datetime,
    verdicts: dict[str, str] | None = None,
    authenticated_as: str | None = None,
) -> bytes:
    """The message as SES receiving stores it in S3: its own headers prepended to what arrived.

    Shaped after mail received by SES (AWS documentation, "Receiving email": the notification
    headers list, and the stored message's `Authentication-Results: amazonses.com; spf=... ;
    dkim=... header.i=@...; dmarc=... header.from=...`). SPF is checked for the envelope sender
    (the message's Return-Path, else its From); `authenticated_as` names the domain SPF and DKIM
    were checked for instead (an attacker's own domain, a sending service), DMARC then `none`
    unless `verdicts` says otherwise.
    """
    status = _statuses(verdicts, authenticated_as is not None)
    parsed = message_from_bytes(raw, policy=policy.compat32)
    if not parsed.keys():
        return raw  # no mail at all (empty, binary noise): kept as it came, for robustness tests
    from_domain = _domain(next(iter(_addresses(parsed, "From")), ""))
    envelope = next(iter(_addresses(parsed, "Return-Path") or _addresses(parsed, "From")), "")
    returned = str(parsed.get("Return-Path", "")).strip() == "<>"
    checked = (authenticated_as or _domain(envelope) or from_domain).lower()
    if authenticated_as:
        envelope = f"bounces@{checked}"
    words = {check: _RESULT_WORDS.get(value, value.lower()) for check, value in status.items()}
    helo = f"mail.{checked or 'sender.example'}"
    receipt = base64.b64encode(hashlib.sha256(raw).digest()).decode()
    dkim = f"dkim={words['dkim']}" + (f" header.i=@{checked}" if status["dkim"] != "GRAY" else "")
    headers = [
        f"Return-Path: <{'' if returned else envelope}>",
        f"Received: from {helo} ({helo} [192.0.2.25])\r\n by inbound-smtp.{REGION}.amazonaws.com "
        f"with SMTP id {hashlib.sha256(raw).hexdigest()[:26]}\r\n for {', '.join(recipients)};\r\n "
        f"{format_datetime(at)}",
        f"X-SES-Spam-Verdict: {status['spam']}",
        f"X-SES-Virus-Verdict: {status['virus']}",
        f"Received-SPF: {words['spf']} (spfCheck: domain of {checked} designates 192.0.2.25 as permitted "
        f"sender) client-ip=192.0.2.25; envelope-from={envelope}; helo={helo};",
        f"Authentication-Results: amazonses.com;\r\n spf={words['spf']} (spfCheck: domain of {checked} "
        f"designates 192.0.2.25 as permitted sender) client-ip=192.0.2.25; envelope-from={envelope}; "
        f"helo={helo};\r\n {dkim};\r\n dmarc={words['dmarc']} header.from={from_domain};",
        f"X-SES-RECEIPT: {receipt}",
    ]
    return ("\r\n".join(headers) + "\r\n").encode() + raw


def _statuses(verdicts: dict[str, str] | None, elsewhere: bool = False) -> dict[str, str]:
    unknown = set(verdicts or {}) - {"spf", "dkim", "dmarc", "spam", "virus"}
    if unknown:
        raise ValueError(f"unknown verdicts {sorted(unknown)}: use spf, dkim, dmarc, spam, virus")
    return {
        "spf": "PASS",
        "dkim": "PASS",
        # Authenticated for another domain than From's: DMARC finds nothing aligned (no policy here).
        "dmarc": "GRAY" if elsewhere else "PASS",
        "spam": "PASS",
        "virus": "PASS",
        **(verdicts or {}),
    }


def _addresses(parsed: Any, name: str) -> list[str]:
    values = [str(value) for value in parsed.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def ses_receipt_notification(
    raw: bytes,
    *,
    bucket: str,
    key: str,
    topic_arn: str,
    recipients: list[str],
    at: datetime,
    verdicts: dict[str, str] | None = None,
    elsewhere: bool = False,
) -> dict[str, Any]:
    """What SES receiving publishes to SNS after an S3 action stored the raw message.

    `verdicts` sets the status of checks by name (spf, dkim, dmarc, spam, virus; PASS, FAIL,
    GRAY, PROCESSING_FAILED), the others PASS (DMARC GRAY when SPF and DKIM were checked
    `elsewhere`: for another domain than From's).
    """
    status = _statuses(verdicts, elsewhere)
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
            "spamVerdict": {"status": status["spam"]},
            "virusVerdict": {"status": status["virus"]},
            "spfVerdict": {"status": status["spf"]},
            "dkimVerdict": {"status": status["dkim"]},
            "dmarcVerdict": {"status": status["dmarc"]},
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
    # Mail clients write long Message-IDs unfolded (RFC 5322 lines may reach 998 characters).
    return message.as_bytes(policy=policy.SMTP.clone(max_line_length=998))


def mail_recipients(raw: bytes) -> list[str]:
    """The To and Cc addresses of a raw message: SES receiving's envelope recipients, by default."""
    parsed = message_from_bytes(raw, policy=policy.compat32)
    values = [str(value) for name in ("To", "Cc") for value in parsed.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def sns_notification(topic_arn: str, message: str, *, at: datetime) -> dict[str, Any]:
    """The JSON an SNS topic delivers to a subscribed SQS queue (raw message delivery off)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": iso(at).replace("Z", ".000Z"),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
    }


def sqs_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    """The event an SQS event source mapping hands a function: a batch of records."""
    import hashlib

    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"AQEB{uuid.uuid4().hex}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764061200000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1764061200001",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


def ses_event(
    event_type: str,
    *,
    message_id: str,
    recipients: list[str],
    sent_at: datetime,
    at: datetime,
    tags: dict[str, str] | None = None,
    **details: Any,
) -> dict[str, Any]:
    """An SES event-publishing notification (Send, Bounce, Complaint, Delivery, Reject, Open, Click), as
    documented in "Examples of event data that Amazon SES publishes to Amazon SNS"."""
    timestamp = iso(at).replace("Z", ".000Z")
    mail = {
        "timestamp": iso(sent_at).replace("Z", ".000Z"),
        "source": "Alex Rivera <alex@mail.leadflow.example>",
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/mail.leadflow.example",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "tags": {
            "ses:configuration-set": ["leadflow"],
            "ses:source-ip": ["198.51.100.7"],
            "ses:from-domain": ["mail.leadflow.example"],
            "ses:caller-identity": ["leadflow-step"],
            **{name: [value] for name, value in (tags or {}).items()},
        },
    }
    parts: dict[str, dict[str, Any]] = {
        "Bounce": {
            "bounceType": details.get("bounce_type", "Permanent"),
            "bounceSubType": details.get("bounce_sub_type", "General"),
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if details.get("bounce_type", "Permanent") == "Permanent" else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for address in recipients
            ],
            "timestamp": timestamp,
            "feedbackId": f"0100019a-{uuid.uuid4()}-000000",
            "reportingMTA": "dsn; a8-33.smtp-out.amazonses.com",
        },
        "Complaint": {
            "complainedRecipients": [{"emailAddress": address} for address in recipients],
            "timestamp": timestamp,
            "feedbackId": f"0100019a-{uuid.uuid4()}-000000",
            "userAgent": "Yahoo!-Mail-Feedback/2.0",
            "complaintFeedbackType": "abuse",
            "arrivalDate": timestamp,
        },
        "Delivery": {
            "timestamp": timestamp,
            "processingTimeMillis": 546,
            "recipients": recipients,
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
        "Reject": {"reason": "Bad content"},
        "Send": {},
        "Open": {
            "ipAddress": "192.0.2.1",
            "timestamp": timestamp,
            "userAgent": details.get("user_agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"),
        },
        "Click": {
            "ipAddress": "192.0.2.1",
            "timestamp": timestamp,
            "userAgent": details.get(
                "user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0"
            ),
            "link": details.get("link", "https://leadflow.example/case-study"),
            "linkTags": {"samplekey0": ["samplevalue0"]},
        },
    }
    return {"eventType": event_type, "mail": mail, event_type.lower(): parts[event_type]}


def inbound_sms(
    from_number: str, to_number: str, text: str, *, previous_message_id: str | None = None
) -> dict[str, Any]:
    """The message two-way SMS publishes to its SNS topic when a phone texts our number."""
    message: dict[str, Any] = {
        "originationNumber": from_number,
        "destinationNumber": to_number,
        "messageKeyword": f"KEYWORD_{ACCOUNT_ID}",
        "messageBody": text,
        "inboundMessageId": str(uuid.uuid4()),
    }
    if previous_message_id:
        message["previousPublishedMessageId"] = previous_message_id
    return message


def signed_webhook_headers(body: str | bytes, key: str, *, at: datetime) -> dict[str, str]:
    """`Calendly-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, and the JSON type."""
    import hashlib
    import hmac

    raw = body.encode() if isinstance(body, str) else body
    timestamp = str(int(at.timestamp()))
    signature = hmac.new(key.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Calendly-Webhook-Signature": f"t={timestamp},v1={signature}"}
