"""Issue 26: a deploy that cannot work is refused before it is made.

The synth fails naming the problem (an unknown `leadflow:*` key, a rep whose address no SES identity
covers, a placeholder of the shipped sample); every sending identity gets a custom MAIL FROM domain;
the DNS records and everything else an operator wires by hand are stack outputs; `leadflow doctor`
fails on the shipped placeholder config and passes on the complete sample in examples/deploy/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra import doctor, preflight
from infra.config import LeadflowConfig
from leadflow.cli import main
from leadflow.operator_config import load_operator_config
from tests import test_infra
from tests.test_infra import REPO_ROOT, Synth, _context

synth = test_infra.synth  # the session's synthesized stack (a fixture)

SHIPPED = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
SAMPLE_CONFIG = REPO_ROOT / "examples" / "deploy" / "leadflow.yaml"
SAMPLE_CONTEXT = REPO_ROOT / "examples" / "deploy" / "context.json"
SAMPLE = load_operator_config(SAMPLE_CONFIG)


def _sample_settings(**overrides: Any) -> LeadflowConfig:
    context = json.loads(SAMPLE_CONTEXT.read_text())
    return LeadflowConfig.from_mapping({**context, **overrides})


# --- Unknown settings ----------------------------------------------------------------------------------


def test_an_unknown_setting_fails_the_synth_naming_the_key(tmp_path: Path) -> None:
    from infra.app import build_app

    with pytest.raises(ValueError) as raised:
        build_app(outdir=tmp_path, context={**_context(), "leadflow:replyDomian": "reply.acme-corp.com"})
    assert str(raised.value) == ("leadflow:replyDomian: no such setting (did you mean leadflow:replyDomain?)")


def test_only_the_leadflow_prefix_is_checked() -> None:
    LeadflowConfig.from_mapping({"@aws-cdk/core:newStyleStackSynthesis": True, "other:thing": 1})
    with pytest.raises(ValueError, match=r"^leadflow:inboundMailRetentionDays: no such setting \(known: "):
        LeadflowConfig.from_mapping({"leadflow:inboundMailRetentionDays": 30})


# --- Every sending address covered by an identity ------------------------------------------------------


def test_a_sender_domain_that_leaves_reps_uncovered_names_each_rep() -> None:
    """The issue's case: -c leadflow:sender=acme-corp.com while the reps send from mail.leadflow.example."""
    config = LeadflowConfig(sender="Dana Reed <dana@acme-corp.com>", allow_placeholders=True)
    found = preflight.coverage_problems(config, SHIPPED)
    assert [problem.what.split(" sends from ")[0] for problem in found] == ["rep alex", "rep sam"]
    assert "alex@mail.leadflow.example" in found[0].what
    assert "mail.leadflow.example to leadflow:sendingDomains" in found[0].fix


def test_the_synth_refuses_an_uncovered_rep(tmp_path: Path) -> None:
    from infra.app import build_app

    with pytest.raises(ValueError, match=r"^rep alex sends from alex@mail\.leadflow\.example, which no SES"):
        build_app(outdir=tmp_path, context={**_context(), "leadflow:sender": "Dana <dana@acme-corp.com>"})


def test_listed_domains_and_existing_identities_cover_reps() -> None:
    sender = "Dana Reed <dana@acme-corp.com>"
    assert not preflight.coverage_problems(
        LeadflowConfig(sender=sender, sending_domains=("mail.leadflow.example",)), SHIPPED
    )
    # An existing identity that is one address covers that address only: sam is still uncovered.
    found = preflight.coverage_problems(
        LeadflowConfig(sender=sender, existing_identities=("alex@mail.leadflow.example",)), SHIPPED
    )
    assert [problem.what.split(" sends")[0] for problem in found] == ["rep sam"]
    # A parent domain covers its subdomains (SES does); a look-alike suffix does not.
    assert not preflight.coverage_problems(
        LeadflowConfig(sender=sender, existing_identities=("leadflow.example",)), SHIPPED
    )
    assert (
        len(
            preflight.coverage_problems(
                LeadflowConfig(sender=sender, existing_identities=("il.leadflow.example",)), SHIPPED
            )
        )
        == 2
    )


