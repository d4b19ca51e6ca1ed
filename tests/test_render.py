"""Rendering helpers: clipped fields, paragraphs, one-line subjects, names and signatures."""

from pathlib import Path

import pytest
from jinja2.sandbox import SecurityError

from leadflow.local.sandbox import REPO_ROOT
from leadflow.operator_config import load_operator_config
from leadflow.send import mail, messages
from leadflow.send.lint import sample_lead
from leadflow.send.render import clip, environment, one_line

CONFIG = load_operator_config(REPO_ROOT / "config" / "leadflow.yaml")


def test_clip_cuts_at_a_word_boundary_and_never_exceeds_the_width():
    assert clip("Northwind Analytics", 24) == "Northwind Analytics"
    assert clip("The Extraordinarily Long Name Holdings", 24) == "The Extraordinarily Long"
    assert clip("Supercalifragilisticexpialidocious", 10) == "Supercalif"
    assert clip("Tom & Jerry's Cheese", 6) == "Tom"
    assert clip(None, 10) == ""
    assert all(len(clip("word " * 40, width)) <= width for width in range(1, 60))


def test_one_line_removes_cr_and_lf():
    assert one_line("Hello\r\nBcc: x@example.com\n") == "Hello Bcc: x@example.com"


def test_templates_cannot_reach_python_internals():
    template = environment(REPO_ROOT / "templates", False).from_string("{{ lead.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        template.render(lead=object())


def test_names_typed_in_one_case_are_written_as_names_and_blank_fields_fall_back():
    lead = sample_lead("email-only").model_copy(
        update={"first_name": "JEAN-LUC", "last_name": "o'neil", "company": "  "}
    )
    fields = messages.lead_fields(lead)
    assert (fields["first_name"], fields["last_name"], fields["full_name"]) == (
        "Jean-luc",
        "O'neil",
        "Jean-luc O'neil",
    )
    assert fields["company"] is None
    mixed = messages.lead_fields(sample_lead("email-only").model_copy(update={"first_name": "McKenzie"}))
    assert mixed["first_name"] == "McKenzie"
    assert "id" not in fields and "email" not in fields


def test_the_signature_comes_from_configuration_or_is_built_from_the_rep():
    alex, sam = CONFIG.reps
    assert messages.signature(alex, CONFIG.company)[0] == "Alex Rivera"
    assert messages.signature(sam, CONFIG.company) == [
        "Sam Okafor",
        "Account Executive, Leadflow Demo Co",
        "https://leadflow.example",
    ]


def test_from_addresses_quote_names_that_need_it():
    assert mail.format_address("Alex Rivera", "alex@mail.example") == "Alex Rivera <alex@mail.example>"
    assert mail.format_address("Rivera, Alex", "alex@mail.example") == '"Rivera, Alex" <alex@mail.example>'


def test_ses_message_ids_per_region():
    assert mail.ses_message_id("abc-000000", "us-east-1") == "<abc-000000@email.amazonses.com>"
    assert mail.ses_message_id("abc-000000", "eu-west-1") == "<abc-000000@eu-west-1.amazonses.com>"
    assert mail.ses_id_from_message_id("<abc-000000@eu-west-1.amazonses.com>") == "abc-000000"
    assert mail.ses_id_from_message_id("<abc@mail.example>") is None


def test_reply_subjects_are_not_prefixed_twice():
    assert messages.reply_subject("Your demo") == "Re: Your demo"
    assert messages.reply_subject("RE: Your demo") == "RE: Your demo"


def test_layouts_exist_for_every_channel():
    assert {path.name for path in Path(REPO_ROOT / "templates").glob("_*.j2")} >= {
        "_layout.j2",
        "_sms.j2",
        "_task.j2",
    }
