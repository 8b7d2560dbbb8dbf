"""Keeping secrets and shoppers' personal data out of logs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Lower-cased keys whose values are secret or identify a person.
_SENSITIVE_KEYS = frozenset(
    key.lower()
    for key in (
        "access_token client_secret payment_secret secret password authorization hash "
        "token customerToken orderToken customerIdentifier "
        "firstName lastName email phoneNumber phone streetAddress streetAddress2 "
        "postalCode city state title"
    ).split()
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_BEARER = re.compile(r"(?i)bearer\s+[\w.~+/=-]+")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")


def redact(value: Any) -> Any:
    """A copy of ``value`` with sensitive fields replaced, for logging and audit storage."""
    if isinstance(value, Mapping):
        return {
            redact_text(str(key)): REDACTED if str(key).lower() in _SENSITIVE_KEYS and value[key] not in (None, "")
            else redact(value[key])
            for key in value
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """Mask e-mail addresses and bearer tokens inside free text, and drop NUL characters.

    NUL is dropped because the result is also stored, and PostgreSQL's text and JSON
    types cannot hold it.
    """
    text = _BEARER.sub("Bearer " + REDACTED, text.replace("\x00", ""))
    text = _JWT.sub(REDACTED, text)
    return _EMAIL.sub(REDACTED, text)
