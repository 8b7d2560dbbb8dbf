"""``TRANSACTION_CHARGE_REQUESTED``, ``_REFUND_REQUESTED`` and ``_CANCELATION_REQUESTED``:
staff capture, refund and void, through the ledger.

Each operation is written as requested before it is sent to Optty, under its own
reference, which becomes the pspReference of Saleor's event. Optty's answer is Saleor's
``*_SUCCESS`` or ``*_FAILURE``. An answer that may have been lost is neither: the App
answers in Saleor's asynchronous form (the pspReference, no result), Saleor keeps the
request pending, and the outcome is reported with ``transactionEventReport`` once Optty's
record settles it (the next callback, reconciliation).

Saleor sends these from a Celery task and sends again after a 5xx (or a lost answer):
the operation is keyed by Saleor's request event, so a second delivery finds it and
moves no money. A retry from the Dashboard (a new request) of an operation whose outcome
is unknown settles it from Optty's record first and sends it again, under the same
reference, only when Optty has no trace of it.
"""

from __future__ import annotations

from decimal import Decimal

from ...optty import MoneyError, OpttyError, OpttyOutcomeUnknownError
from ...optty.money import format_amount
from ...shared import operations
from ...shared.models import OpttyOperationKind, OpttyOperationStatus, OpttyOrderState
from ..models import Operation
from ..saleor.events import TransactionActionRequest
from ..saleor.responses import action_response
from ..tenants import attempt_configuration, optty_client
from ..webhook import saleor_webhook, webhook_response
from . import readable_payload, transaction_attempt

#: Per operation: Saleor's request event type, its answers, and the word staff read.
_KINDS = {
    OpttyOperationKind.CAPTURE: ("CHARGE_REQUEST", "CHARGE_SUCCESS", "CHARGE_FAILURE", "capture"),
    OpttyOperationKind.REFUND: ("REFUND_REQUEST", "REFUND_SUCCESS", "REFUND_FAILURE", "refund"),
    OpttyOperationKind.VOID: ("CANCEL_REQUEST", "CANCEL_SUCCESS", "CANCEL_FAILURE", "void"),
}


@saleor_webhook("TRANSACTION_CHARGE_REQUESTED")
@readable_payload
def charge_requested(request, webhook):
    return _perform(webhook, OpttyOperationKind.CAPTURE)


@saleor_webhook("TRANSACTION_REFUND_REQUESTED")
@readable_payload
def refund_requested(request, webhook):
    return _perform(webhook, OpttyOperationKind.REFUND)


@saleor_webhook("TRANSACTION_CANCELATION_REQUESTED")
@readable_payload
def cancelation_requested(request, webhook):
    return _perform(webhook, OpttyOperationKind.VOID)


def _perform(webhook, kind: OpttyOperationKind):
    event = TransactionActionRequest.from_payload(webhook.payload)
    request_type, succeeded, failed, word = _KINDS[kind]
    amount = event.action.amount
    if amount is None:  # a cancel on Saleor 3.20: void what the transaction holds authorised
        amount = event.authorized.amount

    def refuse(message: str, operation: Operation | None = None):
        if operation is not None:
            operations.shown_in_saleor(operation)  # by the failure Saleor records from this answer
        psp_reference = operation.reference if operation is not None else None
        body = action_response(webhook.version, failed, psp_reference=psp_reference, amount=amount, message=message)
        return webhook_response(body)

    attempt = transaction_attempt(webhook, event.transaction.id)
    if attempt is None or attempt.state != OpttyOrderState.SUCCESSFUL:
        return refuse("This transaction has no successful Optty payment.")
    if amount <= 0:
        # Saleor clamps an over-refund to 0 rather than refusing it: nothing to send.
        return refuse(f"Nothing to {word}: the amount is {amount} {attempt.currency}.")
    try:
        format_amount(amount, attempt.currency)
    except MoneyError:
        return refuse(f"{amount} is not an amount in {attempt.currency}: too many decimal places.")
    configuration = attempt_configuration(attempt)
    if configuration is None:
        return refuse(f"This channel has no Optty configuration, so the {word} cannot be sent.")
    client = optty_client(configuration)

    request_id = _request_event_id(event, request_type, event.action.amount)
    earlier = Operation.objects.filter(attempt=attempt, saleor_request_id=request_id).first() if request_id else None
    try:
        if earlier is None:
            operation = operations.send_once(
                client, attempt, kind, amount, source="dashboard", saleor_request_id=request_id
            )
        elif earlier.settled:
            operation = earlier  # the same request delivered again: answered as before
        else:
            operation = operations.resend_if_untraced(client, earlier)
    except OpttyOutcomeUnknownError:
        # Neither success nor failure: Saleor keeps the request pending under this
        # reference, and the outcome is reported once Optty's record settles it.
        unsettled = earlier or operations.unsettled(attempt, kind, amount)
        return webhook_response(action_response(webhook.version, None, psp_reference=unsettled.reference))
    except OpttyError as error:
        refused = attempt.operations.filter(kind=kind, amount=amount).order_by("-created_at").first()
        return refuse(f"Optty refused the {word}: {error.message}", refused)
    if operation.status == OpttyOperationStatus.FAILED:
        return refuse(f"Optty refused the {word}: {operation.error}", operation)
    operations.shown_in_saleor(operation)  # by the event Saleor makes of this answer
    body = action_response(webhook.version, succeeded, psp_reference=operation.reference, amount=operation.money)
    return webhook_response(body)


def _request_event_id(event: TransactionActionRequest, request_type: str, amount: Decimal | None) -> str:
    """Saleor's ``*_REQUEST`` event this delivery is about: the newest one of this type
    that no answer has given a pspReference yet (Saleor 3.20 records a cancel's as 0)."""
    candidates = [
        record
        for record in event.history
        if record.type == request_type
        and not record.psp_reference
        and (amount is None or record.amount.amount == amount)
    ]
    return max(candidates, key=lambda record: record.created_at).id if candidates else ""
