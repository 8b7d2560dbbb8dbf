"""The ledger's rules: how a capture, refund or void moves from *requested* to settled.

An operation is written as REQUESTED before it is sent. Optty's answer makes it
SUCCEEDED or FAILED; an answer that may have been lost (a timeout, a 5xx, a connection
dropped after sending, or a process that died mid-call) leaves it UNKNOWN. It is never
re-sent blindly: :func:`settle` reads Optty's own record of the order (``/details``)
and decides.

What Optty records, as documented: captures (``captureId``, amount, status,
``createdAt``) and refunds (``refundId``, amount, currency, status, ``createdAt``,
``refundReason``), with no echo of our reference and no list of voids. So an operation
is matched by our reference when Optty echoes it (in a reference field, or in the
refund's reason, which carries the description we sent), otherwise by amount and
currency among the entries made after it was requested; each entry accounts for one
operation at most. An entry that none of our operations accounts for is money moved
elsewhere (a refund made in Optty's portal). A void is settled from the order's
capture status.

No Django or Saleor imports: the plugin and the App store operations their own way and
hand them here as :class:`Operation` values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..optty import OrderDetails


class OperationKind(str, enum.Enum):
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"


class OperationStatus(str, enum.Enum):
    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_settled(self) -> bool:
        return self in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)


#: A REQUESTED operation older than this may have died mid-call; it is settled like an UNKNOWN one.
REQUESTED_GRACE = timedelta(minutes=2)
#: How long Optty may take to list an operation before its absence means it never happened.
SETTLE_WINDOW = timedelta(minutes=15)
#: The difference between our clock and Optty's that matching by time tolerates.
CLOCK_SKEW = timedelta(minutes=5)

_SUCCEEDED_ENTRY = frozenset({"", "SUCCESSFUL", "SUCCESS", "SUCCEEDED", "COMPLETED"})
_FAILED_ENTRY = frozenset({"FAILED", "ERROR", "DECLINED", "REJECTED", "CANCELLED", "CANCELED"})
#: Optty's ``captureStatus`` for an authorisation released without a capture.
VOIDED_CAPTURE_STATUSES = frozenset({"VOIDED", "VOID", "CANCELLED", "CANCELED", "RELEASED"})


@dataclass(frozen=True)
class Operation:
    """One of our operations, as the adapter stores it."""

    key: Any
    kind: OperationKind
    reference: str
    amount: Decimal
    currency: str
    status: OperationStatus
    requested_at: datetime
    #: Optty's id of the entry in /details already matched to it ("" until matched).
    record_id: str = ""

    def needs_settling(self, now: datetime) -> bool:
        if self.status is OperationStatus.UNKNOWN:
            return True
        return self.status is OperationStatus.REQUESTED and now - self.requested_at >= REQUESTED_GRACE


@dataclass(frozen=True)
class Settlement:
    """What Optty's record says of one of our operations."""

    key: Any
    status: OperationStatus
    #: The matched entry's id in /details; "" when nothing matched.
    record_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Entry:
    """A capture or refund as /details lists it, in the shape matching needs."""

    record_id: str
    reference: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime | None
    text: str  # free text that may carry our reference (a refund's reason)
    failure_reason: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status in _SUCCEEDED_ENTRY

    @property
    def failed(self) -> bool:
        return self.status in _FAILED_ENTRY


@dataclass(frozen=True)
class Reconciliation:
    #: For each of our operations that Optty's record settles or first matches.
    settlements: tuple[Settlement, ...]
    #: Successful refunds that none of our operations accounts for: made in Optty's portal.
    foreign_refunds: tuple[Entry, ...]


def entries(details: OrderDetails, kind: OperationKind) -> list[Entry]:
    currency = details.order.currency
    if kind is OperationKind.CAPTURE:
        return [
            Entry(c.capture_id, c.reference, c.amount, currency, c.status, c.created_at, "")
            for c in details.captures
        ]
    if kind is OperationKind.REFUND:
        return [
            Entry(r.refund_id, r.reference, r.amount, r.currency, r.status, r.created_at, r.reason, r.failure_reason)
            for r in details.refunds
        ]
    return [Entry(v.void_id, v.reference, v.amount, currency, v.status, v.created_at, "") for v in details.voids]


def settle(operations: Iterable[Operation], details: OrderDetails, *, now: datetime) -> Reconciliation:
    """Match our operations against Optty's record of the order; see the module's docstring."""
    ours = sorted(operations, key=lambda op: (op.requested_at, str(op.key)))
    settlements: list[Settlement] = []
    foreign: list[Entry] = []
    for kind in (OperationKind.CAPTURE, OperationKind.REFUND, OperationKind.VOID):
        of_kind = [op for op in ours if op.kind is kind]
        listed = entries(details, kind)
        matches = _match(of_kind, listed)
        for op in of_kind:
            entry = matches.get(op.key)
            settlement = _settlement(op, entry, details, now=now)
            if settlement is not None:
                settlements.append(settlement)
        if kind is OperationKind.REFUND:
            claimed = {op.record_id for op in of_kind} | {entry.record_id for entry in matches.values()}
            foreign.extend(entry for entry in listed if entry.record_id not in claimed and entry.succeeded)
    return Reconciliation(tuple(settlements), tuple(foreign))


def _match(ours: Sequence[Operation], listed: Sequence[Entry]) -> dict[Any, Entry]:
    """Each of our operations to at most one entry, and each entry to at most one operation."""
    taken = {op.record_id for op in ours if op.record_id}
    free = [entry for entry in listed if entry.record_id not in taken]
    unmatched = [op for op in ours if not op.record_id]
    matches: dict[Any, Entry] = {}

    def claim(op: Operation, entry: Entry) -> None:
        matches[op.key] = entry
        free.remove(entry)
        unmatched.remove(op)

    # Our reference, where Optty echoes it, is certain; amount and time only likely.
    for op in list(unmatched):
        entry = next((e for e in free if e.reference == op.reference or (op.reference and op.reference in e.text)), None)
        if entry is not None:
            claim(op, entry)
    for op in list(unmatched):
        entry = next(
            (
                e
                for e in sorted(free, key=_entry_order)
                if not e.reference  # an echoed reference names another operation
                and e.amount == op.amount
                and e.currency == op.currency
                and (e.created_at is None or e.created_at >= op.requested_at - CLOCK_SKEW)
            ),
            None,
        )
        if entry is not None:
            claim(op, entry)
    return matches


def _entry_order(entry: Entry) -> tuple[bool, datetime]:
    return (entry.created_at is None, entry.created_at or datetime.min)


def _settlement(op: Operation, entry: Entry | None, details: OrderDetails, *, now: datetime) -> Settlement | None:
    if entry is not None:
        if op.status.is_settled:
            # Settled by Optty's answer already; remember the entry so it is never claimed twice.
            return Settlement(op.key, op.status, entry.record_id)
        if entry.failed:
            return Settlement(op.key, OperationStatus.FAILED, entry.record_id, entry.failure_reason or entry.status)
        if entry.succeeded:
            return Settlement(op.key, OperationStatus.SUCCEEDED, entry.record_id)
        return Settlement(op.key, OperationStatus.UNKNOWN, entry.record_id)  # listed, still in progress
    if not op.needs_settling(now):
        return None
    if op.kind is OperationKind.VOID and details.order.capture_status in VOIDED_CAPTURE_STATUSES:
        return Settlement(op.key, OperationStatus.SUCCEEDED)
    if now - op.requested_at >= SETTLE_WINDOW:
        return Settlement(op.key, OperationStatus.FAILED, reason="Optty has no record of it")
    return None
