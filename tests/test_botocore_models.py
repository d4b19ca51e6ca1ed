"""The leadflow layer's botocore models, trimmed to the operations its code calls (infra.botocore_models).

Trimmed, a model must still hold every operation the functions call (a missing one is an
AttributeError in Lambda), and answer as botocore's own for those: same requests, same parsing,
same exceptions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_lambda_powertools
import boto3
import botocore
import pytest
import s3transfer
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from infra import botocore_models, layers
from leadflow import aws
from leadflow.local import events
from tests.conftest import REPO_ROOT
from tests.helpers import DEMO_REQUEST, reply_mime, to_lead


@pytest.fixture(scope="module")
def models() -> Path:
    return layers.build_botocore_models()


@pytest.fixture(scope="module")
def manifest(models: Path) -> dict[str, Any]:
    return dict(json.loads((models / botocore_models.MANIFEST).read_text()))


# -- what the functions call is in the models ---------------------------------------------------

_LIBRARIES = tuple(str(Path(module.__file__).parent) for module in (botocore, boto3, s3transfer))
# Code that runs in Lambda: the layer's package (not the Sandbox), the functions, Powertools (its
# idempotency store calls our DynamoDB client).
_LAMBDA_CODE = (
    str(botocore_models.PACKAGE_SOURCE),
    str(botocore_models.FUNCTIONS_DIR),
    str(Path(aws_lambda_powertools.__file__).parent),
)
_SANDBOX = str(botocore_models.PACKAGE_SOURCE / "local")


def _caller() -> str:
    """The file of the code that made the call: the first frame outside boto3, botocore and s3transfer."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES):
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else ""


def _runs_in_lambda(path: str) -> bool:
    return path.startswith(_LAMBDA_CODE) and not path.startswith(_SANDBOX)


