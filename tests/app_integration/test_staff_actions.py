"""Auto-capture off: the shopper's payment is authorised, then staff capture, refund and
void it with ``transactionRequestAction``; Saleor's amounts must be Optty's.

Without a Celery broker the lab sends the action's webhook inside the mutation, so the
outcome is there when it answers (read again: the mutation answers the transaction as
it was before).
"""

from decimal import Decimal

from . import harness
from .harness import amounts, events_of, request_action, transaction

harness.require_lab()


def authorised_order(saleor, storefront, shopper) -> harness.Payment:
    """A checkout paid with auto-capture off, made into an order."""
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    assert payment.initialized["transactionEvent"]["type"] == "AUTHORIZATION_ACTION_REQUIRED"
    back = shopper.come_back(shopper.decide(payment.redirect_url, "approve"))
    assert back["status"] == "success"
    processed = storefront.transaction_process(payment.transaction_id)
    assert processed["transactionEvent"]["type"] == "AUTHORIZATION_SUCCESS"
    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    order = harness.order(saleor.staff, completed["order"]["id"])
    assert (order["authorizeStatus"], order["chargeStatus"]) == ("FULL", "NONE")
    return payment


def test_staff_capture_in_two_parts_then_refund_in_two_parts(app_without_auto_capture, saleor, storefront, shopper, optty):
    payment = authorised_order(saleor, storefront, shopper)
    total = payment.source.total
    assert optty.order(payment.reference)["capture_status"] == "NOT_CAPTURED"
    assert same_money(saleor, optty, payment) == {"authorized": total, "charged": 0, "refunded": 0, "canceled": 0}

    part = (total / 2).quantize(Decimal("0.01"))
    request_action(saleor.staff, saleor.version, payment.transaction_id, "CHARGE", part)
    assert same_money(saleor, optty, payment) == {"authorized": total - part, "charged": part, "refunded": 0, "canceled": 0}
    assert optty.order(payment.reference)["capture_status"] == "PARTIALLY_CAPTURED"

    request_action(saleor.staff, saleor.version, payment.transaction_id, "CHARGE")  # the rest
    assert same_money(saleor, optty, payment) == {"authorized": 0, "charged": total, "refunded": 0, "canceled": 0}
    assert optty.order(payment.reference)["capture_status"] == "CAPTURED"

    request_action(saleor.staff, saleor.version, payment.transaction_id, "REFUND", Decimal("5.00"))
    assert same_money(saleor, optty, payment) == {
        "authorized": 0, "charged": total - Decimal("5.00"), "refunded": Decimal("5.00"), "canceled": 0
    }  # fmt: skip

    request_action(saleor.staff, saleor.version, payment.transaction_id, "REFUND")  # the rest
    assert same_money(saleor, optty, payment) == {"authorized": 0, "charged": 0, "refunded": total, "canceled": 0}

    saleor_transaction = transaction(saleor.staff, payment.transaction_id)
    assert len(events_of(saleor_transaction, "CHARGE_SUCCESS")) == 2
    assert len(events_of(saleor_transaction, "REFUND_SUCCESS")) == 2
    record = optty.order(payment.reference)
    assert len(record["captures"]) == 2 and len(record["refunds"]) == 2

    # Nothing left to refund: Saleor asks the App for 0, which refuses without calling Optty.
    before = optty.stats()
    request_action(saleor.staff, saleor.version, payment.transaction_id, "REFUND", Decimal("1.00"))
    assert same_money(saleor, optty, payment) == {"authorized": 0, "charged": 0, "refunded": total, "canceled": 0}
    assert events_of(transaction(saleor.staff, payment.transaction_id), "REFUND_FAILURE")
    assert harness.emulator_counts(optty, before, ("refund",)) == {"refund": 0}


def test_staff_void_an_uncaptured_authorisation(app_without_auto_capture, saleor, storefront, shopper, optty):
    payment = authorised_order(saleor, storefront, shopper)
    total = payment.source.total
    # No amount: Saleor 3.20 sends none for a cancel, later versions the authorised amount.
    request_action(saleor.staff, saleor.version, payment.transaction_id, "CANCEL")
    assert same_money(saleor, optty, payment) == {"authorized": 0, "charged": 0, "refunded": 0, "canceled": total}
    record = optty.order(payment.reference)
    assert (record["capture_status"], record["voided_amount"]) == ("VOIDED", total)
    assert len(events_of(transaction(saleor.staff, payment.transaction_id), "CANCEL_SUCCESS")) == 1


def test_a_payment_made_before_the_app_was_reinstalled_can_still_be_refunded(
    app, deployment, saleor, storefront, shopper, optty
):
    """Saleor sends the refund to the App by its manifest id; the App knows its new id."""
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    assert shopper.come_back(shopper.decide(payment.redirect_url, "approve"))["status"] == "success"
    assert storefront.complete(checkout.id)["errors"] == []
    earlier = deployment.saleor_app["id"]

    deployment.reinstall()
    assert deployment.saleor_app["id"] != earlier

    request_action(saleor.staff, saleor.version, payment.transaction_id, "REFUND", Decimal("5.00"))
    assert same_money(saleor, optty, payment) == {
        "authorized": 0, "charged": checkout.total - Decimal("5.00"), "refunded": Decimal("5.00"), "canceled": 0
    }  # fmt: skip


def same_money(saleor, optty, payment) -> dict[str, Decimal]:
    """Saleor's amounts of the transaction, once they are Optty's: nothing pending, the
    authorised, charged and refunded amounts as Optty's record of the order has them."""
    shown = amounts(transaction(saleor.staff, payment.transaction_id))
    record = optty.order(payment.reference)
    pending = {name: value for name, value in shown.items() if name.endswith("_pending") and value}
    assert not pending, f"Saleor still has pending amounts: {pending}"
    assert shown["authorized"] == record["authorised_amount"] - record["captured_amount"] - record["voided_amount"]
    assert shown["charged"] == record["captured_amount"] - record["refunded_amount"]
    assert shown["refunded"] == record["refunded_amount"]
    assert shown["canceled"] == record["voided_amount"]
    return {name: shown[name] for name in ("authorized", "charged", "refunded", "canceled")}
