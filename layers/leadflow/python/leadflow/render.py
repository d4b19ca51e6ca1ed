"""Render a touch's message from its Jinja2 template.

One template file per touch, `templates/<cadence>/<touch name>.j2`, rendered
once per part with `part` set to "subject", "text" or "html". The environment
is sandboxed with StrictUndefined, so a template can neither reach Python
internals nor print a missing field.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from leadflow.config import settings


class RenderedMessage(BaseModel):
    subject: str
    text: str
    html: str


@cache
def _environment(template_dir: Path, autoescape: bool) -> SandboxedEnvironment:
    # Two environments over the same files: HTML blocks autoescaped, subject and text not.
    return SandboxedEnvironment(
        loader=FileSystemLoader(template_dir),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _part(template_dir: Path, path: str, part: str, context: dict[str, Any], autoescape: bool) -> str:
    template = _environment(template_dir, autoescape).get_template(path)
    return template.render({**context, "part": part}).strip()


def render_touch(cadence: str, touch_name: str, context: dict[str, Any]) -> RenderedMessage:
    template_dir, path = settings().template_dir, f"{cadence}/{touch_name}.j2"
    # Collapsing whitespace also strips CR/LF: no header injection through a subject.
    subject = " ".join(_part(template_dir, path, "subject", context, autoescape=False).split())
    return RenderedMessage(
        subject=subject,
        text=_part(template_dir, path, "text", context, autoescape=False),
        html=_part(template_dir, path, "html", context, autoescape=True),
    )
