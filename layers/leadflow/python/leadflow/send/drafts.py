"""Steps the rep writes (`channel: manual_email`): a draft in the owner's queue, sent or skipped.

At its moment the step renders the touch's template with the same renderer and facts as an
automatic email and stores it on the rep's task (greeting to signature; the compliance footer is
added at the send, so an edit cannot drop it). The execution goes on at once. From the task page
the rep edits and sends it, or skips it:

- A send claims the task (open -> sending, one conditional write: a double-submit sends once),
  re-checks the lead as an automatic send does (stopped, opted out, bounced, suppressed; the
  reputation guard's pause and the domain's daily cap), then sends through SES in the lead's
  thread (In-Reply-To/References of the last email we sent the lead), with the footer and the
  one-click unsubscribe headers. The touch record becomes `sent` (a reply or an SES event finds it).
- A skip, or a draft still open when the cadence's next touch runs, records the touch `skipped`
  (skip_reason `rep_skipped` / `expired`).
- A slot the rep has not filled (`[[ ... ]]` in the template: what only the rep knows, e.g. the
  points a meeting covered) blocks the send: the draft never promises what it does not contain.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, field_validator

from leadflow import clock, keys
from leadflow.cadence import versions
from leadflow.cadence.model import Cadence, Channel
from leadflow.config import operator_config, settings
from leadflow.models import CONTACTABLE, Enrollment, Lead, RunStatus, Task, TaskStatus, Touch, TouchStatus
from leadflow.observability import logger, metrics
from leadflow.send import guard, mail, messages
from leadflow.send.render import render_block
from leadflow.store import enrollment_items, lead_items, sending_items, suppression_items, task_items

# A slot in a manual_email template the rep must fill before the draft can go: [[what to write]].
SLOT = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
SKIPPED_BY_REP = "rep_skipped"
EXPIRED = "expired"


class DraftPost(BaseModel):
    """What the task page's draft form posts (POST /tasks/{task_id}/draft)."""

    action: str = Field(pattern=r"^(send|skip)$", description="send the draft as edited, or skip it")
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=10_000)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return " ".join(value.split()) if value is not None else None

    @field_validator("body")
    @classmethod
    def _no_open_slot(cls, value: str | None) -> str | None:
        if value is None:
            return None
        slot = SLOT.search(value)
        if slot:
            raise ValueError(f"write your own text in place of [[{slot.group(1).strip()}]] before sending")
        return value.replace("\r\n", "\n").strip()

    def to_send(self) -> tuple[str, str]:
        """The subject and body of a send; ValueError naming the empty field."""
        if not self.subject:
            raise ValueError("subject")
        if not self.body:
            raise ValueError("body")
        return self.subject, self.body


class Refused(Exception):
    """The draft cannot be sent or skipped now; `message` says why for the page, `status` its HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _values(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, number: int, now: datetime
) -> dict[str, Any]:
    url = messages.unsubscribe_url(lead.id, enrollment.number, number)
    return messages.touch_context(lead, cadence, enrollment, number, now, unsubscribe_url=url)


# The email frame every email template extends: its footer block is the compliance footer.
EMAIL_FRAME = "_layout.j2"


def _footer(values: dict[str, Any], part: str) -> str:
    """The frame's footer (why they get it, one-click unsubscribe, postal address) as text or HTML."""
    return render_block(settings().template_dir, EMAIL_FRAME, "footer", values, part) or ""


def last_sent(lead_id: str) -> Touch | None:
    """The last email we sent the lead (any cadence): a rep's draft replies in its thread."""
    sent = [
        touch
        for touch in enrollment_items.touches(lead_id)
        if touch.status is TouchStatus.SENT and touch.ses_message_id
    ]
    return max(sent, key=lambda touch: touch.sent_at) if sent else None