def missing(calls: set[tuple[str, str]], manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The calls that Lambda's clients, built on the trimmed models, could not make."""
    return sorted(call for call in calls if call[1] not in manifest["operations"].get(call[0], [call[1]]))


def test_missing_names_an_operation_the_models_lack(manifest: dict[str, Any]) -> None:
    trimmed = {"operations": {**manifest["operations"], "sesv2": []}}
    calls = {("sesv2", "SendEmail"), ("dynamodb", "GetItem")}
    assert missing(calls, manifest) == []
    assert missing(calls, trimmed) == [("sesv2", "SendEmail")]
    # A service the layer's code never names keeps botocore's own whole model: any call.
    assert missing({("sqs", "CreateQueue")}, manifest) == []


@pytest.fixture
def lambda_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[str, str]]]:
    """(service, operation) of every AWS call the layer's code or the functions make, by any client;
    the Sandbox's and the tests' own calls (setup, inspection) are left out."""
    calls: set[tuple[str, str]] = set()
    make_api_call = BaseClient._make_api_call

    def recorded(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if _runs_in_lambda(_caller()):
            calls.add((client.meta.service_model.service_name, operation_name))
        return make_api_call(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    yield calls


def test_every_operation_the_functions_call_is_in_the_trimmed_models(sb, lambda_calls, manifest):
    """A lead through the whole demo cadence (emails, the speed-to-lead call task and its escalations,
    SMS, LinkedIn), a second lead's reply, an SES delivery event, the sweep and the weekly report: every
    function runs, and every call the layer's code makes is one the trimmed models hold."""
    sb.post("/leads", json=DEMO_REQUEST)
    sb.post("/leads", json={"email": "bo@example.com", "first_name": "Bo", "form": "demo-request"})
    grace, bo = sb.find_lead(DEMO_REQUEST["email"]), sb.find_lead("bo@example.com")
    sb.advance(2 * 86_400)
    (first, *_) = to_lead(sb, grace["id"])
    delivery = events.ses_event(
        "Delivery",
        message_id=first["message_id"],
        recipients=[DEMO_REQUEST["email"]],
        sent_at=sb.now(),
        at=sb.now(),
    )
    assert sb.deliver_ses_event(delivery) == {"batchItemFailures": []}
    (to_bo, *_) = to_lead(sb, bo["id"])
    sb.deliver_email(
        reply_mime(
            "Bo <bo@example.com>",
            to=to_bo["headers"].get("Reply-To", to_bo["headers"]["From"]),
            subject=f"Re: {to_bo['subject']}",
            headers={"In-Reply-To": to_bo["headers"].get("Message-ID", "")},
            at=sb.now(),
        )
    )
    sb.advance_to("2026-12-31T00:00:00Z")
    sb.sweep()
    assert sb.run_report()["status"] == "sent"
    assert sb.lead(bo["id"])["status"] == "replied"

    assert missing(lambda_calls, manifest) == []
    # The story reached each service the functions use (the recorder saw the calls).
    for call in [
        ("dynamodb", "PutItem"),
        ("dynamodb", "Query"),
        ("sesv2", "SendEmail"),
        ("stepfunctions", "StartExecution"),
        ("stepfunctions", "StopExecution"),
        ("events", "PutEvents"),
        ("s3", "GetObject"),
        ("s3", "PutObject"),
        ("sns", "Publish"),
        ("scheduler", "CreateSchedule"),
        ("secretsmanager", "GetSecretValue"),
        ("lambda", "Invoke"),
    ]:
        assert call in lambda_calls, call


# -- trimming ------------------------------------------------------------------------------------


def _builtin(service: str) -> dict[str, Any]:
    loader = botocore_models._builtin_loader()
    version = loader.determine_latest_version(service, "service-2")
    return dict(loader.load_data(f"{service}/{version}/service-2"))


def test_trim_keeps_the_named_operations_by_either_name_and_drops_the_rest() -> None:
    model = _builtin("stepfunctions")
    trimmed = botocore_models.trim(model, {"start_execution", "StopExecution", "unrelated"})
    assert sorted(trimmed["operations"]) == ["StartExecution", "StopExecution"]
    assert trimmed["metadata"] == model["metadata"]
    # Every error shape stays (client.exceptions is whole), documentation goes.
    errors = {name for name, shape in model["shapes"].items() if shape.get("exception")}
    assert errors <= set(trimmed["shapes"])
    assert "documentation" not in json.dumps(trimmed)
    assert "DescribeStateMachineInput" not in trimmed["shapes"]


def test_trim_keeps_the_endpoint_discovery_operation_botocore_looks_up_itself() -> None:
    assert sorted(botocore_models.trim(_builtin("dynamodb"), {"get_item"})["operations"]) == [
        "DescribeEndpoints",
        "GetItem",
    ]


def test_trimmed_model_is_botocores_own_for_what_it_keeps(models: Path, manifest: dict[str, Any]) -> None:
    """Each kept operation and shape is the original's, less its documentation; every shape a kept one
    refers to is there. The endpoint rules beside it are botocore's, whole."""
    loader = botocore_models._builtin_loader()
    for service, operations in manifest["operations"].items():
        version = loader.determine_latest_version(service, "service-2")
        rules = json.loads((models / service / version / "endpoint-rule-set-1.json").read_text())
        assert rules == loader.load_data(f"{service}/{version}/endpoint-rule-set-1")
        full = _builtin(service)
        trimmed = botocore_models.trim(full, set(operations))
        assert sorted(trimmed["operations"]) == operations
        for name, operation in trimmed["operations"].items():
            assert operation == botocore_models._strip_operation(full["operations"][name])
        for name, shape in trimmed["shapes"].items():
            assert shape == botocore_models._strip_shape(full["shapes"][name])
            assert set(botocore_models._shape_refs(shape)) <= set(trimmed["shapes"]), (service, name)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _client(service: str, models: Path | None, monkeypatch: pytest.MonkeyPatch) -> Any:
    if models:
        monkeypatch.setenv("BOTOCORE_MODELS_DIR", str(models))
    else:
        monkeypatch.delenv("BOTOCORE_MODELS_DIR", raising=False)
    aws.session.cache_clear()
    try:
        client = aws.session().client(service, endpoint_url="https://aws.test")
    finally:
        aws.session.cache_clear()
    if models:
        kept = json.loads((models / botocore_models.MANIFEST).read_text())["operations"][service]
        assert sorted(client.meta.service_model.operation_names) == kept
    return client


# One call per service the functions use, with an error its operation models (mapped to the same
# exception class both ways).
CALLS = [
    (
        "dynamodb",
        "put_item",
        {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"},
        "ConditionalCheckFailedException",
    ),
    (
        "sesv2",
        "send_email",
        {"FromEmailAddress": "a@b.example", "Content": {"Raw": {"Data": b"x"}}},
        "MessageRejected",
    ),
    ("s3", "get_object", {"Bucket": "inbound", "Key": "mail/1"}, "NoSuchKey"),
    (
        "s3",
        "put_object",
        {"Bucket": "reports", "Key": "r.html", "Body": b"<p>", "ContentType": "text/html"},
        "x",
    ),
    (
        "stepfunctions",
        "start_execution",
        {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m", "name": "n", "input": "{}"},
        "ExecutionAlreadyExists",
    ),
    (
        "events",
        "put_events",
        {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]},
        "InternalException",
    ),
    ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "m"}, "NotFound"),
    (
        "scheduler",
        "create_schedule",
        {
            "Name": "n",
            "ScheduleExpression": "at(2026-12-01T00:00:00)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": "a", "RoleArn": "r"},
            "ClientToken": "t",
        },
        "ConflictException",
    ),
    (
        "lambda",
        "invoke",
        {"FunctionName": "f", "InvocationType": "Event", "Payload": b"{}"},
        "ResourceNotFoundException",
    ),
    ("secretsmanager", "get_secret_value", {"SecretId": "s"}, "ResourceNotFoundException"),
]


