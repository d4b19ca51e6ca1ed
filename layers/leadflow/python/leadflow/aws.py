"""boto3 clients, created once per process and only on first use (lean cold starts).

The Sandbox calls `reset()` after it starts moto so clients bind to the mock.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, instance_cache

if TYPE_CHECKING:  # the CLI's types; Lambda cold starts don't import argparse
    import argparse


class DirectLoader(Loader):
    """botocore's model loader, finding a service's model in that service's own directory.

    botocore checks a service name against the list of every service before it loads a model, and
    that list walks all ~400 service directories once per model type (service, endpoint rules,
    resources, paginators): tens of milliseconds each, on every cold start. A model found under the
    service's name is the one botocore would load; a name without one takes botocore's own path,
    which names the known services in its error.
    """

    @instance_cache
    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        try:
            version = api_version or self.determine_latest_version(service_name, type_name)
            model = self.load_data(os.path.join(service_name, version, type_name))
        except DataNotFoundError:
            return super().load_service_model(service_name, type_name, api_version)
        extras = self._find_extras(service_name, type_name, version)  # type: ignore[attr-defined]
        self._extras_processor.process(model, extras)  # type: ignore[attr-defined]
        return model


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's data files (models, endpoints.json) decoded into plain dicts.

    botocore asks the json module for an OrderedDict per object, which decodes about half as fast;
    a dict keeps its order, and botocore builds its own OrderedDicts where it wants them
    (botocore.model). The 1.2 MB endpoints.json every cold start reads: 13.5 -> 5.8 ms of CPU.
    """

    def load_file(self, file_path: str) -> Any:
        for extension, open_file in ((".json", open), (".json.gz", gzip.open)):
            path = file_path + extension
            if os.path.isfile(path):
                with open_file(path, "rb") as data:
                    return json.loads(data.read().decode("utf-8"))
        return None


# The service models the layer build trimmed to the operations the functions call (infra.botocore_models):
# /opt/botocore-models in Lambda, beside the layer's python/; BOTOCORE_MODELS_DIR elsewhere (the bench's
# cold starts). None in a checkout: the CLI, the Sandbox and the tests use botocore's whole models.
_LAYER_MODELS = Path(__file__).resolve().parents[2] / "botocore-models"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def trimmed_models_dir() -> str | None:
    """The trimmed models' directory, if there is one and this botocore can read them: they come from
    the build machine's botocore, and a botocore at least as new reads an older model of the same API
    version (AWS adds to a model; botocore reads what older SDKs shipped). An older one might meet a
    trait it does not know: it keeps its own models."""
    directory = Path(os.environ.get("BOTOCORE_MODELS_DIR") or _LAYER_MODELS)
    try:
        built_by = json.loads((directory / "manifest.json").read_bytes())["botocore_version"]
    except FileNotFoundError:
        return None
    return str(directory) if _version(botocore.__version__) >= _version(built_by) else None


@cache
def session() -> boto3.Session:
    """The process's boto3 session (one, as boto3's default), with the direct model loader, which
    looks in AWS_DATA_PATH (as botocore), then in the layer's trimmed models, then in botocore's own."""
    core = botocore.session.get_session()
    paths = (core.get_config_variable("data_path") or "").split(os.pathsep)  # AWS_DATA_PATH, as botocore
    search_paths = [os.path.expanduser(path) for path in paths if path]
    if trimmed := trimmed_models_dir():
        search_paths.append(trimmed)
    core.register_component(
        "data_loader", DirectLoader(extra_search_paths=search_paths, file_loader=PlainJSONFileLoader())
    )
    return boto3.Session(botocore_session=core)


# SES SendEmail acts and cannot be repeated safely: after a lost answer (a read timeout) botocore
# would send the request again, and the email twice. One attempt; the state machine retries, and
# the touch's claim knows that the first may have gone out (leadflow.send.touches: in doubt).
_ONE_ATTEMPT = frozenset({"sesv2"})


@cache
def client(service: str) -> Any:
    if service in _ONE_ATTEMPT:
        config = Config(retries={"total_max_attempts": 1})
        return session().client(service, config=config)  # type: ignore[call-overload]
    return session().client(service)  # type: ignore[call-overload]


