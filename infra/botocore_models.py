"""botocore's service models trimmed to what the functions call, built into the leadflow layer.

Each client a cold start creates decodes its service's whole model (service-2.json: every operation,
every shape, and their documentation, 0.2-1.4 MB) and builds a method per operation. The layer
carries, for each service the layer's code creates a client of, a copy of botocore's model that keeps
the operations the code can call, the shapes they reach and every error shape (`client.exceptions`
stays whole), without documentation (docstrings only), and beside it the service's endpoint rules as
botocore has them (plain JSON rather than gzipped: the model and the rules it was released with stay
a pair). `leadflow.aws.session` finds them first.

Which operations: every operation whose name, or botocore's Python name for it, appears as a word in
the code that calls clients in Lambda (the layer's package, the functions, and the libraries the
clients pass through: boto3, botocore's own calls such as S3's HeadBucket on a redirect, and
Powertools' idempotency store, which gets our DynamoDB client), plus the endpoint-discovery operation
botocore looks up itself. A word is enough (`put_item`, `"query"`, `get_paginator("list_executions")`):
the scan errs towards keeping, and it runs on the very files the layer ships, so it cannot drift from
them. tests/test_botocore_models.py runs the functions' calls against the result.

Versions: the models come from the botocore installed here (the dev pin). Lambda's Python runtime
brings its own botocore, of a version unknown at build time. A model file is data for a given API
version (the directory name); AWS evolves it by adding operations, members and traits, and botocore
reads older model files of the same API version (they are what an older SDK shipped, and what
AWS_DATA_PATH customizations supply). So a runtime botocore at least as new as the one the models
came from reads them correctly; an older one might not know a trait a newer model uses. The
manifest records the version, and `leadflow.aws` uses the models only under a botocore at least as
new (else botocore's own, whole models: slower, never wrong). A newer API version directory in the
runtime's botocore wins by botocore's own rule (the latest version across the search paths).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from infra.assets import BUILD_DIR as ASSETS_BUILD_DIR
from infra.assets import FUNCTIONS_DIR, IGNORED_PARTS, PACKAGE_EXCLUDED_DIRS, PACKAGE_SOURCE
from infra.runtime import REPO_ROOT

# Where the layer puts them (/opt/botocore-models), and where leadflow.aws looks (beside python/).
LAYER_DIR = "botocore-models"
BUILD_DIR = ASSETS_BUILD_DIR / "layers" / LAYER_DIR
MANIFEST = "manifest.json"
ENDPOINT_RULES = "endpoint-rule-set-1"
LAYOUT = 2  # bump when the generated files' shape changes (2: the endpoint rules beside each model)
# Libraries our clients pass through in Lambda (module -> distribution): their calls on our clients
# count as ours.
LIBRARY_SOURCES = {
    "boto3": "boto3",
    "botocore": "botocore",
    "s3transfer": "s3transfer",
    "aws_lambda_powertools.utilities.idempotency": "aws-lambda-powertools",
}
# What never runs in Lambda: what the layer leaves out of the package (the Sandbox), and caches.
EXCLUDED_PARTS = PACKAGE_EXCLUDED_DIRS | IGNORED_PARTS

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLIENT = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']""")
_DOC_KEYS = ("documentation", "documentationUrl")


def layer_sources() -> list[Path]:
    """The Python files of the layer's package and of the functions: the code that runs in Lambda."""
    return sorted(
        path
        for root in (PACKAGE_SOURCE, FUNCTIONS_DIR)
        for path in root.rglob("*.py")
        if not EXCLUDED_PARTS & set(path.relative_to(root).parts)
    )


def library_sources() -> list[Path]:
    files: list[Path] = []
    for name in LIBRARY_SOURCES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise LookupError(f"{name} is not installed: the scan needs its source")
        for location in spec.submodule_search_locations:
            files.extend(sorted(Path(location).rglob("*.py")))
    return files


def words(files: Iterable[Path]) -> set[str]:
    return {word for path in files for word in _WORD.findall(path.read_text(encoding="utf-8"))}


def services(files: Iterable[Path]) -> set[str]:
    """The services the code creates clients of (`aws.client("sesv2")`, `session().client("dynamodb")`)."""
    return {name for path in files for name in _CLIENT.findall(path.read_text(encoding="utf-8"))}


def _strip_ref(ref: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in ref.items() if key not in _DOC_KEYS}


