"""Build the two Lambda layers without Docker (`make layers`, or `python -m infra.layers`).

- deps: the runtime dependencies of pyproject.toml ([project].dependencies minus
  what the Lambda runtime ships), installed by pip as prebuilt wheels for the
  functions' Python version and architecture into build/layers/deps/python.
  Needs PyPI the first time; rebuilt only when the requirements, Python version
  or platform change (a stamp holds their hash), so synth stays fast and offline.
- leadflow: the `leadflow` package (without the local Sandbox) as python/leadflow,
  plus the repo's cadences/, templates/ and config/, which land at /opt/cadences,
  /opt/templates and /opt/config, what leadflow.compiled compiles from them at /opt/compiled,
  and botocore's service models trimmed to the calls of the layer's code at /opt/botocore-models
  (infra.botocore_models).
  Staged by copying into build/layers/leadflow-<content hash>;
  cheap, offline, and done by the CDK app on every synth.

Both builds run under a file lock, so concurrent synths (tests, `make synth`) are safe.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import date
from pathlib import Path

from infra import botocore_models
from infra.assets import PACKAGE_EXCLUDED_DIRS, PACKAGE_SOURCE, build_lock, stage, tree_files
from infra.runtime import PIP_PLATFORM, PYTHON_VERSION, REPO_ROOT

BUILD_DIR = REPO_ROOT / "build" / "layers"
DEPS_LAYER_DIR = BUILD_DIR / "deps"
DEPS_STAMP = BUILD_DIR / "deps.stamp"
CADENCES_SOURCE = REPO_ROOT / "cadences"
TEMPLATES_SOURCE = REPO_ROOT / "templates"
# The operator configuration (config/leadflow.yaml) lands at /opt/config, where Settings looks by default.
CONFIG_SOURCE = REPO_ROOT / "config"
COMPILED_DIR = BUILD_DIR / "compiled"
# The Lambda Python runtime includes boto3 (and botocore); shipping our own would only add 15 MB.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore"})


class LayerNotBuilt(RuntimeError):
    """The deps layer is missing or stale; `make layers` builds it."""


def _distribution_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"cannot read the distribution name of {requirement!r}")
    return re.sub(r"[-_.]+", "-", match[1]).lower()


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """[project].dependencies of pyproject.toml, minus the packages the Lambda runtime provides."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [req for req in dependencies if _distribution_name(req) not in PROVIDED_BY_RUNTIME]


def pip_command(target: Path, requirements: list[str]) -> list[str]:
    """pip installing Lambda-compatible wheels for the functions' runtime into `target`."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # .pyc for the build machine's Python would be dead weight
        "--target",
        str(target),
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        *requirements,
    ]


def deps_fingerprint(requirements: list[str]) -> str:
    """Hash of everything that decides the deps layer's content."""
    spec = {
        "requirements": sorted(requirements),
        "platform": PIP_PLATFORM,
        "implementation": "cp",
        "python_version": PYTHON_VERSION,
        "layout": 1,  # bump when the build steps below change
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _deps_current(fingerprint: str) -> bool:
    return (
        DEPS_STAMP.is_file()
        and DEPS_STAMP.read_text(encoding="utf-8").strip() == fingerprint
        and (DEPS_LAYER_DIR / "python").is_dir()
    )


def deps_layer_dir() -> Path:
    """The built deps layer (the asset directory: python/...); raise LayerNotBuilt if missing or stale."""
    if not _deps_current(deps_fingerprint(runtime_requirements())):
        raise LayerNotBuilt(
            f"{DEPS_LAYER_DIR} is missing or out of date for {runtime_requirements()} on "
            f"Python {PYTHON_VERSION} {PIP_PLATFORM}: run `make layers`"
        )
    return DEPS_LAYER_DIR


def build_deps_layer(*, force: bool = False) -> Path:
    """Install the runtime dependencies into build/layers/deps/python, unless already built for them."""
    requirements = runtime_requirements()
    fingerprint = deps_fingerprint(requirements)
    with build_lock():
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        if not force and _deps_current(fingerprint):
            return DEPS_LAYER_DIR
        with tempfile.TemporaryDirectory(dir=BUILD_DIR, prefix=".deps-") as scratch:
            staged = Path(scratch) / "deps"
            result = subprocess.run(
                pip_command(staged / "python", requirements), capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise RuntimeError(f"pip could not build the deps layer:\n{result.stdout}\n{result.stderr}")
            # Console scripts are unusable in a layer.
            shutil.rmtree(staged / "python" / "bin", ignore_errors=True)
            DEPS_STAMP.unlink(missing_ok=True)
            shutil.rmtree(DEPS_LAYER_DIR, ignore_errors=True)
            staged.rename(DEPS_LAYER_DIR)
        DEPS_STAMP.write_text(fingerprint + "\n", encoding="utf-8")
    return DEPS_LAYER_DIR


def package_layer_files() -> dict[str, Path]:
    """Layer path -> source file of the leadflow layer (the zip's root is /opt)."""
    files = {
        name: path
        for name, path in tree_files(PACKAGE_SOURCE, "python/leadflow").items()
        if not PACKAGE_EXCLUDED_DIRS & set(path.relative_to(PACKAGE_SOURCE).parts)
    }
    files.update(tree_files(CADENCES_SOURCE, "cadences"))
    files.update(tree_files(TEMPLATES_SOURCE, "templates"))
    files.update(tree_files(CONFIG_SOURCE, "config"))
    files.update(tree_files(build_compiled(), "compiled"))
    files.update(tree_files(build_botocore_models(), botocore_models.LAYER_DIR))
    return files


def build_compiled() -> Path:
    """Cadences, operator configuration, holiday dates and report templates compiled for the functions'
    cold starts (leadflow.compiled), validated in full here; they land at /opt/compiled."""
    from leadflow.compiled import build as compiling

    with build_lock():
        return compiling.build(
            COMPILED_DIR,
            CADENCES_SOURCE,
            TEMPLATES_SOURCE,
            CONFIG_SOURCE / "leadflow.yaml",
            date.today(),
            parts=BUILD_DIR / "compiled-parts",
        )


def build_botocore_models() -> Path:
    """botocore's models of the services the layer's code calls, trimmed to its calls (leadflow.aws reads
    them first, at /opt/botocore-models)."""
    with build_lock():
        return botocore_models.build()  # botocore_models.BUILD_DIR, beside the other layers' builds


def stage_package_layer() -> Path:
    """Copy the leadflow layer's files into build/layers/leadflow-<hash>, reusing an identical staging."""
    return stage(BUILD_DIR, "leadflow", package_layer_files())


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.layers", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild the deps layer even if it is current")
    args = parser.parse_args(argv)
    for name, directory in (
        ("deps", build_deps_layer(force=args.force)),
        ("leadflow", stage_package_layer()),
    ):
        print(f"{name:9} {directory.relative_to(REPO_ROOT)}  {_size(directory) / 1e6:.1f} MB unzipped")


if __name__ == "__main__":
    main()
