"""Template lint: every touch's message, rendered for sample leads, checked against the playbooks' rules.

It runs when the runtime loads the templates (the step function's cold start, the
Sandbox), in `make test`, at synth, and as `leadflow lint`. Sample leads cover the
typical case and the edges: only an email address, very long fields, markup and
line breaks in fields. The rules (see RULES) come from the playbooks: short subjects
without spam triggers, short bodies, no "checking in", one call to action, and the
unsubscribe link and postal address in every email. The copy rules (issue 27: break-up,
statistic, relative-day, offer, reference) render each lead-facing message again under the fact
combinations that change its words (`scenarios`) and read what it says (`copy_problems`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from markupsafe import escape
from pydantic import BaseModel

from leadflow.cadence.model import Cadence, Channel, FitBand, Variant, first_match, load_cadences
from leadflow.cadence.schedule import Locale, locale_for
from leadflow.models import Lead, MeetingStatus
from leadflow.operator_config import OperatorConfig, Rep, load_operator_config
from leadflow.send import claims, copy_rules, days
from leadflow.send.messages import Meeting, compose, context, owning_rep, template_path
from leadflow.send.render import SIGNATURE_DELIMITER, RenderedMessage, render_block

RULES = {
    "render": "the template renders for every sample lead (no missing template, field or syntax error)",
    "subject-length": "subject present, at most 50 characters for typical leads and 60 for any lead",
    "subject-spam": "no spam trigger words or excessive punctuation in the subject",
    "subject-shouting": "no all-caps words longer than four letters in the subject",
    "body-length": "body at most 150 words, 100 for a cadence's first touch (typical leads)",
    "opener": "no 'just checking in' / 'following up' style opener",
    "cta": "exactly one call to action: a non-empty cta block asking one thing, no question elsewhere",
    "placeholder": "no 'None', no empty placeholder ('Hi ,'), whatever fields the lead left out",
    "html-escape": "lead fields are escaped in the HTML part",
    "unsubscribe": "the unsubscribe link in the text and HTML parts",
    "postal-address": "the sender's postal address in the text and HTML parts",
    "sms-segment": "an SMS fits one segment (160 GSM-7 or 70 Unicode characters) for typical leads",
    "sms-opt-out": "an SMS carries the opt-out hint (Reply STOP)",
    "talking-points": "a rep task has a title and at least two talking points",
    "claim": "for every form that can reach the cadence (and a lead without one), the message claims only "
    "what that form shows: no 'demo request' in a cadence a newsletter lead reaches by score, unless "
    "the template branches on the form",
    "weekday": "no weekday name the send time in the lead's zone does not give, no 'this week'",
    "break-up": "no break-up email ('closing the loop', 'my last note') to a lead who showed no buying "
    "intent (content, webinar, newsletter or no form, not met, not replied)",
    "statistic": "no statistics or benchmarks (percentages, '21 times likelier') in lead-facing copy "
    "unless config messages.quote_statistics opts in",
    "relative-day": "'today', 'tomorrow', 'yesterday' on the lead's calendar: never the weekday name of "
    "those days, never such a word no computed day gives, none in a draft a rep sends later",
    "offer": "offered meeting days only where the lead's and the owner's working hours overlap by a whole "
    "meeting, with those hours when shorter than the lead's day; none when they never meet",
    "reference": "a sentence that refers back ('that window', 'the offer', 'as I mentioned') has its "
    "referent earlier in the same email",
}

SUBJECT_TYPICAL_MAX = 50
SUBJECT_MAX = 60
BODY_MAX_WORDS = 150
FIRST_TOUCH_MAX_WORDS = 100
SPAM_TRIGGERS = re.compile(
    r"\b(free|guarantee[ds]?|act now|risk[- ]free|urgent|winner|cash|click here|limited time|"
    r"no obligation|buy now|100 ?%|once in a lifetime)\b|!!|\?\?|\$\$",
    re.IGNORECASE,
)
SHOUTING = re.compile(r"\b[A-Z]{5,}\b")
WEAK_OPENERS = re.compile(
    r"\b(just )?(checking in|check in|following up|follow up on|touching base|touch base|circling back|"
    r"just wanted to)\b",
    re.IGNORECASE,
)
PLACEHOLDER = re.compile(r"\bNone\b|\bundefined\b|(^|\s)[,.;:!?](\s|$)|\(\s*\)|\[\s*\]", re.MULTILINE)
WORD = re.compile(r"[\w'’-]+")
QUESTION_FREE_BLOCKS = ("opener", "value", "proof", "ps")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€")

_SAMPLE_TIME = datetime(2026, 11, 23, 9, tzinfo=UTC)
# Send times the weekday rule renders at (a Monday morning, a Wednesday and a Friday afternoon in
# New York): a weekday written into a template is wrong at one of them at least.
SEND_TIMES = (_SAMPLE_TIME, datetime(2026, 11, 25, 19, tzinfo=UTC), datetime(2026, 11, 27, 20, tzinfo=UTC))
# Where the copy rules also put the lead: a few hours from a New York owner, and half a world away
# (Tokyo shares no working hour with New York, and exactly none with Berlin in winter).
LEAD_ZONES = ("Europe/London", "Asia/Tokyo")
SAMPLE_PHONE = "+12025550143"
SAMPLE_BOOKING_URL = "https://cal.example/rep/20min"
MIDNIGHT_MARGIN = timedelta(minutes=10)
RELATIVE_DAY = re.compile(r"\b(today|tomorrow|yesterday)\b", re.IGNORECASE)
ON_RELATIVE_DAY = re.compile(r"\bon (today|tomorrow|yesterday)\b", re.IGNORECASE)
# name -> (typical?, fields). Typical leads bound lengths; every lead must render cleanly.
SAMPLE_LEADS: dict[str, tuple[bool, dict[str, str]]] = {
    "typical": (
        True,
        {
            "first_name": "Sarah",
            "last_name": "Chen",
            "company": "Northwind Analytics",
            "title": "Marketing Manager",
            "source": "demo-request",
        },
    ),
    "typical-longer": (
        True,
        {
            "first_name": "Christopher",
            "last_name": "Vanderbilt-Okonkwo",
            "company": "Initech Global Solutions",
            "title": "VP Revenue Operations",
            "source": "pricing-page",
        },
    ),
    "email-only": (False, {}),
    "very-long": (
        False,
        {
            "first_name": "Maximiliana-Alexandrina " * 4,
            "last_name": "Wolfeschlegelsteinhausenbergerdorff " * 2,
            "company": "The Extraordinarily Long Name International Holdings Group " * 3,
            "title": "Senior Vice President of Worldwide Strategic Partnerships " * 3,
            "source": "webinar-" + "x" * 80,
        },
    ),
    "markup": (
        False,
        {
            "first_name": "<script>alert(1)</script>",
            "last_name": 'O\'Brien & "Sons"',
            "company": "Tom & Jerry's <b>Cheese</b>",
            "title": "Head of Growth\r\nBcc: attacker@evil.example",
            "source": "<img src=x onerror=alert(1)>",
        },
    ),
}
MARKUP_IN_FIELDS = ("<script>", "<b>", "<img")
UNSUBSCRIBE_URL = "https://leadflow.example/unsubscribe?token=" + "a" * 37


class Violation(BaseModel):
    template: str
    rule: str
    message: str  # the problem for the first sample lead that shows it
    leads: list[str]  # the sample leads that show it

    def __str__(self) -> str:
        return f"{self.template}: {self.rule}: {self.message} (leads: {', '.join(self.leads)})"


class TemplateLintError(ValueError):
    """Shipped templates break the lint; the message lists every violation."""


@dataclass(frozen=True)
class Target:
    """One message to check: a touch of a cadence in one of its variants."""

    cadence: Cadence
    touch: int
    variant: Variant | None = None

    @property
    def channel(self) -> str:
        """The frame it renders with: a rep's draft (manual_email) is checked as the email it becomes."""
        return self.cadence.touch(self.touch).channel.renders_as

    @property
    def automated(self) -> bool:
        """Sent at its planned time (email, SMS), not a draft a rep sends later."""
        return self.cadence.touch(self.touch).automated

    @property
    def path(self) -> str:
        return template_path(self.cadence, self.touch, self.variant)

    @property
    def label(self) -> str:
        if self.variant and self.variant.subject:
            return f"{self.path} (variant {self.variant.name} subject)"
        return self.path


