"""The boto3 adapter: botocore's models without listing every service; boto3's Table on a client."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError, UnknownServiceError
from botocore.loaders import Loader
from moto import mock_aws

from leadflow import aws


@pytest.mark.parametrize(
    ("service", "type_name"),
    [
        ("dynamodb", "service-2"),
        ("dynamodb", "resources-1"),
        ("sesv2", "service-2"),
        ("dynamodb", "paginators-1"),
    ],
)
def test_direct_loader_loads_what_botocore_loads(service: str, type_name: str) -> None:
    search_paths = aws.session()._loader.search_paths
    expected = Loader(extra_search_paths=search_paths).load_service_model(service, type_name)
    direct = aws.DirectLoader(extra_search_paths=search_paths)
    assert direct.load_service_model(service, type_name) == expected


def test_direct_loader_skips_the_service_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    loader = aws.DirectLoader()
    monkeypatch.setattr(loader, "list_available_services", lambda type_name: pytest.fail("listed"))
    assert loader.load_service_model("stepfunctions", "service-2")["metadata"]["serviceId"] == "SFN"


def test_unknown_service_keeps_botocores_error() -> None:
    with pytest.raises(UnknownServiceError, match="nosuchservice"):
        aws.DirectLoader().load_service_model("nosuchservice", "service-2")


def test_clients_and_tables_come_from_the_session_with_the_direct_loader() -> None:
    assert isinstance(aws.session()._loader, aws.DirectLoader)
    assert aws.session()._session.get_component("data_loader") is aws.session()._loader
    assert isinstance(aws.session()._loader.file_loader, aws.PlainJSONFileLoader)


@pytest.mark.parametrize(
    "name",
    [
        "endpoints",
        "partitions",
        "sdk-default-configuration",
        "dynamodb/2012-08-10/service-2",
        "sns/2010-03-31/paginators-1",
    ],
)
def test_data_files_load_as_botocore_loads_them_into_plain_dicts(name: str) -> None:
    """The same content (a .json and a .json.gz file alike), in dicts instead of OrderedDicts."""
    search_paths = aws.session()._loader.search_paths
    expected = Loader(extra_search_paths=search_paths).load_data(name)
    plain = aws.DirectLoader(extra_search_paths=search_paths, file_loader=aws.PlainJSONFileLoader())
    loaded = plain.load_data(name)
    assert loaded == expected
    assert type(loaded) is dict and type(expected) is not dict


@pytest.fixture
def tables() -> Iterator[tuple[Any, Any]]:
    """The adapter's table and boto3's resource Table on one moto table."""
    with mock_aws():
        aws.reset()
        boto3.client("dynamodb").create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield aws.table("t"), boto3.resource("dynamodb").Table("t")
    aws.reset()


def test_table_calls_answer_as_boto3s_resource_table(tables: tuple[Any, Any]) -> None:
    ours, boto3s = tables
    item = {"pk": "LEAD#1", "sk": "A", "n": Decimal("1.5"), "tags": {"x"}, "nested": {"list": [1, "two"]}}
    ours.put_item(Item=item)
    assert ours.get_item(Key={"pk": "LEAD#1", "sk": "A"})["Item"] == item
    assert boto3s.get_item(Key={"pk": "LEAD#1", "sk": "A"})["Item"] == item
    boto3s.put_item(Item={**item, "sk": "B"})
    query = {"KeyConditionExpression": Key("pk").eq("LEAD#1") & Key("sk").begins_with("B")}
    assert ours.query(**query)["Items"] == boto3s.query(**query)["Items"] == [{**item, "sk": "B"}]
    updated = ours.update_item(
        Key={"pk": "LEAD#1", "sk": "A"},
        UpdateExpression="SET n = n + :one",
        ConditionExpression=Attr("n").eq(Decimal("1.5")),
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    assert updated["Attributes"] == {"n": Decimal("2.5")}
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        ours.put_item(Item=item, ConditionExpression=Attr("pk").not_exists())
    ours.delete_item(Key={"pk": "LEAD#1", "sk": "B"})
    assert ours.scan()["Items"] == boto3s.scan()["Items"] == [{**item, "n": Decimal("2.5")}]
    assert item["tags"] == {"x"}  # the caller's item is not changed (copied, as boto3 does)


def test_table_offers_only_item_operations(tables: tuple[Any, Any]) -> None:
    ours, _ = tables
    with pytest.raises(AttributeError):
        ours.delete  # noqa: B018 - deleting the table is not an adapter operation
    assert ours.meta.client is aws.table("t").meta.client
