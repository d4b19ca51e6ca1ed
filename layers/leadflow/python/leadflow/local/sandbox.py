"""The local runtime: every resource on moto, the real state machines, a simulated clock.

    with Sandbox(start="2026-11-23T09:00:00Z") as sb:
        sb.post("/leads", json={"email": "ada@example.com"})
        sb.advance_to("2026-12-15T00:00:00Z")
        sb.outbox()

Resources come from the same definitions CDK deploys (table spec, ASL builder);
Lambda tasks and the events SNS or S3 would deliver go to our handlers in-process.
Time stands still until a test or the demo moves it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import hashlib
import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode, urlsplit

from leadflow import aws, clock, compiled, keys
from leadflow.cadence import versions
from leadflow.cadence.asl import build_definition
from leadflow.cadence.model import load_cadences
from leadflow.cadence.terms import DEFAULT_CADENCE_DIR
from leadflow.compiled import build as compiling
from leadflow.config import Settings, operator_config, settings
from leadflow.intake import routing
from leadflow.local import events
from leadflow.local.events import ACCOUNT_ID, REGION
from leadflow.observability import logger, metrics, set_metric_sink
from leadflow.operator_config import OperatorConfig, load_operator_config
from leadflow.send import lint
from leadflow.store import enrollment_items, lead_items
from leadflow.store.table import create_table_kwargs, idempotency_table_kwargs

REPO_ROOT = DEFAULT_CADENCE_DIR.parent
FUNCTIONS = ("intake", "step", "inbound", "report", "events", "sweep")
SENDER = "Alex Rivera <alex@mail.leadflow.example>"
REPLY_DOMAIN = "reply.leadflow.example"
# Our two-way SMS number (toll-free), and the key meeting webhooks are signed with.
SMS_NUMBER = "+18445550100"
MEETING_WEBHOOK_KEY = "whsec-leadflow-sandbox-meeting-key"
CRM_WEBHOOK_KEY = "whsec-leadflow-sandbox-crm-key"
SQL_EVENTS = frozenset({"stage_sql", "stage_opportunity", "stage_won"})
SALESFORCE_ORG_ID = "00D000000000001EAA"
# Where the API (and so every link in mail: unsubscribe, rep tasks) lives: `leadflow serve`'s default
# address. `leadflow serve` on another port, or a test under a stage prefix, sets PUBLIC_URL itself.
PUBLIC_URL = "http://127.0.0.1:8080"


def _compiled_for(config: Settings) -> Path:
    """The compiled cadences, configuration, holiday dates and report templates the functions read, as
    the Lambda layer ships them (leadflow.compiled): built once per content of the sources, in build/."""
    sources = (
        compiled.cadence_sources(config.cadence_dir, config.template_dir),
        compiled.template_digest(config.template_dir),  # the precompiled touch templates
        compiled.digest([config.config_file]),
        date.today().year,  # the holiday dates' horizon
    )
    key = hashlib.sha256(repr(sources).encode()).hexdigest()[:24]
    target = REPO_ROOT / "build" / "compiled" / key
    if not target.is_dir():
        compiling.build(
            target,
            config.cadence_dir,
            config.template_dir,
            config.config_file,
            date.today(),
            parts=target.parent / "parts",
        )
    compiled.forget()
    return target


def operator_config_at(environment: dict[str, str]) -> OperatorConfig:
    """The operator configuration the Sandbox will run with (CONFIG_FILE may point elsewhere)."""
    default = Settings.model_fields["config_file"].default
    return load_operator_config(Path(environment.get("CONFIG_FILE", default)))


def _rare_full_collections() -> Callable[[], None]:
    """Full garbage collections only after 1,000 young ones (Python's default: 10); returns undo.

    moto keeps every item, execution and history of the run in this process, and a full collection
    walks all of it: at 300 leads, 13 of them paused the run for up to 0.7 s each, inside posts.
    That data lives until the Sandbox closes, so collecting it more often frees nothing.
    """
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, max(full, 1000))
    return lambda: gc.set_threshold(young, middle, full)


def function_name(function: str) -> str:
    return f"leadflow-{function}"


def function_arn(function: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name(function)}"


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`, enough for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class SandboxResponse:
    def __init__(self, result: dict[str, Any]) -> None:
        self.status_code: int = int(result["statusCode"])
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name, ", ".join(values))
        self.headers: dict[str, str] = headers
        self.text: str = result.get("body") or ""

    def json(self) -> Any:
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<SandboxResponse {self.status_code} {self.text[:80]!r}>"


@dataclass
class _BuiltResources:
    """What a Sandbox built through the AWS APIs, kept to give the next Sandbox of the same setup
    (operator API key secret, state machine definitions) the same resources without building them.

    `backends` are copies of moto's service backends (every region backend in use) taken right after
    the build: empty tables, buckets, topics and queues, no execution, no message. A Sandbox starts
    moto afresh as ever (every backend reset), then installs a new copy of these, so nothing one
    Sandbox wrote can reach the next. Building costs ~40 API calls (~50 ms); a copy ~2 ms.
    """

    environment: dict[str, str]
    attributes: dict[str, Any]  # the Sandbox attributes the build set (ARNs, names, the API key)
    backends: dict[tuple[int, str, str], Any]  # (index in _backend_dicts, account, region) -> backend

    @classmethod
    def capture(cls, environment: dict[str, str], attributes: dict[str, Any]) -> _BuiltResources:
        from moto.core.base_backend import BackendDict

        in_use = {
            (_backend_dict_index(backends), account, region): backend
            for backends in BackendDict._instances  # type: ignore[misc]
            for account, region, backend in backends.iter_backends()
        }
        return cls(dict(environment), copy.deepcopy(attributes), _copy_backends(in_use))

    def restore(self, sandbox: Sandbox) -> None:
        for (index, account, region), backend in _copy_backends(self.backends).items():
            _backend_dicts[index][account][region] = backend
        for name, value in copy.deepcopy(self.attributes).items():
            setattr(sandbox, name, value)


# One set of built resources per setup, for the life of the process (a few kilobytes each).
_built_resources: dict[tuple[str, str], _BuiltResources] = {}
_backend_dicts: list[Any] = []


def _backend_dict_index(backends: Any) -> int:
    if not any(known is backends for known in _backend_dicts):
        _backend_dicts.append(backends)
    return next(index for index, known in enumerate(_backend_dicts) if known is backends)


def _copy_backends(backends: dict[tuple[int, str, str], Any]) -> dict[tuple[int, str, str], Any]:
    """A deep copy of moto backends, in one piece: a backend holding another (SES v2 keeps the
    SES v1 backend it sends through) holds that one's copy."""
    memo: dict[int, Any] = {}
    for backend in backends.values():
        # moto's SQS queues hold a threading.Condition, which cannot be copied: each copy gets its own.
        for queue in getattr(backend, "queues", {}).values():
            if hasattr(queue, "_messages_lock"):
                memo[id(queue._messages_lock)] = threading.Condition()
    return copy.deepcopy(backends, memo)


class Sandbox:
    """Context manager running leadflow on moto with a discrete simulated clock."""

    def __init__(
        self,
        start: str = "2026-11-23T09:00:00Z",
        *,
        cadence_dir: Path | None = None,
        template_dir: Path | None = None,
        environment: dict[str, str] | None = None,
        ses_send_events: bool = False,
    ) -> None:
        """`ses_send_events`: publish SES's Send event for every accepted email to the events
        function (through SNS and SQS, as the configuration set does), before time next moves.
        Set `send_event_delay` to publish the Send events of the emails accepted from then on that
        much later, in simulated time (None: never)."""
        self.start = clock.parse_iso(start)
        self.ses_send_events = ses_send_events
        self.send_event_delay: timedelta | None = timedelta(0)
        self._queued_send_events: list[dict[str, Any]] = []
        self._queue_lock = threading.Lock()
        self.cadence_dir = cadence_dir or DEFAULT_CADENCE_DIR
        self.template_dir = template_dir or REPO_ROOT / "templates"
        self.extra_environment = environment or {}
        self._undo: list[Callable[[], None]] = []
        self._saved_environment: dict[str, str | None] = {}
        self.handlers: dict[str, ModuleType] = {}
        self.state_machine_arns: dict[str, str] = {}
        self._handler_lock = threading.RLock()
        # Told (function name, seconds) after each routed invocation: the handler's own time, the CPU
        # time of its thread while it holds the lock (in process, moto's work included), not its wait
        # for the lock nor time other threads (executions) held the GIL: the cost meter bills Lambda
        # on it, as Lambda bills duration, and a loaded machine does not inflate it.
        self.on_handler_done: Callable[[str, float], None] | None = None
        # The sweep's 5-minute schedule delivers rep alerts held for their recipient's hours; False
        # plays a sweep that does not run (the audit then flags them).
        self.deliver_held_alerts = True
        # Tests: called before each asynchronous invoke runs (function, event); raising fails that run.
        self.async_fault: Callable[[str, dict[str, Any]], None] | None = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> Sandbox:
        from moto import mock_aws

        from leadflow.local.simclock import (
            SimClock,
            cache_boto_clients,
            fast_responses,
            memoize_asl_parse,
            memoize_dynamodb_expressions,
            partition_queries,
            route_lambda,
            serialize_dynamodb,
        )

        try:
            self._set_environment(
                {
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing",
                    "AWS_DEFAULT_REGION": REGION,
                    "AWS_REGION": REGION,
                    "TZ": "UTC",
                    "POWERTOOLS_SERVICE_NAME": "leadflow",
                    "POWERTOOLS_METRICS_NAMESPACE": "leadflow",
                    "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                }
            )
            time.tzset()
            logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
            mock = mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
            mock.start()
            self._undo.append(mock.stop)
            aws.reset()
            self.clock = SimClock(self.start)
            self.clock.install()
            self._undo.append(self.clock.uninstall)
            clock.set_source(self.clock.now)
            self._undo.append(lambda: clock.set_source(None))
            self._undo.append(cache_boto_clients())
            self._undo.append(serialize_dynamodb())
            self._undo.append(fast_responses())
            self._undo.append(memoize_asl_parse())
            self._undo.append(partition_queries())
            self._undo.append(memoize_dynamodb_expressions())
            self._undo.append(_rare_full_collections())
            self._undo.append(self._capture_metrics())
            self._create_resources()
            self._undo.append(self._record_send_tags())
            self._undo.append(self._record_integration_events())
            self._undo.append(self._schedule_held_alert_delivery())
            self._load_handlers()
            registry = {
                function_name(name): self._one_at_a_time(module.lambda_handler, name)
                for name, module in self.handlers.items()
            }
            self._undo.append(route_lambda(registry, LambdaContext, self._invoke_async))
            self._undo.append(self._escalation_schedules())
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._teardown()

    def _teardown(self) -> None:
        try:
            self._stop_running_executions()
        finally:
            while self._undo:
                undo = self._undo.pop()
                with contextlib.suppress(Exception):  # keep tearing down
                    undo()
            self._restore_environment()
            aws.reset()
            keys.hmac_key.cache_clear()
            keys.token_keys.cache_clear()
            keys.forget_api_keys()
            settings.cache_clear()
            load_cadences.cache_clear()
            versions.forget()

    def _one_at_a_time(self, handler: Callable[[Any, Any], Any], name: str = "") -> Callable[[Any, Any], Any]:
        """Run handlers one at a time, as isolated Lambda instances would not race inside moto.

        Executions released at the same simulated moment run in threads; moto's DynamoDB copies
        a table during a transaction and fails if another thread writes to it meanwhile.
        """

        def serialized(event: Any, context: Any) -> Any:
            with self._handler_lock:
                began = time.thread_time()
                try:
                    return handler(event, context)
                finally:
                    if self.on_handler_done is not None:
                        self.on_handler_done(name, time.thread_time() - began)

        return serialized

    def _capture_metrics(self) -> Callable[[], None]:
        """Keep each invocation's EMF metrics in `self.emitted_metrics` instead of printing them."""
        provider = metrics.provider
        self.emitted_metrics: list[dict[str, Any]] = []

        lock = threading.Lock()

        def capture(raise_on_empty_metrics: bool = False) -> None:
            # Handlers called directly (benchmarks) flush while executions' steps flush in threads.
            with lock:
                if provider.metric_set:
                    self.emitted_metrics.append(dict(provider.serialize_metric_set()))
                    provider.clear_metrics()

        provider.flush_metrics = capture  # type: ignore[method-assign]
        set_metric_sink(self.emitted_metrics.append)

        def undo() -> None:
            vars(provider).pop("flush_metrics", None)
            set_metric_sink(None)

        return undo

    def metric_total(self, name: str, **dimensions: str) -> float:
        """Sum of a metric's values over every invocation so far, only where every given dimension
        has the given value (e.g. `metric_total("Posts", outcome="new")`)."""
        return sum(
            sum(document.get(name, []))
            for document in self.emitted_metrics
            if all(document.get(key) == value for key, value in dimensions.items())
        )

    def set_environment(self, values: dict[str, str]) -> None:
        """Change the functions' environment (restored on exit), e.g. EXTRA_ALLOWED_ORIGINS."""
        self._set_environment(values)

    def _set_environment(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        settings.cache_clear()

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()

    def _create_resources(self) -> None:
        """The deployment's resources: built through the AWS APIs by the first Sandbox of a setup in
        this process, then restored from a copy of what that one built (see `_BuiltResources`)."""
        load_cadences.cache_clear()
        self.cadences = load_cadences(self.cadence_dir, self.template_dir)
        setup = (
            operator_config_at(self.extra_environment).api_keys_secret or "",
            json.dumps(self._definitions(), sort_keys=True),
        )
        built = _built_resources.get(setup)
        if built is None:
            before = set(vars(self))
            environment = self._build_resources()
            attributes = {name: value for name, value in vars(self).items() if name not in before}
            attributes["state_machine_arns"] = self.state_machine_arns
            built = _built_resources[setup] = _BuiltResources.capture(environment, attributes)
        else:
            built.restore(self)
        versions.forget()
        self._set_environment(
            {
                **built.environment,
                "CADENCE_DIR": str(self.cadence_dir),
                "TEMPLATE_DIR": str(self.template_dir),
                **self.extra_environment,
            }
        )
        keys.hmac_key.cache_clear()
        keys.token_keys.cache_clear()
        load_cadences.cache_clear()
        keys.forget_api_keys()
        from leadflow.answers import meetings, stages

        meetings.webhook_keys.cache_clear()
        stages.webhook_keys.cache_clear()
        config = settings()
        self._set_environment({"COMPILED_DIR": str(_compiled_for(config))})
        routing.check(operator_config(), self.cadences)
        self.default_cadence = operator_config().routing.default_cadence
        # Template lint, as `cdk synth` runs it before anything is deployed.
        lint.ensure_clean(config.cadence_dir, config.template_dir, config.config_file)

    def _build_resources(self) -> dict[str, str]:
        """Create every resource through the AWS APIs; returns the functions' environment naming them."""
        secret_arn = aws.client("secretsmanager").create_secret(
            Name="leadflow/hmac", SecretString=uuid.uuid4().hex + uuid.uuid4().hex
        )["ARN"]
        token_secret_arn = aws.client("secretsmanager").create_secret(
            Name="leadflow/tokens", SecretString=uuid.uuid4().hex + uuid.uuid4().hex
        )["ARN"]
        # The server-to-server API key of a "crm" client, as an operator would store it.
        self.api_key = uuid.uuid4().hex
        api_keys_secret = operator_config_at(self.extra_environment).api_keys_secret
        if api_keys_secret:
            aws.client("secretsmanager").create_secret(
                Name=api_keys_secret, SecretString=json.dumps({"crm": self.api_key})
            )
        table_name = "leadflow"
        aws.client("dynamodb").create_table(**create_table_kwargs(table_name))
        aws.client("dynamodb").create_table(**idempotency_table_kwargs("leadflow-idempotency"))
        ses = aws.client("sesv2")
        ses.create_email_identity(EmailIdentity=SENDER.rpartition("@")[2].rstrip(">"))
        ses.create_configuration_set(ConfigurationSetName="leadflow")
        self.inbound_bucket = "leadflow-inbound"
        aws.client("s3").create_bucket(Bucket=self.inbound_bucket)
        self.report_bucket = "leadflow-reports"
        aws.client("s3").create_bucket(Bucket=self.report_bucket)
        sns = aws.client("sns")
        self.inbound_topic_arn = sns.create_topic(Name="leadflow-inbound-mail")["TopicArn"]
        self.rep_alerts_topic_arn = sns.create_topic(Name="leadflow-rep-alerts")["TopicArn"]
        self.ops_topic_arn = sns.create_topic(Name="leadflow-ops")["TopicArn"]
        self.sms_inbound_topic_arn = sns.create_topic(Name="leadflow-sms-inbound")["TopicArn"]
        self.ses_events_topic_arn = sns.create_topic(Name="leadflow-ses-events")["TopicArn"]
        queue_url = aws.client("sqs").create_queue(QueueName="leadflow-ses-events")["QueueUrl"]
        self.ses_events_queue_arn = aws.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        meeting_secret_arn = aws.client("secretsmanager").create_secret(
            Name="leadflow/meeting-webhook", SecretString=MEETING_WEBHOOK_KEY
        )["ARN"]
        crm_secret_arn = aws.client("secretsmanager").create_secret(
            Name="leadflow/crm-webhook", SecretString=CRM_WEBHOOK_KEY
        )["ARN"]
        self.event_bus = aws.client("events").create_event_bus(Name="leadflow-lead-events")["EventBusArn"]
        versions.forget()
        self._deploy_cadences()
        return {
            "TABLE_NAME": table_name,
            "IDEMPOTENCY_TABLE_NAME": "leadflow-idempotency",
            "STATE_MACHINE_ARNS": json.dumps(self.state_machine_arns),
            "STEP_FUNCTION_NAME": function_name("step"),
            "SENDER": SENDER,
            "SES_CONFIGURATION_SET": "leadflow",
            "HMAC_SECRET_ARN": secret_arn,
            "TOKEN_SECRET_ARN": token_secret_arn,
            "REPLY_DOMAIN": REPLY_DOMAIN,
            "PUBLIC_URL": PUBLIC_URL,
            "INBOUND_BUCKET": self.inbound_bucket,
            "REPORT_BUCKET": self.report_bucket,
            "REP_ALERTS_TOPIC_ARN": self.rep_alerts_topic_arn,
            "EVENT_BUS_NAME": "leadflow-lead-events",
            "OPS_TOPIC_ARN": self.ops_topic_arn,
            "INBOUND_MAIL_TOPIC_ARN": self.inbound_topic_arn,
            "SMS_INBOUND_TOPIC_ARN": self.sms_inbound_topic_arn,
            "SES_EVENTS_TOPIC_ARN": self.ses_events_topic_arn,
            "MEETING_WEBHOOK_SECRET_ARN": meeting_secret_arn,
            "CRM_WEBHOOK_SECRET_ARN": crm_secret_arn,
            "SALESFORCE_ORG_IDS": SALESFORCE_ORG_ID,
        }

    def _escalation_schedules(self) -> Callable[[], None]:
        """Speed to lead's schedule group and role, as CDK deploys them; the clock fires their one-shot
        schedules (moto stores them only). Returns the undo."""
        from leadflow.local.simclock import fire_one_shot_schedules

        group = "leadflow-escalations"
        aws.client("scheduler").create_schedule_group(Name=group)
        role = f"arn:aws:iam::{ACCOUNT_ID}:role/leadflow-escalation-schedules"
        self._set_environment(
            {
                "ESCALATION_SCHEDULE_GROUP": group,
                "ESCALATION_SCHEDULE_ROLE_ARN": role,
                "ESCALATION_TARGET_ARN": function_arn("step"),
            }
        )

        def invoke(target_arn: str, event: dict[str, Any]) -> Any:
            name = target_arn.rsplit(":", 1)[-1].removeprefix(function_name(""))
            return self.invoke(name, event)

        return fire_one_shot_schedules(self.clock, invoke)

    def _deploy_cadences(self) -> None:
        """Create or update one state machine per cadence file, as `cdk deploy` does."""
        sfn = aws.client("stepfunctions")
        role = f"arn:aws:iam::{ACCOUNT_ID}:role/leadflow-state-machine"
        load_cadences.cache_clear()
        compiled.forget()
        self.cadences = load_cadences(self.cadence_dir, self.template_dir)
        for name, definition in self._definitions().items():
            if name in self.state_machine_arns:
                sfn.update_state_machine(stateMachineArn=self.state_machine_arns[name], definition=definition)
                continue
            self.state_machine_arns[name] = sfn.create_state_machine(
                name=f"leadflow-{name}", definition=definition, roleArn=role, type="STANDARD"
            )["stateMachineArn"]

    def _definitions(self) -> dict[str, str]:
        """Each loaded cadence's state machine definition (ASL JSON), by cadence name."""
        return {
            name: json.dumps(build_definition(cadence, function_arn("step")), ensure_ascii=False)
            for name, cadence in self.cadences.items()
        }

    def redeploy(self) -> None:
        """Deploy the cadence files as they are now (after editing one): running executions keep
        the definition and the cadence version they started on; new enrollments get the new one."""
        with self._handler_lock:
            self._deploy_cadences()
            self._set_environment(
                {
                    "STATE_MACHINE_ARNS": json.dumps(self.state_machine_arns),
                    "COMPILED_DIR": str(_compiled_for(settings())),
                }
            )

    def _load_handlers(self) -> None:
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        for name in FUNCTIONS:
            self.handlers[name] = importlib.import_module(f"functions.{name}.handler")

    def _stop_running_executions(self) -> None:
        if not self.state_machine_arns:
            return
        sfn = aws.client("stepfunctions")
        for arn in self.state_machine_arns.values():
            for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"], cause="sandbox closed")
        self.clock.settle()

    # -- time --------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        self.deliver_send_events()
        self.clock.advance(seconds)

    def advance_to(self, moment: str | datetime) -> None:
        self.deliver_send_events()
        self.clock.advance_to(clock.parse_iso(moment) if isinstance(moment, str) else moment)

    # -- calls -------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke one of our functions as Lambda would, then let everything it started settle."""
        result = self.invoke_quietly(function, event)
        self.clock.settle()
        return result

    def _invoke_async(self, function_name_: str, event: dict[str, Any], attempt: int = 0) -> None:
        """Lambda's asynchronous invoke (InvocationType Event): the function runs beside its caller, in
        a thread the clock counts (settle waits for it); one that raises is retried twice, one and two
        simulated minutes later, then dropped, as Lambda does. `async_fault` (tests) may raise instead
        of a run, as a crashed function would."""
        name = function_name_.removeprefix(function_name(""))

        def run() -> None:
            try:
                if self.async_fault is not None:
                    self.async_fault(name, event)
                self.invoke_quietly(name, event)
            except Exception:
                if attempt < 2:
                    retry = functools.partial(self._invoke_async, function_name_, event, attempt + 1)
                    self.clock.call_at(self.clock.now() + timedelta(minutes=attempt + 1), retry)

        self.clock.run_detached(run)

    def invoke_quietly(self, function: str, event: dict[str, Any]) -> Any:
        """Run one of our functions as Lambda would, without waiting for what it started."""
        handler = self._one_at_a_time(self.handlers[function].lambda_handler, function)
        return handler(event, LambdaContext(function_name(function)))

    def enroll(
        self, lead_id: str, cadence: str, reason: str, meeting: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Call `leadflow.cadence.enrollments.enroll` as a handler would, then let its execution settle.

        `meeting` ({"starts_at", "ends_at"}, ISO 8601) for a cadence on a meeting's clock.
        """
        from leadflow.cadence.enrollments import enroll
        from leadflow.models import Meeting

        with self._handler_lock:
            enrollment = enroll(
                lead_id, cadence, reason, Meeting.model_validate(meeting) if meeting else None
            )
        self.clock.settle()
        return enrollment.model_dump(mode="json")

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        data: dict[str, str] | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        source_ip: str = "203.0.113.10",
    ) -> SandboxResponse:
        """Call the HTTP API as API Gateway would and return once everything it started settled."""
        sent_headers = dict(headers or {})
        body: str | bytes | None = None
        if json is not None:
            body = _json_dumps(json)
            sent_headers.setdefault("Content-Type", "application/json")
        elif isinstance(data, dict):
            body = urlencode(data)
            sent_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif data is not None:
            body = data
        # A link from a mail (the public URL, stage included) reaches the same resource path.
        public = urlsplit(settings().public_url)
        split = urlsplit(path)
        if split.netloc and split.netloc != public.netloc:
            raise ValueError(f"{path} is not under the public URL {settings().public_url}")
        stage_prefix = public.path.rstrip("/")
        resource = split.path.removeprefix(stage_prefix) if split.netloc else split.path
        path = resource + (f"?{split.query}" if split.query else "")
        event = events.api_gateway_event(
            method,
            path,
            body=body,
            headers=sent_headers,
            at=self.now(),
            stage=stage_prefix.strip("/").split("/")[-1] or "v1",
            source_ip=source_ip,
        )
        return SandboxResponse(self.invoke("intake", event))

    def post(self, path: str, **kwargs: Any) -> SandboxResponse:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> SandboxResponse:
        return self.request("GET", path, **kwargs)

    def deliver_email(
        self,
        raw: bytes,
        recipients: list[str] | None = None,
        verdicts: dict[str, str] | None = None,
        *,
        authenticated_as: str | None = None,
    ) -> Any:
        """Deliver inbound mail as SES receiving does: raw message to S3 (with the headers SES
        adds, Authentication-Results included), receipt notification via SNS.

        The envelope recipients default to the message's To and Cc addresses; `verdicts` sets
        SES's checks, e.g. {"dmarc": "FAIL", "spam": "FAIL"} (every one PASS by default);
        `authenticated_as` is the domain SPF and DKIM passed for, when not the sender's own.
        """
        return self.invoke(
            "inbound", self.inbound_mail_event(raw, recipients, verdicts, authenticated_as=authenticated_as)
        )

    def inbound_mail_event(
        self,
        raw: bytes,
        recipients: list[str] | None = None,
        verdicts: dict[str, str] | None = None,
        *,
        authenticated_as: str | None = None,
    ) -> dict[str, Any]:
        """The inbound function's event for `raw` (stored in the inbound bucket first), undelivered."""
        key = f"inbound/{uuid.uuid4().hex}"
        recipients = recipients if recipients is not None else events.mail_recipients(raw)
        stored = events.ses_received_mail(
            raw, recipients=recipients, at=self.now(), verdicts=verdicts, authenticated_as=authenticated_as
        )
        aws.client("s3").put_object(Bucket=self.inbound_bucket, Key=key, Body=stored)
        notification = events.ses_receipt_notification(
            stored,
            bucket=self.inbound_bucket,
            key=key,
            topic_arn=self.inbound_topic_arn,
            recipients=recipients,
            at=self.now(),
            verdicts=verdicts,
            elsewhere=authenticated_as is not None,
        )
        return events.sns_envelope(
            self.inbound_topic_arn,
            events.dumps(notification),
            at=self.now(),
            subject="Amazon SES Email Receipt Notification",
        )

    def deliver_ses_event(self, notification: dict[str, Any]) -> Any:
        """Deliver an SES event-publishing notification as AWS does: SNS topic, SQS queue, events function.

        Returns the function's partial batch response (`batchItemFailures`).
        """
        return self.invoke("events", self.ses_event_batch(notification))

    def ses_event_batch(self, notification: dict[str, Any]) -> dict[str, Any]:
        """The events function's SQS batch for an SES event notification (through SNS), undelivered."""
        envelope = events.sns_notification(
            self.ses_events_topic_arn, events.dumps(notification), at=self.now()
        )
        return events.sqs_event([events.dumps(envelope)], self.ses_events_queue_arn)

    def sweep(self, *, retry_all_failed: bool = False) -> dict[str, int]:
        """Run the sweep (as its schedule would), then let what it started settle."""
        from leadflow.send.escalations import sweep_all

        with self._handler_lock:
            report = sweep_all(retry_all_failed=retry_all_failed)
        self.clock.settle()
        return report.model_dump()

    def held_posts(self) -> list[dict[str, Any]]:
        """Posts held by a post limit (intake.held), oldest first: id, time, limit, burst and the post."""
        from leadflow.intake import held

        return [{"id": item.id, **item.post.model_dump(mode="json")} for item in held.held_posts()]

    def release_held(self, ids: list[str] | None = None) -> dict[str, str | None]:
        """Release held posts as `leadflow held release` does (all, or these ids), then let what it
        started settle. Returns each post's outcome (None: another release holds it)."""
        from leadflow.intake import held

        with self._handler_lock:
            chosen = [item for item in held.held_posts() if ids is None or item.id in ids]
            outcomes = {item.id: held.release(item, self.now()) for item in chosen}
        self.clock.settle()
        return {held_id: outcome.value if outcome else None for held_id, outcome in outcomes.items()}

    def audit(self) -> Any:
        """`leadflow audit` over the Sandbox, with SES's own record of every accepted email (so a
        duplicate the store never saw is found too). Returns the AuditReport (`.clean`, `.lines()`)."""
        from moto.ses.models import ses_backends

        from leadflow.cadence.audit import ProviderSend, audit

        sends = []
        for message in ses_backends[ACCOUNT_ID][REGION].sent_messages:
            tags = self.send_tags.get(message.id, {})
            raw = getattr(message, "raw_data", None)
            if not (raw and {"lead", "enrollment", "touch"} <= tags.keys()):
                continue
            parsed = message_from_bytes(raw.encode(), policy=policy.default)
            at = parsedate_to_datetime(str(parsed["Date"]))
            sends.append(ProviderSend(tags["lead"], int(tags["enrollment"]), int(tags["touch"]), at))
        with self._handler_lock:
            return audit(provider_sends=sends)

    def deliver_send_events(self) -> None:
        """Deliver the queued SES Send events (see `ses_send_events`)."""
        with self._queue_lock:
            queued, self._queued_send_events = self._queued_send_events, []
        for event in queued:
            self.deliver_ses_event(event)

    def deliver_sms(self, from_number: str, text: str) -> Any:
        """Deliver a text a lead sends to our number, as two-way SMS publishes it to SNS."""
        message = events.inbound_sms(
            from_number, SMS_NUMBER, text, previous_message_id=self._last_sms_to(from_number)
        )
        envelope = events.sns_envelope(self.sms_inbound_topic_arn, events.dumps(message), at=self.now())
        return self.invoke("inbound", envelope)

    def _last_sms_to(self, number: str) -> str | None:
        """The SNS message id of our last SMS to this number (SNS names it in the inbound message)."""
        from moto.sns.models import sns_backends

        sent = [
            message_id
            for message_id, (phone, _text) in sns_backends[ACCOUNT_ID][REGION].sms_messages.items()
            if phone == number
        ]
        return sent[-1] if sent else None

    def sign_crm_webhook(self, body: str | bytes, *, at: datetime | None = None) -> dict[str, str]:
        """Headers of the generic CRM webhook (`X-Leadflow-Signature`), signed with the Sandbox's key."""
        headers = events.signed_webhook_headers(body, CRM_WEBHOOK_KEY, at=at or self.now())
        return {
            "Content-Type": "application/json",
            "X-Leadflow-Signature": headers.pop("Calendly-Webhook-Signature"),
        }

    def sign_meeting_webhook(self, body: str | bytes, *, at: datetime | None = None) -> dict[str, str]:
        """Calendly-style signature headers for a webhook body, signed with the Sandbox's key."""
        return events.signed_webhook_headers(body, MEETING_WEBHOOK_KEY, at=at or self.now())

    def _record_integration_events(self) -> Callable[[], None]:
        """Keep every event put on the lead-events bus (`integration_events`), as a rule's target would."""
        self.integration_events: list[dict[str, Any]] = []
        client = aws.client("events")

        def before(params: dict[str, Any], **_: Any) -> None:
            for entry in params.get("Entries", []):
                self.integration_events.append(
                    {
                        "bus": entry.get("EventBusName"),
                        "source": entry.get("Source"),
                        "detail-type": entry.get("DetailType"),
                        "detail": json.loads(entry.get("Detail") or "{}"),
                    }
                )

        client.meta.events.register("provide-client-params.events.PutEvents", before)
        return lambda: client.meta.events.unregister("provide-client-params.events.PutEvents", before)

    def _schedule_held_alert_delivery(self) -> Callable[[], None]:
        """When a rep alert is held (send.alerts), run the sweep's delivery at the first 5-minute
        sweep at or after its time, as the sweep's schedule would (EventBridge never fires in moto)."""
        from leadflow.send.held_alerts import deliver_held
        from leadflow.store.alert_items import KIND

        item_client = aws.table(settings().table_name).meta.client

        def deliver() -> None:
            if not self.deliver_held_alerts:
                return
            try:
                with self._handler_lock:
                    deliver_held(self.now())
            except Exception:  # a failed sweep: the next one, 5 minutes on, tries again
                logger.exception("held alert delivery failed")
                self.clock.call_at(self.now() + timedelta(minutes=5), deliver)

        def before(params: dict[str, Any], **_: Any) -> None:
            item = params.get("Item", {})
            if item.get("kind") == KIND:
                due = clock.parse_iso(str(item["deliver_at"]))
                sweep_at = due + (datetime.min.replace(tzinfo=due.tzinfo) - due) % timedelta(minutes=5)
                self.clock.call_at(sweep_at, deliver)

        item_client.meta.events.register("provide-client-params.dynamodb.PutItem", before)
        return lambda: item_client.meta.events.unregister("provide-client-params.dynamodb.PutItem", before)

    def _record_send_tags(self) -> Callable[[], None]:
        """Keep the tags of every SES send by message id: moto drops them (outbox entries show them)."""
        self.send_tags: dict[str, dict[str, str]] = {}
        ses = aws.client("sesv2")

        def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["leadflow_tags"] = {tag["Name"]: tag["Value"] for tag in params.get("EmailTags", [])}

        def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if "MessageId" in parsed:
                tags = context.get("leadflow_tags", {})
                self.send_tags[str(parsed["MessageId"])] = tags
                if self.ses_send_events:
                    event = events.ses_event(
                        "Send",
                        message_id=str(parsed["MessageId"]),
                        recipients=[],
                        sent_at=self.now(),
                        at=self.now(),
                        tags=tags,
                    )
                    delay = self.send_event_delay
                    if delay:
                        self.clock.call_at(self.now() + delay, lambda: self.deliver_ses_event(event))
                    elif delay is not None:
                        with self._queue_lock:
                            self._queued_send_events.append(event)

        ses.meta.events.register("provide-client-params.sesv2.SendEmail", before)
        ses.meta.events.register("after-call.sesv2.SendEmail", after)

        def undo() -> None:
            ses.meta.events.unregister("provide-client-params.sesv2.SendEmail", before)
            ses.meta.events.unregister("after-call.sesv2.SendEmail", after)

        return undo

    def run_report(
        self,
        at: str | datetime | None = None,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        force: bool = False,
    ) -> Any:
        """Invoke the report function with its schedule's event (at `at`, default now) or for chosen dates."""
        moment = clock.parse_iso(at) if isinstance(at, str) else at or self.now()
        event = events.scheduler_event(
            moment, f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/leadflow-weekly-report"
        )
        for name, value in (("since", since), ("until", until)):
            if value is not None:
                event[name] = value if isinstance(value, str) else clock.iso(value)
        if force:
            event["force"] = True
        return self.invoke("report", event)

    def archived(self, key: str) -> str:
        """An archived report file, as text."""
        body = aws.client("s3").get_object(Bucket=self.report_bucket, Key=key)["Body"].read()
        return str(body.decode("utf-8"))

    # -- inspection --------------------------------------------------------

    def lead(self, lead_id: str) -> dict[str, Any] | None:
        lead = lead_items.get_lead(lead_id)
        if lead is None:
            return None
        enrollments = enrollment_items.enrollments(lead_id)
        return {
            **lead.model_dump(mode="json"),
            "cadence": enrollments[-1].cadence if enrollments else None,
            "enrollments_detail": [enrollment.model_dump(mode="json") for enrollment in enrollments],
            "touches": [touch.model_dump(mode="json") for touch in enrollment_items.touches(lead_id)],
        }

    def find_lead(self, email: str) -> dict[str, Any] | None:
        lead_id = lead_items.lead_id_for_email(keys.email_key(email))
        return self.lead(lead_id) if lead_id else None

    def executions(self, lead_id: str) -> list[dict[str, Any]]:
        sfn = aws.client("stepfunctions")
        found: list[dict[str, Any]] = []
        for arn in self.state_machine_arns.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                found.extend(e for e in page["executions"] if e["name"].startswith(f"{lead_id}-"))
        found.sort(key=lambda execution: (_enrollment_of(execution["name"]), execution["startDate"]))
        return [self._describe_execution(execution["executionArn"]) for execution in found]

    def execution(self, lead_id: str) -> dict[str, Any] | None:
        executions = self.executions(lead_id)
        return executions[-1] if executions else None

    def _describe_execution(self, execution_arn: str) -> dict[str, Any]:
        sfn = aws.client("stepfunctions")
        described = sfn.describe_execution(executionArn=execution_arn)
        history: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            history.extend(page["events"])
        entered = [event for event in history if event["type"].endswith("StateEntered")]
        return {
            "arn": execution_arn,
            "name": described["name"],
            "status": described["status"],
            "input": json.loads(described["input"]),
            "transitions": len(entered),
            "states": [event["stateEnteredEventDetails"]["name"] for event in entered],
        }

    def summary(self) -> dict[str, int]:
        """Counts over everything stored: leads, touches, and how enrollments ended (local use only)."""
        items = self._scan()
        kinds = [item["sk"]["S"].partition("#")[0] for item in items]
        runs = [item["run_status"]["S"] for item in items if item["sk"]["S"].startswith("ENROLLMENT#")]
        reasons = [
            item.get("reason", {}).get("S") for item in items if item["sk"]["S"].startswith("ENROLLMENT#")
        ]
        touches = [item for item in items if item["sk"]["S"].startswith("TOUCH#")]
        sent = [item["channel"]["S"] for item in touches if item.get("status", {}).get("S", "sent") == "sent"]
        outcomes = [item["status"]["S"] for item in items if item["sk"]["S"].startswith("TASK#")]
        # People, not enrollments: a lead who replied twice, or replied and then booked, counts once in each.
        answered = [
            (item["type"]["S"], item["lead_id"]["S"])
            for item in items
            if item["sk"]["S"].startswith("EVENT#")
        ]
        return {
            "leads": sum(item["sk"]["S"] == "LEAD" for item in items),
            "enrolled": kinds.count("ENROLLMENT"),
            "touches sent": len(sent),
            "emails sent": sent.count("email"),
            "sms sent": sent.count("sms"),
            "skipped touches": sum(item.get("status", {}).get("S") == "skipped" for item in touches),
            "rep tasks": len(outcomes),
            "tasks connected": outcomes.count("connected") + outcomes.count("meeting_booked"),
            "replied": len({lead for kind, lead in answered if kind == "reply"}),
            "meetings booked": len({lead for kind, lead in answered if kind == "meeting_booked"}),
            # Replies that said "not now": each is enrolled again on the day it named (issue 24).
            "snoozed (not now)": reasons.count("not now"),
            "sales qualified": len({lead for kind, lead in answered if kind in SQL_EVENTS}),
            "stopped": runs.count("stopped"),
            "completed": runs.count("completed"),
            "still running": runs.count("running"),
        }

    def ops_alerts(self) -> list[dict[str, Any]]:
        """Every alert published to the operators' topic (failed enrollments), oldest first."""
        return [note for note in self.notifications() if note["topic"] == self.ops_topic_arn]

    def rep_alerts(self) -> list[dict[str, Any]]:
        """Every alert published to the reps' SNS topic, oldest first (see `notifications`)."""
        return [note for note in self.notifications() if note["topic"] == self.rep_alerts_topic_arn]

    def outbox(self) -> list[dict[str, Any]]:
        """Every message sent to leads, email (SES) and SMS (SNS), oldest first, with its touch."""
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        sent = []
        for message in ses_backends[ACCOUNT_ID][REGION].sent_messages:
            raw = getattr(message, "raw_data", None)
            if raw is None:
                continue
            parsed = message_from_bytes(raw.encode(), policy=policy.default)
            owner = enrollment_items.message_owner(message.id) or {}
            entry = _outbox_entry(message.id, parsed, message.destinations, owner)
            entry["tags"] = self.send_tags.get(message.id, {})
            sent.append(entry)
        for message_id, (phone, text) in sns_backends[ACCOUNT_ID][REGION].sms_messages.items():
            owner = enrollment_items.message_owner(message_id) or {}
            sent.append(
                {
                    "channel": "sms",
                    "message_id": message_id,
                    "to": phone,
                    "subject": "",
                    "text": text,
                    "html": "",
                    "headers": {},
                    "tags": {},
                    "lead_id": owner.get("lead_id"),
                    "enrollment": int(owner["enrollment"]) if "enrollment" in owner else None,
                    "touch": int(owner["touch"]) if "touch" in owner else None,
                    "at": owner.get("sent_at"),
                }
            )
        return sorted(sent, key=lambda entry: entry["at"] or "")

    def tasks(self) -> list[dict[str, Any]]:
        """Every rep task, oldest first, with its signed outcome token."""
        from boto3.dynamodb.types import TypeDeserializer

        from leadflow.models import Task

        deserialize = TypeDeserializer().deserialize
        found = [
            _task_entry(Task.model_validate({name: deserialize(value) for name, value in item.items()}))
            for item in self._scan()
            if item["sk"]["S"].startswith("TASK#")
        ]
        return sorted(found, key=lambda task: (task["at"], task["id"]))

    def task(self, task_id: str) -> dict[str, Any] | None:
        """One rep task by id (as in `tasks()`), or None."""
        from leadflow.answers.task_outcomes import TaskNotFound, find_task

        try:
            return _task_entry(find_task(task_id))
        except TaskNotFound:
            return None

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS publication to a topic (rep alerts), in publishing order."""
        from moto.sns.models import sns_backends

        published = []
        for topic_arn, topic in sns_backends[ACCOUNT_ID][REGION].topics.items():
            for message_id, message, subject, attributes, _group in topic.sent_notifications:
                values = {name: value.get("Value") for name, value in (attributes or {}).items()}
                published.append(
                    {
                        "topic": topic_arn,
                        "message_id": message_id,
                        "at": values.get("at"),
                        "subject": subject,
                        "message": message,
                        "lead_id": values.get("lead_id"),
                        "rep": values.get("rep"),
                        "kind": values.get("kind"),
                    }
                )
        return sorted(published, key=lambda note: note["at"] or "")

    def _scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=settings().table_name):
            items.extend(page["Items"])
        return items


def _enrollment_of(execution_name: str) -> int:
    """`{lead}-{cadence}-{n}` or, for the sweep's retries, `{lead}-{cadence}-{n}-r{attempt}`."""
    parts = execution_name.split("-")
    return int(parts[-2] if parts[-1].startswith("r") and parts[-2].isdigit() else parts[-1])


def serialize_dynamodb() -> Callable[[], None]:
    """Apply each moto DynamoDB request atomically, as DynamoDB does; returns the undo.

    moto is not thread-safe: a transaction deep-copies tables that other threads are writing
    ("dictionary changed size during iteration") and checks its conditions without a lock.
    Step Functions worker threads and concurrency tests call DynamoDB at the same time.
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if not request.url.startswith("https://dynamodb."):
            return original(self, request)
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]

    def undo() -> None:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]

    return undo


def _outbox_entry(
    message_id: str, parsed: Any, destinations: list[str], owner: dict[str, Any]
) -> dict[str, Any]:
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    attachments = [
        {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "content": part.get_content(),
        }
        for part in parsed.iter_attachments()
    ]
    return {
        "channel": "email",
        "message_id": message_id,
        "to": str(parsed.get("To", "")) or ", ".join(destinations),
        "subject": str(parsed.get("Subject", "")),
        # MIME text travels with CRLF line ends; show it as a mail client does.
        "text": text_part.get_content().replace("\r\n", "\n") if text_part else "",
        "html": html_part.get_content().replace("\r\n", "\n") if html_part else "",
        "headers": {name: str(value) for name, value in parsed.items()},
        "attachments": attachments,
        "lead_id": owner.get("lead_id"),
        "enrollment": int(owner["enrollment"]) if "enrollment" in owner else None,
        "touch": int(owner["touch"]) if "touch" in owner else None,
        "at": clock.iso(parsedate_to_datetime(str(parsed["Date"]))),
    }


def _task_entry(task: Any) -> dict[str, Any]:
    from leadflow.send.tasks import task_link

    return {
        **task.model_dump(mode="json"),
        "at": clock.iso(task.due_at),
        "token": keys.task_token(task.id, task.due_at),  # issued when the task was created
        "link": task_link(task.id),
    }


def _json_dumps(document: Any) -> str:
    return json.dumps(document)
