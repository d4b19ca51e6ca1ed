"""The classifier's accuracy per kind over its regression corpus (tests/fixtures/mail), printed
with the test run (and by `make bench`): every kind right, and no machine-sent mail read as a
person's. With LEADFLOW_BOUNCE_CORPUS pointing at a checkout of a public bounce corpus's mail
directory (sisimai's set-of-emails `maildir/bsd`: every file a bounce, complaint or auto-reply,
none a person), that corpus is measured too; it is not copied into this repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.classify import accuracy, accuracy_lines, corpus
from leadflow.answers.classify import HUMAN_KINDS, classify


def test_every_kind_is_right_and_no_machine_is_a_human(capsys):
    figures = accuracy(corpus())

    with capsys.disabled():
        print("\nclassifier accuracy by kind (right of total):")
        print("\n".join(accuracy_lines(figures)))
    assert figures["machine_as_human"][0] == 0
    assert {kind: right for kind, (right, total) in figures.items() if kind != "machine_as_human"} == {
        kind: total for kind, (_, total) in figures.items() if kind != "machine_as_human"
    }
    assert {"auto_reply", "bounce", "complaint", "reply", "unknown", "unsubscribe"} <= set(figures)


@pytest.mark.skipif(not os.environ.get("LEADFLOW_BOUNCE_CORPUS"), reason="LEADFLOW_BOUNCE_CORPUS not set")
def test_a_public_bounce_corpus_has_no_machine_read_as_a_human(capsys):
    folder = Path(os.environ["LEADFLOW_BOUNCE_CORPUS"])
    humans = [
        path.name for path in sorted(folder.glob("*.eml")) if classify(path.read_bytes()).kind in HUMAN_KINDS
    ]

    with capsys.disabled():
        print(f"\n{folder}: {len(list(folder.glob('*.eml')))} messages, {len(humans)} read as a person's")
    assert humans == []
