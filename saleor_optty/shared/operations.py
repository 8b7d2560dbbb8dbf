"""The ledger as the adapters store it: every capture, refund and void written as an
operation row before it is sent to Optty.

The rules (what an answer means, how an unknown outcome is settled from Optty's
/details) are :mod:`saleor_optty.core.ledger`'s; this module stores and sends. It works
on any attempt model built on :class:`~saleor_optty.shared.models.AttemptBase` whose
operations (``attempt.operations``) are built on
:class:`~saleor_optty.shared.models.OperationBase`: the plugin's and the App's. No
Saleor imports: each adapter shows settled operations to Saleor its own way (the
plugin as payment transactions, the App with ``transactionEventReport``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ..core import ledger
from ..optty import OpttyClient, OpttyError, OpttyOutcomeUnknownError, OpttyResponseError, OrderDetails
from .models import AttemptBase, OperationBase, OpttyOperationKind, OpttyOperationStatus

_PREFIX = {OpttyOperationKind.CAPTURE: "C", OpttyOperationKind.REFUND: "R", OpttyOperationKind.VOID: "V"}
UNSETTLED = (OpttyOperationStatus.REQUESTED, OpttyOperationStatus.UNKNOWN)
#: The ``source`` of an operation found in Optty's record and made by nobody here (a
#: refund in Optty's portal); every other operation was sent by an adapter.
OPTTY_SOURCE = "optty"
#: Operations staff asked for through Saleor (the others are give-backs and Optty's own).
STAFF_SOURCES = ("dashboard",)


def new_reference(attempt: AttemptBase, kind: str) -> str:
    """A reference unique per operation; the order's reference keeps it traceable."""
    return f"{attempt.reference}-{_PREFIX[OpttyOperationKind(kind)]}{secrets.token_hex(4).upper()}"


#: How long a callback may take an attempt to be settled (paid, final, nothing unknown)
#: without reading it; bounds how late a lost invalidation can be noticed.
SETTLED_SECONDS = 60


def _settled_key(reference: str) -> str:
    return f"saleor_optty:settled:{reference}"


def remember_settled(attempt: AttemptBase, status: str) -> None:
    """Duplicate callbacks of a settled attempt are then answered ``status`` without a query."""
    cache.set(_settled_key(attempt.reference), status, SETTLED_SECONDS)


def forget_settled(attempt: AttemptBase) -> None:
    cache.delete(_settled_key(attempt.reference))


def known_settled(reference: str) -> str | None:
    """The status a settled attempt's callbacks are answered, if it is known to be settled."""
    return cache.get(_settled_key(reference))


def record(attempt: AttemptBase, kind: str, amount: Decimal, *, source: str, **fields) -> OperationBase:
    """Write the operation as requested, before anything is sent.

    Outside a transaction this commits at once; inside one (Saleor's staff actions run
    in Saleor's payment lock) it commits with Saleor's own record of the action. The
    attempt stops counting as settled: the next callback reads Optty's record if this
    operation's answer is lost. ``fields`` are the adapter's own (the App's Saleor request id).
    """
    forget_settled(attempt)
    return attempt.operations.create(
        kind=kind,
        reference=new_reference(attempt, kind),
        amount=amount,
        currency=attempt.currency,
        source=source,
        **fields,
    )


def lock(attempt: AttemptBase) -> AttemptBase:
    """``attempt`` read again under its row lock; call inside a transaction.

    SQLite has no row locks: a write first takes its database-wide write lock instead,
    which serialises the callers the same way.
    """
    rows = type(attempt).objects.filter(pk=attempt.pk)
    if connection.vendor == "sqlite":
        rows.update(updated_at=timezone.now())
    return rows.select_for_update().get()


@dataclass(frozen=True)
class MoneyBack:
    """How far an attempt's money is back with the shopper, read in one query: an
    operation that settles meanwhile (its answer is written without the attempt's lock)
    is seen either back or on its way, never neither."""

    #: Succeeded refunds and voids.
    returned: Decimal
    #: What the attempt still owes the shopper (0 or less: all of it is back).
    owed: Decimal
    #: A refund or void giving it back is on its way, its outcome unknown.
    on_its_way: bool


def money_back(attempt: AttemptBase) -> MoneyBack:
    movements = list(attempt.operations.filter(kind__in=(OpttyOperationKind.REFUND, OpttyOperationKind.VOID)))
    returned = sum((op.amount for op in movements if op.status == OpttyOperationStatus.SUCCEEDED), Decimal(0))
    on_its_way = any(op.status in UNSETTLED and op.source not in STAFF_SOURCES for op in movements)
    return MoneyBack(returned, (attempt.return_amount or attempt.amount) - returned, on_its_way)


