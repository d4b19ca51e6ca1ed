"""Which DynamoDB actions each function's code can call: read from the code, not from a list.

A function's modules are its handler module and everything it imports, transitively, within
`functions.<name>` and `leadflow` (imports inside functions included). Its reachable code starts at
every function of its own package and every loaded module's top-level statements, and follows each
name they reference to the function or class it names (a class counts whole). Every boto3
DynamoDB call in reachable code (`.get_item(`, `.query(`, `get_paginator("query")`, ...) names an
IAM action. `recorded_calls` checks the reading against what handlers really call in the Sandbox.
Powertools idempotency writes its own table.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = ROOT / "layers" / "leadflow" / "python"

# boto3 method -> IAM action (TransactWriteItems/BatchWriteItem authorize per item action).
OPERATIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_get_items": "dynamodb:GetItem",
    "describe_table": "dynamodb:DescribeTable",
    # A transaction authorizes each of its items' actions: name them here when one is written.
    "transact_write_items": "dynamodb:TransactWriteItems (map its item actions)",
}
# Powertools' DynamoDBPersistenceLayer (aws_lambda_powertools.utilities.idempotency).
IDEMPOTENCY_ACTIONS = frozenset(
    {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
)


def _module_file(name: str) -> Path | None:
    base = ROOT if name.split(".")[0] == "functions" else PACKAGE_ROOT
    path = base.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(name: str, tree: ast.AST, is_package: bool) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {
        module
        for module in found
        if module.split(".")[0] in ("leadflow", "functions") and _module_file(module) is not None
    }


@cache
def closure(function: str) -> frozenset[str]:
    """The modules the function's handler can load (its own package and leadflow's)."""
    start = f"functions.{function}.handler"
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        assert path is not None, name
        # Importing a submodule runs its package's __init__ too.
        parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        todo.extend(parent for parent in parents if _module_file(parent) is not None)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        todo.extend(_imports(name, tree, path.name == "__init__.py") - seen)
    return frozenset(seen)


def _calls(tree: ast.AST) -> set[str]:
    actions: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method in OPERATIONS:
            actions.add(OPERATIONS[method])
        elif method == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
            operation = str(node.args[0].value)
            if operation in OPERATIONS:
                actions.add(OPERATIONS[operation])
    return actions


def table_actions(function: str) -> frozenset[str]:
    """The DynamoDB actions the function's code calls on the leads table."""
    actions: set[str] = set()
    for name in closure(function):
        path = _module_file(name)
        assert path is not None
        actions |= _calls(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(actions)


def uses_idempotency(function: str) -> bool:
    return any(
        "aws_lambda_powertools.utilities.idempotency" in (_module_file(name) or Path()).read_text("utf-8")
        for name in closure(function)
    )


# --- Function-level reachability: only code the handler can reach counts --------------------------


def _resolve_from(name: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    base = parts[: len(parts) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def _units(name: str) -> tuple[dict[str, ast.AST], dict[str, tuple[str, str | None]], list[ast.stmt]]:
    """A module's top-level functions and classes, its import aliases, and its other statements."""
    path = _module_file(name)
    assert path is not None, name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    definitions: dict[str, ast.AST] = {}
    aliases: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):  # imports inside functions are aliases of the module too
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = (alias.name, None)
                else:
                    aliases[alias.name.split(".")[0]] = (alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_from(name, node, is_package)
            for alias in node.names:
                target = f"{module}.{alias.name}"
                local = alias.asname or alias.name
                aliases[local] = (target, None) if _module_file(target) else (module, alias.name)
    statements = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            definitions[node.name] = node
        else:
            statements.append(node)
    return definitions, aliases, statements


def _dotted(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _target(module: str, parts: list[str]) -> tuple[str, str] | None:
    """The (module, top-level name) a dotted reference in `module` names, if it is ours."""
    definitions, aliases, _ = _units(module)
    head, rest = parts[0], parts[1:]
    if head in definitions:
        return module, head
    if head not in aliases:
        return None
    target, attribute = aliases[head]
    if target.split(".")[0] not in ("leadflow", "functions"):
        return None
    if attribute is not None:
        if _module_file(target) is None:
            return None
        return _follow(target, attribute)
    for part in rest:  # `package.module.function`
        if _module_file(f"{target}.{part}"):
            target = f"{target}.{part}"
            continue
        return _follow(target, part) if _module_file(target) else None
    return None


def _follow(module: str, name: str) -> tuple[str, str] | None:
    """A name in `module`: defined there, or re-exported from another of our modules."""
    definitions, aliases, _ = _units(module)
    if name in definitions:
        return module, name
    if name in aliases:
        return _target(module, [name])
    return None


def _references(module: str, nodes: list[ast.AST]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Name | ast.Attribute):
                parts = _dotted(node)
                if parts:
                    target = _target(module, parts)
                    if target is not None:
                        found.add(target)
    return found


def reachable_actions(function: str) -> frozenset[str]:
    """The DynamoDB actions in code the handler can reach: its own modules' functions, every loaded
    module's top-level statements, and what they reference, transitively (a class counts whole)."""
    modules = closure(function)
    todo: list[tuple[str, str]] = []
    actions: set[str] = set()
    for module in modules:
        definitions, _, statements = _units(module)
        actions |= _calls(ast.Module(body=statements, type_ignores=[]))
        todo.extend(_references(module, list(statements)))
        if module.startswith(f"functions.{function}"):
            todo.extend((module, name) for name in definitions)
    seen: set[tuple[str, str]] = set()
    while todo:
        unit = todo.pop()
        if unit in seen:
            continue
        seen.add(unit)
        module, name = unit
        node = _units(module)[0].get(name)
        if node is None:
            continue
        actions |= _calls(node)
        todo.extend(_references(module, [node]) - seen)
    return frozenset(actions)


@contextmanager
def recorded_calls(table_name: str) -> Iterator[dict[str, set[str]]]:
    """The DynamoDB actions each handler really makes on `table_name`, by the handler on the stack."""
    from botocore.client import BaseClient

    calls: dict[str, set[str]] = defaultdict(set)
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation: str, params: dict[str, object]) -> object:
        tables = {params.get("TableName"), *dict(params.get("RequestItems") or {})}  # type: ignore[arg-type]
        if self.meta.service_model.service_name == "dynamodb" and table_name in tables:
            frame = sys._getframe(1)
            while frame is not None:
                parts = Path(frame.f_code.co_filename).parts
                if parts[-1] == "handler.py" and len(parts) > 2 and parts[-3] == "functions":
                    calls[parts[-2]].add(f"dynamodb:{operation}")
                    break
                frame = frame.f_back  # type: ignore[assignment]
        return original(self, operation, params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
