"""The CDK stack: synthesized once per session (with cdk-nag), then checked resource by resource.

The key acceptance test: the ASL CDK deploys for each cadence is exactly the ASL
the Sandbox runs (`leadflow.cadence.asl.build_definition`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from infra import assets, layers, nag
from infra.app import CADENCE_DIR, build_app
from infra.config import LeadflowConfig
from infra.constructs.api import ROUTES
from infra.constructs.email import INBOUND_PREFIX
from infra.constructs.report import ARCHIVE_PREFIX, WeeklyReport
from infra.runtime import ARCHITECTURE, MACHINE, PYTHON_TAG, PYTHON_VERSION, RUNTIME
from infra.testing import fake_function_arn, synthesized_definitions
from leadflow.cadence.asl import build_definition
from leadflow.cadence.model import load_cadences
from leadflow.config import Settings
from leadflow.operator_config import ReportSchedule, load_operator_config
from leadflow.report.weekly import SCHEDULE_INPUT
from leadflow.store import table as table_spec
from tests import table_calls

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"
FUNCTION_NAMES = ("intake", "step", "inbound", "report", "events", "sweep")
BLOCK_ALL_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
# cfn-lint rules ignored on the synthesized template, each with its reason.
CFN_LINT_IGNORED = {
    # CDK adds DependsOn entries that a Ref/GetAtt already implies (e.g. a function on its role's policy).
    "W3005",
}


@dataclass(frozen=True)
class Synth:
    config: LeadflowConfig
    assembly_dir: Path
    template_file: Path
    raw: dict[str, Any]
    template: Template

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == resource_type}


def _context() -> dict[str, Any]:
    """cdk.json's context, with the shipped sample's placeholders allowed (as `make synth` does)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return {**context, "leadflow:allowPlaceholders": True}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    layers.build_deps_layer()  # a no-op when built; CI (clean clone) fetches the wheels once
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=outdir, context=_context())
    # Raises when cdk-nag reports a finding without an acknowledgment.
    assembly = app.synth()
    config = LeadflowConfig.from_context(app.node)
    artifact = assembly.get_stack_artifact(config.stack_name)
    raw = artifact.template
    return Synth(
        config=config,
        assembly_dir=outdir,
        template_file=Path(artifact.template_full_path),
        raw=raw,
        template=Template.from_json(raw),
    )


def _function_by_code(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (logical_id, resource)
        for logical_id, resource in synth.resources("AWS::Lambda::Function").items()
        if logical_id.startswith(f"Functions{name.capitalize()}")
    ]
    assert len(matches) == 1, matches
    return matches[0]


def _statements(synth: Synth, role_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        if logical_id.startswith(role_prefix):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert statements, role_prefix
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


# --- Runtime, functions, layers ----------------------------------------------------------------------


def test_runtime_is_the_newest_python_the_library_offers() -> None:
    offered = [
        tuple(int(part) for part in match.groups())
        for name in dir(cdk.aws_lambda.Runtime)
        if (match := re.fullmatch(r"PYTHON_(\d+)_(\d+)", name))
    ]
    assert RUNTIME.name == "python{}.{}".format(*max(offered))
    assert RUNTIME.name == f"python{PYTHON_VERSION}"
    assert ARCHITECTURE.name == "arm64"


def test_every_function_on_arm64_with_the_runtime_tracing_and_log_retention(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    assert len(functions) == len(FUNCTION_NAMES)
    log_groups = synth.resources("AWS::Logs::LogGroup")
    for name in FUNCTION_NAMES:
        _, function = _function_by_code(synth, name)
        props = function["Properties"]
        assert props["Runtime"] == RUNTIME.name
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == f"functions.{name}.handler.lambda_handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 2
        log_group = log_groups[props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == 30


def test_function_environments_use_the_settings_names(synth: Synth) -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    required = {"TABLE_NAME", "HMAC_SECRET_ARN"}
    assert required <= aliases
    extra_allowed = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
    environments = {
        name: _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]
        for name in FUNCTION_NAMES
    }
    for name, variables in environments.items():
        assert set(variables) - extra_allowed <= aliases, name
        assert required <= set(variables), name
        assert variables["CADENCE_DIR"] == "/opt/cadences"
        assert variables["TEMPLATE_DIR"] == "/opt/templates"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "leadflow"
    assert environments["step"]["SENDER"] == synth.config.sender
    # New-lead alerts come from intake, task alerts (with their signed links) from the step.
    assert "REP_ALERTS_TOPIC_ARN" in environments["intake"]
    assert "REP_ALERTS_TOPIC_ARN" in environments["step"]
    assert "INBOUND_BUCKET" in environments["inbound"]
    (archive,) = [k for k in synth.resources("AWS::S3::Bucket") if k.startswith("ReportArchive")]
    assert environments["report"]["REPORT_BUCKET"] == {"Ref": archive}
    assert environments["report"]["SENDER"] == synth.config.sender
    # Intake starts executions, and the sweep those intake could not (issue 11); every function that
    # stops them derives an ARN not stored yet (issue 28: touch 1's claim stores it).
    knowing = [name for name, env in environments.items() if "STATE_MACHINE_ARNS" in env]
    assert sorted(knowing) == ["events", "inbound", "intake", "step", "sweep"]


def test_state_machine_arns_map_every_cadence(synth: Synth) -> None:
    _, intake = _function_by_code(synth, "intake")
    joined = intake["Properties"]["Environment"]["Variables"]["STATE_MACHINE_ARNS"]["Fn::Join"][1]
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    mapping = json.loads("".join(part if isinstance(part, str) else part["Ref"] for part in joined))
    assert set(mapping) == set(load_cadences(CADENCE_DIR))
    assert set(mapping.values()) == set(machines)


def test_two_layers_for_the_runtime_and_architecture(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::Lambda::LayerVersion", 2)
    synth.template.all_resources_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": [RUNTIME.name], "CompatibleArchitectures": [ARCHITECTURE.name]},
    )


def test_deps_layer_wheels_match_the_function_runtime_and_architecture() -> None:
    site = layers.build_deps_layer() / "python"
    # pydantic-core's compiled module only imports on the interpreter and CPU it was built for.
    soabi = f"cpython-{PYTHON_TAG.removeprefix('cp')}-{MACHINE}-linux-gnu"  # cpython-314-aarch64-linux-gnu
    (core,) = site.glob("pydantic_core/_pydantic_core.*.so")
    assert core.name == f"_pydantic_core.{soabi}.so"
    compiled = list(site.rglob("*.so"))
    assert compiled
    for module in compiled:
        assert module.name.endswith((f".{soabi}.so", ".abi3.so")), module
    for wheel in site.glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        assert tags, wheel
        for tag in tags:
            python, abi, platform = tag.split("-")
            if platform == "any":
                assert abi == "none", tag
                continue
            assert python == PYTHON_TAG and abi in (PYTHON_TAG, "abi3"), tag
            assert platform.endswith(f"_{MACHINE}"), tag
    # The host Python's extension suffix must not leak in (a build for the wrong interpreter).
    host_suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if host_suffix and PYTHON_TAG not in host_suffix:
        assert not list(site.rglob(f"*{host_suffix}"))


def test_deps_layer_holds_the_runtime_requirements_but_not_boto3() -> None:
    site = layers.build_deps_layer() / "python"
    installed = {
        re.sub(r"[-_.]+", "-", path.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower(): path.name
        for path in site.glob("*.dist-info")
    }
    for requirement in layers.runtime_requirements():
        name, _, version = requirement.partition("==")
        assert installed[re.sub(r"[-_.]+", "-", name).lower()].endswith(f"-{version}.dist-info")
    assert "boto3" not in installed and "botocore" not in installed
    assert not (site / "bin").exists()


def test_package_layer_puts_leadflow_cadences_and_templates_under_opt() -> None:
    files = set(layers.package_layer_files())
    assert "python/leadflow/cadence/asl.py" in files
    assert not any(name.startswith("python/leadflow/local/") or "__pycache__" in name for name in files)
    assert {f"cadences/{name}.yaml" for name in load_cadences(CADENCE_DIR)} <= files
    assert any(name.startswith("templates/") and name.endswith(".j2") for name in files)
    # leadflow.compiled's files, which the functions read at /opt/compiled instead of parsing the YAML.
    compiled_files = {"cadences.json", "operator_config.json", "holidays/index.json", "holidays/US.json"}
    assert {f"compiled/{name}" for name in compiled_files} <= files
    assert any(name.startswith("compiled/report_templates/tmpl_") for name in files)
    staged = layers.stage_package_layer()
    assert {path.relative_to(staged).as_posix() for path in staged.rglob("*") if path.is_file()} == files


def test_function_assets_hold_only_their_own_code() -> None:
    for name in FUNCTION_NAMES:
        files = set(assets.function_files(name))
        assert f"functions/{name}/handler.py" in files
        assert all(path.startswith(f"functions/{name}/") or path == "functions/__init__.py" for path in files)
        assert not any("__pycache__" in path or path.endswith(".pyc") for path in files)


def test_handlers_import_in_the_lambda_layout() -> None:
    """Import each handler as Lambda will: its asset as /var/task, the leadflow layer as /opt/python.

    The deps layer holds wheels for another interpreter, so the venv's site-packages stands in for it;
    `-S` keeps the editable leadflow install (a .pth file) out of the way.
    """
    layer = layers.stage_package_layer() / "python"
    site_packages = sysconfig.get_paths()["purelib"]
    runs = {}
    for name in FUNCTION_NAMES:
        handler_module, _, handler_function = f"functions.{name}.handler.lambda_handler".rpartition(".")
        code = (
            "import importlib, leadflow\n"
            f"module = importlib.import_module({handler_module!r})\n"
            f"assert callable(getattr(module, {handler_function!r}))\n"
            f"assert leadflow.__file__.startswith({str(layer)!r}), leadflow.__file__\n"
        )
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(assets.stage_function(name)), str(layer), site_packages]),
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONDONTWRITEBYTECODE": "1",  # the staged directories are the deployed assets
        }
        runs[name] = subprocess.Popen(
            [sys.executable, "-S", "-c", code],
            env=environment,
            cwd=assets.BUILD_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for name, run in runs.items():
        output, _ = run.communicate(timeout=60)
        assert run.returncode == 0, f"{name}: {output}"


def test_layer_modules_that_use_their_path_load_at_opt() -> None:
    """Modules that compute paths from __file__ must work where the layer puts them: /opt/python."""
    layer = layers.stage_package_layer() / "python"
    for source in sorted((layer / "leadflow").rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        if "__file__" not in text:
            continue
        relative = source.relative_to(layer)
        name = ".".join(relative.with_suffix("").parts)
        module = types.ModuleType(name)
        module.__file__ = f"/opt/python/{relative.as_posix()}"
        module.__package__ = name.rpartition(".")[0]
        # Registered while it runs, as an import would: dataclasses look their module up by name.
        saved = sys.modules.get(name)
        sys.modules[name] = module
        try:
            exec(compile(text, module.__file__, "exec"), module.__dict__)
        finally:
            if saved is None:
                del sys.modules[name]
            else:
                sys.modules[name] = saved


def test_deps_layer_is_not_rebuilt_when_current(monkeypatch: pytest.MonkeyPatch) -> None:
    layers.build_deps_layer()

    def no_pip(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pip ran although the layer is current")

    monkeypatch.setattr(layers.subprocess, "run", no_pip)
    assert layers.build_deps_layer() == layers.DEPS_LAYER_DIR
    assert layers.deps_layer_dir() == layers.DEPS_LAYER_DIR


def test_pip_targets_the_function_runtime() -> None:
    command = layers.pip_command(Path("/tmp/x"), ["pydantic==2.14.3"])
    assert command[command.index("--python-version") + 1] == PYTHON_VERSION
    assert command[command.index("--platform") + 1] == f"manylinux2014_{MACHINE}"
    assert "--only-binary=:all:" in command
    assert all(not req.startswith("boto3") for req in layers.runtime_requirements())


# --- API -----------------------------------------------------------------------------------------------


def test_api_stage_is_throttled_traced_and_access_logged(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": synth.config.throttle_rate_limit,
                            "ThrottlingBurstLimit": synth.config.throttle_burst_limit,
                            "DataTraceEnabled": False,
                        }
                    )
                ]
            ),
        },
    )


