"""The storefront's flow over Saleor's GraphQL API, the shopper at the provider's page,
Optty's callbacks: auto-capture on."""

import uuid

from . import harness
from .harness import amounts, event_types, events_of, transaction

harness.require_lab()


def delivered_callbacks(optty, reference: str, status: str) -> list[dict]:
    return [
        delivery
        for delivery in optty.deliveries()
        if delivery["order_reference"] == reference and delivery["status"] == status and delivery["state"] == "delivered"
    ]


def test_an_approved_payment_makes_a_fully_charged_order(app, saleor, storefront, shopper, optty):
    # Optty's callback comes after the shopper's return, as it usually does.
    optty.set_callback_options(delay=5.0)
    before = optty.stats()
    checkout = storefront.new_checkout()

    payment = harness.start_payment(storefront, checkout, "KLARNA")
    event = payment.initialized["transactionEvent"]
    assert event["type"] == "CHARGE_ACTION_REQUIRED"
    assert event["pspReference"] == payment.reference
    assert harness.money(event["amount"]["amount"]) == checkout.total
    assert payment.redirect_url == optty.order(payment.reference)["hosted_url"]
    assert payment.initialized["data"]["provider"] == "KLARNA"
    created = optty.order(payment.reference)
    assert (created["amount"], created["currency"], created["auto_capture"]) == (checkout.total, "USD", True)

    back = shopper.come_back(shopper.decide(payment.redirect_url, "approve"))
    assert back == {"path": "/payment/return", "transactionId": payment.transaction_id, "status": "success"}
    assert harness.emulator_counts(optty, before) == {"create_order": 1, "get_order": 1}  # the return asked once
    after_return = optty.stats()

    # The return reported the charge, so Saleor answers from its event without asking the
    # App (``data`` is then null: transaction_process.py, get_already_processed_event).
    processed = storefront.transaction_process(payment.transaction_id)
    assert processed["transactionEvent"]["type"] == "CHARGE_SUCCESS"
    assert optty.wait_for_callbacks(timeout=30)
    assert delivered_callbacks(optty, payment.reference, "SUCCESSFUL")

    completed = storefront.complete(checkout.id)
    assert completed["errors"] == [] and completed["order"]
    order = harness.order(saleor.staff, completed["order"]["id"])
    assert order["chargeStatus"] == "FULL"
    assert harness.money(order["total"]["gross"]["amount"]) == checkout.total
    assert [item["id"] for item in order["transactions"]] == [payment.transaction_id]

    paid = transaction(saleor.staff, payment.transaction_id)
    assert amounts(paid)["charged"] == checkout.total and amounts(paid)["charge_pending"] == 0
    assert len(events_of(paid, "CHARGE_SUCCESS")) == 1
    assert paid["pspReference"] == payment.reference
    # The callback and transactionProcess answered from the App's record: no more calls to Optty.
    assert harness.emulator_counts(optty, after_return) == {"create_order": 0, "get_order": 0}


def test_declined_and_cancelled_payments_fail_and_the_checkout_is_paid_with_another_provider(
    app, saleor, storefront, shopper, optty
):
    checkout = storefront.new_checkout()
    for decision, status in (("decline", "declined"), ("cancel", "cancelled")):
        payment = harness.start_payment(storefront, checkout, "KLARNA")
        back = shopper.come_back(shopper.decide(payment.redirect_url, decision))
        assert back == {"path": "/payment/return", "transactionId": payment.transaction_id, "status": status}

        processed = storefront.transaction_process(payment.transaction_id)
        assert processed["transactionEvent"]["type"] == "CHARGE_FAILURE"
        failed = transaction(saleor.staff, payment.transaction_id)
        assert "CHARGE_FAILURE" in event_types(failed) and "CHARGE_SUCCESS" not in event_types(failed)
        assert amounts(failed)["charged"] == 0 and amounts(failed)["charge_pending"] == 0

        refused = storefront.complete(checkout.id)
        assert refused["order"] is None
        assert [error["code"] for error in refused["errors"]] == ["CHECKOUT_NOT_FULLY_PAID"]

    payment = harness.start_payment(storefront, checkout, "AFTERPAY_US")
    back = shopper.come_back(shopper.decide(payment.redirect_url, "approve"))
    assert back["status"] == "success" and back["transactionId"] == payment.transaction_id
    assert storefront.transaction_process(payment.transaction_id)["transactionEvent"]["type"] == "CHARGE_SUCCESS"
    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    order = harness.order(saleor.staff, completed["order"]["id"])
    assert order["chargeStatus"] == "FULL"
    assert payment.transaction_id in [item["id"] for item in order["transactions"]]
    assert optty.order(payment.reference)["provider"] == "AFTERPAY_US"


