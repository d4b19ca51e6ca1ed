"""The domain package's layout follows a lead's path, and its import graph says so (issue 10)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

PACKAGE = REPO_ROOT / "layers" / "leadflow" / "python" / "leadflow"
STAGES = {"intake", "cadence", "send", "answers", "report", "local", "store"}
# Every import, lazy ones inside functions included: a cycle through a lazy import is still a cycle.


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("leadflow"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("leadflow"))
    return found


def _unit(module: str) -> str | None:
    """The subpackage a dotted name belongs to, or None for the shared top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def _stage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {stage: set() for stage in STAGES}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = _unit(".".join(relative.parts))
        if source is None:
            continue
        for target in map(_unit, _imports(path)):
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def test_the_top_level_holds_at_most_twelve_shared_modules():
    top = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
    assert len(top) <= 12, top
    assert {
        path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    } >= STAGES


def test_every_subpackage_says_what_lives_there_and_what_it_may_import():
    for stage in STAGES:
        docstring = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
        assert docstring and "import" in docstring, stage


def test_no_cycles_between_subpackages():
    graph = _stage_graph()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph[start]
        )

    cycles = sorted(stage for stage in STAGES if reaches(stage, stage, set()))
    assert cycles == [], graph


def test_only_the_cli_bench_and_tests_import_the_local_runtime():
    graph = _stage_graph()
    assert "local" not in graph["answers"]
    assert [stage for stage, targets in graph.items() if "local" in targets] == []
    top_importers = [
        path.name for path in PACKAGE.glob("*.py") if any(_unit(name) == "local" for name in _imports(path))
    ]
    assert top_importers == ["cli.py"]
    for folder in ("functions", "infra"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            assert not any(_unit(name) == "local" for name in _imports(path)), path


def test_the_readme_name_for_the_sandbox_works():
    from leadflow.local import Sandbox
    from leadflow.local.sandbox import Sandbox as SandboxByModule

    assert Sandbox is SandboxByModule
