"""The Lambda runtime and architecture: one definition for the functions and the layer builds.

The deps layer ships compiled wheels (pydantic-core): they only load on the
Python version and CPU they were built for, so `infra.layers` derives pip's
`--python-version` and `--platform` from the same constants the functions use.
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[1]

_PYTHON_RUNTIME = re.compile(r"PYTHON_(\d+)_(\d+)")


def newest_python_runtime() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib version offers (not `determine_latest_python_runtime`,
    which lags behind: it returns 3.13 in 2.275.0)."""
    versions = {
        (int(match[1]), int(match[2])): name
        for name in dir(lambda_.Runtime)
        if (match := _PYTHON_RUNTIME.fullmatch(name))
    }
    runtime: lambda_.Runtime = getattr(lambda_.Runtime, versions[max(versions)])
    return runtime


RUNTIME = newest_python_runtime()
ARCHITECTURE = lambda_.Architecture.ARM_64

# "python3.14" -> "3.14"
PYTHON_VERSION = RUNTIME.name.removeprefix("python")
# CPython ABI tag of the runtime, as in wheel names and compiled module suffixes: "cp314".
PYTHON_TAG = "cp" + PYTHON_VERSION.replace(".", "")
# Lambda's architecture name -> the manylinux machine name of its wheels.
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE.name]
PIP_PLATFORM = f"manylinux2014_{MACHINE}"
