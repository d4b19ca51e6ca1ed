"""Validators for what web forms send: addresses, phone numbers, countries, time zones.

Pure functions raising ValueError with a message a person can act on; pydantic turns
them into field-level errors. No network: email syntax only, never a DNS lookup.
email_validator and phonenumbers are imported on first use: most cold starts check neither.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from functools import cache
from typing import Annotated

from pydantic import AfterValidator

# ISO 3166-1 alpha-2: the regions phonenumbers knows, less its two non-ISO dialing regions, plus
# the uninhabited territories it has no numbers for. XK (Kosovo) is user-assigned but universal.
_NOT_ISO = frozenset({"AC", "TA"})
_NO_PHONE_NUMBERS = frozenset({"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})


@cache
def countries() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS - _NOT_ISO | _NO_PHONE_NUMBERS)


# Plain ASCII addresses, the form nearly every post sends: a dot-atom local part (RFC 5322 atext, as
# email_validator's DOT_ATOM_TEXT), then hostname labels (letters, digits, inner hyphens) with a dot
# and a last label ending in a letter. `plain_address` adds the rest of email_validator's rules that
# such an address can break, so that it accepts only what email_validator accepts, normalized alike.
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+(?:[a-zA-Z0-9][a-zA-Z0-9\-]*)?[a-zA-Z]")
# email_validator's special-use names (SPECIAL_USE_DOMAIN_NAMES): refused as a domain or its last label.
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
# email_validator's limits (its domain limit, 253, cannot be reached under the address's own).
EMAIL_MAX_LENGTH = 254
LABEL_MAX_LENGTH = 63


def plain_address(value: str) -> bool:
    """Whether email_validator would accept `value` and normalize it to `value.lower()` once lowercased,
    decided without importing it (its import, ~16 ms, is most of a post's validation on a cold start).

    False only means "not decided here": email_validator decides, with its own message. Kept out:
    anything non-ASCII (Unicode normalization, IDNA), quoted or bracketed forms, any `--` in the
    domain (email_validator checks Punycode `xn--` labels and refuses other `ab--` labels), lengths
    over email_validator's limits, and special-use domains.
    """
    if len(value) > EMAIL_MAX_LENGTH or not _PLAIN_ADDRESS.fullmatch(value):
        return False
    domain = value.rpartition("@")[2]
    labels = domain.split(".")
    return (
        "--" not in domain
        and all(len(label) <= LABEL_MAX_LENGTH for label in labels)
        and labels[-1].lower() not in _SPECIAL_USE_TLDS
    )


def email_address(value: str) -> str:
    """Syntax-checked and normalized (lowercased) address."""
    if not value:
        raise ValueError("An email address is required.")
    if plain_address(value):
        return value.lower()
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return checked.normalized.lower()


def country_code(value: str) -> str:
    code = value.strip().upper()
    if code not in countries():
        raise ValueError("Use a two-letter ISO 3166 country code, e.g. US, GB or DE.")
    return code


@cache
def _time_zones() -> dict[str, str]:
    """IANA zone names by their lowercase form (loaded on first use: it reads the tz database)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def time_zone(value: str) -> str:
    """The canonical IANA name, matched case-insensitively."""
    try:
        return _time_zones()[value.strip().lower()]
    except KeyError:
        raise ValueError("Use an IANA time zone name, e.g. America/New_York or Europe/Berlin.") from None


def iana_zone(value: str) -> str:
    """An IANA zone name as written (exact case), one the tz database has."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/Berlin") from None
    return value


# A configuration field naming a time zone (cadence windows, reps' hours, the report's schedule).
IanaZone = Annotated[str, AfterValidator(iana_zone)]


def phone_number(value: str, region: str | None) -> str:
    """E.164; numbers without a + are read in `region` (the lead's country or the configured default)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(
            "This is not a phone number; include the country code, e.g. +1 415 555 0100."
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("This phone number is not valid; include the country code, e.g. +1 415 555 0100.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_country(e164: str) -> str | None:
    """The ISO country of an E.164 number (+1 numbers resolve to US, CA, the Caribbean...), or None."""
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


# Mailboxes where dots in the local part are ignored: one inbox, many spellings.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def inbox(address: str) -> str:
    """The mailbox an address delivers to: lowercased, `+tag` dropped, Gmail's dots dropped.

    `A.Da+promo@GoogleMail.com` and `ada@gmail.com` are one inbox. Plus-tags are dropped for every
    domain (sub-addressing is the norm at Gmail, Outlook, iCloud, Fastmail, Proton); this only
    groups addresses for abuse limits, never changes where mail goes.
    """
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.partition("+")[0] or local
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma- or space-separated CIDR blocks (e.g. `13.108.0.0/14, 2a01:111::/48`), host bits zero."""
    found = []
    for block in value.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(block, strict=True))
        except ValueError as error:
            raise ValueError(f"{block!r} is not a CIDR block like 13.108.0.0/14 ({error})") from None
    return tuple(found)


def organization_ids(value: str) -> tuple[str, ...]:
    """Comma- or space-separated Salesforce organization ids (15 or 18 characters, `00D…`)."""
    ids = tuple(value.replace(",", " ").split())
    for org in ids:
        if not (len(org) in (15, 18) and org.startswith("00D") and org.isalnum()):
            raise ValueError(f"{org!r} is not a Salesforce organization id (00D…, 15 or 18 characters)")
    return ids
