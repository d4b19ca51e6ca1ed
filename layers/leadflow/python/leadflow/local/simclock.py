"""A discrete simulated clock for moto's Step Functions interpreter.

moto 5.2 runs real state machines, but its Wait states are real sleeps measured against the
process's local time. `SimClock` replaces them: a Wait parks its execution on the clock with an
absolute simulated target, and `advance_to` releases parked executions one target at a time, in
time order, waiting after each group until every execution is parked again or finished. Tasks
therefore run at exact simulated times, deterministically and without sleeping.

Bookkeeping: the clock counts *active* executions (started, neither parked in a Wait nor
finished). An execution is counted in the thread that starts it, before moto's worker thread
exists, and a parked execution is re-counted by whoever releases it, under the clock's lock, so
that `settle()` never returns while an execution is between two states.

A Retry's backoff parks on the clock too: a retried Task runs again once time is advanced past
its (jittered) interval.

What stays on wall time: execution history timestamps, `$$.Execution.StartTime`, TimeoutSeconds
and HeartbeatSeconds. Waits inside Parallel/Map branches are not supported (the count is per
execution); such a Wait fails its execution with a clear error instead of mistiming.

`route_lambda` runs our own Python handlers for Lambda invocations, and `cache_boto_clients`
reuses the boto3 clients moto builds for every task. `fast_responses` takes moto's generic
response serializer out of the DynamoDB and Step Functions paths, where it cost 80% of a call.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.exceptions import JsonRESTError

__all__ = [
    "SimClock",
    "cache_boto_clients",
    "fast_responses",
    "fire_one_shot_schedules",
    "memoize_asl_parse",
    "memoize_dynamodb_expressions",
    "partition_queries",
    "route_lambda",
    "serialize_dynamodb",
]

_install_lock = threading.Lock()
_current: SimClock | None = None


@dataclass(order=True)
class _Waiter:
    target: datetime
    seq: int
    env: Any = field(compare=False)
    released: threading.Event = field(compare=False, default_factory=threading.Event)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"SimClock needs timezone-aware datetimes, got naive {moment!r}")
    return moment.astimezone(UTC)


class SimClock:
    """Simulated UTC time that moves only when advanced; moto's Wait states park on it."""

    def __init__(self, start: datetime) -> None:
        self._now = _as_utc(start)
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._waiters: list[_Waiter] = []  # heap ordered by (target, seq)
        # Callbacks to run at a simulated moment (call_at), heap ordered by (moment, seq).
        self._timers: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._undo: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ time
    def now(self) -> datetime:
        """Current simulated time (timezone-aware UTC)."""
        return self._now

    def parked(self) -> int:
        """Number of executions parked in a Wait state."""
        with self._cond:
            return len(self._waiters)

    def settle(self, timeout: float = 60.0) -> None:
        """Block until no execution is active (each one parked in a Wait or finished)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(
                    f"SimClock.settle: {self._active} execution(s) still active after {timeout} s"
                )

    def advance_to(self, moment: datetime) -> None:
        """Run every parked execution whose Wait ends at or before `moment`, in time order."""
        moment = _as_utc(moment)
        self.settle()
        while True:
            with self._cond:
                timer = self._timers[0][0] if self._timers else None
                waiter = self._waiters[0].target if self._waiters else None
                if timer is not None and timer <= moment and (waiter is None or timer <= waiter):
                    # A timer due with (or before) the next waiters runs first, in this thread.
                    self._now = max(self._now, timer)
                    callback = heapq.heappop(self._timers)[2]
                elif waiter is not None and waiter <= moment:
                    callback = None
                    self._now = max(self._now, waiter)
                    while self._waiters and self._waiters[0].target == waiter:
                        self._release(heapq.heappop(self._waiters))
                else:
                    self._now = max(self._now, moment)
                    return
            if callback is not None:
                callback()
            self.settle()

    def call_at(self, moment: datetime, callback: Callable[[], None]) -> None:
        """Run `callback` (in the advancing thread) when the clock reaches `moment`, in time order
        with the parked executions: something that happens outside the state machines, like an
        event AWS delivers late."""
        with self._cond:
            heapq.heappush(self._timers, (_as_utc(moment), next(self._seq), callback))

    def run_detached(self, callback: Callable[[], None]) -> None:
        """Run `callback` in a thread of its own, counted as active until it returns (settle waits for
        it): work AWS runs beside its caller, like an asynchronous Lambda invoke."""

        def run() -> None:
            try:
                callback()
            finally:
                self._count_end()

        self._count_start()
        threading.Thread(target=run, daemon=True).start()

    def advance(self, seconds: float) -> None:
        """Advance simulated time by `seconds`."""
        self.advance_to(self._now + timedelta(seconds=seconds))

    # ----------------------------------------------------- moto interaction
    def _release(self, waiter: _Waiter) -> None:
        # Caller holds self._cond: the released execution is counted before it can run.
        self._active += 1
        waiter.released.set()

    def _count_start(self) -> None:
        with self._cond:
            self._active += 1

    def _count_end(self) -> None:
        with self._cond:
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()

    def _park(self, env: Any, target: datetime) -> None:
        """Block the calling execution thread until the clock reaches `target` or env stops."""
        if getattr(env, "_simclock", None) is not self:
            raise RuntimeError(
                "SimClock: a Wait state ran outside an execution counted by this clock "
                "(a Wait inside a Parallel/Map branch, or an execution started before install())"
            )
        with self._cond:
            if target <= self._now or not env.is_running():
                return
            waiter = _Waiter(target=target, seq=next(self._seq), env=env)
            heapq.heappush(self._waiters, waiter)
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()
        waiter.released.wait()

    def _wake_stopped(self) -> None:
        """Release parked waiters whose execution is no longer running (stopped, failed...)."""
        with self._cond:
            stopped = [w for w in self._waiters if not w.env.is_running()]
            if not stopped:
                return
            self._waiters = [w for w in self._waiters if w.env.is_running()]
            heapq.heapify(self._waiters)
            for waiter in stopped:
                self._release(waiter)

    # ------------------------------------------------------------- patches
    def install(self) -> None:
        """Patch moto so that Wait states park on this clock (idempotent)."""
        global _current
        with _install_lock:
            if _current is self:
                return
            if _current is not None:
                raise RuntimeError("another SimClock is installed; uninstall it first")
            self._undo = _apply_patches(self)
            _current = self

    def uninstall(self) -> None:
        """Restore every attribute install() patched. Stop running executions first."""
        global _current
        with _install_lock:
            if _current is not self:
                return
            for undo in reversed(self._undo):
                undo()
            self._undo = []
            _current = None


def _patch(owner: Any, name: str, replacement: Any) -> Callable[[], None]:
    had_own = name in vars(owner)
    original = vars(owner).get(name)
    setattr(owner, name, replacement)

    def undo() -> None:
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)

    return undo


def _apply_patches(clock: SimClock) -> list[Callable[[], None]]:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    orig_start = ExecutionWorker.start
    orig_logic = ExecutionWorker._execution_logic
    orig_environment = ExecutionWorker._get_evaluation_environment

    def start(self: Any) -> None:
        clock._count_start()
        self._simclock = clock
        try:
            orig_start(self)
        except BaseException:
            self._simclock = None
            clock._count_end()
            raise

    def execution_logic(self: Any) -> None:
        owner: SimClock | None = getattr(self, "_simclock", None)
        if owner is None:  # SyncExecutionWorker runs the logic in the caller's thread.
            owner = clock
            owner._count_start()
        self._simclock = owner
        try:
            orig_logic(self)
        finally:
            owner._count_end()

    def evaluation_environment(self: Any) -> Any:
        # Tag the top-level environment: branch frames (Parallel/Map) are separate objects.
        env: Any = orig_environment(self)
        env._simclock = getattr(self, "_simclock", None)
        return env

    def wait_eval_body(self: Any, env: Any) -> None:
        if isinstance(self, Timestamp):
            self.string.eval(env=env)
            text = env.stack.pop()
            parsed = self._from_timestamp_string(text) if isinstance(text, str) else None
            if parsed is None:
                raise FailureEventException(self._create_failure_event(env, str(text)))
            target = parsed.replace(tzinfo=UTC)
        else:
            target = clock.now() + timedelta(seconds=self._get_wait_seconds(env=env))
        clock._park(env, target)

    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome

    def retrier_eval_body(self: Any, env: Any) -> None:
        # moto's RetrierDecl._eval_body with its time.sleep(interval) parked on the clock instead:
        # a retry's backoff (with its jitter) takes simulated time, like a Wait.
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        interval_seconds: float = env.stack.pop()
        clock._park(env, clock.now() + timedelta(seconds=interval_seconds))
        env.stack.append(RetrierOutcome.Executed)

    undo = [
        _patch(RetrierDecl, "_eval_body", retrier_eval_body),
        _patch(ExecutionWorker, "start", start),
        _patch(ExecutionWorker, "_execution_logic", execution_logic),
        _patch(ExecutionWorker, "_get_evaluation_environment", evaluation_environment),
        _patch(WaitFunction, "_eval_body", wait_eval_body),
    ]
    for name in ("set_stop", "set_error", "set_timed_out", "set_ended"):
        undo.append(_patch(Environment, name, _waking(getattr(Environment, name), clock)))
    return undo


def _waking(original: Callable[..., None], clock: SimClock) -> Callable[..., None]:
    """Wrap an Environment state setter so a parked Wait of a stopped execution returns."""

    @functools.wraps(original)
    def waking(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        clock._wake_stopped()

    return waking


# ---------------------------------------------------------------- Lambda routing
class _UnknownHandler(JsonRESTError):
    code = 404

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            "ResourceNotFoundException",
            f"route_lambda: no handler registered for function {name!r} (registered: {known})",
        )


def _function_name(function_name: str) -> str:
    """`name`, `name:qualifier`, partial or full ARN → bare function name."""
    if ":function:" in function_name or function_name.startswith("function:"):
        function_name = function_name.split("function:", 1)[1]
    return function_name.rsplit("/", 1)[-1].split(":", 1)[0]


def route_lambda(
    registry: Mapping[str, Callable[[dict[str, Any], Any], Any]],
    context_factory: Callable[[str], Any],
    on_async: Callable[[str, dict[str, Any]], None] | None = None,
) -> Callable[[], None]:
    """Serve moto Lambda invocations with our handlers; returns an undo callable. `on_async` takes
    the asynchronous ones (InvocationType Event: function name, event) instead of running them here."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        name = _function_name(function_name)
        handler = registry.get(name)
        if handler is None:
            raise _UnknownHandler(name, sorted(registry))
        if isinstance(body, bytes | bytearray):
            body = body.decode("utf-8")
        event = json.loads(body) if body else {}
        if on_async is not None and headers.get("X-Amz-Invocation-Type") == "Event":
            on_async(name, event)
            return b""
        try:
            result = handler(event, context_factory(name))
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    return _patch(LambdaSimpleBackend, "invoke", invoke)


