"""Render a touch's message from its Jinja2 template.

One template file per touch, `templates/<cadence>/<touch name>.j2`, extending the
layout of its channel and rendered once per part with `part` set:
- email (`_layout.j2`): "subject", "text" and "html";
- SMS (`_sms.j2`): "text";
- rep tasks, i.e. call, linkedin, video (`_task.j2`): "subject" (the task title) and
  "text" (the talking points).
The environment is sandboxed with StrictUndefined, so a template can neither reach
Python internals nor print a missing field; the HTML part is autoescaped. Jinja2 is imported with
the first environment: most cold starts render nothing.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape
from pydantic import BaseModel

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.nodes import EvalContext
    from jinja2.sandbox import SandboxedEnvironment

EMAIL_PARTS = ("subject", "text", "html")
SMS_PARTS = ("text",)
TASK_PARTS = ("subject", "text")
SIGNATURE_DELIMITER = "-- "


def parts_for(channel: str) -> tuple[str, ...]:
    if channel == "email":
        return EMAIL_PARTS
    if channel == "sms":
        return SMS_PARTS
    return TASK_PARTS


class RenderedMessage(BaseModel):
    subject: str = ""  # email subject, or a rep task's title
    text: str = ""  # plain-text email body, SMS text, or a rep task's talking points
    html: str = ""


def clip(value: object, width: int) -> str:
    """A field cut to at most `width` characters at a word boundary; None becomes "".

    Subjects clip every lead field, so no lead can push a subject past its limit.
    """
    if value is None:
        return ""
    text = " ".join(str(value).split())
    if len(text) <= width:
        return text
    head = text[: width + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:width]
    return cut.rstrip(" ,;:-–—&/")


def paragraphs(eval_context: EvalContext, *chunks: object) -> str:
    """Blocks of prose as paragraphs: blank lines separate them, other whitespace collapses.

    A template global taking Jinja's eval context (`pass_eval_context`, applied in `environment`).
    Text parts get paragraphs separated by a blank line; HTML parts get <p> elements
    (chunks are escaped first, so nothing unescaped slips through).
    """
    found = []
    for chunk in chunks:
        for paragraph in re.split(r"\n\s*\n", str(escape(chunk) if eval_context.autoescape else chunk)):
            joined = " ".join(paragraph.split())
            if joined:
                found.append(joined)
    if eval_context.autoescape:
        return Markup("\n".join(f"<p>{paragraph}</p>" for paragraph in found))
    return "\n\n".join(found)


def use_precompiled() -> bool:
    """In Lambda the templates come precompiled (leadflow.compiled) when compiled from these very files:
    a cold start skips Jinja's parsing and code generation (~14 ms for an email touch). The deployed
    files never change under a running function; elsewhere (the Sandbox, `leadflow serve`, lint) a
    template edited while the process runs renders as edited (FileSystemLoader reloads it)."""
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


@cache
def environment(template_dir: Path, autoescape: bool, *, precompiled: bool = False) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, ModuleLoader, StrictUndefined, pass_eval_context
    from jinja2.sandbox import SandboxedEnvironment

    from leadflow import compiled

    built = compiled.touch_templates(template_dir, autoescape) if precompiled else None
    # Two environments over the same files: HTML autoescaped, subject and text not.
    env = SandboxedEnvironment(
        loader=ModuleLoader(built) if built else FileSystemLoader(template_dir),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clip"] = clip
    env.globals["paragraphs"] = pass_eval_context(paragraphs)
    return env


@cache
def _inline(template_dir: Path, source: str) -> Template:
    return environment(template_dir, autoescape=False).from_string(source)


def one_line(text: str) -> str:
    """Collapse all whitespace, CR and LF included: nothing can inject a header through a subject."""
    return " ".join(text.split())


def tidy(text: str) -> str:
    """Trailing spaces off (except the signature delimiter "-- "), at most one blank line in a row."""
    lines = [line if line == SIGNATURE_DELIMITER else line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def render(
    template_dir: Path,
    path: str,
    channel: str,
    context: dict[str, Any],
    subject: str | None = None,
) -> RenderedMessage:
    """Render every part of a channel's message; `subject` (Jinja source) replaces the template's."""
    rendered: dict[str, str] = {}
    for part in parts_for(channel):
        if part == "subject" and subject is not None:
            raw = _inline(template_dir, subject).render(context)
        else:
            env = environment(template_dir, autoescape=part == "html", precompiled=use_precompiled())
            template = env.get_template(path)
            raw = template.render({**context, "part": part})
        rendered[part] = one_line(raw) if part == "subject" else tidy(raw)
    return RenderedMessage(**rendered)


def render_block(
    template_dir: Path, path: str, block: str, context: dict[str, Any], part: str = "text"
) -> str | None:
    """One block of a template as plain text (the lint reads the CTA this way), or of its HTML part
    (autoescaped); None if undefined."""
    template = environment(template_dir, autoescape=part == "html").get_template(path)
    if block not in template.blocks:
        return None
    return "".join(template.blocks[block](template.new_context({**context, "part": part}))).strip()