def fully_returned(attempt: AttemptBase) -> bool:
    """Everything the attempt owes the shopper is back (succeeded refunds and voids)."""
    return money_back(attempt).owed <= 0


def record_give_back(attempt: AttemptBase, kind: str, *, source: str) -> OperationBase | None:
    """Record, under the attempt's lock, the refund or void of what the attempt still owes
    the shopper; None when nothing is owed or a give-back is already on its way.

    Two paths that find the same money to give back at once (the return and a callback)
    thus record one operation; the other finds it and sends nothing.
    """
    with transaction.atomic():
        locked = lock(attempt)
        back = money_back(locked)
        if not locked.is_returning or back.owed <= 0 or back.on_its_way:
            return None
        return record(locked, kind, back.owed, source=source)


def send(client: OpttyClient, operation: OperationBase, *, description: str = "") -> OperationBase:
    """Send a recorded operation and record Optty's answer; raises the OpttyError it got.

    An answer that may have been lost leaves the operation UNKNOWN (the error raised is
    :class:`OpttyOutcomeUnknownError`): it is settled from Optty's record, not re-sent.
    """
    operation.sends += 1
    operation.save(update_fields=["sends"])
    try:
        try:
            result = _call(client, operation, description)
        except OpttyResponseError as error:
            # A 2xx Optty's client cannot read: the money may well have moved.
            raise OpttyOutcomeUnknownError(f"Optty's answer could not be read ({error.message})") from None
    except OpttyOutcomeUnknownError as error:
        _save(operation, OpttyOperationStatus.UNKNOWN, error=error.message)
        raise
    except OpttyError as error:
        _save(operation, OpttyOperationStatus.FAILED, error=error.message)
        raise
    operation.optty_id = result.operation_id
    operation.amount = result.amount
    _save(operation, OpttyOperationStatus.SUCCEEDED, error="")
    return operation


def _call(client: OpttyClient, operation: OperationBase, description: str):
    order = operation.attempt
    kind = OpttyOperationKind(operation.kind)
    common = {"amount": operation.amount, "currency": operation.currency}
    if kind is OpttyOperationKind.CAPTURE:
        return client.capture(order.reference, capture_reference=operation.reference, **common)
    if kind is OpttyOperationKind.VOID:
        return client.void(order.reference, void_reference=operation.reference, **common)
    # Our reference travels in the description too, which Optty lists as the refund's
    # reason: the one place its record may echo it.
    text = f"{description} [{operation.reference}]".strip()
    return client.refund(order.reference, refund_reference=operation.reference, description=text, **common)


def perform(
    client: OpttyClient,
    attempt: AttemptBase,
    kind: str,
    amount: Decimal,
    *,
    source: str,
    description: str = "",
    **fields,
) -> OperationBase:
    """Record, then send, one new operation."""
    return send(client, record(attempt, kind, amount, source=source, **fields), description=description)


def send_once(client: OpttyClient, attempt: AttemptBase, kind: str, amount: Decimal, *, source: str, **fields) -> OperationBase:
    """Send an operation, or settle the same one whose answer was lost before.

    A staff retry of an operation whose outcome is unknown first asks Optty's record;
    only when Optty has no trace of it is it sent again, under the same reference, so an
    Optty that de-duplicates references cannot do it twice. Raises
    :class:`OpttyOutcomeUnknownError` while Optty's record cannot be read.
    """
    earlier = unsettled(attempt, kind, amount)
    if earlier is None:
        return perform(client, attempt, kind, amount, source=source, **fields)
    return resend_if_untraced(client, earlier)


def resend_if_untraced(client: OpttyClient, operation: OperationBase) -> OperationBase:
    """Settle an unsettled ``operation`` from Optty's record; send it again, under its own
    reference, only when Optty has no trace of it, or as a new one when it failed."""
    attempt = operation.attempt
    try:
        details = client.get_order_details(attempt.reference)
    except OpttyError as error:
        # Still unknown, and not to be sent while Optty's record cannot be read.
        raise OpttyOutcomeUnknownError(f"Optty's record could not be read: {error.message}") from None
    settle(attempt, details)
    operation.refresh_from_db()
    if operation.status == OpttyOperationStatus.SUCCEEDED:
        return operation
    if operation.status == OpttyOperationStatus.FAILED:
        return perform(client, attempt, operation.kind, operation.amount, source=operation.source)
    return send(client, operation)


