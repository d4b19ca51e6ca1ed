"""`leadflow preview CADENCE [--lead lead.json]`: the whole sequence for one lead, before deploying.

Every touch rendered through the same code the step function sends with, at its
planned time in the lead's zone (from its timezone or country), from the rep routing would
make its owner, with the copy its form gets: text to the terminal, each email's HTML to out/preview/<cadence>/
with an index page. Touches with A/B variants show every arm, marking the one this
lead gets. Needs no AWS and no credentials.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from pathlib import Path
from textwrap import indent

from pydantic import ValidationError

from leadflow.cadence import variants
from leadflow.cadence.model import Cadence, Variant, load_cadences
from leadflow.cadence.schedule import locale_for, plan
from leadflow.intake.routing import explain, fit_score
from leadflow.models import Lead, LeadSubmission, MeetingStatus
from leadflow.operator_config import OperatorConfig, load_operator_config
from leadflow.send import lint, messages
from leadflow.send.render import RenderedMessage

PREVIEW_LEAD_ID = "0123456789abcdef0123"
PREVIEW_UNSUBSCRIBE_URL = "https://your-api.example/unsubscribe?token=preview"
DEFAULT_LEAD = {"email": "sarah.chen@northwind.example", **lint.SAMPLE_LEADS["typical"][1]}
# A post-meeting or rebook preview is about a meeting: one starting an hour after the lead arrives.
PREVIEW_MEETING_DELAY = timedelta(hours=1)
PREVIEW_MEETING_LENGTH = timedelta(minutes=30)


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
        **submission.lead_fields(),
    )


def route_text(lead_file: Path, *, cadence_dir: Path, template_dir: Path, config_file: Path) -> str:
    """`leadflow route`: the cadence a lead file would enter, and why (rule, band, score, form)."""
    config = load_operator_config(config_file)
    cadences = load_cadences(cadence_dir, template_dir)
    from leadflow import clock

    lead = load_lead(lead_file, clock.now())
    lead.score = fit_score(lead, config.scoring)
    lead.band = config.scoring.bands.band(lead.score)
    route = explain(lead, cadences, config)
    form = config.form(lead.form)
    if form:
        form_line = f"{lead.form} ({form.intent.value}: {form.label})"
    elif lead.form:
        form_line = f"{lead.form} (not in the forms catalogue: treated as no form)"
    else:
        form_line = "none"
    human = form is not None and form.intent.wants_a_human
    return "\n".join(
        [
            f"cadence: {route.cadence}",
            f"why: {route.why}",
            f"form: {form_line}",
            f"source: {lead.source or '-'} (attribution only)",
            f"owner: {preview_owner(lead, config)} (first in its rotation; intake takes turns)",
            "speed to lead: a call task for the owner within "
            f"{config.speed_to_lead.due_minutes} minutes of the post in their business hours"
            if human
            else "speed to lead: no (not a demo, pricing or contact-sales form)",
        ]
    )


def preview_owner(lead: Lead, config: OperatorConfig) -> str:
    """The rep routing would make the owner: the first owner rule the lead meets, its first rep."""
    rule = next(
        (
            rule
            for rule in config.owners
            if rule.matches(country=lead.country, source=lead.source, form=lead.form, band=lead.band)
        ),
        None,
    )
    return rule.reps[0] if rule else config.reps[0].id


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
    lead.score = fit_score(lead, config.scoring)
    lead.band = config.scoring.bands.band(lead.score)
    lead.owner = lead.owner or preview_owner(lead, config)
    rep = messages.owning_rep(lead, config)
    locale = locale_for(lead.timezone, lead.country, cadence.window)
    meeting = _preview_meeting(cadence, config, start)
    # A cadence on a meeting's clock starts when the meeting ends; every other one when the lead arrives.
    begins = start
    if cadence.meeting is not None and meeting is not None:
        begins = meeting.ends_at + timedelta(minutes=cadence.meeting.after_end_minutes)
    schedule = plan(cadence, begins, locale)
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
            now=schedule[number - 1],
            meeting=meeting,
        )
        return messages.compose(template_dir, cadence, number, variant, values)

    form = config.form(lead.form)
    lines = [
        f"{cadence.name}: {cadence.description}",
        f"Lead: {_describe(lead)}",
        f"Form: {lead.form + ' (' + form.label + ')' if form and lead.form else 'none (form-neutral copy)'}",
        f"Times in the lead's zone: {locale.zone}",
        f"From: {rep.name} <{rep.email}> (owner)",
    ]
    if meeting is not None:
        lines.append(
            f"Meeting ({meeting.status}): {meeting.starts_at.astimezone(locale.tz):%a %Y-%m-%d %H:%M %Z}"
        )
    lines.append("")
    index_rows = []
    for number, (touch, due) in enumerate(zip(cadence.touches, schedule, strict=True), start=1):
        assigned = variants.assign(lead.id, cadence.name, number, touch.variants)
        root = cadence.thread_root(number)
        thread_subject = None
        if root is not None:
            root_variant = variants.assign(lead.id, cadence.name, root, cadence.touch(root).variants)
            thread_subject = messages.reply_subject(compose(root, root_variant).subject)
        when = f"{due.astimezone(locale.tz):%a %Y-%m-%d %H:%M} {locale.zone}"
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
            if touch.channel.renders_as == "email":
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


def _preview_meeting(cadence: Cadence, config: OperatorConfig, start: datetime) -> messages.Meeting | None:
    """The sample meeting of a post-meeting (held) or rebook (cancelled) preview."""
    status = (
        MeetingStatus.BOOKED
        if cadence.meeting is not None
        else MeetingStatus.CANCELED
        if cadence.name == config.routing.meeting_missed_cadence
        else None
    )
    if status is None:
        return None
    starts = start + PREVIEW_MEETING_DELAY
    return messages.Meeting(status=status, starts_at=starts, ends_at=starts + PREVIEW_MEETING_LENGTH)


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
