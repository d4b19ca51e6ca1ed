"""A Query on the table's key reads only the partition it names (leadflow.local.simclock.
partition_queries), and answers exactly what moto's own whole-table query answers: call for call over
leads' whole cadence and the weekly report, and at the edges (paging, reverse order, an empty or
emptied partition, a filter, an index query across partitions)."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from moto.dynamodb.models.table import Table

from leadflow import aws
from leadflow.config import settings
from leadflow.local import Sandbox
from leadflow.store.table import BY_DAY_INDEX, BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY

MOTOS_QUERY = Table.query  # imported before any Sandbox patches it


def _answer(result: tuple[list[Any], int, Any]) -> tuple[list[Any], int, Any]:
    items, scanned, last_key = result
    return [item.to_json() for item in items], scanned, last_key


def test_every_query_of_a_cadence_and_report_answers_as_motos_own(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, bool]] = []
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        patched = Table.query
        assert patched is not MOTOS_QUERY, "the Sandbox did not install partition_queries"

        def both(self: Table, *args: Any, **kwargs: Any) -> Any:
            answer = patched(self, *args, **kwargs)
            compared.append((args[0], _answer(answer) == _answer(MOTOS_QUERY(self, *args, **kwargs))))
            return answer

        monkeypatch.setattr(Table, "query", both)
        for number in range(3):
            sb.post(
                "/leads",
                json={"email": f"lead{number}@example.com", "first_name": "Ada", "form": "demo-request"},
            )
            sb.advance(60)
        sb.advance(22 * 86400)
        sb.run_report()  # the by_day index's queries
        assert sb.audit().clean
    assert len(compared) > 20, compared
    assert all(equal for _, equal in compared), [key for key, equal in compared if not equal][:5]


def test_a_partition_query_reads_that_partition_alone_and_answers_as_motos_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Sandbox("2026-11-23T15:00:00Z"):
        table = aws.table(settings().table_name)
        for lead in ("a", "b", "c"):
            for number in range(5):
                item = {"pk": f"T#{lead}", "sk": f"X#{number:02d}", "n": number}
                table.put_item(Item={**item, BY_DAY_PARTITION_KEY: "d", BY_DAY_SORT_KEY: f"{lead}{number}"})
        table.delete_item(Key={"pk": "T#c", "sk": "X#00"})
        for number in range(1, 5):
            table.delete_item(Key={"pk": "T#c", "sk": f"X#{number:02d}"})  # an emptied partition
        gathered: list[int] = []
        all_items = Table.all_items

        def counted(self: Table) -> list[Any]:
            items = all_items(self)
            gathered.append(len(items))
            return items

        monkeypatch.setattr(Table, "all_items", counted)
        patched = Table.query
        answers: list[tuple[Any, Any]] = []

        def both(self: Table, *args: Any, **kwargs: Any) -> Any:
            answer = patched(self, *args, **kwargs)
            counted_so_far = len(gathered)
            answers.append((_answer(answer), _answer(MOTOS_QUERY(self, *args, **kwargs))))
            del gathered[counted_so_far:]  # what moto's own query gathered is not the Sandbox's
            return answer

        monkeypatch.setattr(Table, "query", both)

        def pages(**query: Any) -> list[list[int]]:
            found: list[list[int]] = []
            while True:
                page = table.query(**query)
                found.append([int(item["n"]) for item in page["Items"]])
                if "LastEvaluatedKey" not in page:
                    return found
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        gathered.clear()
        assert pages(KeyConditionExpression=Key("pk").eq("T#a")) == [[0, 1, 2, 3, 4]]
        assert gathered == [5], "the query gathered more than its partition"
        assert pages(KeyConditionExpression=Key("pk").eq("T#b"), Limit=2, ScanIndexForward=False) == [
            [4, 3],
            [2, 1],
            [0],
        ]
        assert pages(KeyConditionExpression=Key("pk").eq("T#b") & Key("sk").begins_with("X#0"), Limit=4) == [
            [0, 1, 2, 3],
            [4],
        ]
        above = Attr("n").gte(3)
        assert pages(KeyConditionExpression=Key("pk").eq("T#a"), FilterExpression=above) == [[3, 4]]
        assert pages(KeyConditionExpression=Key("pk").eq("T#c")) == [[]]
        assert pages(KeyConditionExpression=Key("pk").eq("T#never")) == [[]]
        assert all(answer == motos for answer, motos in answers)
        # An index query spans partitions and reads the items of its index key alone, page by page.
        table.put_item(Item={"pk": "T#a", "sk": "X#99", "n": 99})  # no index key: not in the index
        elsewhere = {BY_DAY_PARTITION_KEY: "e", BY_DAY_SORT_KEY: "e"}  # another index key
        table.put_item(Item={"pk": "T#e", "sk": "X#00", "n": 0, **elsewhere})
        gathered.clear()
        answers.clear()

        def index_pages(day: str, **query: Any) -> list[list[str]]:
            found: list[list[str]] = []
            condition = Key(BY_DAY_PARTITION_KEY).eq(day)
            while True:
                page = table.query(IndexName=BY_DAY_INDEX, KeyConditionExpression=condition, **query)
                found.append([item[BY_DAY_SORT_KEY] for item in page["Items"]])
                if "LastEvaluatedKey" not in page:
                    return found
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        assert index_pages("d", Limit=4) == [["a0", "a1", "a2", "a3"], ["a4", "b0", "b1", "b2"], ["b3", "b4"]]
        assert gathered == [10, 10, 10], "an index query gathered more than the items of its key"
        assert index_pages("d", ScanIndexForward=False) == [
            [f"{lead}{n}" for lead in "ba" for n in range(4, -1, -1)]
        ]
        assert index_pages("z") == [[]]
        assert len(answers) == 5 and all(answer == motos for answer, motos in answers)
