"""An address's syntax check: plain ASCII addresses are decided without email_validator, with its verdict.

`fields.plain_address` accepts a subset of what email_validator accepts, and normalizes it the same
way; everything else (Unicode, quoting, Punycode, the limits' far side) goes to email_validator. Each
of its rules has a pair here at its boundary: the address just inside, which both accept, and the one
just outside, which email_validator refuses and which plain_address must leave to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from leadflow import fields
from tests.conftest import REPO_ROOT


def _validator_verdict(address: str) -> str | None:
    """email_validator's normalized address, lowercased as fields.email_address returns it; None: refused."""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _agrees(address: str) -> None:
    verdict = _validator_verdict(address)
    if fields.plain_address(address):
        assert verdict == address.lower()
    assert (fields.email_address(address) if verdict else None) == verdict
    if verdict is None:
        with pytest.raises(ValueError):
            fields.email_address(address)


@given(st.from_regex(fields._PLAIN_ADDRESS, fullmatch=True))
def test_every_address_of_the_plain_form_gets_email_validators_verdict(address: str) -> None:
    _agrees(address)


# Printable ASCII around the separators, so that near-misses of the plain form come up often.
_NEAR = st.text(alphabet=st.sampled_from("aZ09.-_+@\"<> x()[]\\'~é"), min_size=1, max_size=24)


@given(st.builds("{}@{}.{}".format, _NEAR, _NEAR, _NEAR) | _NEAR)
def test_near_misses_get_email_validators_verdict(address: str) -> None:
    _agrees(address)


LABEL_63 = "a" * 63
LOCAL_FOR_254 = "l" * (254 - len("@" + LABEL_63 + ".com"))


@pytest.mark.parametrize(
    ("inside", "outside"),
    [
        # A label's length: 63 characters.
        (f"ada@{LABEL_63}.com", f"ada@{LABEL_63}a.com"),
        (f"ada@example.{'c' * 63}", f"ada@example.{'c' * 64}"),
        # The address's length: 254 characters.
        (f"{LOCAL_FOR_254}@{LABEL_63}.com", f"{LOCAL_FOR_254}l@{LABEL_63}.com"),
        # Special-use names, in any case, as the last label only.
        ("ada@example.tests", "ada@example.test"),
        ("ada@test.example", "ada@example.TEST"),
        ("ada@onion.example", "ada@example.onion"),
        ("ada@example.localhost.com", "ada@example.localhost"),
        ("ada@example.locals", "ada@host.local"),
        ("ada@arpa.example", "ada@in-addr.arpa"),
        ("ada@invalids.example", "ada@example.invalid"),
        # Two letters then two hyphens start no label but Punycode's (email_validator's R-LDH rule).
        ("ada@ab-c.example", "ada@ab--c.example"),
        ("ada@example.xn-a", "ada@xn--a.example"),
        # A top-level label ends with a letter.
        ("ada@example.c0m", "ada@example.co1"),
        # Dots and hyphens: never first, last or doubled.
        ("a.da@ex-ample.com", "a..da@example.com"),
        ("ada@ex-ample.com", "ada@-example.com"),
        ("ada@example.com", "ada.@example.com"),
    ],
)
def test_each_rule_at_its_boundary(inside: str, outside: str) -> None:
    assert fields.plain_address(inside)
    assert _validator_verdict(inside) == inside.lower() == fields.email_address(inside)
    assert not fields.plain_address(outside)
    assert _validator_verdict(outside) is None
    with pytest.raises(ValueError):
        fields.email_address(outside)


@pytest.mark.parametrize(
    "address",
    [
        "josé@example.com",
        "ada@exämple.com",
        '"ada smith"@example.com',
        "ada@[192.0.2.1]",
        "Ada <ada@example.com>",
    ],
)
def test_other_forms_are_left_to_email_validator(address: str) -> None:
    assert not fields.plain_address(address)
    _agrees(address)


def test_a_plain_address_is_checked_without_importing_email_validator() -> None:
    code = """
import json, sys
from leadflow import fields
plain = fields.email_address("Ada.Lovelace+forms@Example.CO.uk")
before = "email_validator" in sys.modules
print(json.dumps([plain, before, fields.email_address("José@Example.com"), "email_validator" in sys.modules]))
"""
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=REPO_ROOT, env=os.environ, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == ["ada.lovelace+forms@example.co.uk", False, "josé@example.com", True]
