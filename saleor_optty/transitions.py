"""The one place that decides what Optty's verified state means for Saleor.

The return redirect, the callbacks, the confirm path (``checkoutComplete`` again) and
reconciliation each fetch the order's state from Optty's API themselves and then call
:func:`apply`. It runs in one database transaction and takes row locks in the order
Saleor's own ``checkoutComplete`` takes them: checkout, then payment, then the Optty
attempt. So whichever path comes first makes the order, and every later one finds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from . import operations
from . import saleor_compat as saleor
from .consts import STOREFRONT_STATUS
from .models import OpttyOperation, OpttyOperationKind, OpttyOrder, OpttyOrderState
from .optty import OpttyClient, OrderStatus, PaymentStatus, payment_mismatch

logger = logging.getLogger(__name__)

#: What the storefront's return URL is told, per recorded state (an attempt Optty has
#: not reported on yet is pending). OpttyOrderState reuses PaymentStatus's values.
RETURN_STATUS = {OpttyOrderState(status.value): word for status, word in STOREFRONT_STATUS.items()}
RETURN_STATUS[OpttyOrderState.CREATED] = "pending"


@dataclass(frozen=True)
class Outcome:
    """What applying a state did: ``status`` is one of RETURN_STATUS's values."""

    status: str
    message: str
    order_id: object | None = None
    checkout_token: str = ""


def mismatch(attempt: OpttyOrder, verified: OrderStatus) -> str | None:
    """Why Optty's order does not pay for this attempt, if it does not."""
    return payment_mismatch(verified, amount=attempt.amount, currency=attempt.currency)


def paid_kind(attempt: OpttyOrder, verified: OrderStatus) -> str:
    """CAPTURE when the money is taken, AUTH when it waits for a capture from the Dashboard."""
    captured = attempt.auto_capture or verified.capture_status in ("CAPTURED", "FULLY_CAPTURED")
    return saleor.TransactionKind.CAPTURE if captured else saleor.TransactionKind.AUTH


def apply(client: OpttyClient, reference: str, verified: OrderStatus, *, source: str) -> Outcome:
    """Apply Optty's verified state for ``reference``, exactly once."""
    attempt = OpttyOrder.objects.filter(reference=reference).first()
    if attempt is None:
        return Outcome("error", "No Optty payment with this reference exists in this store.")
    payment = saleor.Payment.objects.filter(pk=attempt.payment_id).first()
    if payment is None:
        return Outcome("error", "The Saleor payment for this Optty order no longer exists.")

    with saleor.transaction_with_commit_on_errors():
        # Lock order: checkout, payment, attempt: the same as checkoutComplete.
        checkout = saleor.lock_checkout_of_payment(payment)
        payment = saleor.lock_payment(attempt.payment_id)
        attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
        if attempt.finalised_at is not None:
            return recorded_outcome(attempt, payment)

        if verified.status is PaymentStatus.PENDING:
            record_pending(attempt)
            return Outcome("pending", "The provider has not decided yet.", checkout_token=attempt.checkout_token)
        if verified.status.is_failure:
            message = record_failure(attempt, verified)
            return Outcome(RETURN_STATUS[attempt.state], message, checkout_token=attempt.checkout_token)
        return _apply_success(client, attempt, payment, checkout, verified, source=source)