def _error(protocol: str, code: str) -> tuple[dict[str, str], bytes]:
    """An error answer in the protocol's own form (headers, body)."""
    if protocol == "query":
        error = f"<Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error>"
        return {}, f"<ErrorResponse>{error}</ErrorResponse>".encode()
    if protocol == "rest-xml":
        return {}, f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
    return {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "message": "m"}).encode()


@pytest.mark.parametrize(("service", "operation", "params", "code"), CALLS)
def test_a_call_on_the_trimmed_model_sends_and_parses_as_on_botocores_own(
    service: str,
    operation: str,
    params: dict[str, Any],
    code: str,
    models: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def call(client: Any) -> tuple[Any, ...]:
        sent: list[Any] = []

        def answer(request: Any, **_: Any) -> AWSResponse:
            sent.append(request)
            # An error botocore does not retry: one request, parsed into the same exception.
            headers, body = _error(client.meta.service_model.protocol, code)
            return AWSResponse(request.url, 400, headers, _Raw(body))

        client.meta.events.register("before-send", answer)
        with pytest.raises(ClientError) as raised:
            getattr(client, operation)(**params)
        request = sent[0]
        headers = {
            name: value
            for name, value in request.headers.items()
            if name not in ("Authorization", "X-Amz-Date", "amz-sdk-invocation-id", "amz-sdk-request")
        }
        body = request.body.read() if hasattr(request.body, "read") else request.body  # S3's aws-chunked
        error = raised.value
        return request.method, request.url, headers, body, type(error).__name__, error.response["Error"]

    full = _client(service, None, monkeypatch)
    trimmed = _client(service, models, monkeypatch)
    sent = call(trimmed)
    assert sent == call(full)
    modeled = trimmed.exceptions._code_to_exception.get(code)
    assert sent[4] == (modeled.__name__ if modeled else "ClientError")
    assert (modeled is None) == (code == "x")
    assert trimmed.exceptions._code_to_exception.keys() == full.exceptions._code_to_exception.keys()


# -- where Lambda finds them -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("built_by", "used"), [("1.0.0", True), (botocore.__version__, True), ("99.0.0", False)]
)
def test_models_serve_a_botocore_at_least_as_new_as_the_one_they_came_from(
    built_by: str, used: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same API version, an older model: a newer botocore reads it. A newer model than the botocore
    running it: botocore's own models instead."""
    (tmp_path / botocore_models.MANIFEST).write_text(json.dumps({"botocore_version": built_by}))
    monkeypatch.setenv("BOTOCORE_MODELS_DIR", str(tmp_path))
    assert aws.trimmed_models_dir() == (str(tmp_path) if used else None)


def test_a_checkout_uses_botocores_own_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTOCORE_MODELS_DIR", raising=False)
    assert aws.trimmed_models_dir() is None
    aws.session.cache_clear()
    search_paths = aws.session()._loader.search_paths
    assert botocore.loaders.Loader.BUILTIN_DATA_PATH in search_paths
    assert not [path for path in search_paths if botocore_models.LAYER_DIR in path]


def test_the_layer_carries_the_models_where_its_leadflow_aws_looks() -> None:
    """Imported from the staged layer (as /opt/python), leadflow.aws finds /opt/botocore-models."""
    staged = layers.stage_package_layer()
    assert (staged / botocore_models.LAYER_DIR / "sesv2" / "2019-09-27" / "service-2.json").is_file()
    environment = {name: value for name, value in os.environ.items() if name != "BOTOCORE_MODELS_DIR"}
    environment["PYTHONPATH"] = str(staged / "python")
    code = "from leadflow import aws; print(aws.trimmed_models_dir())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str((staged / botocore_models.LAYER_DIR).resolve())
