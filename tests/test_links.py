"""Links work where they are clicked: every link in mail comes from the one public URL, and the rep
task page posts back relative to itself, so both work under an API stage prefix (issue 16)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from leadflow.local import Sandbox

STAGE_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
DEMO = {"email": "grace@hopper.example", "first_name": "Grace", "form": "demo-request"}
CALL_DUE = "2026-11-24T14:20:00Z"  # day 2 of the demo-request cadence: a call task (window start + jitter)


@pytest.fixture
def staged():
    with Sandbox(environment={"PUBLIC_URL": STAGE_URL}) as sb:
        yield sb


def test_the_task_link_and_its_page_work_under_the_v1_stage(staged):
    staged.post("/leads", json=DEMO)
    staged.advance_to(CALL_DUE)
    alerts = [note for note in staged.rep_alerts() if note["kind"] == "task"]
    assert alerts  # the speed-to-lead call at once, then the day-2 call in the window's first minutes
    link = re.findall(r"https?://\S+/tasks/\S+", alerts[-1]["message"])[0]
    assert link.startswith(f"{STAGE_URL}/tasks/")

    page = staged.get(link)
    assert page.status_code == 200
    (action,) = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    assert not action.startswith(("/", "http")), "a root-relative action leaves the stage"
    # Where a browser posts the form: relative to the page it shows.
    target = urljoin(link, action.replace("&amp;", "&"))
    assert target.startswith(f"{STAGE_URL}/tasks/")

    done = staged.post(target, data={"outcome": "connected", "note": "Picked up."})
    assert done.status_code == 200, done.text
    (task,) = [task for task in staged.tasks() if task["id"] in link]
    assert (task["status"], task["note"]) == ("connected", "Picked up.")


def test_every_link_in_mail_starts_with_the_public_url(staged):
    staged.post("/leads", json={"email": "ada@example.com", "first_name": "Ada"})
    (mail,) = staged.outbox()
    links = re.findall(
        r"https?://[^\s<>\"')]+", mail["text"] + mail["html"] + mail["headers"]["List-Unsubscribe"]
    )
    ours = [link for link in links if "/unsubscribe" in link or "/tasks/" in link]
    assert ours and all(link.startswith(f"{STAGE_URL}/") for link in ours), ours
    unsubscribe = next(link for link in ours if "/unsubscribe" in link).replace("&amp;", "&")
    assert staged.get(unsubscribe).status_code == 200


def test_a_link_to_another_host_is_refused_not_followed(staged):
    with pytest.raises(ValueError, match="not under the public URL"):
        staged.get("https://elsewhere.example/v1/tasks/x")