def _apply_success(client, attempt, payment, checkout, verified, *, source) -> Outcome:
    token = attempt.checkout_token
    problem = mismatch(attempt, verified)
    if problem:
        captured = paid_kind(attempt, verified) == saleor.TransactionKind.CAPTURE
        resolution = operations.give_back(client, attempt, captured=captured, amount=verified.amount, reason=problem)
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True, resolution=resolution)
        logger.error("Optty order %s does not match its payment: %s.", attempt.reference, resolution)
        return Outcome("error", "The paid amount does not match the order; the payment was returned.", checkout_token=token)

    # Recorded before anything below can call back into the plugin to refund or void.
    record_success(attempt)
    kind = paid_kind(attempt, verified)
    transaction = saleor.successful_transaction(payment, (kind,))
    if transaction is None:
        transaction = saleor.record_transaction(
            payment, kind=kind, amount=verified.amount, reference=attempt.reference, raw=summary(verified, source)
        )

    if not payment.is_active:
        # A newer payment replaced this one while the shopper was at the provider.
        saleor.settle_inactive_payment(payment, transaction)
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True, resolution="superseded by a newer payment; returned")
        return Outcome("error", "This payment was replaced by a newer one and has been returned.", checkout_token=token)

    if payment.order_id:
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
        return Outcome("success", "Paid.", order_id=payment.order_id, checkout_token=token)

    if checkout is None:
        saleor.return_money(payment, attempt.channel_slug)
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True, resolution="checkout no longer exists; returned")
        return Outcome("error", "The cart no longer exists; the payment was returned.", checkout_token=token)

    try:
        order = saleor.complete_checkout_for_payment(checkout, payment)
    except (ValidationError, saleor.PaymentError) as error:
        # Saleor's failure handler usually returned the money already; then this does nothing.
        saleor.return_money(payment, attempt.channel_slug)
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True, resolution=f"order not created ({reason}); returned")
        logger.warning("Optty order %s paid but its checkout could not be completed: %s", attempt.reference, reason)
        return Outcome("error", f"The order could not be placed ({reason}); the payment was returned.", checkout_token=token)

    _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
    return Outcome("success", "Paid.", order_id=order.pk if order else None, checkout_token=token)


def recorded_outcome(attempt: OpttyOrder, payment=None) -> Outcome:
    """The outcome of a final state applied earlier: duplicates and replays need no call to Optty."""
    token = attempt.checkout_token
    if attempt.state == OpttyOrderState.SUCCESSFUL:
        if attempt.resolution:  # paid, but the money went back
            return Outcome("error", attempt.resolution, checkout_token=token)
        payment = payment or saleor.Payment.objects.filter(pk=attempt.payment_id).first()
        return Outcome("success", "Paid.", order_id=payment.order_id if payment else None, checkout_token=token)
    message = attempt.resolution or f"The payment was {attempt.state}."
    return Outcome(RETURN_STATUS[attempt.state], message, checkout_token=token)


def record_pending(attempt: OpttyOrder) -> None:
    _save_state(attempt, OpttyOrderState.PENDING, final=False)


def record_success(attempt: OpttyOrder) -> None:
    """Optty confirmed the money; final only once the order exists (see apply)."""
    _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=False)


def record_failure(attempt: OpttyOrder, verified: OrderStatus) -> str:
    """A final refusal: the checkout stays usable for another payment. Returns the shopper's message."""
    message = failure_message(attempt, verified)
    _save_state(attempt, OpttyOrderState(verified.status.value), final=True, resolution=message)
    saleor.refuse_payment(attempt.payment_id, cancelled=verified.status is PaymentStatus.CANCELLED)
    return message


def record_unknown_to_optty(attempt: OpttyOrder) -> str:
    """A final failure for an order Optty never stored; returns the message recorded."""
    message = "Optty has no such order"
    _save_state(attempt, OpttyOrderState.FAILED, final=True, resolution=message)
    saleor.refuse_payment(attempt.payment_id, cancelled=False)
    return message


def failure_message(attempt: OpttyOrder, verified: OrderStatus) -> str:
    provider = attempt.provider.replace("_", " ").title()
    verb = {
        PaymentStatus.DECLINED: "declined the payment",
        PaymentStatus.CANCELLED: "payment was cancelled",
        PaymentStatus.FAILED: "payment failed",
    }[verified.status]
    message = f"{provider} {verb}" if verified.status is PaymentStatus.DECLINED else f"The {provider} {verb}"
    if verified.failure_reason:
        message += f" ({verified.failure_reason[:120]})"
    return message + ". Choose another payment method or try again."