class Table:
    """A DynamoDB table as boto3's resource gives it (`put_item`, `get_item`, `update_item`,
    `delete_item`, `query`, `scan`: Python values in and out, Key/Attr conditions), on a client.

    Building the resource model's classes costs every cold start tens of milliseconds; its item
    calls are the client's calls with the table's name, through the transformations boto3 registers
    on the resource's client (registered on this one, see `_item_client`).
    """

    ITEM_OPERATIONS = frozenset({"put_item", "get_item", "update_item", "delete_item", "query", "scan"})

    def __init__(self, name: str, item_client: Any) -> None:
        self.name = name
        self.meta = SimpleNamespace(client=item_client)  # as `Table.meta.client` of the resource

    def __getattr__(self, operation: str) -> Any:
        if operation not in self.ITEM_OPERATIONS:
            raise AttributeError(operation)
        return partial(getattr(self.meta.client, operation), TableName=self.name)


@cache
def _item_client() -> Any:
    """A DynamoDB client taking and giving Python values: the handlers boto3's DynamoDB resource
    registers on its client (boto3.dynamodb.transform.DynamoDBHighLevelResource)."""
    from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params

    dynamodb = session().client("dynamodb")
    injector = TransformationInjector()
    before_build = "before-parameter-build.dynamodb"
    for event, handler, unique_id in (
        ("provide-client-params.dynamodb", copy_dynamodb_params, "dynamodb-create-params-copy"),
        (before_build, injector.inject_condition_expressions, "dynamodb-condition-expression"),
        (before_build, injector.inject_attribute_value_input, "dynamodb-attr-value-input"),
        ("after-call.dynamodb", injector.inject_attribute_value_output, "dynamodb-attr-value-output"),
    ):
        dynamodb.meta.events.register(event, handler, unique_id=unique_id)
    return dynamodb


@cache
def table(name: str) -> Table:
    return Table(name, _item_client())


def reset() -> None:
    client.cache_clear()
    _item_client.cache_clear()
    table.cache_clear()


# -- the CLI against a stack (deployed, or the Sandbox's moto endpoint) ----------------------


# What the Sandbox (`leadflow serve`) names its table and HMAC secret; a deployed stack's come from
# its outputs.
SANDBOX_TABLE = "leadflow"
SANDBOX_HMAC_SECRET = "leadflow/hmac"
SANDBOX_REP_ALERTS = "leadflow-rep-alerts"
DEFAULT_STACK = "Leadflow"


def add_stack_options(command: argparse.ArgumentParser) -> None:
    """The options of every CLI command that reads a stack: which stack, and how to reach it."""
    command.add_argument(
        "--stack",
        default=os.environ.get("LEADFLOW_STACK", DEFAULT_STACK),
        help="the deployed stack: its outputs name the table and the HMAC secret, its state machines "
        "are <stack>-<cadence> (default $LEADFLOW_STACK or Leadflow; the Sandbox's match it)",
    )
    command.add_argument("--table", help="DynamoDB table (default: the stack's TableName output)")
    command.add_argument(
        "--hmac-secret", help="Secrets Manager id of the HMAC key (default: the stack's HmacSecretArn output)"
    )
    command.add_argument("--profile", help="AWS profile")
    command.add_argument("--region", help="AWS region")
    command.add_argument(
        "--endpoint-url", help="AWS endpoint, e.g. the moto endpoint `leadflow serve` prints"
    )


def use_stack(
    args: argparse.Namespace, *, state_machines: bool = False, alert_owners: bool = False
) -> dict[str, str]:
    """Point boto3 and the settings at the chosen account, Region, endpoint and stack.

    The table, the HMAC secret and the inbound mail bucket come from the stack's outputs (an option,
    else $TABLE_NAME / $HMAC_SECRET_ARN, wins; the Sandbox has no stack and uses its own names).
    With `state_machines`, the cadences' state machines are found by the stack's name, and a stack
    without any is an error: a command that compares enrollments with executions must not run
    against none. With `alert_owners`, the reps' alert topic too (the Sandbox's found by its name).
    """
    environment = {
        "AWS_PROFILE": args.profile,
        "AWS_DEFAULT_REGION": args.region,
        "AWS_ENDPOINT_URL": args.endpoint_url,
    }
    os.environ.update({name: value for name, value in environment.items() if value})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if args.endpoint_url and not (args.profile or os.environ.get("AWS_ACCESS_KEY_ID")):
        # A local endpoint takes any credentials.
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    reset()
    table = getattr(args, "table", None) or os.environ.get("TABLE_NAME")
    hmac_secret = getattr(args, "hmac_secret", None) or os.environ.get("HMAC_SECRET_ARN")
    # Named already (options, or the environment of a function or a Sandbox): no lookup.
    outputs = {} if args.endpoint_url or (table and hmac_secret) else stack_outputs(args.stack)
    found = {
        "TABLE_NAME": table or outputs.get("TableName") or SANDBOX_TABLE,
        "HMAC_SECRET_ARN": hmac_secret or outputs.get("HmacSecretArn") or SANDBOX_HMAC_SECRET,
    }
    if outputs.get("InboundMailBucket") and not os.environ.get("INBOUND_BUCKET"):
        found["INBOUND_BUCKET"] = outputs["InboundMailBucket"]
    if outputs.get("LeadEventsBusName"):
        found["EVENT_BUS_NAME"] = outputs["LeadEventsBusName"]
    if outputs.get("StepFunctionName") and not os.environ.get("STEP_FUNCTION_NAME"):
        # A command that enrolls or resumes hands touch 1 to the step (cadence.first_moment).
        found["STEP_FUNCTION_NAME"] = outputs["StepFunctionName"]
    # Owners are alerted of what a command does to their leads (enroll --csv): the reps' topic.
    alerts = outputs.get("RepAlertsTopicArn")
    if alert_owners and args.endpoint_url and not alerts:
        alerts = _sandbox_topic(SANDBOX_REP_ALERTS)
    if alerts:
        found["REP_ALERTS_TOPIC_ARN"] = alerts
    if state_machines:
        found["STATE_MACHINE_ARNS"] = json.dumps(stack_state_machines(args.stack))
    os.environ.update(found)
    from leadflow import keys
    from leadflow.config import settings

    settings.cache_clear()
    keys.hmac_key.cache_clear()
    return found