def sample_lead(name: str) -> Lead:
    return Lead.model_validate(
        {"id": "0" * 20, "email": "lead@example.com", "created_at": _SAMPLE_TIME, **SAMPLE_LEADS[name][1]}
    )


def targets(cadences: Iterable[Cadence], template_dir: Path) -> list[Target]:
    """Every message to check; rep tasks only when they have a template (else the cadence's instruction)."""
    found = []
    for cadence in cadences:
        for number, touch in enumerate(cadence.touches, start=1):
            if not touch.automated and not (template_dir / f"{cadence.template(number)}.j2").is_file():
                continue
            for variant in touch.variants or (None,):
                found.append(Target(cadence, number, variant))
    return found


def reachable_forms(cadences: Iterable[Cadence], config: OperatorConfig) -> dict[str, tuple[str | None, ...]]:
    """The catalogue forms (None: a lead without a form) that can enter each cadence.

    Routing decides for routable cadences and the default, over every band and lead type; a cadence
    entered by a meeting or by enrollment can hold a lead from any form.
    """
    known = list(cadences)
    forms: tuple[str | None, ...] = (*config.forms, None)
    types = {"inbound", *(kind for cadence in known for rule in cadence.match for kind in rule.types)}
    reach: dict[str, list[str | None]] = {cadence.name: [] for cadence in known}
    for form in forms:
        for band in FitBand:
            for lead_type in sorted(types):
                found = first_match(known, source=None, form=form, band=band, lead_type=lead_type)
                name = found[0].name if found else config.routing.default_cadence
                if name in reach and form not in reach[name]:
                    reach[name].append(form)
    return {
        cadence.name: tuple(reach[cadence.name]) if cadence.routable or reach[cadence.name] else forms
        for cadence in known
    }


