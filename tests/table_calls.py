"""Which DynamoDB actions each function's code can call: read from the code, not from a list.

A function's code is its handler module and everything it imports, transitively, within
`functions.<name>` and `leadflow` (imports inside functions included: lazy imports are code the
function runs too). Every boto3 DynamoDB call in those modules (`.get_item(`, `.query(`,
`get_paginator("query")`, ...) names an IAM action. Powertools idempotency writes its own table.
"""

from __future__ import annotations

import ast
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
