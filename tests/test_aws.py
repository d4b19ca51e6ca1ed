"""The boto3 adapter's model loader: the same models as botocore's, without listing every service."""

from __future__ import annotations

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

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