def sample_meetings(cadence: Cadence, config: OperatorConfig, now: datetime) -> tuple[Meeting | None, ...]:
    """The meetings a cadence's messages can be about: held (post-meeting), missed or cancelled (rebook)."""
    starts = now - timedelta(hours=2)
    if cadence.meeting is not None:
        return (
            Meeting(status=MeetingStatus.BOOKED, starts_at=starts, ends_at=starts + timedelta(minutes=30)),
        )
    if cadence.name == config.routing.meeting_missed_cadence:
        return tuple(
            Meeting(status=status, starts_at=starts, ends_at=starts + timedelta(minutes=30))
            for status in (MeetingStatus.CANCELED, MeetingStatus.NO_SHOW)
        )
    return (None,)


def lint(cadences: Iterable[Cadence], template_dir: Path, config: OperatorConfig) -> list[Violation]:
    known = list(cadences)
    reach = reachable_forms(known, config)
    return [
        violation
        for target in targets(known, template_dir)
        for violation in lint_target(target, template_dir, config, reach[target.cadence.name])
    ]


def break_up_forms(
    cadences: Iterable[Cadence], template_dir: Path, config: OperatorConfig
) -> dict[str, dict[int, frozenset[str | None]]]:
    """Per cadence and touch number, the forms (None: a lead without one) whose leads get a break-up
    there: the copy rule's own reading (`copy_rules.break_up`) of the message rendered for a typical
    lead of each form that can reach the cadence, in every variant. The lint judges these renderings;
    the report counts a break-up's replies over the leads it went to (not by the touch's name)."""
    known = list(cadences)
    reach = reachable_forms(known, config)
    found: dict[str, dict[int, set[str | None]]] = {cadence.name: {} for cadence in known}
    for target in targets(known, template_dir):
        if not target.cadence.touch(target.touch).channel.needs_template:
            continue
        meeting = sample_meetings(target.cadence, config, _SAMPLE_TIME)[0]
        for form in reach[target.cadence.name]:
            lead = sample_lead("typical").model_copy(update={"form": form})
            values = _values(target, lead, config, _SAMPLE_TIME, meeting)
            rendered = compose(template_dir, target.cadence, target.touch, target.variant, values)
            body = rendered.text.split(f"\n{SIGNATURE_DELIMITER}\n")[0]
            if copy_rules.break_up(f"{rendered.subject}\n{body}") is not None:
                found[target.cadence.name].setdefault(target.touch, set()).add(form)
    return {
        name: {touch: frozenset(forms) for touch, forms in by_touch.items()}
        for name, by_touch in found.items()
    }


def _values(
    target: Target,
    lead: Lead,
    config: OperatorConfig,
    now: datetime,
    meeting: Meeting | None,
    rep: Rep | None = None,
) -> dict[str, object]:
    return context(
        lead,
        rep or owning_rep(lead, config),
        config,
        cadence=target.cadence,
        touch=target.touch,
        unsubscribe_url=UNSUBSCRIBE_URL,
        variant=target.variant,
        now=now,
        meeting=meeting,
    )