def _sandbox_topic(name: str) -> str | None:
    for page in client("sns").get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rpartition(":")[2] == name:
                return str(topic["TopicArn"])
    return None


def stack_outputs(stack: str) -> dict[str, str]:
    """The deployed stack's outputs by key; a stack that does not exist is a usage error."""
    from botocore.exceptions import ClientError

    try:
        stacks = client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        region = client("cloudformation").meta.region_name
        raise LookupError(
            f"no stack {stack!r} in {region}: pass --stack with the name `cdk deploy` printed (and "
            "--region), or --endpoint-url for a local `leadflow serve`"
        ) from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def stack_state_machines(stack: str) -> dict[str, str]:
    """Cadence name -> state machine ARN, for the state machines named `<stack>-<cadence>`."""
    prefix = f"{stack.lower()}-"
    arns = {
        machine["name"][len(prefix) :]: machine["stateMachineArn"]
        for page in client("stepfunctions").get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"].lower().startswith(prefix)
    }
    if not arns:
        raise LookupError(f"no state machines named {stack}-<cadence>: is --stack right?")
    return arns


# -- errors worth retrying -------------------------------------------------------------------
# The step classifies a failed AWS call and raises one of these by name; every Task of the state
# machine retries them with backoff and jitter (leadflow.cadence.asl). Anything else is final.


class Throttled(Exception):
    """An AWS service (SES, SNS, DynamoDB, Lambda, Step Functions) asked us to slow down."""


class ServiceUnavailable(Exception):
    """An AWS service failed on its side (HTTP 5xx) or could not be reached."""


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "KMSThrottlingException",
        # DynamoDB: another transaction holds the item right now.
        "TransactionConflictException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {"InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable", "ServiceException"}
)


def transient(error: BaseException) -> Exception | None:
    """The named error a failed AWS call is retried under, or None when retrying cannot help."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        operation = getattr(error, "operation_name", "") or "call"
        if code in THROTTLING_CODES:
            return Throttled(f"{operation}: {code}")
        if code in UNAVAILABLE_CODES or status >= 500:
            return ServiceUnavailable(f"{operation}: {code or status}")
        return None
    if isinstance(error, ConnectionError | HTTPClientError):
        return ServiceUnavailable(type(error).__name__)
    return None


# Thread pools for reads that wait on AWS side by side (the report's partitions, the sweep's lists).
def started_pool(workers: int) -> ThreadPoolExecutor:
    """A ThreadPoolExecutor whose `workers` threads are all running when it is returned.

    ThreadPoolExecutor starts a thread per submit, and `Thread.start` waits until the new thread runs:
    once the first reads run, each later start queues for the GIL behind them, up to the 5 ms switch
    interval each (measured: 30-90 ms of the report's first call, 35-105 ms of the sweep's, on a busy
    2-core machine). Started before any read, a start takes a fraction of a millisecond.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    gate = threading.Event()
    # Each waits at the gate, so no thread is idle and every submit starts a new one.
    waiting = [pool.submit(gate.wait) for _ in range(workers)]
    gate.set()
    for started in waiting:
        started.result()
    return pool