def test_api_serves_only_the_declared_routes(synth: Synth) -> None:
    methods = synth.resources("AWS::ApiGateway::Method")
    assert sorted(method["Properties"]["HttpMethod"] for method in methods.values()) == sorted(
        method for _, route_methods in ROUTES for method in route_methods
    )
    paths = sorted(r["Properties"]["PathPart"] for r in synth.resources("AWS::ApiGateway::Resource").values())
    assert paths == sorted({part for path, _ in ROUTES for part in path.split("/")})


# --- Table ---------------------------------------------------------------------------------------------


def test_table_matches_the_sandbox_spec_and_is_protected(synth: Synth) -> None:
    (table,) = [v for k, v in synth.resources("AWS::DynamoDB::Table").items() if k.startswith("Leads")]
    props = table["Properties"]
    sandbox = table_spec.create_table_kwargs("leadflow")
    assert props["KeySchema"] == sandbox["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(sandbox["AttributeDefinitions"], key=str)
    assert props["GlobalSecondaryIndexes"] == sandbox["GlobalSecondaryIndexes"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": table_spec.TTL_ATTRIBUTE, "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


# --- State machines ------------------------------------------------------------------------------------


def test_one_standard_state_machine_per_cadence_with_logging_and_tracing(synth: Synth) -> None:
    cadences = load_cadences(CADENCE_DIR)
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == len(cadences)
    names = sorted(machine["Properties"]["StateMachineName"] for machine in machines.values())
    assert names == sorted(f"{synth.config.stack_name}-{name}" for name in cadences)
    for machine in machines.values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL"
        assert logging["IncludeExecutionData"] is False  # execution data (PII) stays out of the logs
        assert logging["Destinations"]


def test_definition_is_a_join_over_the_step_function_arn(synth: Synth) -> None:
    step_id, _ = _function_by_code(synth, "step")
    for machine in synth.resources("AWS::StepFunctions::StateMachine").values():
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        tokens = [part for part in parts if not isinstance(part, str)]
        assert tokens and all(token == {"Fn::GetAtt": [step_id, "Arn"]} for token in tokens)


def test_deployed_asl_is_exactly_the_sandbox_asl(synth: Synth) -> None:
    """The acceptance test: what the Sandbox executes in moto is what CDK deploys."""
    step_id, _ = _function_by_code(synth, "step")
    step_arn = fake_function_arn(step_id)
    deployed = synthesized_definitions(synth.raw)
    cadences = load_cadences(CADENCE_DIR)
    assert set(deployed) == set(cadences)
    for name, cadence in cadences.items():
        assert deployed[name] == build_definition(cadence, step_arn), name


# --- Email, topics, bucket -----------------------------------------------------------------------------


def test_ses_sending_and_receiving(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::SES::ConfigurationSet", 1)
    synth.template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {"EmailIdentity": synth.config.sender_domain, "ConfigurationSetAttributes": Match.any_value()},
    )
    synth.template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": synth.config.reply_domain}
    )
    synth.template.resource_count_is("AWS::SES::ReceiptRuleSet", 1)
    (bucket_id,) = [k for k in synth.resources("AWS::S3::Bucket") if k.startswith("EmailInboundMail")]
    (topic_id,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsInboundMail")]
    synth.template.has_resource_properties(
        "AWS::SES::ReceiptRule",
        {
            "Rule": {
                "Enabled": True,
                "ScanEnabled": True,
                "Recipients": [
                    f"reply@{synth.config.reply_domain}",
                    f"unsubscribe@{synth.config.reply_domain}",
                ],
                "Actions": [
                    {
                        "S3Action": {
                            "BucketName": {"Ref": bucket_id},
                            "ObjectKeyPrefix": INBOUND_PREFIX,
                            "TopicArn": {"Ref": topic_id},
                        }
                    }
                ],
            }
        },
    )
    outputs = synth.raw["Outputs"]
    assert any("set-active-receipt-rule-set" in json.dumps(output["Value"]) for output in outputs.values())


def test_topics_are_kms_encrypted_and_require_tls(synth: Synth) -> None:
    topics = synth.resources("AWS::SNS::Topic")
    assert len(topics) == 5  # inbound mail, inbound SMS, SES events, rep alerts, ops alerts
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]
    policies = synth.resources("AWS::SNS::TopicPolicy").values()
    for topic_id in topics:
        assert any(
            statement["Effect"] == "Deny"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            and {"Ref": topic_id} in policy["Properties"]["Topics"]
            for policy in policies
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ), topic_id
    synth.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_inbound_subscription_reaches_the_inbound_function(synth: Synth) -> None:
    inbound_id, _ = _function_by_code(synth, "inbound")
    synth.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": [inbound_id, "Arn"]}}
    )


