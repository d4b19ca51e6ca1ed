"""`leadflow preview CADENCE [--lead lead.json]`: the whole sequence for one lead, before deploying.

Every touch rendered through the same code the step function sends with, at its
planned time: text to the terminal, each email's HTML to out/preview/<cadence>/
with an index page. Touches with A/B variants show every arm, marking the one this
lead gets. Needs no AWS and no credentials.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from textwrap import indent

from pydantic import ValidationError

from leadflow.cadence import variants
from leadflow.cadence.model import Cadence, Variant, load_cadences
from leadflow.cadence.schedule import plan
from leadflow.models import Lead, LeadSubmission
from leadflow.operator_config import load_operator_config
from leadflow.send import lint, messages
from leadflow.send.render import RenderedMessage

PREVIEW_LEAD_ID = "0123456789abcdef0123"
PREVIEW_UNSUBSCRIBE_URL = "https://your-api.example/unsubscribe?token=preview"
DEFAULT_LEAD = {"email": "sarah.chen@northwind.example", **lint.SAMPLE_LEADS["typical"][1]}


class PreviewError(ValueError):
    """A preview that cannot be made: unknown cadence or an invalid lead file."""


def load_lead(path: Path | None, arrived_at: datetime) -> Lead:
    """The lead file validated as the API validates a post (same model, same messages)."""
    if path is None:
        raw: object = DEFAULT_LEAD
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PreviewError(f"{path}: cannot read the lead: {error}") from error
    try:
        submission = LeadSubmission.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in error.errors())
        raise PreviewError(f"{path}: invalid lead: {problems}") from error
    return Lead(
        id=PREVIEW_LEAD_ID,
        email=submission.email,
        created_at=arrived_at,
        **submission.model_dump(exclude={"email", "message"}, exclude_none=True),
    )


def preview(
    cadence_name: str,
    *,
    lead_file: Path | None,
    start: datetime,
    out_dir: Path,
    cadence_dir: Path,
    template_dir: Path,
    config_file: Path,
) -> str:
    """Render the cadence for the lead; write HTML files; return the terminal text."""
    cadences = load_cadences(cadence_dir, template_dir)
    if cadence_name not in cadences:
        raise PreviewError(f"no cadence {cadence_name!r}; cadences: {', '.join(sorted(cadences))}")
    cadence = cadences[cadence_name]
    config = load_operator_config(config_file)
    lead = load_lead(lead_file, start)
    rep = messages.owning_rep(lead, config)
    target_dir = out_dir / cadence.name
    target_dir.mkdir(parents=True, exist_ok=True)

    def compose(number: int, variant: Variant | None) -> RenderedMessage:
        values = messages.context(
            lead,
            rep,
            config,
            cadence=cadence,
            touch=number,
            unsubscribe_url=PREVIEW_UNSUBSCRIBE_URL,
            variant=variant,
        )
        return messages.compose(template_dir, cadence, number, variant, values)

    lines = [
        f"{cadence.name}: {cadence.description}",
        f"Lead: {_describe(lead)}",
        f"From: {rep.name} <{rep.email}>",
        "",
    ]
    index_rows = []
    for number, (touch, due) in enumerate(zip(cadence.touches, plan(cadence, start), strict=True), start=1):
        assigned = variants.assign(lead.id, cadence.name, number, touch.variants)
        root = cadence.thread_root(number)
        thread_subject = None
        if root is not None:
            root_variant = variants.assign(lead.id, cadence.name, root, cadence.touch(root).variants)
            thread_subject = messages.reply_subject(compose(root, root_variant).subject)
        when = due.strftime("%a %Y-%m-%d %H:%M UTC")
        lines.append(f"Touch {number} · day {touch.day} · {touch.channel.value} · {touch.name} · {when}")
        if not touch.automated and not (template_dir / f"{cadence.template(number)}.j2").is_file():
            lines.append(f"  Rep task: {touch.instruction or 'the channel’s default talking points'}")
            continue
        for variant in touch.variants or (None,):
            rendered = compose(number, variant)
            subject = thread_subject or rendered.subject
            suffix = f"-{variant.name}" if variant else ""
            if variant:
                mark = " (this lead)" if variant == assigned else ""
                lines.append(f"  Variant {variant.name}{mark}")
            if touch.channel.value == "email":
                thread = "replies in the first email's thread" if root else "starts a thread"
                lines.append(f"  Subject: {subject}   [{thread}]")
                page = target_dir / f"{number:02d}-{touch.name}{suffix}.html"
                page.write_text(rendered.html, encoding="utf-8")
                lines.append(f"  HTML: {page}")
                index_rows.append((number, when, touch.name + suffix, subject, page.name))
            elif rendered.subject:
                lines.append(f"  Task: {rendered.subject}")
            lines.append(indent(rendered.text, "    "))
            lines.append("")
    (target_dir / "index.html").write_text(_index(cadence, lead, index_rows), encoding="utf-8")
    lines.append(f"Index of the HTML emails: {target_dir / 'index.html'}")
    return "\n".join(lines)


def _describe(lead: Lead) -> str:
    fields = messages.lead_fields(lead)
    who = fields["full_name"] or "(no name)"
    if fields.get("title"):
        who += f", {fields['title']}"
    if fields.get("company"):
        who += f" at {fields['company']}"
    return f"{who} <{lead.email}>"


def _index(cadence: Cadence, lead: Lead, rows: list[tuple[int, str, str, str, str]]) -> str:
    items = "\n".join(
        f"<tr><td>{number}</td><td>{html.escape(when)}</td><td>{html.escape(name)}</td>"
        f'<td><a href="{html.escape(page)}">{html.escape(subject)}</a></td></tr>'
        for number, when, name, subject, page in rows
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(cadence.name)} preview</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif">'
        f"<h1>{html.escape(cadence.name)}</h1><p>{html.escape(_describe(lead))}</p>"
        f"<table cellpadding=6><tr><th>#</th><th>planned</th><th>touch</th><th>subject</th></tr>{items}"
        "</table></body></html>\n"
    )