def with_unsettled(attempts: QuerySet) -> QuerySet:
    """``attempts`` annotated with ``has_unsettled``: an operation whose outcome Optty has not given."""
    operation_model = attempts.model._meta.get_field("operations").related_model
    unsettled = operation_model.objects.filter(attempt=OuterRef("pk"), status__in=UNSETTLED)
    return attempts.annotate(has_unsettled=Exists(unsettled))


def unsettled(attempt: AttemptBase, kind: str, amount: Decimal) -> OperationBase | None:
    """The oldest operation of this kind and amount whose outcome Optty has not given."""
    return (
        attempt.operations.filter(kind=kind, amount=amount, status__in=UNSETTLED).exclude(source=OPTTY_SOURCE)
        .order_by("created_at")
        .first()
    )


@dataclass(frozen=True)
class Settled:
    """What one reading of Optty's record changed in the ledger."""

    #: Operations whose outcome is now known, newly (succeeded or failed).
    settled: tuple[OperationBase, ...]
    #: Refunds Optty made that no operation of ours accounts for, now recorded.
    foreign_refunds: tuple[OperationBase, ...]


def read_record(client: OpttyClient, attempt: AttemptBase) -> OrderDetails:
    """Optty's record of the attempt's order (``/details``), read before any lock is taken.

    When it cannot be read, whatever moved is still to be shown: the attempt is marked
    ``sync_due`` for reconciliation, and the OpttyError raised.
    """
    try:
        return client.get_order_details(attempt.reference)
    except OpttyError:
        type(attempt).objects.filter(pk=attempt.pk).update(sync_due=True)
        forget_settled(attempt)
        raise


def settle(attempt: AttemptBase, details: OrderDetails) -> Settled:
    """Settle every operation that Optty's record of the order (``/details``) accounts for.

    The caller reads ``details`` before taking any lock. This runs under the attempt's
    row lock, so two settlers never record one refund twice.
    """
    now = timezone.now()
    settled, foreign = [], []
    with transaction.atomic():
        attempt = type(attempt).objects.select_for_update().get(pk=attempt.pk)
        operations = {op.pk: op for op in attempt.operations.all()}
        result = ledger.settle([_as_ledger(op) for op in operations.values()], details, now=now)
        for settlement in result.settlements:
            op = operations[settlement.key]
            newly = settlement.status.is_settled and not op.settled
            op.record_id = settlement.record_id or op.record_id
            if newly:
                op.status = settlement.status.value
                op.error = settlement.reason[:300]
                op.settled_at = now
            op.save(update_fields=["record_id", "status", "error", "settled_at"])
            if newly:
                settled.append(op)
        for entry in result.foreign_refunds:
            foreign.append(
                attempt.operations.create(
                    kind=OpttyOperationKind.REFUND,
                    reference=f"OPTTY-{entry.record_id}"[:64],
                    amount=entry.amount,
                    currency=entry.currency,
                    status=OpttyOperationStatus.SUCCEEDED,
                    record_id=entry.record_id,
                    source=OPTTY_SOURCE,
                    sends=0,
                    settled_at=now,
                )
            )
    return Settled(tuple(settled), tuple(foreign))


def shown_in_saleor(operation: OperationBase) -> None:
    operation.in_saleor = True
    operation.save(update_fields=["in_saleor"])


def not_yet_in_saleor(attempt: AttemptBase) -> list[OperationBase]:
    """Succeeded operations Saleor's payment does not show yet (settled after a lost answer)."""
    return list(attempt.operations.filter(status=OpttyOperationStatus.SUCCEEDED, in_saleor=False).order_by("created_at"))


def _as_ledger(op: OperationBase) -> ledger.Operation:
    return ledger.Operation(
        key=op.pk,
        kind=ledger.OperationKind(op.kind),
        reference=op.reference,
        amount=op.amount,
        currency=op.currency,
        status=ledger.OperationStatus(op.status),
        requested_at=op.created_at,
        record_id=op.record_id,
    )


def _save(operation: OperationBase, status: str, *, error: str) -> None:
    operation.status = status
    operation.error = error[:300]
    fields = ["status", "error", "optty_id", "amount"]
    if OpttyOperationStatus(status) in (OpttyOperationStatus.SUCCEEDED, OpttyOperationStatus.FAILED):
        operation.settled_at = timezone.now()
        fields.append("settled_at")
    operation.save(update_fields=fields)
