import os

import pytest

os.environ.setdefault("TZ", "UTC")
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(name, value)


@pytest.fixture
def sb():
    from leadflow.local.sandbox import Sandbox

    with Sandbox(start="2026-11-23T09:00:00Z") as sandbox:
        yield sandbox