def test_a_pending_payment_becomes_an_order_once_optty_calls_back(app, saleor, storefront, shopper, optty):
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    back = shopper.come_back(shopper.decide(payment.redirect_url, "pending"))
    assert back == {"path": "/payment/return", "transactionId": payment.transaction_id, "status": "pending"}

    processed = storefront.transaction_process(payment.transaction_id)
    assert processed["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED"
    assert processed["data"]["status"] == "pending"
    pending = transaction(saleor.staff, payment.transaction_id)
    assert amounts(pending)["charged"] == 0 and amounts(pending)["charge_pending"] == 0
    refused = storefront.complete(checkout.id)
    assert refused["order"] is None
    assert [error["code"] for error in refused["errors"]] == ["CHECKOUT_NOT_FULLY_PAID"]

    # The provider decides later; only Optty's callback tells the App.
    optty.set_status(payment.reference, "SUCCESSFUL")
    assert optty.wait_for_callbacks(timeout=30)
    assert delivered_callbacks(optty, payment.reference, "SUCCESSFUL")
    paid = harness.wait_until(
        lambda: (found := transaction(saleor.staff, payment.transaction_id)) and amounts(found)["charged"] and found,
        timeout=30,
        what="the callback's CHARGE_SUCCESS in Saleor",
    )
    assert amounts(paid)["charged"] == checkout.total
    assert len(events_of(paid, "CHARGE_SUCCESS")) == 1

    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    assert harness.order(saleor.staff, completed["order"]["id"])["chargeStatus"] == "FULL"


def test_transaction_initialize_sent_again_with_its_idempotency_key_makes_one_optty_order(app, storefront, optty):
    """Saleor calls the App again for a retried ``transactionInitialize`` with the same key."""
    checkout = storefront.new_checkout()
    before = optty.stats()
    key = uuid.uuid4().hex
    first = storefront.transaction_initialize(checkout.id, "KLARNA", idempotency_key=key)
    again = storefront.transaction_initialize(checkout.id, "KLARNA", idempotency_key=key)
    assert again["transaction"]["id"] == first["transaction"]["id"]
    assert again["transactionEvent"]["type"] == first["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED"
    assert again["data"] == first["data"] and first["data"]["redirectUrl"]
    assert harness.emulator_counts(optty, before)["create_order"] == 1


def test_an_unpaid_order_is_paid_through_the_app(app, saleor, storefront, shopper, optty):
    """A payment link: the order exists (staff placed it), the shopper pays it."""
    placed = harness.unpaid_order(saleor.staff, storefront.variant())
    config = storefront.gateway_initialize(placed.id)
    assert "KLARNA" in [provider["name"] for provider in config["data"]["providers"]]

    payment = harness.start_payment(storefront, placed, "KLARNA")
    assert payment.initialized["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED"
    record = optty.order(payment.reference)
    assert (record["amount"], record["currency"]) == (placed.total, "USD")
    back = shopper.come_back(shopper.decide(payment.redirect_url, "approve"))
    assert back == {"path": "/payment/return", "transactionId": payment.transaction_id, "status": "success"}

    order = harness.order(saleor.staff, placed.id)
    assert order["chargeStatus"] == "FULL"
    assert payment.transaction_id in [item["id"] for item in order["transactions"]]
    paid = transaction(saleor.staff, payment.transaction_id)
    assert amounts(paid)["charged"] == placed.total and len(events_of(paid, "CHARGE_SUCCESS")) == 1
    assert optty.order(payment.reference)["refunded_amount"] == 0  # an order accounts for all of it


def test_a_second_payment_of_a_paid_checkout_goes_back_to_the_shopper(app, saleor, storefront, shopper, optty):
    """Two tabs, two providers, both approved: the checkout needs one; the other is refunded."""
    checkout = storefront.new_checkout()
    first = harness.start_payment(storefront, checkout, "KLARNA")
    second = harness.start_payment(storefront, checkout, "AFTERPAY_US")
    assert shopper.come_back(shopper.decide(first.redirect_url, "approve"))["status"] == "success"
    back = shopper.come_back(shopper.decide(second.redirect_url, "approve"))
    assert back["transactionId"] == second.transaction_id and back["status"] != "success"

    returned = harness.wait_until(
        lambda: optty.order(second.reference)["refunded_amount"] == checkout.total, timeout=30, what="the refund"
    )
    assert returned
    superseded = amounts(transaction(saleor.staff, second.transaction_id))
    assert (superseded["charged"], superseded["refunded"]) == (0, checkout.total)
    kept = amounts(transaction(saleor.staff, first.transaction_id))
    assert (kept["charged"], kept["refunded"]) == (checkout.total, 0)
    assert optty.order(first.reference)["refunded_amount"] == 0

    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    assert harness.order(saleor.staff, completed["order"]["id"])["chargeStatus"] == "FULL"