@dataclass(frozen=True)
class Scenario:
    """One combination of facts a lead-facing message is rendered under for the copy rules."""

    label: str
    lead: Lead
    rep: Rep
    now: datetime
    meeting: Meeting | None

    def locale(self, cadence: Cadence) -> Locale:
        return locale_for(self.lead.timezone, self.lead.country, cadence.window)

    def today(self, cadence: Cadence) -> date:
        """The send day on the lead's calendar."""
        return self.now.astimezone(self.locale(cadence).tz).date()

    def shared_hours(self, cadence: Cadence, sent_now: bool) -> days.Offer:
        """The days (and hours) the lead's and the owner's working hours share after the send day,
        named as the message names them (a draft names weekdays)."""
        return days.offer(self.now, days.lead_hours(self.locale(cadence)), self.rep.hours, sent_now)


def _rep_variants(config: OperatorConfig) -> tuple[Rep, ...]:
    """The first owner as configured and with its booking link toggled: the copy branches on it."""
    rep = config.reps[0]
    toggled = None if rep.scheduling_url else SAMPLE_BOOKING_URL
    return (rep, rep.model_copy(update={"scheduling_url": toggled}))


def _midnight_meetings(
    cadence: Cadence, config: OperatorConfig, zone: ZoneInfo, now: datetime
) -> list[Meeting]:
    """Meetings ten minutes either side of the lead's midnights around `now` (past ones for every
    status the cadence sees, the next midnight for a cancelled one): today vs yesterday, tomorrow."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    found = []
    for sample in sample_meetings(cadence, config, now):
        if sample is None:
            continue
        edges = (
            [midnight, midnight + timedelta(days=1)]
            if sample.status is MeetingStatus.CANCELED
            else [midnight]
        )
        for edge in edges:
            for starts in (edge - MIDNIGHT_MARGIN, edge + MIDNIGHT_MARGIN):
                found.append(
                    sample.model_copy(update={"starts_at": starts, "ends_at": starts + timedelta(minutes=30)})
                )
    return found


def scenarios(target: Target, config: OperatorConfig, forms: tuple[str | None, ...]) -> list[Scenario]:
    """The fact combinations the copy rules check a message under:
    - facts: every form that can reach the cadence x its sample meetings x the owner with and without
      a booking link, at the three send times (lead in the cadence's zone, no phone);
    - calendars: the lead (with a phone) in the cadence's zone and each of LEAD_ZONES x each owner;
    - midnights: meetings either side of the lead's midnight, the message sent that morning."""
    cadence = target.cadence
    typical = sample_lead("typical")
    found = []
    for form, rep, now in itertools.product(forms, _rep_variants(config), SEND_TIMES):
        link = "" if rep.scheduling_url else ", no booking link"
        for meeting in sample_meetings(cadence, config, now):
            lead = typical.model_copy(update={"form": form})
            found.append(Scenario(f"typical, form {form or 'none'}{link}", lead, rep, now, meeting))
    for form, zone, rep in itertools.product(forms, (None, *LEAD_ZONES), config.reps):
        lead = typical.model_copy(update={"form": form, "timezone": zone, "phone": SAMPLE_PHONE})
        for meeting in sample_meetings(cadence, config, _SAMPLE_TIME):
            label = f"typical in {zone or cadence.window.timezone}, form {form or 'none'}, owner {rep.id}"
            found.append(Scenario(label, lead, rep, _SAMPLE_TIME, meeting))
    for zone_name in (None, *LEAD_ZONES):
        lead = typical.model_copy(update={"form": forms[0], "timezone": zone_name})
        tz = locale_for(zone_name, None, cadence.window).tz
        morning = datetime.combine(SEND_TIMES[1].astimezone(tz).date(), time(9, 30), tzinfo=tz)
        for meeting in _midnight_meetings(cadence, config, tz, morning):
            at = f"{meeting.starts_at.astimezone(tz):%a %H:%M} {tz.key}"
            label = f"typical, meeting {meeting.status.value} at {at}"
            found.append(Scenario(label, lead, config.reps[0], morning, meeting))
    return found


def copy_problems(
    target: Target,
    template_dir: Path,
    config: OperatorConfig,
    values: dict[str, object],
    scenario: Scenario,
) -> list[tuple[str, str]]:
    """The copy rules for one rendering: subject and body, not the signature or footer."""
    rendered = compose(template_dir, target.cadence, target.touch, target.variant, values)
    body = rendered.text.split(f"\n{SIGNATURE_DELIMITER}\n")[0]
    text = f"{rendered.subject}\n{body}"
    ask = render_block(template_dir, target.path, "cta", values) or body
    # An SMS must still fit one segment with the offer's hours in it (a London lead, say).
    segment = [problem for problem in _sms_problems(body, True) if problem[0] == "sms-segment"]
    return [
        *(segment if target.channel == Channel.SMS.value else []),
        *_claim_problems(text, values),
        *_weekday_problems(text, values),
        *_break_up_problems(text, values),
        *_statistic_problems(text, config),
        *_relative_day_problems(text, values, scenario.today(target.cadence), target.automated),
        *_offer_problems(ask, values, scenario.shared_hours(target.cadence, target.automated)),
        *_reference_problems(text),
    ]


def _claim_problems(text: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    form, meeting = values["form"], values["meeting"]
    facts = claims.facts_for(form["intent"], meeting["status"] if meeting else None)
    return [
        ("claim", f"says {claim} to a lead whose form is {form['id'] or 'none'}")
        for claim in claims.unsupported(text, facts)
    ]


def _weekday_problems(text: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("weekday", f"names {day}, not computed from the send time")
        for day in claims.uncomputed_days(text, values)
    ]


def _break_up_problems(text: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    said = copy_rules.break_up(text)
    if said is None or values["qualified"]:
        return []
    form = values["form"]["id"] or "none"
    return [("break-up", f"a break-up ({said!r}) to a lead who showed no buying intent (form {form})")]


def _statistic_problems(text: str, config: OperatorConfig) -> list[tuple[str, str]]:
    if config.messages.quote_statistics:
        return []
    return [
        ("statistic", f"quotes {number!r}: statistics need messages.quote_statistics")
        for number in copy_rules.statistics(text)
    ]


def _day_words(values: dict[str, Any]) -> set[str]:
    """Every day word the context computed: offered days and the meeting's day."""
    meeting = values["meeting"] or {}
    return {*values["offer"]["days"], *(meeting.get(key) for key in ("day", "relative") if meeting)}


def _relative_day_problems(
    text: str, values: dict[str, Any], today: date, sent_now: bool
) -> list[tuple[str, str]]:
    if not sent_now:  # a rep's draft goes out when they send it: no day is today's for sure
        return [
            ("relative-day", f"says {word!r} in a draft the rep sends later: name the day")
            for word in RELATIVE_DAY.findall(text)
        ]
    computed = _day_words(values)
    near = {f"{today + timedelta(days=delta):%A}": word for delta, word in days.RELATIVE.items()}
    problems = [
        ("relative-day", f"names {name} on the lead's {near[name]}: say {near[name]!r}")
        for name in claims.WEEKDAY_NAME.findall(text)
        if name in near and name in computed
    ]
    problems += [
        ("relative-day", f"says {word!r}, which no day computed from the send time is")
        for word in RELATIVE_DAY.findall(text)
        if word.lower() not in computed
    ]
    problems += [
        ("relative-day", f"says {match.group(0)!r}: a relative day takes no 'on' (use meeting.relative)")
        for match in ON_RELATIVE_DAY.finditer(text)
    ]
    return problems


def _offer_problems(ask: str, values: dict[str, Any], shared: days.Offer) -> list[tuple[str, str]]:
    """Days named in the ask (the cta block, or an SMS) other than the meeting's must be days the
    lead's and the owner's hours share (`shared`, computed from the scenario, not the context), with
    those hours when shorter than the lead's day."""
    meeting = values["meeting"] or {}
    theirs = {
        word.removeprefix("on ").split()[0] for word in (meeting.get("day"), meeting.get("relative")) if word
    }
    named = [*claims.WEEKDAY_NAME.findall(ask), *(word.lower() for word in RELATIVE_DAY.findall(ask))]
    offered = [day for day in named if day not in theirs]
    allowed = {word.split()[0] for word in shared.days}
    problems = [
        ("offer", f"offers {day}: not a day the lead's and the owner's working hours share")
        for day in offered
        if day not in allowed
    ]
    if offered and not problems and shared.window and shared.window not in ask:
        problems.append(
            ("offer", f"offers {', '.join(offered)} without the hours both work ({shared.window})")
        )
    return problems


def _reference_problems(text: str) -> list[tuple[str, str]]:
    return [
        ("reference", f"refers back with {said} but its referent is not earlier in this email")
        for said in copy_rules.dangling_references(text)
    ]


def lint_target(
    target: Target,
    template_dir: Path,
    config: OperatorConfig,
    forms: tuple[str | None, ...] = (None,),
) -> list[Violation]:
    """The target's violations, one per rule broken, naming the sample leads that break it."""
    found: dict[str, Violation] = {}

    def report(rule: str, message: str, sample: str) -> None:
        if rule in found:
            if sample not in found[rule].leads:
                found[rule].leads.append(sample)
        else:
            found[rule] = Violation(template=target.label, rule=rule, message=message, leads=[sample])

    meetings = sample_meetings(target.cadence, config, _SAMPLE_TIME)
    # Every sample lead from every form that can reach the cadence: the copy branches on the form.
    for form, (sample, (typical, _)) in itertools.product(forms, SAMPLE_LEADS.items()):
        lead = sample_lead(sample).model_copy(update={"form": form})
        values = _values(target, lead, config, _SAMPLE_TIME, meetings[0])
        try:
            rendered = compose(template_dir, target.cadence, target.touch, target.variant, values)
            blocks = {
                block: render_block(template_dir, target.path, block, values)
                for block in ("cta", *QUESTION_FREE_BLOCKS)
            }
        except (TemplateError, OSError) as error:
            report("render", str(error), sample)
            continue
        for rule, message in check(target, rendered, blocks, config, sample, typical):
            report(rule, message, sample)
    if "render" in found or not target.cadence.touch(target.touch).channel.needs_template:
        return list(found.values())  # rep tasks are read by reps, not leads
    for scenario in scenarios(target, config, forms):
        values = _values(target, scenario.lead, config, scenario.now, scenario.meeting, scenario.rep)
        try:
            problems = copy_problems(target, template_dir, config, values, scenario)
        except (TemplateError, OSError) as error:
            problems = [("render", str(error))]
        for rule, message in problems:
            report(rule, message, scenario.label)
    return list(found.values())


def check(
    target: Target,
    rendered: RenderedMessage,
    blocks: dict[str, str | None],
    config: OperatorConfig,
    sample: str,
    typical: bool,
) -> list[tuple[str, str]]:
    """Every rule for one rendered message: (rule, problem) pairs."""
    problems = _placeholder_problems(rendered)
    if sample == "markup" and any(markup in rendered.html for markup in MARKUP_IN_FIELDS):
        problems.append(("html-escape", "markup from a lead field appears unescaped in the HTML part"))
    if target.channel == Channel.EMAIL.value:
        problems += _subject_problems(rendered.subject, typical)
        problems += _body_problems(rendered.text, blocks, target.touch == 1, typical)
        problems += _footer_problems(rendered, config)
    elif target.channel == Channel.SMS.value:
        problems += _sms_problems(rendered.text, typical)
    else:
        points = [line for line in rendered.text.splitlines() if line.startswith("- ")]
        if not rendered.subject or len(points) < 2:
            problems.append(("talking-points", f"title {rendered.subject!r}, {len(points)} talking points"))
    return problems


def _placeholder_problems(rendered: RenderedMessage) -> list[tuple[str, str]]:
    problems = []
    html_text = re.sub(r"<[^>]*>", " ", rendered.html)
    for part, text in (("subject", rendered.subject), ("text", rendered.text), ("html", html_text)):
        match = PLACEHOLDER.search(text)
        if match:
            snippet = text[max(0, match.start() - 20) : match.end() + 20].strip()
            problems.append(("placeholder", f"{part} part has an empty or None field near {snippet!r}"))
    return problems


def _subject_problems(subject: str, typical: bool) -> list[tuple[str, str]]:
    problems = []
    limit = SUBJECT_TYPICAL_MAX if typical else SUBJECT_MAX
    if not subject:
        problems.append(("subject-length", "the subject is empty"))
    elif len(subject) > limit:
        shown = subject if len(subject) <= 70 else subject[:67] + "..."
        problems.append(("subject-length", f"subject {shown!r} is {len(subject)} characters (max {limit})"))
    spam = SPAM_TRIGGERS.search(subject)
    if spam:
        problems.append(("subject-spam", f"subject {subject!r} contains {spam.group(0)!r}"))
    shouting = SHOUTING.findall(subject)
    if shouting:
        problems.append(("subject-shouting", f"subject {subject!r} shouts {', '.join(shouting)}"))
    return problems


def _body_problems(
    text: str, blocks: dict[str, str | None], first_touch: bool, typical: bool
) -> list[tuple[str, str]]:
    problems = []
    body = text.split(f"\n{SIGNATURE_DELIMITER}\n")[0]
    limit = FIRST_TOUCH_MAX_WORDS if first_touch else BODY_MAX_WORDS
    words = len(WORD.findall(body))
    if typical and words > limit:
        problems.append(("body-length", f"body has {words} words (max {limit})"))
    paragraphs = body.split("\n\n")
    opener = paragraphs[1] if len(paragraphs) > 1 else body
    weak = WEAK_OPENERS.search(opener) or re.search(r"just checking in", body, re.IGNORECASE)
    if weak:
        problems.append(("opener", f"the opener says {weak.group(0)!r}: open with the context instead"))
    cta = blocks.get("cta")
    if not cta:
        problems.append(("cta", "no call to action: fill the cta block"))
    elif cta.count("?") > 1 or len(re.findall(r"https?://", cta)) > 1:
        problems.append(("cta", f"the call to action asks more than one thing: {cta!r}"))
    for block in QUESTION_FREE_BLOCKS:
        if "?" in (blocks.get(block) or ""):
            problems.append(("cta", f"the {block} block asks a question: ask only in the cta block"))
    return problems


def _footer_problems(rendered: RenderedMessage, config: OperatorConfig) -> list[tuple[str, str]]:
    problems = []
    address = config.company.postal_address
    if UNSUBSCRIBE_URL not in rendered.text or f'href="{escape(UNSUBSCRIBE_URL)}"' not in rendered.html:
        problems.append(("unsubscribe", "the unsubscribe link is missing from the text or HTML part"))
    if address not in rendered.text or str(escape(address)) not in rendered.html:
        problems.append(("postal-address", "the postal address is missing from the text or HTML part"))
    return problems


def sms_length(text: str) -> tuple[int, int]:
    """(length, single-segment limit): GSM-7 counts extension characters twice; else UCS-2."""
    if all(char in GSM7 or char in GSM7_EXTENDED for char in text):
        return sum(2 if char in GSM7_EXTENDED else 1 for char in text), 160
    return len(text.encode("utf-16-le")) // 2, 70


def _sms_problems(text: str, typical: bool) -> list[tuple[str, str]]:
    problems = []
    length, limit = sms_length(text)
    if typical and length > limit:
        problems.append(("sms-segment", f"the SMS is {length} characters (one segment holds {limit})"))
    if not re.search(r"\bSTOP\b", text):
        problems.append(("sms-opt-out", "no opt-out hint (Reply STOP to opt out)"))
    return problems


def lint_files(cadence_dir: Path, template_dir: Path, config_file: Path) -> list[Violation]:
    return lint(
        load_cadences(cadence_dir, template_dir).values(), template_dir, load_operator_config(config_file)
    )


def ensure_clean(cadence_dir: Path, template_dir: Path, config_file: Path) -> None:
    """Raise TemplateLintError listing every violation; run once per process and content of the files
    when templates load (a test's Sandbox on its own copy of the same files is not linted again: the
    lint renders every message under every fact combination, ~1 s of CPU)."""
    content = _content(cadence_dir, template_dir, config_file)
    if content in _clean:
        return
    violations = lint_files(cadence_dir, template_dir, config_file)
    if violations:
        listing = "\n".join(f"  {violation}" for violation in violations)
        raise TemplateLintError(f"{len(violations)} template lint violations:\n{listing}")
    _clean.add(content)


_clean: set[str] = set()  # digests of the files found clean in this process


def _content(cadence_dir: Path, template_dir: Path, config_file: Path) -> str:
    """sha256 over every file the lint reads: the cadence and template directories' and the config."""
    hashed = hashlib.sha256()
    for directory in (cadence_dir, template_dir):
        hashed.update(b"\0directory\0")
        for path in sorted(path for path in directory.rglob("*") if path.is_file()):
            data = path.read_bytes()
            hashed.update(f"{path.relative_to(directory)}\0{len(data)}\0".encode() + data)
    hashed.update(b"\0config\0" + config_file.read_bytes())
    return hashed.hexdigest()
