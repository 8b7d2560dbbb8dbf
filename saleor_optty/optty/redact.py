"""Keeping secrets and shoppers' personal data out of logs and the audit trail."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

REDACTED = "[redacted]"

# What the audit trail keeps of a payload, at its top level and in its ``data``: Optty's
# names for events, statuses, references, amounts and times. An allow-list, because a
# deny-list misses every spelling and every field a provider adds (Optty's "raw
# provider response" option forwards names, addresses, birth dates, id numbers).
AUDITED_KEYS = frozenset(
    (
        "event status paymentStatus refundStatus captureStatus "
        "orderReference merchantReference reference providerReference refundReference "
        "captureReference voidReference refundId bnplRefundId captureId "
        "transactionId orderId bnplOrderId "
        "amount orderAmount refundAmount currency provider "
        "createdAt updatedAt refundDate"
    ).split()
)
#: Longer values are cut: nothing kept is longer than a reference or a timestamp.
MAX_AUDITED_LENGTH = 100

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_BEARER = re.compile(r"(?i)bearer\s+[\w.~+/=-]+")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")


def audit_payload(payload: Any) -> dict[str, Any]:
    """The allow-listed scalars of ``payload`` and of its ``data``, as JSON-ready values.

    Everything else is dropped, values and names alike. Only two levels are read, so a
    deeply nested payload costs no recursion.
    """
    if not isinstance(payload, Mapping):
        return {}
    kept = _audited(payload)
    data = payload.get("data")
    if isinstance(data, Mapping):
        kept["data"] = _audited(data)
    return kept


def _audited(fields: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        key: _scalar(value)
        for key, value in fields.items()
        if key in AUDITED_KEYS and (value is None or isinstance(value, (str, bool, int, Decimal)))
    }


def _scalar(value: str | bool | int | Decimal | None) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    # Numbers as their exact text (a JSON column would make Decimals floats). Cut before
    # masking: the masks' patterns take quadratic time on long text, which anyone may send.
    return redact_text(str(value)[:MAX_AUDITED_LENGTH])


def redact_text(text: str) -> str:
    """Mask e-mail addresses and bearer tokens inside free text, and drop NUL characters.

    NUL is dropped because the result is also stored, and PostgreSQL's text and JSON
    types cannot hold it.
    """
    text = _BEARER.sub("Bearer " + REDACTED, text.replace("\x00", ""))
    text = _JWT.sub(REDACTED, text)
    return _EMAIL.sub(REDACTED, text)
