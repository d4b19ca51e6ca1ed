"""moto's DynamoDB expression parses kept per text inside the Sandbox (leadflow.local.simclock.
memoize_dynamodb_expressions): one parse serves calls with other names and values, nothing a call does
reaches the kept parse, and an invalid expression fails as it does in moto."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from leadflow import aws
from leadflow.config import settings
from leadflow.local import Sandbox, simclock

MOTOS_MAKE = UpdateExpressionParser.make  # imported before any Sandbox patches it
MOTOS_LEX = ConditionExpressionParser._lex_condition_expression


def _shape(value: Any, seen: dict[int, int] | None = None) -> Any:
    """A parse as nested tuples: node types, attributes and values, and each reference back to a node
    already seen (a child's parent) by its visiting order; equal shapes are equal object graphs."""
    seen = {} if seen is None else seen
    if id(value) in seen:
        return ("seen", seen[id(value)])
    if hasattr(value, "__dict__"):
        seen[id(value)] = len(seen)
        return (
            type(value),
            tuple((name, _shape(member, seen)) for name, member in sorted(vars(value).items())),
        )
    if isinstance(value, list | tuple):
        return (type(value), tuple(_shape(member, seen) for member in value))
    return value


def _conditional_add(table: Any, expected: int) -> bool:
    """One text, values that differ per call: the condition decides on this call's value."""
    try:
        table.update_item(
            Key={"pk": "T#counter", "sk": "C"},
            UpdateExpression="SET #n = #n + :one",
            ConditionExpression="#n = :expected",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": 1, ":expected": expected},
        )
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return False
    return True


def test_one_parse_serves_every_value_and_no_call_changes_it() -> None:
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        assert UpdateExpressionParser.make != MOTOS_MAKE, "the Sandbox did not install the memo"
        table = aws.table(settings().table_name)
        table.put_item(Item={"pk": "T#counter", "sk": "C", "n": 0})
        assert _conditional_add(table, 0)
        assert not _conditional_add(table, 0), "the kept parse remembered the first call's value"
        assert not _conditional_add(table, 2)  # one past the stored value
        assert _conditional_add(table, 1)
        item = table.get_item(Key={"pk": "T#counter", "sk": "C"})["Item"]
        assert item["n"] == 2
        for number in range(2):  # a cadence's own updates and conditions, through to the end
            sb.post(
                "/leads",
                json={"email": f"lead{number}@example.com", "first_name": "Ada", "form": "demo-request"},
            )
        sb.advance(22 * 86400)
        assert sb.audit().clean
    kept = dict(simclock._update_expressions)
    assert "SET #n = #n + :one" in kept
    assert len(kept) > 5, sorted(kept)
    for text, parsed in kept.items():
        fresh = MOTOS_MAKE(text)
        assert _shape(parsed) == _shape(fresh), f"a call changed the kept parse of {text!r}"
        assert _shape(pickle.loads(simclock._update_expression_copies[id(parsed)])) == _shape(fresh)
    assert "#n = :expected" in simclock._condition_tokens


def test_the_validators_copy_is_a_new_graph_equal_to_a_deep_copy() -> None:
    import copy

    from moto.dynamodb.parsing import validators

    with Sandbox("2026-11-23T15:00:00Z"):
        parsed = UpdateExpressionParser.make("SET #a = if_not_exists(#a, :zero) + :one REMOVE #b")
        copied = validators.deepcopy(parsed)
        assert copied is not parsed
        assert _shape(copied) == _shape(copy.deepcopy(parsed)) == _shape(parsed)
        other = {"not": ["a kept parse"]}
        assert validators.deepcopy(other) == other and validators.deepcopy(other) is not other


def test_condition_tokens_are_fresh_per_call_and_as_motos() -> None:
    with Sandbox("2026-11-23T15:00:00Z"):
        text = "attribute_not_exists(pk) OR (#s = :open AND size(#l) < :cap)"
        parser = ConditionExpressionParser(text, {"#s": "status", "#l": "list"}, {})
        first, second = parser._lex_condition_expression(), parser._lex_condition_expression()
        assert list(first) == list(MOTOS_LEX(parser)) == list(second)
        assert all(a.children is not b.children for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    ("update", "condition"),
    [("SET #n = = :one", None), ("SET #n = :one", "#n = :one $")],
    ids=["update that does not parse", "condition that does not lex"],
)
def test_an_invalid_expression_fails_every_time_and_is_not_kept(update: str, condition: str | None) -> None:
    with Sandbox("2026-11-23T15:00:00Z"):
        table = aws.table(settings().table_name)
        kwargs: dict[str, Any] = {
            "Key": {"pk": "T#x", "sk": "X"},
            "UpdateExpression": update,
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":one": 1},
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        failures = []
        for _ in range(2):
            # moto answers a ValidationException for an update, and raises its lexer's ValueError
            # for a condition (where DynamoDB would answer a ValidationException too).
            with pytest.raises((ClientError, ValueError)) as raised:
                table.update_item(**kwargs)
            failures.append(repr(raised.value))
        assert failures[0] == failures[1]
        assert (update in simclock._update_expressions) == (condition is not None)
        assert condition not in simclock._condition_tokens