@pytest.mark.parametrize(
    ("identity", "address", "covered"),
    [
        ("mail.acme.com", "a@mail.acme.com", True),
        ("acme.com", "a@mail.acme.com", True),
        ("mail.acme.com", "a@acme.com", False),
        ("acme.com", "a@notacme.com", False),
        ("a@acme.com", "a@acme.com", True),
        ("a@acme.com", "b@acme.com", False),
        ("ACME.com", "A@acme.COM", True),
    ],
)
def test_what_an_identity_covers(identity: str, address: str, covered: bool) -> None:
    assert preflight.covers(identity, address) is covered


# --- Placeholders --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "placeholder"),
    [
        ("leadflow.example", True),
        ("mail.leadflow.example", True),
        ("example.com", True),
        ("www.example.org", True),
        ("shop.test", True),
        ("notexample.com", False),
        ("example.company", False),
        ("acme-corp.com", False),
    ],
)
def test_reserved_domains_are_placeholders(domain: str, placeholder: bool) -> None:
    assert preflight.is_placeholder_domain(domain) is placeholder


def test_the_shipped_sample_is_refused_for_a_deploy_naming_each_placeholder(tmp_path: Path) -> None:
    from infra.app import build_app

    context = {k: v for k, v in _context().items() if k != "leadflow:allowPlaceholders"}
    with pytest.raises(ValueError) as raised:
        build_app(outdir=tmp_path, context=context)
    message = str(raised.value)
    assert "\n" not in message
    for named in (
        "leadflow:sender: mail.leadflow.example is a placeholder",
        "leadflow:replyDomain: reply.leadflow.example is a placeholder",
        "ops.alert_emails: leadflow.example is a placeholder",
        "reps[sam].email: mail.leadflow.example",
        "company.postal_address is the sample's",
    ):
        assert named in message, named
    assert message.endswith("(the shipped sample synthesizes with -c leadflow:allowPlaceholders=true)")


def test_a_complete_config_has_no_placeholders_and_one_example_address_is_enough_to_fail() -> None:
    config = _sample_settings()
    assert preflight.problems(config, SAMPLE) == []
    ops = SAMPLE.model_copy(
        update={"ops": SAMPLE.ops.model_copy(update={"alert_emails": ("ops@example.com",)})}
    )
    (problem,) = preflight.problems(config, ops)
    assert (
        problem.what
        == "config/leadflow.yaml ops.alert_emails: example.com is a placeholder (a reserved example domain)"
    )
    address = SAMPLE.company.model_copy(update={"postal_address": "100 Example Street, Springfield"})
    (problem,) = preflight.problems(config, SAMPLE.model_copy(update={"company": address}))
    assert "postal_address" in problem.what


def test_the_sandbox_never_checks_placeholders() -> None:
    """The Sandbox runs the shipped config (leadflow.example domains) and never synthesizes."""
    import leadflow.local.sandbox as sandbox_module

    source = Path(sandbox_module.__file__).read_text()
    assert "preflight" not in source and "infra" not in source


# --- MAIL FROM and the outputs -------------------------------------------------------------------------


def test_every_sending_identity_has_a_custom_mail_from_domain(synth: Synth) -> None:
    sending = [
        resource["Properties"]
        for resource in synth.resources("AWS::SES::EmailIdentity").values()
        if "ConfigurationSetAttributes" in resource["Properties"]
    ]
    assert [identity["EmailIdentity"] for identity in sending] == [synth.config.sender_domain]
    for identity in sending:
        assert identity["MailFromAttributes"] == {
            "MailFromDomain": f"bounce.{identity['EmailIdentity']}",
            "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
        }