def test_inbound_bucket_is_private_encrypted_logged_and_expires_mail(synth: Synth) -> None:
    (bucket,) = [v for k, v in synth.resources("AWS::S3::Bucket").items() if k.startswith("EmailInboundMail")]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "LoggingConfiguration" in props
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == _operator().retention.inbound_mail_days
    assert rule["Prefix"] == INBOUND_PREFIX


def _operator() -> Any:
    return load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")


def test_retention_is_written_as_ttl_and_lifecycle_rules(synth: Synth) -> None:
    """DynamoDB deletes items after `expires_at` (epoch seconds); S3 deletes raw mail and access logs."""
    (table,) = [v for k, v in synth.resources("AWS::DynamoDB::Table").items() if k.startswith("Leads")]
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    rules = {
        logical_id.rstrip("0123456789ABCDEF"): bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        for logical_id, bucket in synth.resources("AWS::S3::Bucket").items()
        if "LifecycleConfiguration" in bucket["Properties"]
    }
    days = _operator().retention.inbound_mail_days
    assert rules["EmailInboundMail"] == [
        {"ExpirationInDays": days, "Prefix": INBOUND_PREFIX, "Status": "Enabled"}
    ]
    assert rules["EmailAccessLogs"] == [{"ExpirationInDays": 90, "Status": "Enabled"}]


# --- Weekly report -------------------------------------------------------------------------------------


def test_report_schedule_runs_weekly_in_the_configured_time_zone(synth: Synth) -> None:
    (schedule,) = synth.resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    configured = load_operator_config(layers.CONFIG_SOURCE / "leadflow.yaml").report.schedule
    assert props["ScheduleExpression"] == configured.expression == "cron(0 8 ? * MON *)"
    assert props["ScheduleExpressionTimezone"] == configured.timezone == "America/Chicago"
    assert props["State"] == "ENABLED"
    target = props["Target"]
    report_id, _ = _function_by_code(synth, "report")
    assert target["Arn"] == {"Fn::GetAtt": [report_id, "Arn"]}
    # The function gets the schedule's input, context attributes filled in by Scheduler.
    assert json.loads(target["Input"]) == SCHEDULE_INPUT
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    (failures,) = [k for k in synth.resources("AWS::SQS::Queue") if k.startswith("ReportFailures")]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [failures, "Arn"]}}
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = synth.raw["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }
    assert role_id.startswith("ReportScheduleRole")
    actions = {a for statement in _statements(synth, "ReportScheduleRole") for a in _actions(statement)}
    assert actions == {"lambda:InvokeFunction", "sqs:SendMessage"}


def test_a_configured_schedule_and_time_zone_reach_the_template() -> None:
    stack = cdk.Stack(cdk.App(), "ReportOnly")
    function = cdk.aws_lambda.Function(
        stack,
        "Fn",
        runtime=RUNTIME,
        handler="index.handler",
        code=cdk.aws_lambda.Code.from_inline("def handler(event, context): pass"),
    )
    schedule = ReportSchedule(weekday="fri", time="17:30", timezone="Asia/Tokyo")
    access_logs = cdk.aws_s3.Bucket(stack, "Logs")
    WeeklyReport(stack, "Report", function=function, schedule=schedule, access_logs=access_logs)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "cron(30 17 ? * FRI *)", "ScheduleExpressionTimezone": "Asia/Tokyo"},
    )


def test_the_stack_outputs_what_leadflow_report_needs(synth: Synth) -> None:
    outputs = synth.raw["Outputs"]
    (table_id,) = [k for k in synth.resources("AWS::DynamoDB::Table") if k.startswith("LeadsTable")]
    assert outputs["TableName"]["Value"] == {"Ref": table_id}
    (archive,) = [k for k in synth.resources("AWS::S3::Bucket") if k.startswith("ReportArchive")]
    assert outputs["ReportArchiveBucket"]["Value"] == {"Ref": archive}
    # The CLI's enrollments hand touch 1 to the step (issue 28): it finds the function by this output.
    assert outputs["StepFunctionName"]["Value"] == {"Ref": _function_by_code(synth, "step")[0]}


def test_report_archive_is_private_encrypted_versioned_logged_and_kept(synth: Synth) -> None:
    ((logical_id, bucket),) = [
        (k, v) for k, v in synth.resources("AWS::S3::Bucket").items() if k.startswith("ReportArchive")
    ]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "report-archive/"
    assert bucket["DeletionPolicy"] == "Retain"
    policies = [
        p
        for p in synth.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert "aws:SecureTransport" in json.dumps(policies)


def test_report_function_reads_by_index_and_writes_only_its_archive_and_marker(synth: Synth) -> None:
    _, function = _function_by_code(synth, "report")
    assert function["Properties"]["MemorySize"] == 1769
    assert function["Properties"]["Timeout"] == 900
    statements = _statements(synth, "FunctionsReportRole")
    by_action = {action: statement for statement in statements for action in _actions(statement)}
    dynamodb = {action for action in by_action if action.startswith("dynamodb:")}
    assert dynamodb == {
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
    }
    (table_id,) = [k for k in synth.resources("AWS::DynamoDB::Table") if k.startswith("LeadsTable")]
    index_queries = [s for s in statements if "dynamodb:Query" in _actions(s) and "Condition" not in s]
    assert [s["Resource"] for s in index_queries] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, f"/index/{table_spec.BY_DAY_INDEX}"]]}
    ]
    leading = {
        action: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for s in statements
        if "Condition" in s
        for action in _actions(s)
        if action.startswith("dynamodb:")
    }
    assert leading == {
        "dynamodb:BatchGetItem": ["LEAD#*"],
        "dynamodb:PutItem": ["REPORT#*"],
        "dynamodb:UpdateItem": ["REPORT#*"],
        "dynamodb:GetItem": ["SENDING", "SENDING#*"],
        "dynamodb:Query": ["SENDING", "SENDING#*"],
    }
    (archive,) = [k for k in synth.resources("AWS::S3::Bucket") if k.startswith("ReportArchive")]
    assert by_action["s3:PutObject"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [archive, "Arn"]}, f"/{ARCHIVE_PREFIX}*"]]
    }
    assert ":configuration-set/" in json.dumps(by_action["ses:SendRawEmail"])
    assert not any(action.startswith(("secretsmanager:", "kms:", "states:", "sns:")) for action in by_action)
    assert not any(action in by_action for action in ("s3:GetObject", "s3:DeleteObject", "dynamodb:Scan"))


