"""Captures, refunds and voids: each one sent to Optty under its own unique reference and
recorded in :class:`~saleor_optty.models.OpttyOperation`, whether it succeeded or not.

No Saleor imports: the plugin turns the results into Saleor transactions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal

from .models import OpttyOperation, OpttyOperationKind, OpttyOrder
from .optty import OperationResult, OpttyClient, OpttyError

_PREFIX = {OpttyOperationKind.CAPTURE: "C", OpttyOperationKind.REFUND: "R", OpttyOperationKind.VOID: "V"}


def new_reference(attempt: OpttyOrder, kind: str) -> str:
    """A reference unique per operation; the order's reference keeps it traceable."""
    return f"{attempt.reference}-{_PREFIX[OpttyOperationKind(kind)]}{secrets.token_hex(4).upper()}"


def _run(
    attempt: OpttyOrder,
    kind: str,
    amount: Decimal,
    *,
    source: str,
    call: Callable[[str], OperationResult],
) -> OpttyOperation:
    operation = OpttyOperation.objects.create(
        order=attempt,
        kind=kind,
        reference=new_reference(attempt, kind),
        amount=amount,
        currency=attempt.currency,
        source=source,
    )
    try:
        result = call(operation.reference)
    except OpttyError as error:
        operation.error = error.message[:300]
        operation.save(update_fields=["error"])
        raise
    operation.succeeded = True
    operation.optty_id = result.operation_id
    operation.amount = result.amount
    operation.save(update_fields=["succeeded", "optty_id", "amount"])
    return operation


def capture(client: OpttyClient, attempt: OpttyOrder, amount: Decimal, *, source: str = "dashboard") -> OpttyOperation:
    return _run(
        attempt,
        OpttyOperationKind.CAPTURE,
        amount,
        source=source,
        call=lambda reference: client.capture(
            attempt.reference, capture_reference=reference, amount=amount, currency=attempt.currency
        ),
    )


def refund(
    client: OpttyClient, attempt: OpttyOrder, amount: Decimal, *, source: str = "dashboard", reason: str = ""
) -> OpttyOperation:
    return _run(
        attempt,
        OpttyOperationKind.REFUND,
        amount,
        source=source,
        call=lambda reference: client.refund(
            attempt.reference,
            refund_reference=reference,
            amount=amount,
            currency=attempt.currency,
            # Carries our reference, so a refund listed by Optty under its own id is still recognised.
            description=f"{reason} [{reference}]".strip(),
        ),
    )


def void(client: OpttyClient, attempt: OpttyOrder, amount: Decimal, *, source: str = "dashboard") -> OpttyOperation:
    return _run(
        attempt,
        OpttyOperationKind.VOID,
        amount,
        source=source,
        call=lambda reference: client.void(
            attempt.reference, void_reference=reference, amount=amount, currency=attempt.currency
        ),
    )


def give_back(client: OpttyClient, attempt: OpttyOrder, *, captured: bool, amount: Decimal, reason: str) -> str:
    """Return money Optty took that no Saleor order will account for; says what was done."""
    if captured:
        refund(client, attempt, amount, source="plugin", reason=reason)
        return f"refunded {amount} {attempt.currency}: {reason}"
    void(client, attempt, amount, source="plugin")
    return f"voided {amount} {attempt.currency}: {reason}"
