"""The one place that carries out what Optty's verified state means for a Saleor transaction.

Every path that learns of an order's outcome (the shopper's return, a callback,
``TRANSACTION_PROCESS_SESSION``, reconciliation) fetches the order's state from Optty's
API itself, outside any lock, and calls :func:`apply`. The verdict is
:func:`saleor_optty.core.decision.decide`'s, the same as the plugin's; this module
carries it out for the Transactions API: it tells Saleor with ``transactionEventReport``
under the lock of every attempt that pays the same checkout or order, so that whichever
path comes first reports once, and every later one finds it reported.

Saleor hears only what Optty confirmed: a charge or an authorisation when Optty says
SUCCESSFUL for the amount asked, a failure when it says declined, cancelled or failed.
While Optty says PENDING nothing is reported (a ``*_REQUEST`` would count toward
"fully authorised" and let ``checkoutComplete`` make an order the provider may yet
decline).

An attempt is *final* only when its outcome has been carried out completely: Saleor
confirmed the report, and any money no order can account for is back with the shopper.
Until then reconciliation keeps coming back, however old the attempt. Money that must go
back is given back after the lock is released, through the ledger
(:mod:`saleor_optty.shared.operations`), and each operation is reported to Saleor once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..consts import STOREFRONT_STATUS
from ..core.decision import Verdict, decide, is_captured, refusal_message
from ..optty import OpttyClient, OpttyError, OrderStatus, PaymentStatus
from ..shared import callbacks, operations
from ..shared.models import FAILURE_STATES, OpttyOperationKind, OpttyOperationStatus, OpttyOrderState
from ..shared.reconciliation import UNKNOWN_TO_OPTTY
from .models import Attempt, Notification, Operation
from .saleor.client import SaleorError
from .tenants import saleor_client

logger = logging.getLogger(__name__)

#: What the storefront's return URL is told, per recorded state (not yet reported: pending).
RETURN_STATUS = {OpttyOrderState(status.value): word for status, word in STOREFRONT_STATUS.items()}
RETURN_STATUS[OpttyOrderState.CREATED] = "pending"

#: The query that says where a transaction's money sits, and what else pays its checkout.
SOURCE_QUERY = """
query OpttyTransactionSource($id: ID!) {
  transaction(id: $id) {
    id
    order { id }
    checkout {
      id
      totalPrice { gross { amount currency } }
      giftCards { currentBalance { amount } }
      transactions {
        id
        chargedAmount { amount }
        chargePendingAmount { amount }
        authorizedAmount { amount }
        authorizePendingAmount { amount }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Outcome:
    """What an attempt's outcome is, for the storefront and for Saleor's session webhooks."""

    #: The storefront's vocabulary: success, pending, declined, cancelled or error.
    status: str
    message: str
    #: The result a session webhook answers Saleor with (e.g. CHARGE_SUCCESS).
    result: str
    amount: Decimal


def success_type(*, captured: bool) -> str:
    return "CHARGE_SUCCESS" if captured else "AUTHORIZATION_SUCCESS"


def failure_type(attempt: Attempt) -> str:
    return "CHARGE_FAILURE" if attempt.auto_capture else "AUTHORIZATION_FAILURE"


def action_required_type(attempt: Attempt) -> str:
    return "CHARGE_ACTION_REQUIRED" if attempt.auto_capture else "AUTHORIZATION_ACTION_REQUIRED"


#: What staff may do next with a transaction in each reported state.
AVAILABLE_ACTIONS = {"CHARGE_SUCCESS": ("REFUND",), "AUTHORIZATION_SUCCESS": ("CHARGE", "CANCEL")}


def check_and_apply(client: OpttyClient, attempt: Attempt, *, source: str, recheck_failure: bool = False) -> Outcome:
    """Ask Optty for the attempt's state, then apply it; raises OpttyError when Optty can't say.

    A final outcome is answered from the record without asking Optty, except a refusal
    when ``recheck_failure`` (a callback, reconciliation): Optty may yet report it paid.
    A payment Optty confirmed earlier whose report Saleor has not confirmed is reported
    again from the record: Optty has already said everything there is to say.
    """
    if attempt.finalised_at is not None and not (recheck_failure and attempt.state in FAILURE_STATES):
        return recorded_outcome(attempt)
    if attempt.state == OpttyOrderState.SUCCESSFUL and not attempt.returning:
        return _carry_out_recorded(client, attempt)
    verified = client.get_order(attempt.reference)
    if verified.status is PaymentStatus.PENDING and attempt.state == OpttyOrderState.PENDING:
        # Undecided, as recorded: nothing to carry out, so no lock and no write (a storefront
        # that polls transactionProcess while the provider decides asks this again and again).
        return recorded_outcome(attempt)
    return apply(client, attempt, verified, source=source)


def apply(client: OpttyClient, attempt: Attempt, verified: OrderStatus, *, source: str) -> Outcome:
    """Carry out Optty's verified state for ``attempt``, exactly once (it is read again under its lock)."""
    with _locked(attempt) as attempt:
        outcome = _carry_out(attempt, verified, source=source)
    return _after_release(client, attempt, outcome)


def _carry_out_recorded(client: OpttyClient, attempt: Attempt) -> Outcome:
    with _locked(attempt) as attempt:
        if attempt.state != OpttyOrderState.SUCCESSFUL or attempt.finalised_at is not None or attempt.returning:
            outcome = recorded_outcome(attempt)
        else:
            outcome = _report_paid(attempt, attempt.money, captured=_recorded_captured(attempt))
    return _after_release(client, attempt, outcome)


def _after_release(client: OpttyClient, attempt: Attempt, outcome: Outcome) -> Outcome:
    if attempt.is_returning:
        returned = give_back(client, attempt)
        return returned or _being_returned(attempt, outcome)
    return outcome


def _carry_out(attempt: Attempt, verified: OrderStatus, *, source: str) -> Outcome:
    late_success = attempt.state in FAILURE_STATES and verified.status is PaymentStatus.SUCCESSFUL
    if (attempt.finalised_at is not None and not late_success) or attempt.is_returning:
        return recorded_outcome(attempt)

    decision = decide(verified, amount=attempt.money, currency=attempt.currency, auto_capture=attempt.auto_capture)
    if decision.verdict is Verdict.PENDING:
        # A payment recorded as confirmed stays so: Optty was read before another path
        # recorded Optty's decision. (Already pending: nothing to write.)
        if attempt.state not in (OpttyOrderState.PENDING, OpttyOrderState.SUCCESSFUL):
            _save(attempt, state=OpttyOrderState.PENDING)
        return recorded_outcome(attempt)
    if decision.verdict is Verdict.REFUSED:
        message = refusal_message(attempt.provider, verified)
        _save(attempt, state=OpttyOrderState(verified.status.value), resolution=message)
        if _report(attempt, failure_type(attempt), attempt.money, message=message):
            _save(attempt, final=True)
        return recorded_outcome(attempt)
    if late_success:
        # Refused once, paid now (say, after the merchant fixed a wrong environment).
        logger.warning("Optty order %s was recorded as %s and is now paid (%s).", attempt.reference, attempt.state, source)
        _save(attempt, resolution="")
    if decision.verdict is Verdict.MISMATCH:
        # Not shown to Saleor as money: it pays for nothing Saleor asked for.
        logger.error("Optty order %s does not match its transaction: %s.", attempt.reference, decision.reason)
        message = f"{decision.reason}; the payment is being returned."
        _save(attempt, state=OpttyOrderState.SUCCESSFUL)
        _report(attempt, failure_type(attempt), attempt.money, message=message)
        _start_returning(attempt, decision.reason, decision.amount, "The paid amount does not match; the payment was returned.")
        return recorded_outcome(attempt)
    _save(attempt, state=OpttyOrderState.SUCCESSFUL)
    return _report_paid(attempt, verified.amount, captured=decision.captured)


def _report_paid(attempt: Attempt, amount: Decimal, *, captured: bool) -> Outcome:
    """Tell Saleor the money is there; then give back what no order can account for."""
    event_type = success_type(captured=captured)
    if not _report(attempt, event_type, amount, actions=AVAILABLE_ACTIONS[event_type]):
        return Outcome("pending", "Paid; Saleor has not confirmed it yet.", event_type, amount)
    try:
        surplus = _unaccounted_for(attempt, amount)
    except SaleorError as error:
        # The money is reported; whether all of it is needed is looked at again later.
        logger.warning("Could not read the source of transaction %s: %s", attempt.transaction_id, error)
        return recorded_outcome(attempt)
    if surplus is not None:
        _start_returning(attempt, *surplus)
    else:
        _save(attempt, final=True)
    return recorded_outcome(attempt)


def _unaccounted_for(attempt: Attempt, amount: Decimal) -> tuple[str, Decimal, str] | None:
    """(reason, amount, message) of the money no order can account for, if any.

    Asked of Saleor under the lock of every attempt paying the same source, so two
    payments confirmed at once never both count the other. An order pays for itself: a
    second payment for one shows as overcharged in the Dashboard for staff to refund.
    A checkout is covered, as Saleor counts it (``update_checkout_payment_statuses`` and
    ``transaction_amounts_for_checkout_updated_without_price_recalculation`` in
    saleor/checkout at 3.20.119 and 3.23.28), by every transaction's charged, authorised
    and pending amounts against its total less gift cards.
    """
    found = saleor_client(attempt.installation).execute(SOURCE_QUERY, {"id": attempt.transaction_id}, idempotent=True)
    saleor_transaction = found.get("transaction") or {}
    checkout = saleor_transaction.get("checkout")
    if saleor_transaction.get("order"):
        return None
    if not checkout:
        return ("checkout no longer exists", amount, "The cart no longer exists; the payment was returned.")
    due = max(
        Decimal(str(checkout["totalPrice"]["gross"]["amount"]))
        - sum((Decimal(str(card["currentBalance"]["amount"])) for card in checkout.get("giftCards") or ()), Decimal(0)),
        Decimal(0),
    )
    covered = sum(
        (
            Decimal(str(item[field]["amount"]))
            for item in checkout["transactions"]
            for field in ("chargedAmount", "chargePendingAmount", "authorizedAmount", "authorizePendingAmount")
        ),
        Decimal(0),
    )
    surplus = min(covered - due, amount)
    if surplus <= 0:
        return None
    if surplus == amount:
        return ("superseded by another payment", amount, "This payment was replaced by another one and has been returned.")
    return (
        f"the cart total is now {due} {attempt.currency}",
        surplus,
        f"The cart total changed to {due} {attempt.currency} after payment; {surplus} {attempt.currency} was returned.",
    )


def _start_returning(attempt: Attempt, reason: str, amount: Decimal, message: str) -> None:
    """Record, under the lock, that this money must go back; :func:`give_back` sends it after."""
    _save(attempt, returning=reason[:255], return_amount=amount, resolution=message)


def give_back(client: OpttyClient, attempt: Attempt) -> Outcome | None:
    """Return the money an attempt is ``returning``; final once the ledger shows it back.

    Never sends twice what may have gone already: an unsettled give-back is settled
    from Optty's record first. What cannot go back now stays open for reconciliation
    and is visible to staff (the audit trail, the admin). Returns the outcome once the
    money is back, None while it is not.
    """
    attempt.refresh_from_db()
    if not attempt.is_returning:
        return None
    try:
        back = operations.money_back(attempt)
        if back.on_its_way:
            sync_with_optty(client, attempt)
            back = operations.money_back(attempt)
        if back.owed > 0 and not back.on_its_way:
            # Optty says whether the money is captured by now: refund it, or release it.
            verified = client.get_order(attempt.reference)
            captured = is_captured(verified, auto_capture=attempt.auto_capture)
            kind = OpttyOperationKind.REFUND if captured else OpttyOperationKind.VOID
            operation = operations.record_give_back(attempt, kind, source="app")
            if operation is not None:
                operations.send(client, operation, description=attempt.returning)
        report_operations(attempt)
    except OpttyError as error:
        logger.warning("Could not give back Optty order %s yet (%s): %s", attempt.reference, attempt.returning, error.message)
        record_event("give back", attempt.reference, f"not yet returned: {error.message}")
    return _finish_returning(attempt)


def _finish_returning(attempt: Attempt) -> Outcome | None:
    with _locked(attempt) as attempt:
        if not operations.fully_returned(attempt) or _unreported(attempt):
            return None
        _save(attempt, final=True)
    record_event("give back", attempt.reference, f"returned {attempt.return_amount} {attempt.currency}")
    return recorded_outcome(attempt)


def _being_returned(attempt: Attempt, outcome: Outcome) -> Outcome:
    return Outcome("error", f"The payment is being returned ({attempt.returning}).", outcome.result, outcome.amount)


def sync_with_optty(client: OpttyClient, attempt: Attempt) -> operations.Settled:
    """Settle the attempt's operations from Optty's record and report to Saleor what it lacks.

    Operations whose answer was lost, refunds made in Optty's portal: each reaches
    Saleor once. The call to Optty is made before any lock is taken.
    """
    details = operations.read_record(client, attempt)
    settled = operations.settle(attempt, details)
    Attempt.objects.filter(pk=attempt.pk).update(sync_due=False)
    report_operations(attempt)
    return settled


#: The event that tells Saleor how an operation ended.
_OPERATION_EVENTS = {
    (OpttyOperationKind.CAPTURE, OpttyOperationStatus.SUCCEEDED): "CHARGE_SUCCESS",
    (OpttyOperationKind.CAPTURE, OpttyOperationStatus.FAILED): "CHARGE_FAILURE",
    (OpttyOperationKind.REFUND, OpttyOperationStatus.SUCCEEDED): "REFUND_SUCCESS",
    (OpttyOperationKind.REFUND, OpttyOperationStatus.FAILED): "REFUND_FAILURE",
    (OpttyOperationKind.VOID, OpttyOperationStatus.SUCCEEDED): "CANCEL_SUCCESS",
    (OpttyOperationKind.VOID, OpttyOperationStatus.FAILED): "CANCEL_FAILURE",
}


def operation_event(operation: Operation) -> str:
    return _OPERATION_EVENTS[(OpttyOperationKind(operation.kind), OpttyOperationStatus(operation.status))]


def report_operations(attempt: Attempt) -> None:
    """Report to Saleor, once each, the settled operations it does not show yet.

    Succeeded ones all (staff's, money given back, refunds made in Optty's portal); failed
    ones only when Saleor is waiting for them (a staff request answered "being checked").
    Money Saleor never showed (a mismatch) goes back without a Saleor event beyond a note.
    A report Saleor does not take now is left for reconciliation (``sync_due``).
    """
    with _locked(attempt) as attempt:
        for operation in _unreported(attempt):
            event_type, amount, message = _operation_report(attempt, operation)
            if not _send_report(attempt, operation.reference, event_type, amount, message=message):
                Attempt.objects.filter(pk=attempt.pk).update(sync_due=True)
                return
            operations.shown_in_saleor(operation)


def _operation_report(attempt: Attempt, operation: Operation) -> tuple[str, Decimal, str]:
    """(event type, amount, message) that tells Saleor of ``operation``."""
    if operation.source == "app" and not attempt.reported.endswith("_SUCCESS"):
        # Money Saleor never showed (a mismatch): a note, not a change to Saleor's amounts.
        return "INFO", operation.money, f"Returned {operation.money} {operation.currency} to the shopper: {attempt.returning}."
    if operation.status == OpttyOperationStatus.FAILED:
        return operation_event(operation), operation.money, operation.error
    return operation_event(operation), operation.money, attempt.returning if operation.source == "app" else ""


def _unreported(attempt: Attempt) -> list[Operation]:
    succeeded = attempt.operations.filter(status=OpttyOperationStatus.SUCCEEDED, in_saleor=False)
    failed_requests = attempt.operations.filter(status=OpttyOperationStatus.FAILED, in_saleor=False, source="dashboard")
    return list((succeeded | failed_requests).order_by("created_at"))


def recorded_outcome(attempt: Attempt) -> Outcome:
    """The outcome recorded earlier: duplicates and replays need no call to Optty."""
    if attempt.state == OpttyOrderState.SUCCESSFUL:
        result = attempt.reported if attempt.reported.endswith("_SUCCESS") else success_type(captured=_recorded_captured(attempt))
        if attempt.resolution:  # paid, but the money went back (or is going back)
            if not attempt.reported.endswith("_SUCCESS"):  # Saleor was never shown it: a failure
                result = failure_type(attempt)
            return Outcome("error", attempt.resolution, result, attempt.money)
        if not attempt.reported:
            return Outcome("pending", "Paid; Saleor has not confirmed it yet.", result, attempt.money)
        return Outcome("success", "Paid.", result, attempt.money)
    if attempt.state in FAILURE_STATES:
        message = attempt.resolution or f"The payment was {attempt.state}."
        return Outcome(RETURN_STATUS[OpttyOrderState(attempt.state)], message, failure_type(attempt), attempt.money)
    return Outcome("pending", "The provider has not decided yet.", action_required_type(attempt), attempt.money)


def record_unknown_to_optty(attempt: Attempt) -> str:
    """A failure for an order Optty never stored; a later callback or reconciliation still re-checks it."""
    with _locked(attempt) as attempt:
        if attempt.state not in (OpttyOrderState.CREATED, OpttyOrderState.PENDING, OpttyOrderState.FAILED):
            return attempt.resolution
        _save(attempt, state=OpttyOrderState.FAILED, resolution=UNKNOWN_TO_OPTTY)
        if _report(attempt, failure_type(attempt), attempt.money, message=UNKNOWN_TO_OPTTY):
            _save(attempt, final=True)
    return UNKNOWN_TO_OPTTY


def record_event(event: str, reference: str, outcome: str) -> None:
    """An audit record of something the App did on its own (no payload)."""
    callbacks.audit(Notification, event, reference, outcome, {})


# ---------------------------------------------------------------------- helpers


def _report(attempt: Attempt, event_type: str, amount: Decimal, *, message: str = "", actions=None) -> bool:
    """Report the attempt's outcome to Saleor under its own pspReference; True once Saleor has it."""
    if attempt.reported == event_type:
        return True
    if not _send_report(attempt, attempt.reference, event_type, amount, message=message, actions=actions):
        return False
    _save(attempt, reported=event_type)
    return True


def _send_report(attempt: Attempt, psp_reference: str, event_type: str, amount, *, message: str = "", actions=None) -> bool:
    try:
        saleor_client(attempt.installation).report_transaction_event(
            transaction_id=attempt.transaction_id,
            psp_reference=psp_reference,
            type=event_type,
            amount=amount,
            message=message,
            available_actions=actions,
        )
    except SaleorError as error:
        logger.warning("Saleor did not take %s for %s (%s): %s", event_type, attempt.reference, psp_reference, error)
        return False
    return True


def _recorded_captured(attempt: Attempt) -> bool:
    return attempt.reported == "CHARGE_SUCCESS" or (attempt.reported != "AUTHORIZATION_SUCCESS" and attempt.auto_capture)


def _save(attempt: Attempt, *, final: bool = False, **fields) -> None:
    for name, value in fields.items():
        setattr(attempt, name, value)
    if final:
        attempt.finalised_at = timezone.now()
    elif "state" in fields:
        attempt.finalised_at = None
    attempt.save(update_fields=[*fields, "finalised_at", "updated_at"])


class _locked:
    """A transaction holding every attempt that pays the same source, in one order.

    Two payments of one checkout confirmed at once are carried out one after the other,
    so each sees what the other reported. PostgreSQL locks the rows; SQLite has no row
    locks, so a write first takes its database-wide write lock for the same effect.
    """

    def __init__(self, attempt: Attempt):
        self._attempt = attempt
        self._atomic = transaction.atomic()

    def __enter__(self) -> Attempt:
        self._atomic.__enter__()
        same_source = Attempt.objects.filter(installation_id=self._attempt.installation_id, source_id=self._attempt.source_id)
        if connection.vendor == "sqlite":  # no row locks: the write lock serialises instead
            same_source.filter(pk=self._attempt.pk).update(updated_at=timezone.now())
        locked = {row.pk: row for row in same_source.select_for_update().order_by("pk").select_related("installation")}
        return locked[self._attempt.pk]

    def __exit__(self, exc_type, exc, tb):
        return self._atomic.__exit__(exc_type, exc, tb)