# --- IAM -----------------------------------------------------------------------------------------------


def test_start_execution_is_scoped_to_the_state_machines(synth: Synth) -> None:
    machines = set(synth.resources("AWS::StepFunctions::StateMachine"))
    grants = [s for s in _statements(synth, "FunctionsIntakeRole") if "states:StartExecution" in _actions(s)]
    assert grants
    refs = {resource["Ref"] for statement in grants for resource in _resources(statement)}
    assert refs == machines


def test_the_sweep_may_start_list_and_describe_executions_of_the_state_machines_and_nothing_else(
    synth: Synth,
) -> None:
    """Issue 22: it finds executions that ended early with ListExecutions (by status) and resumes
    their enrollments with StartExecution. Issue 28: it describes an execution whose ARN touch 1's
    claim has not stored yet (started or not?), on the cadences' executions only; it stops none."""
    machines = set(synth.resources("AWS::StepFunctions::StateMachine"))
    granted: dict[str, set[str]] = {}
    described: list[str] = []
    for statement in _statements(synth, "FunctionsSweepRole"):
        for action in _actions(statement):
            if action == "states:DescribeExecution":
                flat = cdk.Stack(cdk.App(), "Flat")
                described += [nag.flatten_reference(flat, resource) for resource in _resources(statement)]
            elif action.startswith("states:"):
                refs = {resource["Ref"] for resource in _resources(statement)}
                granted.setdefault(action, set()).update(refs)
    assert granted == {"states:StartExecution": machines, "states:ListExecutions": machines}
    assert sorted(described) == sorted(
        f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{synth.config.stack_name}-{name}:*"
        for name in load_cadences(CADENCE_DIR)
    )


def test_the_stoppers_derive_execution_arns_from_the_state_machines_names(synth: Synth) -> None:
    """Issue 28: the step (touch 1's claim stores its execution's ARN), inbound and events (stops)
    hold the cadence -> state machine ARN map built from the machines' fixed names: the same ARNs as
    intake's references, without a reference back to the machines that reference the step."""
    for name in ("step", "inbound", "events"):
        variables = _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]
        parts = variables["STATE_MACHINE_ARNS"]["Fn::Join"][1]
        refs = {part["Ref"] for part in parts if not isinstance(part, str)}
        assert refs == {"AWS::Partition", "AWS::Region", "AWS::AccountId"}, name  # no resource's
        mapping = json.loads("".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts))
        assert mapping == {
            cadence: f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:"
            f"{synth.config.stack_name}-{cadence}"
            for cadence in load_cadences(CADENCE_DIR)
        }, name


def test_stop_execution_is_scoped_to_the_cadence_executions(synth: Synth) -> None:
    (grant,) = [
        s for s in _statements(synth, "FunctionsInboundRole") if "states:StopExecution" in _actions(s)
    ]
    arns = [nag.flatten_reference(cdk.Stack(cdk.App(), "Flat"), resource) for resource in _resources(grant)]
    assert sorted(arns) == sorted(
        f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{synth.config.stack_name}-{name}:*"
        for name in load_cadences(CADENCE_DIR)
    )


def test_only_the_execution_starters_and_the_texters_invoke_the_step_and_the_step_stops_its_own(
    synth: Synth,
) -> None:
    """Issue 28: intake and the sweep start executions and hand each one's first moment to the step
    (lambda:InvokeFunction on that function only); inbound asks it for service texts; no other
    function invokes anything. The step may stop a cadence's executions (a first moment that failed
    for good ends the execution waiting for the second), scoped as the other stoppers are."""
    step_id = _function_by_code(synth, "step")[0]
    invokers = {}
    for name in ("Intake", "Sweep", "Inbound", "Events", "Report", "Step"):
        invokes = [
            s for s in _statements(synth, f"Functions{name}Role") if "lambda:InvokeFunction" in _actions(s)
        ]
        invokers[name] = [(_actions(s), _resources(s)) for s in invokes]
    step_only = [(["lambda:InvokeFunction"], [{"Fn::GetAtt": [step_id, "Arn"]}])]
    assert invokers == {
        "Intake": step_only,
        "Sweep": step_only,
        "Inbound": step_only,
        "Events": [],
        "Report": [],
        "Step": [],
    }
    for name in ("Intake", "Sweep"):
        variables = _function_by_code(synth, name.lower())[1]["Properties"]["Environment"]["Variables"]
        assert variables["STEP_FUNCTION_NAME"] == {"Ref": step_id}, name
    (grant,) = [s for s in _statements(synth, "FunctionsStepRole") if "states:StopExecution" in _actions(s)]
    arns = [nag.flatten_reference(cdk.Stack(cdk.App(), "Flat"), resource) for resource in _resources(grant)]
    assert sorted(arns) == sorted(
        f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{synth.config.stack_name}-{name}:*"
        for name in load_cadences(CADENCE_DIR)
    )


def test_only_x_ray_and_log_delivery_use_resource_star(synth: Synth) -> None:
    star_actions = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert "*" not in _actions(statement)
            if "*" in _resources(statement):
                # SMS to a phone number has no resource ARN: the step alone sends texts.
                allowed = star_actions | (
                    {"sns:Publish"} if logical_id.startswith("FunctionsStepRoleDefaultPolicy") else set()
                )
                assert set(_actions(statement)) <= allowed, (logical_id, statement)


def _wildcard_publishers(synth: Synth) -> set[str]:
    """The logical ids of the policies that allow sns:Publish on "*" (to any topic or number)."""
    return {
        logical_id
        for logical_id, policy in synth.resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        and {"sns:Publish", "sns:*", "*"} & set(_actions(statement))
        and any(isinstance(r, str) and r.endswith("*") for r in _resources(statement))
    }


def _assert_only_the_step_texts(synth: Synth, askers: tuple[str, ...]) -> None:
    """Issue 22: sns:Publish on "*" (SMS to a number has no ARN) is the step's alone; the inbound
    function publishes to the rep alerts topic only; the functions that need a service text (the
    HELP answer, the SMS opt-in request) invoke the step, that function only."""
    (step_policy,) = _wildcard_publishers(synth)
    assert step_policy.startswith("FunctionsStepRoleDefaultPolicy"), step_policy
    (step_id, _) = _function_by_code(synth, "step")
    inbound = _statements(synth, "FunctionsInboundRole")
    (alerts_id,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsRepAlerts")]
    published = [r for s in inbound if "sns:Publish" in _actions(s) for r in _resources(s)]
    assert published == [{"Ref": alerts_id}], "inbound publishes to the rep alerts topic only"
    for name in askers:
        role = _statements(synth, f"Functions{name.capitalize()}Role")
        (invoke,) = [s for s in role if "lambda:InvokeFunction" in _actions(s)]
        assert (_actions(invoke), _resources(invoke)) == (
            ["lambda:InvokeFunction"],
            [{"Fn::GetAtt": [step_id, "Arn"]}],
        ), name
        variables = _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]
        assert variables["STEP_FUNCTION_NAME"] == {"Ref": step_id}, name
        assert "SMS_ORIGINATION_NUMBER" not in variables, name


