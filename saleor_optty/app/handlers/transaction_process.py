"""``TRANSACTION_PROCESS_SESSION``: the storefront asks how the payment stands.

Answered from the App's verified record, asking Optty only while the outcome is not
known: ``CHARGE_SUCCESS`` / ``AUTHORIZATION_SUCCESS`` once Optty confirms it, a
``*_FAILURE`` when it declined, was cancelled or failed, and ``*_ACTION_REQUIRED`` while
Optty says PENDING, which keeps the session open for the next ``transactionProcess``.
Never ``*_REQUEST``: a pending request counts toward Saleor's "fully authorised", and
``checkoutComplete`` would make an order before the provider decided.

What Optty confirms is carried out by :func:`saleor_optty.app.transitions.check_and_apply`,
the decision point every path shares (it also reports it with ``transactionEventReport``);
this answer repeats it, and Saleor keeps one event for both.
"""

from ...optty import OpttyError
from .. import transitions
from ..saleor.events import TransactionProcessSession
from ..saleor.responses import session_response
from ..tenants import attempt_configuration, optty_client
from ..webhook import saleor_webhook, webhook_response
from . import readable_payload, transaction_attempt


@saleor_webhook("TRANSACTION_PROCESS_SESSION")
@readable_payload
def transaction_process(request, webhook):
    event = TransactionProcessSession.from_payload(webhook.payload)
    attempt = transaction_attempt(webhook, event.transaction.id)
    if attempt is None:
        failure = "CHARGE_FAILURE" if event.action.type == "CHARGE" else "AUTHORIZATION_FAILURE"
        message = "No Optty payment was started for this transaction."
        body = session_response(webhook.version, failure, psp_reference=None, amount=event.action.amount,
                                message=message, data={"status": "error", "message": message})  # fmt: skip
        return webhook_response(body)
    outcome = transitions.recorded_outcome(attempt)
    configuration = attempt_configuration(attempt)
    if attempt.finalised_at is None and configuration is not None:
        try:
            outcome = transitions.check_and_apply(optty_client(configuration), attempt, source="process")
        except OpttyError as error:
            # Not known yet: the session stays open, and the next call asks again.
            outcome = transitions.Outcome(
                "pending", f"Optty could not confirm the payment yet: {error.message}",
                transitions.action_required_type(attempt), attempt.money,
            )  # fmt: skip
    data = {"status": outcome.status, "message": outcome.message, "reference": attempt.reference}
    if outcome.status == "pending" and attempt.redirect_url:
        data["redirectUrl"] = attempt.redirect_url
    body = session_response(webhook.version, outcome.result, psp_reference=attempt.reference, amount=outcome.amount,
                            message=outcome.message, data=data)  # fmt: skip
    return webhook_response(body)