# ------------------------------------------------------------------ client cache
def cache_boto_clients() -> Callable[[], None]:
    """Reuse the boto3 clients moto's interpreter builds for each task; returns undo."""
    import sys

    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    def cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's factory ignores the credentials; the endpoint depends on in-process vs server mode.
        key = (region, service, bool(botocore_stubber.enabled), str(moto_server_port()))
        with lock:
            client = cache.get(key)
            if client is None:
                client = cache[key] = original(
                    region=region, service=service, state_credentials=state_credentials
                )
            return client

    prefix = "moto.stepfunctions.parser."
    modules = [lambda_eval_utils, boto_client]
    # A copy in one C call: iterating sys.modules itself can meet an import run by a finalizer that a
    # collection triggers mid-iteration ("dictionary changed size during iteration", seen once in CI).
    modules += [
        module
        for name, module in sys.modules.copy().items()
        if name.startswith(prefix) and module not in modules
    ]
    undo = [
        _patch(module, "boto_client_for", cached_boto_client_for)
        for module in modules
        if getattr(module, "boto_client_for", None) is original
    ]

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


# ------------------------------------------------------------------ ASL parse cache
# Parsed definitions by their text, for the life of the process: every Sandbox deploys the same few.
_parsed_definitions: dict[str, Any] = {}
_parsed_definitions_lock = threading.Lock()