def test_only_the_step_may_publish_to_any_topic_or_number(synth: Synth) -> None:
    _assert_only_the_step_texts(synth, ("inbound",))


def test_a_configured_stack_texts_through_the_step_and_takes_salesforce_by_address(
    tmp_path: Path, monkeypatch
) -> None:
    """An operator config naming double opt-in countries: intake's opt-in request goes through the
    step as well, and the step's wildcard carries its reason. The same stack takes Salesforce
    outbound messages by source address: intake gets the organizations and ranges."""
    import infra.app

    def with_opt_in(path: Path) -> Any:
        operator = load_operator_config(path)
        abuse = operator.abuse.model_copy(update={"sms_double_opt_in": ("GB",)})
        return operator.model_copy(update={"abuse": abuse})

    monkeypatch.setattr(infra.app, "load_operator_config", with_opt_in)
    with nag.recorded_acknowledgments() as acknowledged:
        build_app(outdir=tmp_path / "recorded", context=_context())
    (reason,) = [
        ack.reason
        for ack in acknowledged
        if ack.path.endswith("/Functions/StepRole")
        and ack.finding == "AwsSolutions-IAM5[Resource::*]"
        and "sns:Publish" in ack.reason
    ]
    assert "no resource ARN" in reason and "Only the step function holds it" in reason
    salesforce = {
        "leadflow:salesforceOrgIds": "00D000000000001EAA",
        "leadflow:salesforceSourceCidrs": "198.51.100.0/24,2001:db8:5f::/48",
    }
    app = build_app(outdir=tmp_path / "synth", context={**_context(), **salesforce})
    config = LeadflowConfig.from_context(app.node)
    raw = app.synth().get_stack_artifact(config.stack_name).template
    variant = Synth(config, tmp_path, tmp_path / "unused.json", raw, Template.from_json(raw))
    _assert_only_the_step_texts(variant, ("inbound", "intake"))
    variables = _function_by_code(variant, "intake")[1]["Properties"]["Environment"]["Variables"]
    assert variables["SALESFORCE_ORG_IDS"] == "00D000000000001EAA"
    assert variables["SALESFORCE_SOURCE_CIDRS"] == "198.51.100.0/24,2001:db8:5f::/48"


def test_sends_and_publishes_are_scoped(synth: Synth) -> None:
    step = _statements(synth, "FunctionsStepRole")
    ses = [s for s in step if "ses:SendEmail" in _actions(s)]
    assert ses and all(r != "*" for s in ses for r in _resources(s))
    flat = json.dumps(ses)
    assert ":configuration-set/" in flat and ":identity/" in flat
    (alerts_id,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsRepAlerts")]
    (ops_id,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsOps")]
    # The step alerts ops when an enrollment fails (issue 11); the events function when the
    # reputation guard pauses sending (issue 12); intake when it holds posts (issue 22).
    for name, expected in (
        ("Intake", [alerts_id, ops_id]),
        ("Step", [alerts_id, ops_id]),
        ("Events", [alerts_id, ops_id]),
    ):
        topics = [
            s
            for s in _statements(synth, f"Functions{name}Role")
            if "sns:Publish" in _actions(s) and _resources(s) != ["*"]
        ]
        published = sorted(ref["Ref"] for s in topics for ref in _resources(s))
        assert published == sorted(expected), name
    for name in ("step", "events", "intake"):
        variables = _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]
        assert variables["OPS_TOPIC_ARN"] == {"Ref": ops_id}, name
    # SMS to phone numbers: "*" (merged with X-Ray's "*" actions by minimizePolicies).
    (sms,) = [s for s in step if "sns:Publish" in _actions(s) and _resources(s) == ["*"]]
    assert {action for action in _actions(sms) if not action.startswith("xray:")} == {"sns:Publish"}
    inbound = _statements(synth, "FunctionsInboundRole")
    (read,) = [s for s in inbound if "s3:GetObject" in _actions(s)]
    assert _actions(read) == ["s3:GetObject"]
    assert json.dumps(read["Resource"]).endswith(f'"/{INBOUND_PREFIX}*"]]}}')
    for name in ("Intake", "Step", "Inbound"):
        assert not any(s for s in _statements(synth, f"Functions{name}Role") if "s3:PutObject" in _actions(s))


def _dynamodb_actions(synth: Synth, function: str, table_prefix: str) -> set[str]:
    """The DynamoDB actions a function's role is granted on one table (or its indexes)."""
    (table_id,) = [k for k in synth.resources("AWS::DynamoDB::Table") if k.startswith(table_prefix)]
    return {
        action
        for statement in _statements(synth, f"Functions{function.capitalize()}Role")
        if table_id in json.dumps(statement["Resource"])
        for action in _actions(statement)
        if action.startswith("dynamodb:")
    }


@pytest.mark.parametrize("function", ["intake", "step", "inbound", "events", "report", "sweep"])
def test_each_role_gets_only_the_dynamodb_actions_its_code_calls(synth: Synth, function: str) -> None:
    """Fails on any granted action the function's code never calls (and, for the lead handlers, on
    any action it calls that is not granted)."""
    granted = _dynamodb_actions(synth, function, "LeadsTable")
    called = table_calls.reachable_actions(function)
    assert granted, function
    assert granted <= called, f"{function} is granted actions its code never calls: {granted - called}"
    if function != "report":  # the report's grants are narrower still (by key prefix), tested above
        assert granted == called, f"{function} calls actions it is not granted: {called - granted}"
    # Only the sweep's hourly audit scans (an operator's check, not a hot path).
    never = {"dynamodb:BatchWriteItem", "dynamodb:DescribeTable"} | (
        {"dynamodb:Scan"} if function != "sweep" else set()
    )
    assert not granted & never
    for statement in _statements(synth, f"Functions{function.capitalize()}Role"):
        assert not any(
            action.startswith("dynamodb:") and action.endswith("*") for action in _actions(statement)
        )
        assert "dynamodbstreams" not in json.dumps(statement)  # no stream reads


def test_only_intake_writes_the_idempotency_table_and_only_as_powertools_does(synth: Synth) -> None:
    for function in ("intake", "step", "inbound", "events", "report"):
        granted = _dynamodb_actions(synth, function, "Idempotency")
        expected = table_calls.IDEMPOTENCY_ACTIONS if table_calls.uses_idempotency(function) else set()
        assert granted == expected, function


def test_the_code_reader_sees_calls_and_lazy_imports() -> None:
    # A guard for the guard: the step's closure includes the store modules it calls through, and
    # code it loads but never reaches (the operator CLI's Scan of suppressions) does not count.
    assert "leadflow.store.enrollment_items" in table_calls.closure("step")
    assert "dynamodb:UpdateItem" in table_calls.reachable_actions("step")
    assert "dynamodb:Scan" in table_calls.table_actions("step")  # loaded (suppression_items) ...
    assert "dynamodb:Scan" not in table_calls.reachable_actions("step")  # ... never reached
    assert "dynamodb:DeleteItem" in table_calls.reachable_actions("intake")  # the erasure route
    assert "leadflow.local.sandbox" not in table_calls.closure("intake")


def test_functions_have_no_managed_policies(synth: Synth) -> None:
    for logical_id, role in synth.resources("AWS::IAM::Role").items():
        if logical_id.startswith("Functions"):
            assert "ManagedPolicyArns" not in role["Properties"], logical_id


# --- Linters -------------------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing(synth: Synth) -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(
        synth.template_file,
        config=ManualArgs(regions=["us-east-1"], ignore_checks=sorted(CFN_LINT_IGNORED)),
    )
    assert [str(match) for match in matches] == []


