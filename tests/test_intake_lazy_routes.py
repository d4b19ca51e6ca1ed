"""The intake function includes its routers lazily (issue 28, item 3): per first path segment (or first
two), so a cold start imports the routes its request needs. Every route must stay reachable through
that map."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from functions.intake import handler
from leadflow.local.sandbox import REPO_ROOT

ROUTES_DIR = Path(handler.__file__).parent / "routes"


def _route_modules() -> list[str]:
    return sorted(
        path.stem
        for path in ROUTES_DIR.glob("*.py")
        if re.search(r"^router = Router\(\)", path.read_text(encoding="utf-8"), re.MULTILINE)
    )


@pytest.mark.parametrize("module", _route_modules())
def test_every_route_is_included_for_its_own_path(module):
    """A route whose first segment does not map to its module would answer 404 in Lambda."""
    router = importlib.import_module(f"functions.intake.routes.{module}").router
    rules = {key[0] for key in router._routes}
    assert rules
    for rule in rules:
        assert module in handler.route_modules(rule), rule


def test_a_form_post_cold_start_imports_only_the_routes_it_needs():
    """In a fresh process, as in Lambda: the /leads post includes its own route, not the stage updates
    (/leads/stage), rep pages, drafts, replies or erasures (whose EmailStr imports email_validator)."""
    code = """
import json, sys
from functions.intake import handler
imported = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("functions.intake.routes."))
handler.include_routes("/leads")
posted = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("functions.intake.routes."))
handler.include_routes("/leads/stage")
staged = sorted(handler._included)
handler.include_routes("/openapi.json")
print(json.dumps([imported, posted, staged, sorted(handler._included)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    imported, posted, staged, everything = json.loads(done.stdout.splitlines()[-1])

    assert imported == []
    assert posted == ["leads"]
    assert staged == ["leads", "stages"]
    assert everything == _route_modules()