def memoize_asl_parse() -> Callable[[], None]:
    """Parse each state machine definition once per process; returns undo.

    moto parses the ASL with its ANTLR parser on every CreateStateMachine and UpdateStateMachine
    (to validate it) and again on every StartExecution (to run it): ~40-80 ms per parse of a
    cadence, 44 s of 1,000 leads through the demo cadence and ~0.15 s of every Sandbox's start.
    The parsed program is safe to share between executions: its components keep per-execution
    state (retry attempts, stack, variables) in the execution's Environment, not on themselves.
    A definition that fails to parse is not kept, so it fails again, as it would in AWS.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse

    def cached_parse(definition: str) -> Any:
        with _parsed_definitions_lock:
            parsed = _parsed_definitions.get(definition)
        if parsed is None:
            parsed = parse(definition)
            _assign_heap_keys(parsed[0])
            with _parsed_definitions_lock:
                parsed = _parsed_definitions.setdefault(definition, parsed)
        return parsed

    return _patch(AmazonStateLanguageParser, "parse", staticmethod(cached_parse))


def _assign_heap_keys(program: Any) -> None:
    """Give every component of a parsed program its `heap_key` now, in one thread.

    A component names its per-execution state (a Retry's attempt count) in the execution's heap by
    a key it draws on first use; two executions sharing the program could draw it at the same time
    and one lose its count.
    """
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif isinstance(value, Component):
            if isinstance(value, EvalComponent):
                _ = value.heap_key
            pending.extend(vars(value).values())


# ------------------------------------------------------------------ DynamoDB thread safety
def serialize_dynamodb() -> Callable[[], None]:
    """One DynamoDB request at a time in moto; returns undo.

    moto's DynamoDB backend is not thread-safe: a transaction deep-copies the table while
    an execution's step thread writes to it ("dictionary changed size during iteration").
    Real DynamoDB serves concurrent requests; a lock around each moto request gives the same
    per-request atomicity. DynamoDB requests never nest, so a plain lock cannot deadlock.

    Each request also forgets moto's record of the DynamoDB model instances it created
    (`instances_tracked`, kept only for moto's reset and dashboard): a transaction's deep-copied
    tables and every replaced item would otherwise stay alive, and memory grow with the square
    of the leads (NOTES, "moto at scale").
    """
    from moto.core.model_instances import model_data
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    lock = threading.Lock()
    tracked = list(model_data["dynamodb"].values())

    def call_action(self: Any) -> Any:
        with lock:
            try:
                return original(self)
            finally:
                for model in tracked:
                    model.instances_tracked.clear()  # type: ignore[attr-defined]

    return _patch(DynamoHandler, "call_action", call_action)


# ------------------------------------------------------------------ DynamoDB Query on the table's key
def partition_queries() -> Callable[[], None]:
    """A Query on the table's own key reads the one partition it names, as DynamoDB does; returns undo.

    moto 5.2's `Table.query` gathers every item of the table, sorts them all by key, then keeps those
    of the queried partition: a lead's Query cost grew with the whole table (~60,000 items at 1,000
    leads through the demo cadence) and the scale run grew with the square of the leads. Here moto's
    own query runs on a view of the table that holds only that partition (the same Item objects):
    the same items in the same order, and the same key conditions, filters, projections, paging,
    size limits and errors. A Query on an index runs on a view of the items whose index key
    attributes equal the queried ones (one pass, no sort), spread over their partitions: moto's own
    loop then keeps and sorts exactly those (the weekly report's 792 by_day Queries each sorted the
    whole table).
    """
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        table = self
        conditions = kwargs.get("hash_key_conditions")
        if hash_key is not None and not index_name:
            partition = self.items.get(hash_key)  # .get: `items` is a defaultdict
            table = _table_view(self, {hash_key: partition} if partition is not None else {})
        elif index_name and conditions:
            # The items moto's own loop keeps for an index query: every hash condition met (its test,
            # `not value or value != expected`, negated), in their partitions, unsorted; moto sorts.
            kept: dict[Any, Any] = {}
            for key, partition in self.items.items():
                for item in partition.values() if self.range_key_attr else [partition]:
                    if all(
                        item.attrs.get(name) is not None and item.attrs[name] == value
                        for name, value in conditions
                    ):
                        if self.range_key_attr:
                            kept.setdefault(key, {})[item.range_key] = item
                        else:
                            kept[key] = item
            table = _table_view(self, kept)
        return original(
            table,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            *args,
            **kwargs,
        )

    return _patch(Table, "query", query)


def _table_view(table: Any, items: dict[Any, Any]) -> Any:
    """The table with only `items` (the same Item objects); not Table(): moto would track it as a model."""
    view = object.__new__(type(table))
    vars(view).update(vars(table))
    view.items = items
    return view


# ------------------------------------------------------------------ DynamoDB expression parses
# Parsed update expressions (with a pickled copy) and lexed condition expressions by their text, for the
# life of the process: the code writes a few dozen distinct expressions; past the cap, nothing more is kept.
_EXPRESSIONS_KEPT = 2048
_update_expressions: dict[str, Any] = {}
_update_expression_copies: dict[int, bytes] = {}  # id(kept AST) -> its pickle (kept ASTs never die)
_condition_tokens: dict[str, tuple[Any, ...]] = {}
_expressions_lock = threading.Lock()


def memoize_dynamodb_expressions() -> Callable[[], None]:
    """Parse each DynamoDB update expression and lex each condition expression once; returns undo.

    moto parses an UpdateItem's update expression twice (request check, then the update) and lexes its
    condition twice, then deep-copies the parsed expression for its validator, which resolves names and
    values in that copy: ~1.3 ms of a ~2.5 ms conditional update, 28 of them per lead. The parsed
    expression is only read outside the validator's copy, so one parse per text serves every call, and
    the copy is made by unpickling it (the same object graph as `copy.deepcopy`'s, ~6 times faster).
    Lexed condition tokens depend on the text alone; each call gets fresh ones. An expression that does
    not parse raises as before and is not kept.
    """
    import pickle
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make = UpdateExpressionParser.make.__func__
    lex = ConditionExpressionParser._lex_condition_expression
    deepcopy = validators.deepcopy

    def cached_make(cls: Any, expression: str) -> Any:
        with _expressions_lock:
            parsed = _update_expressions.get(expression)
        if parsed is None:
            parsed = make(cls, expression)
            try:
                copied = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # not picklable: copies keep copy.deepcopy
                copied = None
            with _expressions_lock:
                if len(_update_expressions) >= _EXPRESSIONS_KEPT:
                    return parsed
                parsed = _update_expressions.setdefault(expression, parsed)
                if copied is not None:
                    _update_expression_copies.setdefault(id(parsed), copied)
        return parsed

    def copy_expression(value: Any, memo: Any = None) -> Any:
        copied = _update_expression_copies.get(id(value)) if memo is None else None
        return pickle.loads(copied) if copied is not None else deepcopy(value, memo)

    def cached_lex(self: Any) -> Any:
        expression = self.condition_expression
        with _expressions_lock:
            tokens = _condition_tokens.get(expression)
        if tokens is None:
            tokens = tuple(lex(self))
            with _expressions_lock:
                if len(_condition_tokens) < _EXPRESSIONS_KEPT:
                    _condition_tokens.setdefault(expression, tokens)
        return deque(token._replace(children=[]) for token in tokens)

    undo = [
        _patch(UpdateExpressionParser, "make", classmethod(cached_make)),
        _patch(validators, "deepcopy", copy_expression),
        _patch(ConditionExpressionParser, "_lex_condition_expression", cached_lex),
    ]

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


# ------------------------------------------------------------------ response serialization
def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(member) for key, member in value.items() if member is not None}
    if isinstance(value, list):
        return [_without_nulls(member) for member in value]
    return value


def _epoch_seconds(value: Any) -> float:
    from moto.core.serialize import TimestampSerializer

    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)  # moto's own (milliseconds)
    raise TypeError(f"not plain JSON: {type(value).__name__}")


# The Step Functions results (by their members) that hold exactly their output shape's members:
# StartExecution's and GetExecutionHistory's. Others, such as ListExecutions', carry model
# attributes that moto's serializer leaves out.
PLAIN_STEP_FUNCTIONS_RESULTS = frozenset(
    {frozenset({"executionArn", "startDate"}), frozenset({"events"}), frozenset({"events", "nextToken"})}
)


def _unsigned(add_auth: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def add_credential_scope(self: Any, request: Any) -> None:
        from botocore import auth

        if type(self) is not auth.SigV4Auth:  # S3's and presigned URLs' signers keep signing
            add_auth(self, request)
            return
        stamp = datetime.now(UTC).strftime(auth.SIGV4_TIMESTAMP)
        request.context["timestamp"] = stamp
        request.headers["X-Amz-Date"] = stamp
        scope = self.credential_scope(request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.credentials.access_key}/"
            f"{scope}, SignedHeaders=host, Signature=unsigned"
        )

    return add_credential_scope


def _with_datetime(event: dict[str, Any]) -> dict[str, Any]:
    stamp = event.get("timestamp")
    return {**event, "timestamp": datetime.fromisoformat(stamp)} if isinstance(stamp, str) else event


def fast_responses() -> Callable[[], None]:
    """DynamoDB and Step Functions answers serialized as plain JSON, moto's action lookup cached;
    returns undo.

    moto 5.2 serializes every response by walking the operation's output shape with attribute
    pickers: ~8 ms of a 10 ms GetItem of one lead item. For these two JSON-protocol services the
    wire format *is* the result moto computes (DynamoDB items are already AttributeValue maps;
    timestamps are epoch seconds), so a successful result is dumped as it is, minus absent
    members (Step Functions: the two results that hold only their shape's members). A result
    holding anything else (a model object) and every error keep moto's serializer.
    tests/test_sandbox_fast_responses.py holds both outputs equal, call for call.
    Three more costs of the in-process round trip, none of which exists in AWS: moto lists a
    handler class's methods (inspect.getmembers) on every request (kept per class: they do not
    change while it serves); its Step Functions interpreter builds a new JSONPath parser (ply
    tables) for every path it reads (parsed paths are immutable: kept per path); and botocore
    signs every request with SigV4, which moto never verifies (it reads only the access key, so
    the Authorization header keeps the credential scope and drops the HMAC).
    """
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.responses import StepFunctionResponse

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        plain = isinstance(self, DynamoHandler) or (
            isinstance(result, dict) and frozenset(result) in PLAIN_STEP_FUNCTIONS_RESULTS
        )
        if plain and not isinstance(result, Exception):
            if "events" in result:  # moto keeps history timestamps as ISO strings
                result = {**result, "events": [_with_datetime(event) for event in result["events"]]}
            try:
                body = json.dumps(_without_nulls(result), separators=(",", ":"), default=_epoch_seconds)
            except TypeError:
                pass
            else:
                return 200, dict(self.response_headers), body
        return responses.BaseResponse.serialized(self, action_result)

    from botocore import auth
    from moto.stepfunctions.parser.asl.utils import json_path

    cached_method_names = functools.cache(responses.method_names_from_class)
    cached_json_path = functools.lru_cache(maxsize=1024)(json_path.parse)
    undo = [
        _patch(DynamoHandler, "serialized", serialized),
        _patch(StepFunctionResponse, "serialized", serialized),
        _patch(responses, "method_names_from_class", cached_method_names),
        _patch(json_path, "parse", cached_json_path),
        _patch(auth.SigV4Auth, "add_auth", _unsigned(auth.SigV4Auth.add_auth)),
    ]

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


# ------------------------------------------------------------------ EventBridge Scheduler
def fire_one_shot_schedules(
    clock: SimClock, invoke: Callable[[str, dict[str, Any]], Any]
) -> Callable[[], None]:
    """Fire moto's one-time schedules (`at(...)`) on the simulated clock; returns undo.

    moto 5.2 stores EventBridge Scheduler schedules and never fires them. Each one-time schedule
    created from now on becomes a clock timer at its time (in its ScheduleExpressionTimezone): if
    the schedule still exists then (not deleted, ENABLED), `invoke(target_arn, input)` runs its
    target, and ActionAfterCompletion=DELETE deletes it. A target that raises is retried as the
    schedule's RetryPolicy allows (backing off from a minute, doubling), then the schedule completes.
    """
    from zoneinfo import ZoneInfo

    from moto.scheduler.models import EventBridgeSchedulerBackend

    original = EventBridgeSchedulerBackend.create_schedule

    def create_schedule(self: Any, *args: Any, **kwargs: Any) -> Any:
        schedule = original(self, *args, **kwargs)
        expression = schedule.schedule_expression
        if expression.startswith("at(") and expression.endswith(")"):
            zone = ZoneInfo(schedule.schedule_expression_timezone or "UTC")
            due = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=zone)
            clock.call_at(due, functools.partial(_fire, self, schedule, due, 0))
        return schedule

    def _fire(backend: Any, schedule: Any, due: datetime, attempt: int) -> None:
        group = backend.schedule_groups.get(schedule.group_name)
        if group is None or group.schedules.get(schedule.name) is not schedule or schedule.state != "ENABLED":
            return  # deleted (or replaced, or disabled) before its time
        target = schedule.target
        try:
            invoke(target["Arn"], json.loads(target.get("Input") or "{}"))
        except Exception:
            policy = target.get("RetryPolicy", {})
            retry_at = clock.now() + timedelta(minutes=2**attempt)
            age = (retry_at - due).total_seconds()
            if attempt < int(policy.get("MaximumRetryAttempts", 185)) and age <= int(
                policy.get("MaximumEventAgeInSeconds", 86400)
            ):
                clock.call_at(retry_at, functools.partial(_fire, backend, schedule, due, attempt + 1))
                return
        if schedule.action_after_completion == "DELETE":
            group.schedules.pop(schedule.name, None)

    return _patch(EventBridgeSchedulerBackend, "create_schedule", create_schedule)