def test_cdk_nag_reports_nothing_unacknowledged(synth: Synth) -> None:
    report = json.loads((synth.assembly_dir / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_every_acknowledgment_matches_a_real_finding(tmp_path: Path) -> None:
    """Synthesize without acknowledgments: each one must cover a finding, and they must cover all."""
    with nag.recorded_acknowledgments() as acknowledged:
        app = build_app(outdir=tmp_path, context=_context())
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert acknowledged
    for ack in acknowledged:
        assert len(ack.reason) > 40, ack
        assert any(
            rule == ack.finding and (path + "/").startswith(ack.path + "/") for rule, path in findings
        ), f"stale acknowledgment {ack.finding} on {ack.path}"
    for rule, path in findings:
        assert any(rule == a.finding and (path + "/").startswith(a.path + "/") for a in acknowledged), (
            rule,
            path,
        )


# --- Config --------------------------------------------------------------------------------------------


def test_context_values_from_the_command_line_are_converted() -> None:
    app = cdk.App(
        context={
            "leadflow:throttleRateLimit": "5",
            "leadflow:throttleBurstLimit": "7",
            "leadflow:sender": "Sam <sam@send.example>",
        }
    )
    config = LeadflowConfig.from_context(app.node)
    assert config.throttle_rate_limit == 5.0 and config.throttle_burst_limit == 7
    assert config.sender_domain == "send.example"
    assert LeadflowConfig.from_context(cdk.App().node) == LeadflowConfig()


def test_salesforce_settings_are_checked_at_synth() -> None:
    org = "00D000000000001EAA"
    config = LeadflowConfig.from_mapping(
        {"leadflow:salesforceOrgIds": org, "leadflow:salesforceSourceCidrs": "198.51.100.0/24"}
    )
    assert config.salesforce_source_cidrs == ("198.51.100.0/24",)
    with pytest.raises(ValueError, match=re.escape("salesforceSourceCidrs: '198.51.100.1/24' is not a CIDR")):
        LeadflowConfig(salesforce_org_ids=(org,), salesforce_source_cidrs=("198.51.100.1/24",))
    with pytest.raises(ValueError, match="salesforceSourceCidrs needs leadflow:salesforceOrgIds"):
        LeadflowConfig(salesforce_source_cidrs=("198.51.100.0/24",))
    with pytest.raises(ValueError, match="salesforceOrgIds: '001000000000001' is not a Salesforce"):
        LeadflowConfig(salesforce_org_ids=("001000000000001",))


def test_invalid_context_fails_the_synth() -> None:
    with pytest.raises(ValueError, match="sender"):
        LeadflowConfig(sender="nobody")
    with pytest.raises(ValueError, match="logRetention"):
        LeadflowConfig(log_retention="FOREVER-ISH")


# --- Intake: idempotency, alerts, CORS preflight, optional WAF ----------------------------------------


def test_intake_has_its_idempotency_table_alerts_and_consent_stops(synth: Synth) -> None:
    (table_id, table), *_ = [
        (k, v) for k, v in synth.resources("AWS::DynamoDB::Table").items() if k.startswith("Idempotency")
    ]
    assert table["Properties"]["KeySchema"] == [
        {"AttributeName": table_spec.IDEMPOTENCY_KEY, "KeyType": "HASH"}
    ]
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": table_spec.IDEMPOTENCY_TTL_ATTRIBUTE,
        "Enabled": True,
    }
    variables = _function_by_code(synth, "intake")[1]["Properties"]["Environment"]["Variables"]
    assert variables["IDEMPOTENCY_TABLE_NAME"] == {"Ref": table_id}
    assert "REP_ALERTS_TOPIC_ARN" in variables
    intake = _statements(synth, "FunctionsIntakeRole")
    assert any("sns:Publish" in _actions(s) for s in intake)
    assert any("states:StopExecution" in _actions(s) for s in intake)
    writes = [s for s in intake if "dynamodb:PutItem" in _actions(s)]
    assert any(json.dumps(s).count(table_id) for s in writes)
    # A public consent withdrawal is confirmed by email (issue 17): scoped SES send, sender, link base.
    sends = [s for s in intake if "ses:SendEmail" in _actions(s)]
    assert sends and all(r != "*" for s in sends for r in _resources(s))
    assert {"SENDER", "SES_CONFIGURATION_SET", "PUBLIC_URL"} <= set(variables)
    assert not any("sns:Publish" in _actions(s) and "*" in _resources(s) for s in intake)
    # Intake invokes the step, that function only, to hand it each new execution's first moment
    # (issue 28); with no service texts to ask for, the step's SMS rights stay the step's.
    (invoke,) = [s for s in intake if "lambda:InvokeFunction" in _actions(s)]
    step_id = _function_by_code(synth, "step")[0]
    assert (_actions(invoke), _resources(invoke)) == (
        ["lambda:InvokeFunction"],
        [{"Fn::GetAtt": [step_id, "Arn"]}],
    )


def test_the_api_routes_the_cors_preflight_and_the_openapi_document(synth: Synth) -> None:
    assert ("leads", ("POST", "OPTIONS")) in ROUTES
    assert ("openapi.json", ("GET",)) in ROUTES


def test_no_waf_by_default_and_a_per_ip_rate_rule_when_enabled(synth: Synth, tmp_path: Path) -> None:
    assert synth.resources("AWS::WAFv2::WebACL") == {}
    app = build_app(
        outdir=tmp_path, context={**_context(), "leadflow:wafEnabled": "true", "leadflow:wafRateLimit": 300}
    )
    config = LeadflowConfig.from_context(app.node)
    template = Template.from_stack(app.node.find_child(config.stack_name))  # type: ignore[arg-type]
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": [
                Match.object_like(
                    {
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {
                                "AggregateKeyType": "IP",
                                "Limit": 300,
                                "EvaluationWindowSec": 300,
                            }
                        },
                    }
                )
            ],
        },
    )
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)


def test_waf_context_values_are_converted() -> None:
    config = LeadflowConfig.from_context(
        cdk.App(context={"leadflow:wafEnabled": "false", "leadflow:wafRateLimit": "50"}).node
    )
    assert (config.waf_enabled, config.waf_rate_limit) == (False, 50)
    with pytest.raises(ValueError, match="wafRateLimit"):
        LeadflowConfig(waf_rate_limit=5)


# --- Answers: SES events, inbound SMS, meeting webhooks (issue 5) ---------------------------------------


def test_ses_events_flow_from_the_configuration_set_through_sns_and_sqs_to_the_events_function(
    synth: Synth,
) -> None:
    (destination,) = synth.resources("AWS::SES::ConfigurationSetEventDestination").values()
    spec = destination["Properties"]["EventDestination"]
    assert sorted(spec["MatchingEventTypes"]) == sorted(
        # send: proof SES accepted a touch, which settles a touch whose step died (issue 11)
        [
            "send",
            "bounce",
            "complaint",
            "delivery",
            "reject",
            "open",
            "click",
            "renderingFailure",
            "deliveryDelay",
        ]
    )
    (events_topic,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsSesEvents")]
    assert spec["SnsDestination"]["TopicARN"] == {"Ref": events_topic}
    queues = synth.resources("AWS::SQS::Queue")
    (queue_id, queue) = next((k, v) for k, v in queues.items() if k.startswith("SesEventsQueue"))
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0].startswith("SesEventsDeadLetters")
    (subscription,) = [
        s["Properties"]
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "sqs"
    ]
    assert subscription["TopicArn"] == {"Ref": events_topic}
    assert subscription.get("RawMessageDelivery") in (None, False)
    events_id, events_function = _function_by_code(synth, "events")
    (mapping,) = synth.resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {"Ref": events_id}
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = events_function["Properties"]["Timeout"]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout
    policies = json.dumps(list(synth.resources("AWS::SNS::TopicPolicy").values()))
    assert "ses.amazonaws.com" in policies and "sms-voice.amazonaws.com" in policies