def test_each_listed_domain_gets_an_identity_with_mail_from_dns_outputs_and_send_grants(
    tmp_path: Path,
) -> None:
    from infra.app import build_app

    context = {
        **_context(),
        "leadflow:sender": "Dana Reed <dana@acme-corp.com>",
        "leadflow:sendingDomains": "mail.leadflow.example",
        "leadflow:existingIdentities": "partners@acme-partners.com",
    }
    template = build_app(outdir=tmp_path, context=context).synth().get_stack_artifact("Leadflow").template
    identities = {
        resource["Properties"]["EmailIdentity"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SES::EmailIdentity"
    }
    for domain in ("acme-corp.com", "mail.leadflow.example"):
        assert identities[domain]["MailFromAttributes"]["MailFromDomain"] == f"bounce.{domain}"
    outputs = template["Outputs"]
    for name in ("AcmeCorpCom", "MailLeadflowExample"):
        for record in ("Dkim1", "Dkim2", "Dkim3", "MailFromMx", "MailFromSpf", "Dmarc"):
            assert f"Dns{name}{record}" in outputs, (name, record)
    step_policy = json.dumps(
        [
            resource
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::IAM::Policy" and logical_id.startswith("FunctionsStep")
        ]
    )
    identity_ids = {
        resource["Properties"]["EmailIdentity"]: logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SES::EmailIdentity"
    }
    for domain in ("acme-corp.com", "mail.leadflow.example"):
        assert json.dumps({"Ref": identity_ids[domain]}) in step_policy, domain
    assert json.dumps({"Ref": identity_ids["reply.leadflow.example"]}) not in step_policy  # receiving only
    assert step_policy.count(":identity/partners@acme-partners.com") == 1


def _output(synth: Synth, name: str) -> dict[str, Any]:
    output: dict[str, Any] = synth.raw["Outputs"][name]
    return output


def test_the_dns_records_to_create_are_outputs(synth: Synth) -> None:
    domain = synth.config.sender_domain
    slug = "MailLeadflowExample"
    mail_from_mx = json.dumps(_output(synth, f"Dns{slug}MailFromMx")["Value"])
    assert f"bounce.{domain} MX 10 feedback-smtp." in mail_from_mx and "AWS::Region" in mail_from_mx
    assert _output(synth, f"Dns{slug}MailFromSpf")["Value"] == (
        f'bounce.{domain} TXT "v=spf1 include:amazonses.com ~all"'
    )
    assert _output(synth, f"Dns{slug}Dmarc")["Value"] == f'_dmarc.{domain} TXT "v=DMARC1; p=none"'
    dkim = json.dumps(_output(synth, f"Dns{slug}Dkim1")["Value"])
    assert "DkimDNSTokenName1" in dkim and "DkimDNSTokenValue1" in dkim and "CNAME" in dkim
    mx = json.dumps(_output(synth, "DnsReplyMx")["Value"])
    assert synth.config.reply_domain in mx and "inbound-smtp." in mx and "AWS::Region" in mx
    # The reply domain is an identity of its own (receiving): its DKIM records are outputs too.
    assert "DkimDNSTokenName3" in json.dumps(_output(synth, "DnsReplyLeadflowExampleDkim3")["Value"])


def test_everything_wired_by_hand_is_an_output(synth: Synth) -> None:
    outputs = synth.raw["Outputs"]
    secrets = synth.resources("AWS::SecretsManager::Secret")
    meeting = [k for k in secrets if k.startswith("MeetingWebhookKey")]
    crm = [k for k in secrets if k.startswith("CrmWebhookKey")]
    assert outputs["MeetingWebhookSecretArn"]["Value"] == {"Ref": meeting[0]}
    assert outputs["CrmWebhookSecretArn"]["Value"] == {"Ref": crm[0]}
    (sms_topic,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsSmsInbound")]
    assert outputs["SmsInboundTopicArn"]["Value"] == {"Ref": sms_topic}
    for name, path in (
        ("LeadsUrl", "/leads"),
        ("MeetingWebhookUrl", "/webhooks/meeting"),
        ("CrmWebhookUrl", "/webhooks/crm"),
        ("TaskLinkBaseUrl", "/tasks/"),
    ):
        value = json.dumps(outputs[name]["Value"])
        assert "execute-api" in value and value.endswith(f'/v1{path}"]]}}'), (name, value)


# --- leadflow doctor ----------------------------------------------------------------------------------


def test_doctor_fails_on_the_shipped_placeholder_config(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["doctor"])
    out = capsys.readouterr().out
    assert status == 1
    assert "✗ leadflow:sender: mail.leadflow.example is a placeholder" in out
    assert "  fix: set your own domain in leadflow:sender" in out
    assert "company.postal_address is the sample's" in out
    assert out.rstrip().endswith("problem(s): a deploy would not work as it stands")


def test_doctor_passes_on_the_complete_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["doctor", "--config", str(SAMPLE_CONFIG), "--context", str(SAMPLE_CONTEXT)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("ready to deploy")


def test_doctor_names_a_typo_and_an_uncovered_rep_from_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["doctor", "--config", str(SAMPLE_CONFIG), "--context", str(SAMPLE_CONTEXT)]
    assert main([*arguments, "-c", "leadflow:replyDomian=reply.acme-corp.com"]) == 1
    assert (
        "leadflow:replyDomian: no such setting (did you mean leadflow:replyDomain?)"
        in capsys.readouterr().out
    )
    assert main([*arguments, "-c", "leadflow:sender=Dana <dana@acme-partners.com>"]) == 1
    out = capsys.readouterr().out
    assert "✗ rep alex sends from alex@mail.acme-corp.com" in out and "✗ rep sam sends" in out


# --- leadflow doctor --account (botocore Stubber: the real operations and response shapes) --------------


class _Account:
    """boto3 clients whose answers are queued with Stubber: what an account says, call by call."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        for service in ("sesv2", "ses", "sns", "pinpoint-sms-voice-v2", "lambda"):
            client = boto3.client(
                service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            self.clients[service] = client
            self.stubs[service] = Stubber(client)

    def client(self, service: str) -> Any:
        return self.clients[service]

    def ready(self, **changes: Any) -> None:
        """A production account whose identities are verified, rule set active, number two-way."""
        sesv2, ses = self.stubs["sesv2"], self.stubs["ses"]
        sesv2.add_response(
            "get_account",
            {"ProductionAccessEnabled": changes.get("production", True), "SendingEnabled": True},
        )
        identity = {
            "IdentityType": "DOMAIN",
            "VerifiedForSendingStatus": changes.get("verified", True),
            "DkimAttributes": {"Status": "SUCCESS" if changes.get("verified", True) else "PENDING"},
            "MailFromAttributes": {
                "MailFromDomain": "bounce.mail.acme-corp.com",
                "MailFromDomainStatus": changes.get("mail_from", "SUCCESS"),
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        }
        sesv2.add_response("get_email_identity", identity, {"EmailIdentity": "mail.acme-corp.com"})
        limit = changes.get("concurrency", 1000)
        self.stubs["lambda"].add_response(
            "get_account_settings",
            {"AccountLimit": {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": limit}},
        )
        rules = [{"Name": "Replies", "Recipients": changes.get("recipients", ["reply@reply.acme-corp.com"])}]
        ses.add_response(
            "describe_active_receipt_rule_set",
            {"Metadata": {"Name": "LeadflowEmailReceiptRules"}, "Rules": rules},
        )
        self.stubs["sns"].add_response("get_sms_sandbox_account_status", {"IsInSandbox": False})
        number = {
            "PhoneNumberArn": "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1",
            "PhoneNumberId": "phone-1",
            "PhoneNumber": "+18445550100",
            "Status": "ACTIVE",
            "IsoCountryCode": "US",
            "MessageType": "TRANSACTIONAL",
            "NumberCapabilities": ["SMS"],
            "NumberType": "TOLL_FREE",
            "MonthlyLeasingPrice": "2.00",
            "TwoWayEnabled": changes.get("two_way", True),
            "SelfManagedOptOutsEnabled": False,
            "OptOutListName": "Default",
            "DeletionProtectionEnabled": False,
            "CreatedTimestamp": "2026-11-01T00:00:00Z",
        }
        self.stubs["pinpoint-sms-voice-v2"].add_response("describe_phone_numbers", {"PhoneNumbers": [number]})
        for stub in self.stubs.values():
            stub.activate()


@pytest.mark.parametrize("concurrency", [1000, 210])  # 210 - 110 reserved = AWS's minimum of 100
def test_doctor_account_passes_on_a_ready_account(
    concurrency: int, capsys: pytest.CaptureFixture[str]
) -> None:
    account = _Account()
    account.ready(concurrency=concurrency)
    status = doctor.run(SAMPLE_CONFIG, SAMPLE_CONTEXT, [], check_account=True, client=account.client)
    assert status == 0, capsys.readouterr().out
    for stub in account.stubs.values():
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"production": False}, "SES in us-east-1 is in the sandbox"),
        ({"verified": False}, "SES identity mail.acme-corp.com is not verified (DKIM PENDING)"),
        ({"mail_from": "PENDING"}, "the MAIL FROM domain bounce.mail.acme-corp.com is pending"),
        ({"recipients": ["reply@other.com"]}, "no active receipt rule receives reply@reply.acme-corp.com"),
        (
            {"concurrency": 209},
            "the account's Lambda concurrency in us-east-1 is 209: the stack reserves 110",
        ),
        ({"two_way": False}, "+18445550100 is active, two-way off: STOP and replies would not arrive"),
    ],
)
def test_doctor_account_names_each_missing_piece_with_its_fix(
    change: dict[str, Any], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    account = _Account()
    account.ready(**change)
    status = doctor.run(SAMPLE_CONFIG, SAMPLE_CONTEXT, [], check_account=True, client=account.client)
    out = capsys.readouterr().out
    assert status == 1
    lines = out.splitlines()
    (index,) = [i for i, line in enumerate(lines) if expected in line]
    assert lines[index + 1].startswith("  fix: ")
    assert out.count("✗") == 1


# --- Hardening: reserved concurrency, dead letters for asynchronous invocations -------------------------


def _function_ids(synth: Synth) -> dict[str, str]:
    """Function name (intake, step, ...) -> logical id."""
    return {
        name: next(
            k
            for k in synth.resources("AWS::Lambda::Function")
            if k.startswith(f"Functions{name.capitalize()}")
        )
        for name in ("intake", "step", "inbound", "events", "report", "sweep")
    }


def test_a_form_flood_cannot_take_the_concurrency_of_touches_and_replies(synth: Synth) -> None:
    ids = _function_ids(synth)
    functions = synth.resources("AWS::Lambda::Function")
    reserved = {name: functions[ids[name]]["Properties"].get("ReservedConcurrentExecutions") for name in ids}
    assert reserved == {
        "intake": 50,
        "step": 50,
        "inbound": 10,
        "events": None,
        "report": None,
        "sweep": None,
    }


def _asynchronously_invoked(synth: Synth) -> set[str]:
    """Functions SNS, EventBridge rules or EventBridge Scheduler invoke (asynchronous invocations)."""
    ids = _function_ids(synth)
    targets = json.dumps(
        [
            *[r["Properties"]["Targets"] for r in synth.resources("AWS::Events::Rule").values()],
            *[r["Properties"]["Target"] for r in synth.resources("AWS::Scheduler::Schedule").values()],
            *[
                r["Properties"]["Endpoint"]
                for r in synth.resources("AWS::SNS::Subscription").values()
                if r["Properties"]["Protocol"] == "lambda"
            ],
        ]
    )
    return {name for name, logical_id in ids.items() if f'"{logical_id}"' in targets}


def test_every_asynchronously_invoked_function_has_a_dead_letter_queue_with_an_alarm(synth: Synth) -> None:
    ids = _function_ids(synth)
    functions = synth.resources("AWS::Lambda::Function")
    invoked = _asynchronously_invoked(synth)
    assert invoked == {"inbound", "sweep", "report"}
    alarms = json.dumps(synth.resources("AWS::CloudWatch::Alarm"))
    for name in invoked:
        target = functions[ids[name]]["Properties"]["DeadLetterConfig"]["TargetArn"]
        (queue_id, _) = target["Fn::GetAtt"]
        assert (
            synth.resources("AWS::SQS::Queue")[queue_id]["Properties"]["MessageRetentionPeriod"] == 14 * 86400
        )
        assert f'"{queue_id}"' in alarms, name  # its depth pages ops
