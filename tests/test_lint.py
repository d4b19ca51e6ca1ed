"""The template lint: shipped templates pass it, and each rule catches a violation planted in a fixture."""

import shutil
from pathlib import Path

import pytest

from leadflow.cli import main
from leadflow.local.sandbox import REPO_ROOT, Sandbox
from leadflow.send.lint import RULES, TemplateLintError, lint_files

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
CONFIG = REPO_ROOT / "config" / "leadflow.yaml"

# Planted template -> the one rule it breaks.
PLANTED = {
    "first-touch-long": "body-length",
    "render-error": "render",
    "subject-long": "subject-length",
    "subject-unclipped": "subject-length",
    "subject-spam": "subject-spam",
    "subject-shouting": "subject-shouting",
    "body-long": "body-length",
    "weak-opener": "opener",
    "no-cta": "cta",
    "two-asks": "cta",
    "question-outside-cta": "cta",
    "none-field": "placeholder",
    "empty-greeting": "placeholder",
    "unescaped": "html-escape",
    "no-unsubscribe": "unsubscribe",
    "no-address": "postal-address",
    "sms-long": "sms-segment",
    "sms-no-stop": "sms-opt-out",
    "task-no-points": "talking-points",
    "variant-spam": "subject-spam",
    "false-claim": "claim",
    "hard-weekday": "weekday",
    "break-up-to-mql": "break-up",
    "internal-benchmark": "statistic",
    "hard-today": "relative-day",
    "offer-without-hours": "offer",
    "dangling-window": "reference",
}


@pytest.fixture(scope="module")
def fixture_dirs(tmp_path_factory):
    """The fixture cadences and templates, with the shipped layouts the templates extend."""
    root = tmp_path_factory.mktemp("lint")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    for layout in (REPO_ROOT / "templates").glob("_*.j2"):
        shutil.copy(layout, root / "templates" / layout.name)
    return root / "cadences", root / "templates"


@pytest.fixture(scope="module")
def planted_violations(fixture_dirs):
    cadences, templates = fixture_dirs
    return lint_files(cadences, templates, CONFIG)


def test_every_shipped_template_passes_the_lint_for_the_sample_leads():
    assert lint_files(REPO_ROOT / "cadences", REPO_ROOT / "templates", CONFIG) == []


def test_every_rule_has_a_planted_violation():
    assert set(PLANTED.values()) == set(RULES)


@pytest.mark.parametrize(("template", "rule"), sorted(PLANTED.items()))
def test_each_rule_catches_its_planted_violation_and_nothing_else(planted_violations, template, rule):
    found = [v for v in planted_violations if v.template.startswith(f"planted/{template}.j2")]
    assert [v.rule for v in found] == [rule], [str(v) for v in found]


def test_clean_email_sms_and_task_templates_pass(planted_violations):
    assert [v for v in planted_violations if v.template.startswith("clean/")] == []


def test_the_length_rules_separate_typical_leads_from_edge_cases(planted_violations):
    by_template = {v.template: v for v in planted_violations}
    # 53 characters: over 50 for typical leads, under 60 for the others.
    assert by_template["planted/subject-long.j2"].leads == ["typical", "typical-longer"]
    # An unclipped field: fine for typical leads, but a very long company pushes it past 60.
    assert by_template["planted/subject-unclipped.j2"].leads == ["very-long"]
    # A missing field shows up for the lead who gave only an email address.
    assert by_template["planted/none-field.j2"].leads == ["email-only"]
    assert "None" in by_template["planted/none-field.j2"].message
    assert by_template["planted/unescaped.j2"].leads == ["markup"]
    assert by_template["planted/variant-spam.j2 (variant b subject)"].rule == "subject-spam"


def test_leadflow_lint_prints_every_violation_with_template_and_rule(fixture_dirs, capsys):
    cadences, templates = fixture_dirs
    assert main(["lint", "--cadences", str(cadences), "--templates", str(templates)]) == 1
    out = capsys.readouterr().out.splitlines()
    for template, rule in PLANTED.items():
        assert any(line.startswith(f"planted/{template}.j2") and f": {rule}: " in line for line in out)
    assert len(out) == len(PLANTED)


def test_leadflow_lint_passes_the_shipped_templates(capsys):
    assert main(["lint"]) == 0
    assert "no violations" in capsys.readouterr().out


def test_the_runtime_refuses_to_load_templates_that_break_the_lint(fixture_dirs, tmp_path):
    _, fixture_templates = fixture_dirs
    templates = tmp_path / "templates"
    shutil.copytree(REPO_ROOT / "templates", templates)
    shutil.copy(
        fixture_templates / "planted" / "subject-spam.j2",
        templates / "inbound-demo-request" / "value-add.j2",
    )
    with (
        pytest.raises(TemplateLintError, match=r"value-add\.j2: subject-spam"),
        Sandbox(template_dir=templates),
    ):
        pass


def test_the_runtime_lints_each_content_of_the_files_once_and_a_changed_file_again(
    fixture_dirs, tmp_path, monkeypatch
):
    """Each test's Sandbox may read its own copy of the same files: the lint runs once per content."""
    from leadflow.send import lint

    linted = []
    monkeypatch.setattr(lint, "_clean", set())
    monkeypatch.setattr(lint, "lint_files", lambda *files: linted.append(files) or lint_files(*files))
    copies = []
    for name in ("a", "b", "c"):
        shutil.copytree(REPO_ROOT / "cadences", tmp_path / name / "cadences")
        shutil.copytree(REPO_ROOT / "templates", tmp_path / name / "templates")
        shutil.copy(CONFIG, tmp_path / name / "leadflow.yaml")
        copies.append(
            (tmp_path / name / "cadences", tmp_path / name / "templates", tmp_path / name / "leadflow.yaml")
        )
    a, b, c = copies
    lint.ensure_clean(*a)
    lint.ensure_clean(*b)
    assert linted == [a]
    # One template of the third copy breaks the lint: linted, refused, and refused again (a content
    # that failed is not remembered).
    _, fixture_templates = fixture_dirs
    shutil.copy(
        fixture_templates / "planted" / "subject-spam.j2", c[1] / "inbound-demo-request" / "value-add.j2"
    )
    for _ in range(2):
        with pytest.raises(TemplateLintError, match=r"value-add\.j2: subject-spam"):
            lint.ensure_clean(*c)
    assert linted == [a, c, c]
    # A change to the configuration alone is linted again too.
    b[2].write_text(CONFIG.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    lint.ensure_clean(*b)
    assert linted == [a, c, c, b]
