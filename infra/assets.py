"""Stage asset directories for CDK by copying selected files (no Docker, no network).

Each staging lands in `<parent>/<kind>-<content hash>/` and is reused while the
content is the same, so CDK's asset hash (and the deployed code) only changes
when a file does. Staging runs under a file lock: concurrent synths are safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from infra.runtime import REPO_ROOT

BUILD_DIR = REPO_ROOT / "build"
FUNCTIONS_DIR = REPO_ROOT / "functions"
IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
# The leadflow package, which the layer ships without these subpackages: Sandbox-only code (moto, the
# simulated clock) never runs in Lambda.
PACKAGE_SOURCE = REPO_ROOT / "layers" / "leadflow" / "python" / "leadflow"
PACKAGE_EXCLUDED_DIRS = frozenset({"local"})


@contextmanager
def build_lock() -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tree_files(source: Path, prefix: str) -> dict[str, Path]:
    """Files under `source` as `<prefix>/<relative path>`, without caches and bytecode."""
    return {
        f"{prefix}/{path.relative_to(source).as_posix()}": path
        for path in sorted(source.rglob("*"))
        if path.is_file() and not IGNORED_PARTS & set(path.parts) and path.suffix != ".pyc"
    }


def stage(parent: Path, kind: str, files: Mapping[str, Path]) -> Path:
    """Copy `files` (asset path -> source) into parent/<kind>-<hash>; reuse it if already staged."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name].read_bytes()).digest())
    target = parent / f"{kind}-{digest.hexdigest()[:16]}"
    with build_lock():
        parent.mkdir(parents=True, exist_ok=True)
        if not target.is_dir():
            with tempfile.TemporaryDirectory(dir=parent, prefix=f".{kind}-") as scratch:
                staged = Path(scratch) / "asset"
                staged.mkdir()
                for name, source in files.items():
                    destination = staged / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, destination)
                staged.rename(target)
        for stale in parent.glob(f"{kind}-*"):
            if stale != target:
                shutil.rmtree(stale, ignore_errors=True)
    return target


def function_files(name: str) -> dict[str, Path]:
    """A function's code, kept at functions/<name>/ so it imports as `functions.<name>.*` in Lambda
    (/var/task) exactly as in the Sandbox and the tests."""
    files = tree_files(FUNCTIONS_DIR / name, f"functions/{name}")
    package_init = FUNCTIONS_DIR / "__init__.py"
    if package_init.is_file():
        files["functions/__init__.py"] = package_init
    return files


def stage_function(name: str) -> Path:
    return stage(BUILD_DIR / "functions", name, function_files(name))
