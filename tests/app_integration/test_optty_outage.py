"""Optty not answering while the shopper starts a payment: Saleor's storefront gets a
failure it can show, well within Saleor's 18 s wait for the App, and the checkout can be
paid once Optty is back."""

import time

from . import harness
from .harness import amounts, transaction

harness.require_lab()

#: Longer than the App waits for Optty's answer to a create-order (4.5 s).
HANG_SECONDS = 8


def test_optty_hanging_on_create_order_gives_a_readable_failure_in_time(app, saleor, storefront, shopper, optty):
    checkout = storefront.new_checkout()
    optty.hang_next("create_order", HANG_SECONDS)
    started = time.monotonic()
    result = storefront.transaction_initialize(checkout.id, "KLARNA")
    took = time.monotonic() - started

    assert took < HANG_SECONDS, f"transactionInitialize took {took:.1f} s"
    event = result["transactionEvent"]
    assert event["type"] == "CHARGE_FAILURE", result
    # Not Saleor's "Failed to delivery request.": the App answered, with words for the shopper.
    assert event["message"] and "deliver" not in event["message"], event
    assert result["data"]["error"] == event["message"]
    assert amounts(transaction(saleor.staff, result["transaction"]["id"]))["charged"] == 0

    # Optty back: the shopper tries again, and pays.
    time.sleep(max(0.0, started + HANG_SECONDS + 0.5 - time.monotonic()))  # the late create-order has landed
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    assert payment.initialized["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED"
    assert shopper.come_back(shopper.decide(payment.redirect_url, "approve"))["status"] == "success"
    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    assert harness.order(saleor.staff, completed["order"]["id"])["chargeStatus"] == "FULL"
