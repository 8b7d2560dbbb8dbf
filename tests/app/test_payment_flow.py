"""A payment through the App, end to end over HTTP: the Saleor stand-in sends signed
webhooks and takes the App's reports, the Optty emulator plays Optty and the shopper,
and each test checks Saleor's record against Optty's, on Saleor 3.20 and 3.23 rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from saleor_optty.app import reconcile
from saleor_optty.app.models import Attempt
from saleor_optty.shared.models import OpttyOrderState

from ..unit.conftest import optty, optty_server  # noqa: F401 - the Optty emulator
from .shop import Shop


@pytest.fixture
def shop(installed_app, optty):  # noqa: F811
    return Shop(installed_app, optty)


@pytest.fixture
def authorising_shop(installed_app, optty):  # noqa: F811
    return Shop(installed_app, optty, auto_capture=False)


def test_a_payment_starts_with_an_optty_order_and_the_redirect(shop, optty):  # noqa: F811
    payment = shop.pay(amount="80.00")
    assert payment.answer["result"] == "CHARGE_ACTION_REQUIRED"
    assert payment.answer["data"]["redirectUrl"].startswith(optty.url)
    assert payment.answer["data"]["provider"] == "KLARNA"
    order = optty.order(payment.reference)
    assert Decimal(order["request"]["orderAmount"]) == Decimal("80.00")
    assert order["request"]["dynamicRedirectUrl"].endswith("/api/optty/return")
    assert payment.saleor_amounts["charged"] == 0  # nothing counts before Optty confirms it


def test_saleor_retrying_initialize_gets_the_first_answer_and_no_second_order(shop, optty):  # noqa: F811
    payment = shop.pay(idempotency_key="same-key")
    again = shop.pay(payment.checkout, idempotency_key="same-key", transaction=payment.transaction)
    assert again.answer == payment.answer
    assert optty.stats()["requests"].get("create_order") == 1


def test_an_approved_payment_is_reported_once_and_asked_of_optty_once(shop, optty):  # noqa: F811
    optty.set_callback_options(delay=0.3)  # the return first, then Optty's callback
    payment = shop.pay()
    back = payment.come_back("approve")
    assert back == {"transactionId": payment.transaction.id, "status": "success"}
    optty.wait_for_callbacks()
    processed = payment.process()
    assert processed.body["result"] == "CHARGE_SUCCESS"
    assert processed.body["data"]["status"] == "success"

    assert len(payment.events("CHARGE_SUCCESS")) == 1
    assert payment.saleor_amounts["charged"] == Decimal("80.00")
    assert payment.attempt.finalised_at is not None
    requests = optty.stats()["requests"]
    assert requests.get("create_order") == 1 and requests.get("get_order") == 1


def test_a_declined_payment_is_a_failure_and_the_checkout_can_be_paid_again(shop, optty):  # noqa: F811
    payment = shop.pay()
    assert payment.come_back("decline")["status"] == "declined"
    assert [event.message for event in payment.events("CHARGE_FAILURE")] == [
        "Klarna declined the payment (Declined by the provider). Choose another payment method or try again."
    ]
    assert payment.process().body["result"] == "CHARGE_FAILURE"
    second = shop.pay(payment.checkout, provider="AFTERPAY_AU")
    assert second.come_back("approve")["status"] == "success"
    assert second.saleor_amounts["charged"] == Decimal("80.00")


def test_nothing_is_reported_while_the_provider_has_not_decided(shop, optty):  # noqa: F811
    payment = shop.pay()
    assert payment.come_back("pending")["status"] == "pending"
    processed = payment.process()
    assert processed.body["result"] == "CHARGE_ACTION_REQUIRED"
    assert processed.body["data"]["redirectUrl"] == payment.answer["data"]["redirectUrl"]
    assert payment.transaction.events == [] or all(e.type.endswith("ACTION_REQUIRED") for e in payment.transaction.events)
    assert payment.saleor_amounts["charged"] == payment.saleor_amounts["chargePending"] == 0

    optty.set_status(payment.reference, "SUCCESSFUL")  # the provider approves later; its callback follows
    optty.wait_for_callbacks()
    assert payment.saleor_amounts["charged"] == Decimal("80.00")
    assert payment.process().body["result"] == "CHARGE_SUCCESS"


def test_a_forged_return_changes_nothing(shop, app_url, optty):  # noqa: F811
    payment = shop.pay()
    redirect = optty.decide(payment.reference, "pending")["redirect"]
    forged = redirect.replace("status=PENDING", "status=SUCCESSFUL").replace("status=pending", "status=SUCCESSFUL")
    assert shop.follow_return(forged)["status"] == "error"
    assert not payment.events("CHARGE_SUCCESS")
    assert Attempt.objects.get(reference=payment.reference).state != OpttyOrderState.SUCCESSFUL


def test_a_return_url_outside_the_storefronts_is_refused(shop, optty):  # noqa: F811
    checkout = shop.checkout()
    transaction = shop.saleor.create_transaction(currency="AUD", checkout_id=checkout.id)
    payload_data = {"provider": "KLARNA", "returnUrl": "https://evil.example.net/steal"}
    payment = shop.pay(checkout, data=payload_data, transaction=transaction)
    assert payment.answer["result"] == "CHARGE_FAILURE"
    assert "https://evil.example.net is not a storefront" in payment.answer["message"]
    assert optty.stats()["requests"].get("create_order", 0) == 0


def test_a_provider_the_store_does_not_offer_is_refused_before_optty_is_asked(shop, optty):  # noqa: F811
    shop.configuration.providers = "AFTERPAY_AU"
    shop.configuration.save()
    payment = shop.pay(provider="KLARNA")
    assert payment.answer["result"] == "CHARGE_FAILURE"
    assert payment.answer["message"] == "KLARNA is not enabled for this store. Choose one of: AFTERPAY_AU."


def test_a_second_payment_of_a_paid_checkout_goes_back(shop, optty):  # noqa: F811
    checkout = shop.checkout("80.00")
    first = shop.pay(checkout)
    second = shop.pay(checkout, provider="AFTERPAY_AU")  # the shopper started another one
    assert second.come_back("approve")["status"] == "success"
    assert first.come_back("approve")["status"] == "error"  # approved the first one too, later

    assert first.saleor_amounts["charged"] == 0 and first.saleor_amounts["refunded"] == Decimal("80.00")
    assert second.saleor_amounts["charged"] == Decimal("80.00")
    assert Decimal(optty.order(first.reference)["refunded_amount"]) == Decimal("80.00")
    assert first.attempt.finalised_at is not None
    assert first.attempt.resolution == "This payment was replaced by another one and has been returned."


def test_staff_refunds_in_parts_each_once(shop, optty):  # noqa: F811
    payment = shop.pay()
    payment.come_back("approve")
    first = payment.staff("REFUND", "30.00")
    assert first.body["result"] == "REFUND_SUCCESS" and Decimal(str(first.body["amount"])) == Decimal("30.00")
    second = payment.staff("REFUND", "50.00")
    assert second.body["result"] == "REFUND_SUCCESS"
    assert payment.saleor_amounts["refunded"] == Decimal("80.00") and payment.saleor_amounts["charged"] == 0
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("80.00")
    assert first.body["pspReference"] != second.body["pspReference"]


def test_an_over_refund_saleor_clamped_to_zero_moves_nothing(shop, optty):  # noqa: F811
    payment = shop.pay()
    payment.come_back("approve")
    refused = payment.staff("REFUND", "0")
    assert refused.body["result"] == "REFUND_FAILURE"
    assert optty.stats()["requests"].get("refund", 0) == 0


def test_a_refund_whose_answer_was_lost_is_pending_then_reported_once(shop, optty):  # noqa: F811
    payment = shop.pay()
    payment.come_back("approve")
    optty.drop_next("refund", when="after")  # Optty refunds, the answer never arrives
    lost = payment.staff("REFUND", "30.00")
    assert "result" not in lost.body and lost.body["pspReference"].startswith(payment.reference)
    assert payment.saleor_amounts["refundPending"] == Decimal("30.00")

    Attempt.objects.filter(pk=payment.attempt.pk).update(next_check_at=None, created_at=payment.attempt.created_at.replace(year=2020))
    reconcile.reconcile(reconcile.due_attempts())
    assert payment.saleor_amounts["refunded"] == Decimal("30.00")
    assert payment.saleor_amounts["refundPending"] == 0
    assert optty.stats()["requests"].get("refund") == 1


@pytest.mark.parametrize("saleor_version", ["3.20.119", "3.23.28"])
def test_without_auto_capture_staff_capture_then_void_the_rest(authorising_shop, optty):  # noqa: F811
    payment = authorising_shop.pay()
    assert payment.answer["result"] == "AUTHORIZATION_ACTION_REQUIRED"
    assert payment.come_back("approve")["status"] == "success"
    assert payment.saleor_amounts["authorized"] == Decimal("80.00")
    captured = payment.staff("CHARGE", "50.00")
    assert captured.body["result"] == "CHARGE_SUCCESS"
    cancel_amount = None if authorising_shop.saleor.version.startswith("3.20") else Decimal("30.00")
    voided = payment.staff("CANCEL", cancel_amount)  # 3.20 sends a cancel without an amount
    assert voided.body["result"] == "CANCEL_SUCCESS"
    amounts = payment.saleor_amounts
    assert (amounts["charged"], amounts["authorized"]) == (Decimal("50.00"), Decimal("0"))
    assert optty.order(payment.reference)["capture_status"] == "CAPTURED"


def test_a_callback_with_a_wrong_key_is_refused(shop, app_url):
    payment = shop.pay()
    url = f"{app_url}/api/optty/callback/{payment.reference}/{'0' * 40}"
    response = requests.post(url, json={"event": "ORDER_ASYNC_CALLBACK"}, timeout=5)
    assert response.status_code == 403
    assert payment.attempt.state == OpttyOrderState.CREATED

