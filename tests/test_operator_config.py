import pytest

from leadflow.local.sandbox import REPO_ROOT
from leadflow.operator_config import OperatorConfigError, load_operator_config


def test_the_shipped_configuration_loads():
    config = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")
    assert config.company.postal_address
    assert config.rep("alex").name == "Alex Rivera"


def test_a_broken_configuration_names_the_file_and_field(tmp_path):
    path = tmp_path / "leadflow.yaml"
    path.write_text("company: {name: X, website: 'not a url', postal_address: '1 Road, Town'}\nreps: []\n")
    with pytest.raises(OperatorConfigError) as caught:
        load_operator_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "company.website" in message
    assert "reps" in message
