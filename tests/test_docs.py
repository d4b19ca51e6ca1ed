"""The docs cannot name what does not exist: every `leadflow:*` context key a guide names is one the
CDK app reads, and every `leadflow <command> --flag` a guide shows is one argparse knows. The README
stays a quick start (at most 15,000 characters) whose map links every guide, and no relative link of
a guide points at a missing file."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import pytest

from infra.config import LeadflowConfig
from leadflow.cli import build_parser

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
# The decision log records history (names that were later changed); the guides must be current.
GUIDES = sorted(set((REPO_ROOT / "docs").glob("*.md")) - {REPO_ROOT / "docs" / "decisions.md"})
DOCS = [README, *GUIDES]
README_LIMIT = 15_000

CODE_SPAN = re.compile(r"```[^\n]*\n(.*?)```|`([^`]+)`", re.DOTALL)
CONTEXT_KEY = re.compile(r"leadflow:([A-Za-z]+)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")


def _code(path: Path) -> list[str]:
    """Code spans and the lines of code blocks: where a doc names commands, flags and keys."""
    text = path.read_text(encoding="utf-8")
    pieces: list[str] = []
    for block, span in CODE_SPAN.findall(text):
        pieces.extend(block.splitlines() if block else [span.replace("\n", " ")])
    # Indented code blocks (four spaces, outside lists) hold commands too.
    pieces += re.findall(r"^ {4}(leadflow .*)$", text, re.MULTILINE)
    return pieces


def _context_keys_named() -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for path in DOCS:
        for key in CONTEXT_KEY.findall(path.read_text(encoding="utf-8")):
            named.setdefault(key, []).append(path.name)
    return named


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a command, its sub-actions' too (`sending status --profile`)."""
    flags = {option for action in parser._actions for option in action.option_strings}
    for child in _subparsers(parser).values():
        flags |= _flags(child)
    return flags


def _invocations() -> list[tuple[str, str, list[str]]]:
    """(doc, command, flags) for every `leadflow <command> ...` a doc shows."""
    found = []
    for path in DOCS:
        for piece in _code(path):
            for match in re.finditer(r"(?<![\w./-])leadflow ([a-z][a-z-]*)([^#;]*)", piece):
                found.append((path.name, match.group(1), FLAG.findall(match.group(2))))
    return found


def test_the_readme_is_a_quick_start_that_maps_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text) <= README_LIMIT, len(text)
    for command in ("make demo", "make test"):
        assert command in text
    for guide in ("deploy", "operate", "integrations", "local"):
        assert f"](docs/{guide}.md)" in text, guide


def test_every_context_key_a_doc_names_is_one_the_app_reads() -> None:
    known = {spec.metadata["key"] for spec in dataclasses.fields(LeadflowConfig)}
    named = _context_keys_named()
    assert "sender" in named and "replyDomain" in named  # the extraction finds keys
    unknown = {key: where for key, where in named.items() if key not in known and key != "key"}
    assert unknown == {}


def _cli_problems() -> list[str]:
    parser = build_parser()
    commands = _subparsers(parser)
    problems = []
    for doc, command, flags in _invocations():
        if command not in commands:
            problems.append(f"{doc}: leadflow {command}: no such command")
            continue
        known = _flags(commands[command]) | _flags(parser)
        problems += [f"{doc}: leadflow {command} {flag}: no such flag" for flag in flags if flag not in known]
    return problems


def test_every_command_and_flag_a_doc_shows_is_one_the_cli_knows() -> None:
    invocations = _invocations()
    assert len(invocations) > 20 and any(flags for _, _, flags in invocations)
    assert _cli_problems() == []


def test_every_flag_the_operator_guide_names_on_its_own_is_a_cli_flag() -> None:
    """`--profile`, `--stack`... named in prose (not on a command line) belong to leadflow too."""
    every_flag = _flags(build_parser())
    operate = REPO_ROOT / "docs" / "operate.md"
    alone = {piece for piece in _code(operate) if re.fullmatch(r"--[a-z][a-z-]*", piece)}
    assert alone, "the operator guide names the common flags"
    assert alone - every_flag == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_the_extraction_catches_a_wrong_flag_a_wrong_command_and_a_wrong_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(
        "Run `leadflow lead show ada@example.com --tabel t`, then\n\n```sh\nleadflow audti --stack S\n```\n"
        "with `-c leadflow:replyDomian=x`.\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "DOCS", [bad])
    assert _cli_problems() == [
        "bad.md: leadflow lead --tabel: no such flag",
        "bad.md: leadflow audti: no such command",
    ]
    assert list(_context_keys_named()) == ["replyDomian"]
