"""`leadflow doctor`: the preflight of a deploy. Offline it checks the settings (cdk.json's
`leadflow:*` context and `-c` overrides) and config/leadflow.yaml as the synth would, placeholders
included; with `--account` (credentials, `--profile`/`--region`) it asks the account what the deploy
needs: SES production access, each sending identity's DKIM and MAIL FROM status, the active receipt
rule set, and SMS (origination number, two-way, the SMS sandbox).

Each problem is printed with its fix; any problem exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.config import CONTEXT_PREFIX, LeadflowConfig
from infra.preflight import Problem, problems
from infra.runtime import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "config" / "leadflow.yaml"
DEFAULT_CONTEXT = REPO_ROOT / "cdk.json"
CADENCE_DIR = REPO_ROOT / "cadences"
# Lambda refuses reservations that leave fewer unreserved concurrent executions than this.
UNRESERVED_MINIMUM = 100


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def read_context(path: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """cdk.json (its `context`) or a plain JSON object of context keys, then `key=value` overrides."""
    document = json.loads(path.read_text(encoding="utf-8"))
    context: dict[str, Any] = dict(document.get("context", document))
    for item in overrides:
        key, equals, value = item.partition("=")
        if not equals:
            raise ValueError(
                f"-c {item!r}: expected key=value, e.g. {CONTEXT_PREFIX}replyDomain=reply.acme.com"
            )
        context[key] = value
    return context


def offline(context: Mapping[str, Any], config_file: Path) -> tuple[Findings, LeadflowConfig | None]:
    from leadflow.cadence.model import load_cadences
    from leadflow.intake import routing
    from leadflow.operator_config import load_operator_config

    findings = Findings()
    config = operator = None
    try:
        config = LeadflowConfig.from_mapping(context)
        findings.checked.append("settings (leadflow:* context)")
    except ValueError as error:
        findings.problems.append(Problem(str(error), "correct that setting in cdk.json or its -c value"))
    try:
        operator = load_operator_config(config_file)
        findings.checked.append(f"operator configuration ({config_file.name})")
    except ValueError as error:
        findings.problems.append(Problem(str(error), f"correct {config_file}"))
    if operator is not None:
        try:
            routing.check(operator, load_cadences(CADENCE_DIR))
        except ValueError as error:
            findings.problems.append(Problem(str(error), "name cadences that exist in cadences/"))
    if config is not None and operator is not None:
        findings.problems += problems(config, operator, placeholders=True)
        findings.checked.append("sending identities cover every rep; no placeholders")
    return findings, config


def account(config: LeadflowConfig, client: Callable[[str], Any]) -> Findings:
    """What the account must have for the stack to work; `client(service)` gives boto3 clients."""
    from botocore.exceptions import ClientError

    findings = Findings()
    sesv2 = client("sesv2")
    region = sesv2.meta.region_name
    details = sesv2.get_account()
    if not details.get("ProductionAccessEnabled"):
        findings.problems.append(
            Problem(
                f"SES in {region} is in the sandbox: it sends only to verified addresses, 200 a day",
                "request production access (SES console, Account dashboard), naming the use: opt-in "
                "follow-up of inbound leads, one-click unsubscribe, bounce and complaint handling",
            )
        )
    if details.get("SendingEnabled") is False:
        findings.problems.append(
            Problem(f"SES sending is paused for the account in {region}", "see the SES console's notices")
        )
    findings.checked.append(f"SES account in {region}")

    for domain in config.identity_domains:
        try:
            identity = sesv2.get_email_identity(EmailIdentity=domain)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotFoundException":
                raise
            findings.checked.append(f"{domain}: not in SES yet (the deploy creates it)")
            continue
        findings.problems += _identity_problems(domain, identity, config)
        findings.checked.append(f"SES identity {domain}")
    for name in config.existing_identities:
        try:
            identity = sesv2.get_email_identity(EmailIdentity=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotFoundException":
                raise
            findings.problems.append(
                Problem(
                    f"{CONTEXT_PREFIX}existingIdentities names {name}, which SES in {region} does not know",
                    f"verify {name} in SES first, or list its domain in {CONTEXT_PREFIX}sendingDomains",
                )
            )
            continue
        if not identity.get("VerifiedForSendingStatus"):
            findings.problems.append(
                Problem(f"SES identity {name} is not verified", "finish its verification in the SES console")
            )
        findings.checked.append(f"SES identity {name}")

    findings.problems += _concurrency_problems(client("lambda"), region)
    findings.checked.append("Lambda concurrency")
    findings.problems += _receipt_problems(config, client("ses"), region)
    findings.checked.append("SES receipt rule set")
    findings.problems += _sms_problems(config, client, region)
    findings.checked.append("SMS")
    return findings


def _identity_problems(domain: str, identity: Mapping[str, Any], config: LeadflowConfig) -> list[Problem]:
    found = []
    dkim = identity.get("DkimAttributes", {}).get("Status")
    if not identity.get("VerifiedForSendingStatus") or dkim != "SUCCESS":
        found.append(
            Problem(
                f"SES identity {domain} is not verified (DKIM {dkim or 'unknown'})",
                f"create the three DKIM CNAME records of the stack outputs Dns...Dkim1-3 for {domain}",
            )
        )
    mail_from = identity.get("MailFromAttributes", {})
    if mail_from.get("MailFromDomainStatus") != "SUCCESS":
        found.append(
            Problem(
                f"the MAIL FROM domain {config.mail_from_domain(domain)} is "
                f"{mail_from.get('MailFromDomainStatus', 'not set up').lower()}",
                "create its MX and SPF TXT records (stack outputs Dns...MailFromMx, Dns...MailFromSpf)",
            )
        )
    return found


def _concurrency_problems(lambda_client: Any, region: str) -> list[Problem]:
    """The stack reserves concurrency; AWS refuses a reservation that leaves under 100 unreserved."""
    from infra.constructs.functions import RESERVED_CONCURRENCY

    limit = lambda_client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    if limit - RESERVED_CONCURRENCY < UNRESERVED_MINIMUM:
        return [
            Problem(
                f"the account's Lambda concurrency in {region} is {limit}: the stack reserves "
                f"{RESERVED_CONCURRENCY} and AWS keeps {UNRESERVED_MINIMUM} unreserved: a deploy fails",
                "request a higher 'Concurrent executions' quota (Service Quotas, AWS Lambda); new accounts "
                "start low",
            )
        ]
    return []


def _receipt_problems(config: LeadflowConfig, ses: Any, region: str) -> list[Problem]:
    from botocore.exceptions import ClientError

    try:
        active = ses.describe_active_receipt_rule_set()
    except ClientError as error:
        return [
            Problem(
                f"SES receiving is not available in {region} ({error.response['Error']['Code']})",
                "deploy in a Region that receives email (e.g. us-east-1, us-west-2, eu-west-1)",
            )
        ]
    recipients = {
        recipient.lower() for rule in active.get("Rules", []) for recipient in rule.get("Recipients", [])
    }
    if f"reply@{config.reply_domain}" not in recipients:
        name = active.get("Metadata", {}).get("Name")
        return [
            Problem(
                f"no active receipt rule receives reply@{config.reply_domain}"
                + (f" (the active set is {name})" if name else " (no rule set is active)"),
                "after the deploy, run the command of the stack output ActivateReceiptRuleSet",
            )
        ]
    return []


def _sms_problems(config: LeadflowConfig, client: Callable[[str], Any], region: str) -> list[Problem]:
    found = []
    if client("sns").get_sms_sandbox_account_status().get("IsInSandbox"):
        found.append(
            Problem(
                f"SNS SMS in {region} is in the sandbox: texts reach verified numbers only",
                "request SMS production access (End User Messaging SMS console)",
            )
        )
    numbers = [
        number
        for page in client("pinpoint-sms-voice-v2").get_paginator("describe_phone_numbers").paginate()
        for number in page.get("PhoneNumbers", [])
    ]
    if not config.sms_origination_number:
        if not numbers:
            found.append(
                Problem(
                    "no SMS origination number in the account: US carriers block texts without one",
                    f"register a toll-free or 10DLC number and set {CONTEXT_PREFIX}smsOriginationNumber",
                )
            )
        return found
    (number,) = [n for n in numbers if n.get("PhoneNumber") == config.sms_origination_number] or [None]
    if number is None:
        found.append(
            Problem(
                f"{CONTEXT_PREFIX}smsOriginationNumber {config.sms_origination_number} is not a number of "
                f"this account in {region}",
                "register it in End User Messaging SMS, or set the number you registered",
            )
        )
    elif number.get("Status") != "ACTIVE" or not number.get("TwoWayEnabled"):
        found.append(
            Problem(
                f"{config.sms_origination_number} is {number.get('Status', '?').lower()}, two-way "
                f"{'on' if number.get('TwoWayEnabled') else 'off'}: STOP and replies would not arrive",
                "finish its registration; point its two-way channel at the stack output SmsInboundTopicArn",
            )
        )
    return found


def report(findings: Findings, write: Callable[[str], None] = print) -> int:
    for problem in findings.problems:
        write(f"✗ {problem.what}")
        write(f"  fix: {problem.fix}")
    if findings.problems:
        write(f"{len(findings.problems)} problem(s): a deploy would not work as it stands")
        return 1
    write("ready to deploy: " + "; ".join(findings.checked))
    return 0


def run(
    config_file: Path,
    context_file: Path,
    overrides: Sequence[str],
    *,
    check_account: bool,
    client: Callable[[str], Any] | None = None,
) -> int:
    findings, config = offline(read_context(context_file, overrides), config_file)
    if check_account and config is not None:
        from leadflow import aws

        more = account(config, client or aws.client)
        findings.problems += more.problems
        findings.checked += more.checked
    return report(findings)