def test_the_inbound_function_takes_mail_and_sms_and_no_other_topic(synth: Synth) -> None:
    inbound_id, inbound = _function_by_code(synth, "inbound")
    subscribed = sorted(
        s["Properties"]["TopicArn"]["Ref"]
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"].get("Endpoint") == {"Fn::GetAtt": [inbound_id, "Arn"]}
    )
    variables = inbound["Properties"]["Environment"]["Variables"]
    assert sorted(
        [variables["INBOUND_MAIL_TOPIC_ARN"]["Ref"], variables["SMS_INBOUND_TOPIC_ARN"]["Ref"]]
    ) == (subscribed)


def test_meeting_webhooks_are_signed_with_a_generated_secret_only_intake_reads(synth: Synth) -> None:
    secrets = synth.resources("AWS::SecretsManager::Secret")
    (secret_id,) = [k for k in secrets if k.startswith("MeetingWebhookKey")]
    _, intake = _function_by_code(synth, "intake")
    assert intake["Properties"]["Environment"]["Variables"]["MEETING_WEBHOOK_SECRET_ARN"] == {
        "Ref": secret_id
    }
    readers = [
        logical_id
        for logical_id, policy in synth.resources("AWS::IAM::Policy").items()
        if {"Ref": secret_id}
        in [r for s in policy["Properties"]["PolicyDocument"]["Statement"] for r in _resources(s)]
    ]
    assert len(readers) == 1 and readers[0].startswith("FunctionsIntakeRole")
    assert ("webhooks/meeting", ("POST",)) in ROUTES


# --- Messages: signed links, unsubscribe, template lint at synth -------------------------------------


def test_token_key_is_retained_and_read_only_by_the_functions_that_sign_or_verify_links(synth: Synth) -> None:
    secrets = synth.resources("AWS::SecretsManager::Secret")
    (secret_id,) = [k for k in secrets if k.startswith("TokenKey")]
    assert secrets[secret_id]["DeletionPolicy"] == "Retain"
    for name in ("intake", "step", "inbound"):
        variables = _function_by_code(synth, name)[1]["Properties"]["Environment"]["Variables"]
        assert variables["TOKEN_SECRET_ARN"] == {"Ref": secret_id}, name
        assert variables["REPLY_DOMAIN"] == synth.config.reply_domain, name
    readers = sorted(
        logical_id.removeprefix("Functions").partition("Role")[0]
        for logical_id, policy in synth.resources("AWS::IAM::Policy").items()
        if {"Ref": secret_id}
        in [r for s in policy["Properties"]["PolicyDocument"]["Statement"] for r in _resources(s)]
    )
    assert readers == ["Inbound", "Intake", "Step"]


def test_unsubscribe_links_point_at_the_api_stage_that_serves_them(synth: Synth) -> None:
    assert ("unsubscribe", ("GET", "POST")) in ROUTES
    (api_id,) = synth.resources("AWS::ApiGateway::RestApi")
    (stage,) = synth.resources("AWS::ApiGateway::Stage").values()
    public_url = _function_by_code(synth, "step")[1]["Properties"]["Environment"]["Variables"]["PUBLIC_URL"]
    parts = public_url["Fn::Join"][1]
    assert parts[0] == "https://" and {"Ref": api_id} in parts
    assert "".join(p for p in parts if isinstance(p, str)).endswith(f"/{stage['Properties']['StageName']}")


def test_a_template_that_breaks_the_lint_fails_the_synth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from infra import app as cdk_app
    from leadflow.send import lint

    templates = tmp_path / "templates"
    shutil.copytree(cdk_app.TEMPLATE_DIR, templates)
    intro = templates / "inbound-demo-request" / "intro.j2"
    intro.write_text(intro.read_text().replace("Your demo request", "FREE demo!!!"))
    monkeypatch.setattr(cdk_app, "TEMPLATE_DIR", templates)
    with pytest.raises(lint.TemplateLintError, match=r"intro\.j2: subject-spam"):
        build_app(outdir=tmp_path / "cdk.out", context=_context())


# --- Cadence engine: tasks route, API keys, SMS, a broken cadence fails the synth ------------------


def test_task_links_route_and_api_keys_secret(synth: Synth) -> None:
    (task_resource,) = [
        logical_id
        for logical_id, resource in synth.resources("AWS::ApiGateway::Resource").items()
        if resource["Properties"]["PathPart"] == "{task_id}"
    ]
    task_methods = sorted(
        method["Properties"]["HttpMethod"]
        for method in synth.resources("AWS::ApiGateway::Method").values()
        if method["Properties"]["ResourceId"] == {"Ref": task_resource}
    )
    assert task_methods == ["GET", "POST"]
    (secret,) = [
        s for s in synth.resources("AWS::SecretsManager::Secret").values() if s["Properties"].get("Name")
    ]
    assert secret["Properties"]["Name"] == "leadflow/api-keys"
    intake_reads = [
        s for s in _statements(synth, "FunctionsIntakeRole") if "secretsmanager:GetSecretValue" in _actions(s)
    ]
    assert len(intake_reads) >= 1
    stops = [s for s in _statements(synth, "FunctionsIntakeRole") if "states:StopExecution" in _actions(s)]
    assert stops, "a task outcome that answers stops the lead's executions"


def test_a_malformed_cadence_file_fails_the_synth_naming_file_touch_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra import app as app_module
    from leadflow.cadence.model import CadenceFileError

    cadences = tmp_path / "cadences"
    cadences.mkdir()
    for source in CADENCE_DIR.glob("*.yaml"):
        (cadences / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = cadences / "re-engagement.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace(
            "channel: email, name: case-study", "channel: fax, name: case-study"
        ),
        encoding="utf-8",
    )
    (tmp_path / "templates").symlink_to(REPO_ROOT / "templates")
    monkeypatch.setattr(app_module, "CADENCE_DIR", cadences)

    with pytest.raises(CadenceFileError) as caught:
        build_app(outdir=tmp_path / "out", context=_context())
    message = str(caught.value)
    assert str(broken) in message
    assert "touch 2 (case-study)" in message
    assert "field channel" in message


# --- Never lose a lead (issue 11): catch-all, sweep, alarms to ops -------------------------------------


def test_every_task_of_every_deployed_state_machine_has_the_catch_all(synth: Synth) -> None:
    from leadflow.cadence import asl

    definitions = synthesized_definitions(synth.raw)
    assert definitions
    for cadence, definition in definitions.items():
        tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
        assert asl.RECORD_FAILURE_STATE in tasks, cadence
        for name, task in tasks.items():
            assert task["Catch"][-1]["ErrorEquals"] == ["States.ALL"], (cadence, name)
            assert any("Throttled" in retry["ErrorEquals"] for retry in task["Retry"]), (cadence, name)
        assert definition["States"][asl.FAILED_STATE]["Type"] == "Fail"