def _strip_shape(shape: Mapping[str, Any]) -> dict[str, Any]:
    stripped = {key: value for key, value in shape.items() if key not in _DOC_KEYS}
    for key in ("member", "key", "value"):
        if key in stripped:
            stripped[key] = _strip_ref(stripped[key])
    if "members" in stripped:
        stripped["members"] = {name: _strip_ref(ref) for name, ref in stripped["members"].items()}
    return stripped


def _strip_operation(operation: Mapping[str, Any]) -> dict[str, Any]:
    stripped = {key: value for key, value in operation.items() if key not in _DOC_KEYS}
    for key in ("input", "output"):
        if key in stripped:
            stripped[key] = _strip_ref(stripped[key])
    if "errors" in stripped:
        stripped["errors"] = [_strip_ref(ref) for ref in stripped["errors"]]
    return stripped


def _shape_refs(shape: Mapping[str, Any]) -> Iterable[str]:
    for key in ("member", "key", "value"):
        if key in shape:
            yield shape[key]["shape"]
    for ref in shape.get("members", {}).values():
        yield ref["shape"]


def trim(model: Mapping[str, Any], called: set[str]) -> dict[str, Any]:
    """The model with the operations named in `called` (by name or Python name), the endpoint-discovery
    operation, the shapes they reach and every error shape; without documentation."""
    from botocore import xform_name

    operations = {
        name: operation
        for name, operation in model["operations"].items()
        if name in called or xform_name(name) in called or operation.get("endpointoperation")
    }
    shapes = model["shapes"]
    pending = [name for name, shape in shapes.items() if shape.get("exception")]
    for operation in operations.values():
        pending.extend(operation[key]["shape"] for key in ("input", "output") if key in operation)
        pending.extend(error["shape"] for error in operation.get("errors", []))
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(_shape_refs(shapes[name]))
    kept = {key: value for key, value in model.items() if key not in (*_DOC_KEYS, "operations", "shapes")}
    kept["operations"] = {name: _strip_operation(operation) for name, operation in operations.items()}
    kept["shapes"] = {name: _strip_shape(shape) for name, shape in shapes.items() if name in reached}
    return kept


def _builtin_loader() -> Any:
    from botocore.loaders import Loader

    # botocore's own data only: not ~/.aws/models nor AWS_DATA_PATH.
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)


def _fingerprint(shipped: list[Path]) -> str:
    """Of what decides the output: the layer's sources and the libraries' versions."""
    from importlib.metadata import version

    libraries = sorted(f"{name} {version(name)}" for name in set(LIBRARY_SOURCES.values()))
    hashed = hashlib.sha256(f"layout {LAYOUT}\n{libraries}\n".encode())
    for path in shipped:
        hashed.update(f"{path.relative_to(REPO_ROOT)}\n".encode() + path.read_bytes())
    return hashed.hexdigest()


def build(target: Path = BUILD_DIR) -> Path:
    """Write the trimmed models (<service>/<api version>/service-2.json) and manifest.json into
    `target`, unless they are current for these sources and libraries (a stamp beside it). Callers that
    may race hold infra.assets.build_lock."""
    import botocore

    shipped = layer_sources()
    fingerprint = _fingerprint(shipped)
    stamp = target.with_name(f"{target.name}.stamp")
    if (target / MANIFEST).is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
        return target
    called = words(shipped + library_sources())
    loader = _builtin_loader()
    kept: dict[str, list[str]] = {}
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as scratch:
        staged = Path(scratch) / "models"
        for service in sorted(services(shipped)):
            version = loader.determine_latest_version(service, "service-2")
            model = trim(loader.load_data(f"{service}/{version}/service-2"), called)
            kept[service] = sorted(model["operations"])
            directory = staged / service / version
            directory.mkdir(parents=True)
            (directory / "service-2.json").write_text(
                json.dumps(model, separators=(",", ":")), encoding="utf-8"
            )
            # The endpoint rules as they are, beside the model they were released with: plain JSON
            # (botocore ships it gzipped and indented: S3's, 0.9 MB, decodes in 2.6 ms, this in 0.5).
            rules = loader.load_data(f"{service}/{version}/{ENDPOINT_RULES}")
            (directory / f"{ENDPOINT_RULES}.json").write_text(
                json.dumps(rules, separators=(",", ":")), encoding="utf-8"
            )
        manifest = {"botocore_version": botocore.__version__, "operations": kept}
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        previous = Path(scratch) / "previous"
        if target.exists():
            os.replace(target, previous)
        os.replace(staged, target)
        shutil.rmtree(previous, ignore_errors=True)
    stamp.write_text(fingerprint)
    return target