def _save_state(attempt: OpttyOrder, state: str, *, final: bool, resolution: str = "") -> None:
    attempt.state = state
    fields = ["state", "updated_at"]
    if final:
        attempt.finalised_at = timezone.now()
        fields.append("finalised_at")
    if resolution:
        attempt.resolution = resolution[:255]
        fields.append("resolution")
    attempt.save(update_fields=fields)


def summary(verified: OrderStatus, source: str) -> dict:
    """What is stored as the transaction's gateway response: no personal data."""
    return {
        "source": source,
        "status": verified.raw_status,
        "amount": str(verified.amount),
        "currency": verified.currency,
        "provider": verified.provider,
        "captureStatus": verified.capture_status,
    }


def check_and_apply(client: OpttyClient, reference: str, *, source: str) -> Outcome:
    """Ask Optty for the order's state, then apply it; raises OpttyError when Optty can't say."""
    ordered = _finalise_ordered(reference)
    if ordered is not None:
        return ordered
    verified = client.get_order(reference)
    return apply(client, reference, verified, source=source)


def _finalise_ordered(reference: str) -> Outcome | None:
    """Finalise, without asking Optty, a verified success that Saleor has made an order of.

    When ``checkoutComplete`` comes first, ``confirm_payment`` verifies the payment with
    Optty and records the success, and Saleor then makes the order, out of the plugin's
    sight; the return or callback that follows only has to finalise the attempt.
    """
    attempt = OpttyOrder.objects.filter(
        reference=reference, state=OpttyOrderState.SUCCESSFUL, finalised_at__isnull=True
    ).first()
    if attempt is None:
        return None
    with saleor.transaction_with_commit_on_errors():
        # The checkout is gone once its order exists: payment, then attempt, as apply locks them.
        payment = saleor.lock_payment(attempt.payment_id)
        if payment is None or payment.order_id is None:
            return None
        attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
        if attempt.finalised_at is None:
            _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
        return recorded_outcome(attempt, payment)


def sync_refunds(client: OpttyClient, reference: str) -> list[OpttyOperation]:
    """Record refunds Optty reports that Saleor has not seen (made in Optty's portal).

    Each refund becomes one REFUND transaction, exactly once: the known refunds are
    read under the payment's and the attempt's locks, and each recorded refund's
    reference is unique.
    """
    details = client.get_order_details(reference)
    attempt = OpttyOrder.objects.filter(reference=reference).first()
    if attempt is None or attempt.state != OpttyOrderState.SUCCESSFUL:
        return []
    recorded = []
    with saleor.transaction_with_commit_on_errors():
        payment = saleor.lock_payment(attempt.payment_id)
        attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
        if payment is None:
            return []
        known = list(attempt.operations.filter(kind=OpttyOperationKind.REFUND, succeeded=True))
        for refund in details.refunds:
            if refund.status not in ("", "SUCCESSFUL", "SUCCESS") or _is_known(refund, known):
                continue
            operation = OpttyOperation.objects.create(
                order=attempt,
                kind=OpttyOperationKind.REFUND,
                reference=refund.reference or f"OPTTY-{refund.refund_id}",
                amount=refund.amount,
                currency=refund.currency,
                succeeded=True,
                optty_id=refund.refund_id,
                source="optty",
            )
            saleor.record_refund(
                payment,
                amount=refund.amount,
                reference=operation.reference,
                raw={"source": "optty", "refundId": refund.refund_id, "amount": str(refund.amount)},
            )
            known.append(operation)
            recorded.append(operation)
    return recorded


def _is_known(refund, known: list[OpttyOperation]) -> bool:
    # Optty's details may list our refunds under its own id; the reference we sent
    # also travels in the refund's description, so any of the three identifies it.
    return any(
        (refund.refund_id and refund.refund_id == operation.optty_id)
        or (refund.reference and refund.reference == operation.reference)
        or operation.reference in refund.reason
        for operation in known
    )
