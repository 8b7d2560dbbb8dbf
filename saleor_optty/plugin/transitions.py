"""The one place that carries out what Optty's verified state means for Saleor.

Every path that learns of an order's outcome (the shopper's return, a callback, the
confirm path of a second ``checkoutComplete``, reconciliation) fetches the order's
state from Optty's API itself, outside any lock, and calls :func:`apply`. The verdict
is :func:`saleor_optty.core.decision.decide`'s; this module carries it out in one
database transaction, with row locks in the order Saleor's own ``checkoutComplete``
takes them: checkout, then payment, then the Optty attempt. So whichever path comes
first records the money and makes the order, and every later one finds them.

An attempt is *final* only when its outcome has been carried out completely: an order
exists for its money, or the money is back with the shopper, or Optty refused it.
Until then (money confirmed but no order yet, money still to give back) reconciliation
keeps coming back, however old the attempt.

Money that must go back is given back after the locks are released, through the
ledger (:mod:`saleor_optty.operations`), so that a slow Optty never holds Saleor's
checkout and payment rows, and a rolled-back transaction never forgets money that moved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..consts import STOREFRONT_STATUS
from ..core.decision import Decision, Verdict, decide, is_captured, refusal_message
from ..optty import OpttyClient, OpttyError, OrderStatus, PaymentStatus
from ..shared import operations
from ..shared.models import FAILURE_STATES
from ..shared.reconciliation import UNKNOWN_TO_OPTTY
from . import saleor_compat as saleor
from .models import OpttyNotification, OpttyOperationKind, OpttyOrder, OpttyOrderState

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
    #: The Saleor transaction that records the money, when Optty confirmed it (the
    #: confirm path hands it back to Saleor, which then makes the order itself).
    paid_transaction: object | None = None


def check_and_apply(
    client: OpttyClient,
    attempt: OpttyOrder,
    *,
    source: str,
    recheck_failure: bool = False,
    provider_reference: str = "",
) -> Outcome:
    """Ask Optty for the attempt's state, then apply it; raises OpttyError when Optty can't say.

    A final outcome is answered from the record without asking Optty, except a refusal
    when ``recheck_failure`` (a callback, reconciliation): Optty may yet report it paid.
    ``provider_reference`` (the shopper's return names it) is kept with the state it
    brings, in the same write.
    """
    if attempt.state == OpttyOrderState.SUCCESSFUL and attempt.finalised_at is None and not attempt.returning:
        ordered = _finalise_ordered(attempt, provider_reference)
        if ordered is not None:
            return ordered
    if attempt.finalised_at is not None and not (recheck_failure and attempt.state in FAILURE_STATES):
        return recorded_outcome(attempt)
    verified = client.get_order(attempt.reference)
    if (
        verified.status is PaymentStatus.PENDING
        and attempt.state == OpttyOrderState.PENDING
        and provider_reference in ("", attempt.provider_reference)
    ):
        # Undecided, as recorded: nothing to carry out, so no lock and no write (a storefront
        # polling checkoutComplete while the provider decides asks this again and again).
        return _still_pending(attempt)
    return apply(client, attempt, verified, source=source, provider_reference=provider_reference)


def apply(
    client: OpttyClient, attempt: OpttyOrder, verified: OrderStatus, *, source: str, provider_reference: str = ""
) -> Outcome:
    """Carry out Optty's verified state for ``attempt``, exactly once (it is read again under its lock).

    ``source="confirm"`` is Saleor's own ``checkoutComplete`` asking: the money is
    recorded and handed back to Saleor, which makes the order itself.
    """
    with saleor.transaction_with_commit_on_errors():
        # Lock order: checkout, payment, attempt: the same as checkoutComplete. (The
        # attempt's checkout is its payment's: both were made by the same checkoutComplete.)
        checkout = saleor.lock_checkout(attempt.checkout_token)
        payment = saleor.lock_payment(attempt.payment_id)
        if payment is None:
            return Outcome("error", "The Saleor payment for this Optty order no longer exists.")
        attempt = _locked_attempt(attempt, provider_reference)
        outcome = _carry_out(attempt, payment, checkout, verified, source=source)
    if attempt.is_returning:
        returned = give_back(client, attempt)
        if returned is None:
            return Outcome("error", f"The payment is being returned ({attempt.returning}).", checkout_token=attempt.checkout_token)
        return returned
    return outcome


def _carry_out(attempt, payment, checkout, verified: OrderStatus, *, source: str) -> Outcome:
    token = attempt.checkout_token
    late_success = attempt.state in FAILURE_STATES and verified.status is PaymentStatus.SUCCESSFUL
    if attempt.finalised_at is not None and not late_success:
        return recorded_outcome(attempt, payment)
    if attempt.is_returning:
        return recorded_outcome(attempt, payment)

    decision = decide(verified, amount=attempt.amount, currency=attempt.currency, auto_capture=attempt.auto_capture)
    if decision.verdict is Verdict.PENDING:
        # Read from Optty before another path recorded its decision: a payment recorded
        # as confirmed is never taken back to pending (the next look reads Optty afresh).
        if attempt.state != OpttyOrderState.SUCCESSFUL:
            _save_state(attempt, OpttyOrderState.PENDING)
        return _still_pending(attempt)
    if decision.verdict is Verdict.REFUSED:
        message = refusal_message(attempt.provider, verified)
        _save_state(attempt, OpttyOrderState(verified.status.value), final=True, resolution=message)
        saleor.refuse_payment(attempt.payment_id, cancelled=verified.status is PaymentStatus.CANCELLED)
        return Outcome(RETURN_STATUS[attempt.state], message, checkout_token=token)
    if late_success:
        # Refused once, paid now (say, after the merchant fixed a wrong environment).
        logger.warning("Optty order %s was recorded as %s and is now paid.", attempt.reference, attempt.state)
        attempt.finalised_at = None
        attempt.resolution = ""
        attempt.save(update_fields=["finalised_at", "resolution", "updated_at"])
    if decision.verdict is Verdict.MISMATCH:
        # Not recorded in Saleor: this money pays for nothing Saleor asked for.
        logger.error("Optty order %s does not match its payment: %s.", attempt.reference, decision.reason)
        return _start_returning(attempt, f"{decision.reason}", decision.amount,
                                "The paid amount does not match the order; the payment was returned.")  # fmt: skip
    return _carry_out_payment(attempt, payment, checkout, decision, verified, source=source)


def _carry_out_payment(attempt, payment, checkout, decision: Decision, verified, *, source) -> Outcome:
    token = attempt.checkout_token
    was_active = payment.is_active
    _save_state(attempt, OpttyOrderState.SUCCESSFUL)
    kind = saleor.TransactionKind.CAPTURE if decision.captured else saleor.TransactionKind.AUTH
    paid = saleor.successful_transaction(payment, (saleor.TransactionKind.AUTH, saleor.TransactionKind.CAPTURE))
    if paid is None:
        paid = saleor.record_transaction(
            payment, kind=kind, amount=verified.amount, reference=attempt.reference, raw=summary(verified, source)
        )

    if not was_active:
        # A newer payment replaced this one while the shopper was at the provider.
        saleor.deactivate_payment(payment)
        return _start_returning(attempt, "superseded by a newer payment", verified.amount,
                                "This payment was replaced by a newer one and has been returned.")  # fmt: skip
    if payment.order_id:
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
        return Outcome("success", "Paid.", order_id=payment.order_id, checkout_token=token)
    if checkout is None:
        return _start_returning(attempt, "checkout no longer exists", verified.amount,
                                "The cart no longer exists; the payment was returned.")  # fmt: skip
    try:
        prepared = saleor.check_checkout_unchanged(checkout, payment)
        if source == "confirm":
            # Saleor's checkoutComplete makes the order with this transaction; the attempt
            # becomes final when a later path (or reconciliation) finds the order.
            return Outcome("success", "Paid.", checkout_token=token, paid_transaction=paid)
        order = saleor.complete_checkout_for_payment(checkout, prepared)
    except (ValidationError, saleor.PaymentError) as error:
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])
        logger.warning("Optty order %s paid but its checkout could not be completed: %s", attempt.reference, reason)
        return _start_returning(attempt, f"order not created ({reason})", verified.amount,
                                f"The order could not be placed ({reason}); the payment was returned.")  # fmt: skip
    _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
    return Outcome("success", "Paid.", order_id=order.pk if order else None, checkout_token=token)


def _still_pending(attempt: OpttyOrder) -> Outcome:
    return Outcome("pending", "The provider has not decided yet.", checkout_token=attempt.checkout_token)


def _start_returning(attempt: OpttyOrder, reason: str, amount: Decimal, message: str) -> Outcome:
    """Record, under the locks, that this money must go back; :func:`give_back` sends it after."""
    attempt.state = OpttyOrderState.SUCCESSFUL
    attempt.returning = reason[:255]
    attempt.return_amount = amount
    attempt.resolution = message[:255]
    attempt.save(update_fields=["state", "returning", "return_amount", "resolution", "provider_reference", "updated_at"])
    return Outcome("error", message, checkout_token=attempt.checkout_token)


def give_back(client: OpttyClient, attempt: OpttyOrder) -> Outcome | None:
    """Return the money an attempt is ``returning``; final once the ledger shows it back.

    Never sends twice what may have gone already: an unsettled give-back is settled
    from Optty's record first. What cannot go back now stays open for reconciliation
    and is visible to staff (``optty_history``, the admin). Returns the outcome once
    the money is back, None while it is not.
    """
    attempt.refresh_from_db()
    if not attempt.is_returning:
        return None
    try:
        back = operations.money_back(attempt)
        if back.on_its_way:
            sync_with_optty(client, attempt)
            back = operations.money_back(attempt)
        if back.owed <= 0 or back.on_its_way:
            return _finish_returning(attempt)
        payment = saleor.Payment.objects.get(pk=attempt.payment_id)
        if saleor.payment_holds_money(payment):
            # Saleor knows this money: its own refund or void (which comes back to this
            # plugin) keeps its record equal to Optty's.
            saleor.return_money(payment, attempt.channel_slug)
        else:
            # Saleor never showed this money; Optty says whether it is captured by now.
            verified = client.get_order(attempt.reference)
            captured = is_captured(verified, auto_capture=attempt.auto_capture)
            kind = OpttyOperationKind.REFUND if captured else OpttyOperationKind.VOID
            operation = operations.record_give_back(attempt, kind, source="plugin")
            if operation is not None:
                operations.shown_in_saleor(operation)  # Saleor never showed this money: nothing to show
                operations.send(client, operation, description=attempt.returning)
    except (OpttyError, saleor.PaymentError) as error:
        # Stays open: reconciliation tries again; staff see it in optty_history and the admin.
        message = getattr(error, "message", None) or str(error)
        logger.warning("Could not give back Optty order %s yet (%s): %s", attempt.reference, attempt.returning, message)
        record_event("give back", attempt.reference, f"not yet returned: {message}")
    return _finish_returning(attempt)


def record_event(event: str, reference: str, outcome: str) -> None:
    """An audit record of something the plugin did on its own (no payload)."""
    OpttyNotification.objects.create(event=event, reference=reference, outcome=outcome[:255])


def _finish_returning(attempt: OpttyOrder) -> Outcome | None:
    with transaction.atomic():
        attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
        if not operations.fully_returned(attempt):
            return None
        _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
    record_event("give back", attempt.reference, f"returned {attempt.return_amount} {attempt.currency}")
    return recorded_outcome(attempt)


def sync_with_optty(client: OpttyClient, attempt: OpttyOrder) -> operations.Settled:
    """Settle the attempt's operations from Optty's record and show Saleor what it lacks.

    Operations whose answer was lost, refunds made in Optty's portal: each reaches
    Saleor's payment once. The call to Optty is made before any lock is taken.
    """
    details = operations.read_record(client, attempt)
    with saleor.transaction_with_commit_on_errors():
        payment = saleor.lock_payment(attempt.payment_id)  # payment, then attempt
        settled = operations.settle(attempt, details)
        if payment is not None:
            for operation in operations.not_yet_in_saleor(attempt):
                saleor.record_operation(payment, operation)
                operations.shown_in_saleor(operation)
        OpttyOrder.objects.filter(pk=attempt.pk).update(sync_due=False)
    return settled


def recorded_outcome(attempt: OpttyOrder, payment=None) -> Outcome:
    """The outcome recorded earlier: duplicates and replays need no call to Optty."""
    token = attempt.checkout_token
    if attempt.state == OpttyOrderState.SUCCESSFUL:
        if attempt.resolution:  # paid, but the money went back (or is going back)
            return Outcome("error", attempt.resolution, checkout_token=token)
        payment = payment or saleor.Payment.objects.filter(pk=attempt.payment_id).first()
        return Outcome("success", "Paid.", order_id=payment.order_id if payment else None, checkout_token=token)
    if attempt.finalised_at is None:
        return Outcome("pending", "The provider has not decided yet.", checkout_token=token)
    message = attempt.resolution or f"The payment was {attempt.state}."
    return Outcome(RETURN_STATUS[attempt.state], message, checkout_token=token)


def record_unknown_to_optty(attempt: OpttyOrder) -> str:
    """A failure for an order Optty never stored; a later callback or reconciliation still re-checks it."""
    with transaction.atomic():
        attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
        if attempt.state not in (OpttyOrderState.CREATED, OpttyOrderState.PENDING, OpttyOrderState.FAILED):
            return attempt.resolution
        _save_state(attempt, OpttyOrderState.FAILED, final=True, resolution=UNKNOWN_TO_OPTTY)
    saleor.refuse_payment(attempt.payment_id, cancelled=False)
    return UNKNOWN_TO_OPTTY


def _locked_attempt(attempt: OpttyOrder, provider_reference: str) -> OpttyOrder:
    """The attempt read again under its row lock, with the return's ``provider_reference``
    (written with the state, by :func:`_save_state` or :func:`_start_returning`)."""
    attempt = OpttyOrder.objects.select_for_update().get(pk=attempt.pk)
    if provider_reference:
        attempt.provider_reference = provider_reference
    return attempt


def _save_state(attempt: OpttyOrder, state: str, *, final: bool = False, resolution: str = "") -> None:
    # Every write of the state is made under the attempt's lock (see _locked_attempt).
    attempt.state = state
    attempt.finalised_at = timezone.now() if final else None
    fields = ["state", "finalised_at", "provider_reference", "updated_at"]
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


def _finalise_ordered(attempt: OpttyOrder, provider_reference: str = "") -> Outcome | None:
    """Finalise, without asking Optty, a verified success that Saleor has made an order of.

    When ``checkoutComplete`` comes first, its confirm path records the money and Saleor
    then makes the order out of the plugin's sight; whoever comes next (the return, a
    callback, reconciliation) only has to finalise the attempt.
    """
    with saleor.transaction_with_commit_on_errors():
        # The checkout is gone once its order exists: payment, then attempt, as apply locks them.
        payment = saleor.lock_payment(attempt.payment_id)
        if payment is None or payment.order_id is None:
            return None
        attempt = _locked_attempt(attempt, provider_reference)
        if attempt.finalised_at is None:
            _save_state(attempt, OpttyOrderState.SUCCESSFUL, final=True)
        return recorded_outcome(attempt, payment)