def test_alarms_page_the_ops_topic_whose_subscribers_come_from_the_config(synth: Synth) -> None:
    from leadflow.operator_config import load_operator_config

    (ops_topic,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsOps")]
    subscribed = sorted(
        resource["Properties"]["Endpoint"]
        for resource in synth.resources("AWS::SNS::Subscription").values()
        if resource["Properties"]["Protocol"] == "email"
        and resource["Properties"]["TopicArn"] == {"Ref": ops_topic}
    )
    operator = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
    assert subscribed == sorted(operator.ops.alert_emails) and subscribed
    alarms = synth.resources("AWS::CloudWatch::Alarm").values()
    assert all(alarm["Properties"]["AlarmActions"] == [{"Ref": ops_topic}] for alarm in alarms)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm["Properties"]["MetricName"], []).append(alarm["Properties"])
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    failed = {json.dumps(alarm["Dimensions"]) for alarm in by_metric["ExecutionsFailed"]}
    assert len(failed) == len(machines) == len(by_metric["ExecutionsFailed"])
    for logical_id in machines:
        assert any(logical_id in dimensions for dimensions in failed), logical_id
    functions = {"intake", "step", "inbound", "events", "report", "sweep"}
    for metric in ("Errors", "Throttles"):
        named = {json.dumps(alarm["Dimensions"]) for alarm in by_metric[metric]}
        for name in functions:
            logical_id, _ = _function_by_code(synth, name)
            assert any(logical_id in dimensions for dimensions in named), (metric, name)
    queues = {json.dumps(alarm["Dimensions"]) for alarm in by_metric["ApproximateNumberOfMessagesVisible"]}
    # The SES events DLQ, the inbound function's failures, the scheduled functions' failures (sweep,
    # report: issue 26) and the report schedule's own dead letters.
    assert len(queues) == 4
    (breaches,) = by_metric["AuditBreaches"]
    assert breaches["Namespace"] == "leadflow" and breaches["Threshold"] == 1
    # Our own metrics (leadflow.send.touches, functions.intake.handler): one page each, at the first.
    for metric in ("InDoubtTouchResent", "IntakeUnavailable"):
        (ours,) = by_metric[metric]
        assert ours["Namespace"] == "leadflow", metric
        assert ours["Dimensions"] == [{"Name": "service", "Value": "leadflow"}], metric
        assert (ours["Statistic"], ours["Period"], ours["Threshold"]) == ("Sum", 300, 1), metric
        assert ours["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", metric
        assert ours["TreatMissingData"] == "notBreaching", metric


def test_the_sweep_runs_every_five_minutes_and_the_audit_hourly(synth: Synth) -> None:
    sweep_id, _ = _function_by_code(synth, "sweep")
    rules = [
        rule["Properties"]
        for rule in synth.resources("AWS::Events::Rule").values()
        if any(sweep_id in json.dumps(target["Arn"]) for target in rule["Properties"]["Targets"])
    ]
    schedules = sorted((rule["ScheduleExpression"], rule["Targets"][0]["Input"]) for rule in rules)
    # The quarterly re-engagement (issue 16) runs on the same function: tests/test_deploy.py.
    schedules = [schedule for schedule in schedules if "reengage" not in schedule[1]]
    assert schedules == [("rate(1 hour)", '{"audit":true}'), ("rate(5 minutes)", '{"audit":false}')]
    granted = _dynamodb_actions(synth, "sweep", "LeadsTable")
    # PutItem: the re-engagement enrolls (issue 16); DeleteItem: held rep alerts, once delivered (issue 25).
    expected = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    expected |= {"dynamodb:Scan", "dynamodb:DeleteItem"}
    expected |= {"dynamodb:BatchGetItem"}  # an overdue escalation's lead and enrollment, one read (issue 28)
    assert granted == expected


def test_the_sweep_sends_the_morning_digests_through_the_identities_and_the_events_function_sends_none(
    synth: Synth,
) -> None:
    """Issue 25: the digest is an SES email from the sweep; SES send stays off the events function."""
    senders = {
        function
        for function in FUNCTION_NAMES
        for statements in [_statements(synth, f"Functions{function.capitalize()}Role")]
        if any("ses:SendEmail" in _actions(s) for s in statements)
    }
    assert senders == {"intake", "step", "inbound", "report", "sweep"}
    sweep = [s for s in _statements(synth, "FunctionsSweepRole") if "ses:SendEmail" in _actions(s)]
    assert all(r != "*" for s in sweep for r in _resources(s))
    assert ":configuration-set/" in json.dumps(sweep) and ":identity/" in json.dumps(sweep)
    variables = _function_by_code(synth, "sweep")[1]["Properties"]["Environment"]["Variables"]
    assert {"SENDER", "SES_CONFIGURATION_SET"} <= variables.keys()


def test_the_manager_is_subscribed_to_their_alerts_and_the_sweep_publishes_the_daily_list(
    synth: Synth,
) -> None:
    """Issue 25: the manager's email takes only alerts whose `rep` is `_manager` (no rep id can be);
    the sweep (the daily list of leads never called) publishes to the rep alerts topic only."""
    (alerts_id,) = [k for k in synth.resources("AWS::SNS::Topic") if k.startswith("TopicsRepAlerts")]
    managers = [
        subscription["Properties"]
        for subscription in synth.resources("AWS::SNS::Subscription").values()
        if subscription["Properties"].get("FilterPolicy") == {"rep": ["_manager"]}
    ]
    assert [(s["Protocol"], s["Endpoint"]) for s in managers] == [("email", "jordan@leadflow.example")]
    sweep = _statements(synth, "FunctionsSweepRole")
    published = [r for s in sweep if "sns:Publish" in _actions(s) for r in _resources(s)]
    assert published == [{"Ref": alerts_id}]


def test_escalation_schedules_invoke_only_the_step_and_only_their_creators_pass_their_role(
    synth: Synth,
) -> None:
    """Issue 28: speed to lead's one-shot schedules live in our own group; their role invokes the step
    and nothing else; the step and the sweep create them (and pass that role only, to Scheduler only);
    the functions that record outcomes or stops only delete them."""
    (group,) = synth.resources("AWS::Scheduler::ScheduleGroup").values()
    group_name = group["Properties"]["Name"]  # CDK names it at synth: a literal, not a Ref
    (role_id,) = [k for k in synth.resources("AWS::IAM::Role") if k.startswith("EscalationsInvokeRole")]
    role = synth.raw["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    step_id, step = _function_by_code(synth, "step")
    step_arn = {"Fn::GetAtt": [step_id, "Arn"]}
    assert [(_actions(s), _resources(s)) for s in _statements(synth, "EscalationsInvokeRole")] == [
        (["lambda:InvokeFunction"], [step_arn])
    ]
    flat = cdk.Stack(cdk.App(), "Flat")
    schedules = f"arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{group_name}/*"
    granted: dict[str, set[str]] = {}
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in _actions(statement):
                if action.startswith("scheduler:") or action.startswith("iam:"):
                    granted.setdefault(logical_id.split("Role")[0], set()).add(action)
                    if action == "iam:PassRole":
                        assert _resources(statement) == [{"Fn::GetAtt": [role_id, "Arn"]}], logical_id
                        assert statement["Condition"] == {
                            "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
                        }
                    else:
                        assert [nag.flatten_reference(flat, r) for r in _resources(statement)] == [schedules]
    creator = {"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"}
    assert granted == {
        "FunctionsStep": creator,
        "FunctionsSweep": creator,
        "FunctionsIntake": {"scheduler:DeleteSchedule"},
        "FunctionsInbound": {"scheduler:DeleteSchedule"},
        "FunctionsEvents": {"scheduler:DeleteSchedule"},
    }
    variables = step["Properties"]["Environment"]["Variables"]
    assert variables["ESCALATION_SCHEDULE_GROUP"] == group_name
    assert variables["ESCALATION_SCHEDULE_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "ESCALATION_TARGET_ARN" not in variables  # the step targets the ARN it is invoked by
    sweep = _function_by_code(synth, "sweep")[1]["Properties"]["Environment"]["Variables"]
    assert sweep["ESCALATION_TARGET_ARN"] == step_arn