def compose_draft(
    lead: Lead, cadence: Cadence, enrollment: Enrollment, number: int, now: datetime
) -> tuple[str, str]:
    """The draft's subject and body: the touch's template rendered for the lead, without the footer.

    In a thread (we emailed the lead before), the subject is the thread's ("Re: ...") as an
    automatic follow-up's is; the rep may change it.
    """
    values = _values(lead, cadence, enrollment, number, now)
    rendered = messages.compose(settings().template_dir, cadence, number, None, values)
    footer = _footer(values, "text")
    if not footer or not rendered.text.endswith(footer):
        raise ValueError(
            f"{cadence.template(number)}: the email frame's footer is not at the end of the text"
        )
    body = rendered.text.removesuffix(footer).rstrip()
    parent = last_sent(lead.id)
    subject = messages.reply_subject(parent.subject) if parent and parent.subject else rendered.subject
    return subject, body


def _html_body(body: str) -> str:
    """The rep's plain text as HTML paragraphs (escaped: the rep's text is text, never markup)."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", body) if part.strip()]
    return "\n".join(
        "<p>" + "<br>".join(html.escape(line) for line in paragraph.splitlines()) + "</p>"
        for paragraph in paragraphs
    )


def _stopped(lead: Lead | None, enrollment: Enrollment | None) -> Refused | None:
    """Why nothing may go to this lead any more (the checks of an automatic send), or None."""
    if lead is None or enrollment is None:
        return Refused(404, "This lead is no longer on file (erased). Nothing was sent.")
    if lead.status not in CONTACTABLE:
        reason = f" ({lead.status_reason})" if lead.status_reason else ""
        return Refused(
            409, f"The lead is {lead.status.value}{reason}: nothing was sent, and nothing will be."
        )
    if suppression_items.suppression(keys.email_key(lead.email)):
        return Refused(409, "The lead's address is suppressed (a bounce or a complaint): nothing was sent.")
    if enrollment.run_status is RunStatus.STOPPED:
        return Refused(409, "The lead's cadence was stopped: nothing was sent.")
    return None


def _closed(task: Task) -> Refused:
    words = {
        TaskStatus.SENT: "This draft was already sent",
        TaskStatus.SENDING: "This draft is being sent (or its send was interrupted: check the lead's mail)",
        TaskStatus.SKIPPED: "This draft was skipped",
        TaskStatus.EXPIRED: "This draft expired: the cadence's next touch went out before it was sent",
        TaskStatus.CANCELLED: "The lead stopped before this draft was sent",
    }
    return Refused(
        409, words.get(task.status, f"This task is {task.status.value}") + ". Nothing was sent now."
    )


def send_draft(task: Task, subject: str, body: str) -> Task:
    """Send the rep's draft in the lead's thread; returns the task as sent. Raises Refused."""
    now = clock.now()
    if task.channel != Channel.MANUAL_EMAIL.value:
        raise Refused(409, "This task is not an email draft.")
    if task.status is not TaskStatus.OPEN:
        raise _closed(task)
    lead = lead_items.get_lead(task.lead_id)
    enrollment = enrollment_items.get_enrollment(task.lead_id, task.enrollment)
    stopped = _stopped(lead, enrollment)
    if stopped is not None:
        raise stopped
    assert lead is not None and enrollment is not None
    if sending_items.pause() is not None:
        raise Refused(
            409, "Sending is paused by the reputation guard: nothing was sent. Try again once it resumes."
        )
    claim_id = uuid.uuid4().hex
    claimed = task_items.claim_draft(task, claim_id, subject, body, now)
    if claimed is None:
        current = task_items.get_task(task.lead_id, task.enrollment, task.touch)
        raise _closed(current or task)
    # A stop recorded since the first check found the task claimed (not open) and left it: ours to close.
    stopped = _stopped(
        lead_items.get_lead(task.lead_id), enrollment_items.get_enrollment(task.lead_id, task.enrollment)
    )
    if stopped is not None:
        task_items.settle_draft(task, claim_id, TaskStatus.CANCELLED, now)
        raise stopped
    if not _take_slot(lead, now):
        task_items.settle_draft(task, claim_id, TaskStatus.OPEN, now)
        raise Refused(
            409,
            f"Today's sending cap for {guard.sending_domain(lead)} is reached: nothing was sent. "
            "Send it tomorrow.",
        )
    cadence = versions.cadence_of(enrollment)
    try:
        record = _send(task, lead, cadence, enrollment, subject, body, now)
    except ClientError as error:
        task_items.settle_draft(task, claim_id, TaskStatus.OPEN, now)  # SES refused it: nothing went out
        logger.warning(
            "draft refused by SES", extra={"lead_id": lead.id, "task": task.id, "error": str(error)}
        )
        raise Refused(
            503, "SES refused the message: nothing was sent. Try again in a few minutes."
        ) from error
    except Exception as error:
        # A timeout or a lost connection may follow SES's acceptance: the draft stays `sending`
        # (never sent twice; `leadflow audit` flags it, SES's Send event for its touch settles it).
        logger.error(
            "draft send in doubt", extra={"lead_id": lead.id, "task": task.id, "error": type(error).__name__}
        )
        raise Refused(
            503,
            "The send was interrupted and may have gone out: it will not be sent again from here. "
            "Check the lead's thread in your mailbox before writing again.",
        ) from error
    task_items.settle_draft(task, claim_id, TaskStatus.SENT, clock.now(), record.message_id)
    if enrollment.last_touch == task.touch:  # the step's task record settled that claim: this one does now
        record.claimed_at = enrollment.claimed_at
    enrollment_items.record_touch(record, complete=False)
    metrics.add_metric(name="DraftsSent", unit="Count", value=1)
    logger.info("draft sent", extra={"lead_id": lead.id, "task": task.id})
    sent = task_items.get_task(task.lead_id, task.enrollment, task.touch)
    assert sent is not None
    return sent


def _take_slot(lead: Lead, now: datetime) -> bool:
    """Count the send against the sending domain's cap today (UTC) and in the reputation window, as an
    automatic send is (one counter write)."""
    domain = guard.sending_domain(lead)
    day = now.astimezone(UTC).date()
    return sending_items.take_slot(domain, day, operator_config().sending.cap(domain, day)) is not None


def _send(
    task: Task, lead: Lead, cadence: Cadence, enrollment: Enrollment, subject: str, body: str, now: datetime
) -> Touch:
    values = _values(lead, cadence, enrollment, task.touch, now)
    email = messages.touch_email(
        lead,
        messages.owning_rep(lead, operator_config()),
        cadence,
        enrollment.number,
        task.touch,
        subject=subject,
        text=f"{body}\n\n{_footer(values, 'text')}",
        html=_html_page(body, _footer(values, "html")),
        unsubscribe_url=str(values["unsubscribe_url"]),
        parent=last_sent(lead.id),
    )
    return email.sent(mail.send(email.message, email.tags), now)


def _html_page(body: str, footer: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width"></head>'
        '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'line-height:1.5;color:#222"><div style="max-width:560px">'
        f"{_html_body(body)}"
        f'<p style="margin-top:32px;font-size:12px;color:#777">{footer}</p></div></body></html>'
    )


def skip_draft(task: Task) -> Task:
    """The rep skips the draft: the touch counts as skipped. Raises Refused when it is not open."""
    if task.channel != Channel.MANUAL_EMAIL.value:
        raise Refused(409, "This task is not an email draft.")
    now = clock.now()
    closed = task_items.close_draft(task, TaskStatus.SKIPPED, now)
    if closed is None:
        current = task_items.get_task(task.lead_id, task.enrollment, task.touch)
        raise _closed(current or task)
    _record_unsent(closed, SKIPPED_BY_REP, now)
    return closed


def expire_drafts(lead_id: str, enrollment: int, before: int, now: datetime) -> int:
    """Close the enrollment's drafts still open when its touch `before` runs: a recap after the next
    email would come too late. Returns how many."""
    expired = 0
    for task in task_items.tasks(lead_id):
        if (
            task.enrollment == enrollment
            and task.touch < before
            and task.channel == Channel.MANUAL_EMAIL.value
            and task.status is TaskStatus.OPEN
        ):
            closed = task_items.close_draft(task, TaskStatus.EXPIRED, now)
            if closed is not None:
                _record_unsent(closed, EXPIRED, now)
                expired += 1
    return expired


def _record_unsent(task: Task, reason: str, now: datetime) -> None:
    touch = enrollment_items.get_touch(task.lead_id, task.enrollment, task.touch)
    if touch is None:
        return
    enrollment_items.record_touch(
        touch.model_copy(update={"status": TouchStatus.SKIPPED, "skip_reason": reason, "sent_at": now}),
        complete=False,
    )
