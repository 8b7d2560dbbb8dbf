"""Optty's many spellings of an order's state, folded into one closed set.

Optty's pages disagree on casing and spelling (``SUCCESSFUL`` on redirects,
``pending`` on create, ``canceled``/``cancelled``, ``ERROR``/``failed``). Everything
outside the known spellings is PENDING: an unknown word must never count as paid, and
must not release a checkout whose money may have moved either, so it waits for a
known final state or for reconciliation.
"""

from __future__ import annotations

import enum
import logging

logger = logging.getLogger(__name__)


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"
    SUCCESSFUL = "successful"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self is not PaymentStatus.PENDING

    @property
    def is_failure(self) -> bool:
        return self in (PaymentStatus.DECLINED, PaymentStatus.CANCELLED, PaymentStatus.FAILED)


_SPELLINGS = {
    "SUCCESSFUL": PaymentStatus.SUCCESSFUL,
    "PENDING": PaymentStatus.PENDING,
    "INITIATED": PaymentStatus.PENDING,
    "DECLINED": PaymentStatus.DECLINED,
    "REJECTED": PaymentStatus.DECLINED,
    "CANCELLED": PaymentStatus.CANCELLED,
    "CANCELED": PaymentStatus.CANCELLED,
    "ERROR": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
}


def normalise_status(raw: object) -> PaymentStatus:
    """Map any status text Optty sends onto :class:`PaymentStatus`."""
    key = str(raw or "").strip().upper().replace("-", "_").replace(" ", "_")
    status = _SPELLINGS.get(key)
    if status is None:
        logger.warning("Unknown Optty status %r treated as pending.", str(raw)[:40])
        return PaymentStatus.PENDING
    return status
