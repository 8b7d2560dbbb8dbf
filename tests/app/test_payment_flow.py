"""A payment through the App, end to end over HTTP: the Saleor stand-in sends signed
webhooks and takes the App's reports, the Optty emulator plays Optty and the shopper,
and each test checks Saleor's record against Optty's, on Saleor 3.20 and 3.23 rules."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from saleor_optty.app import reconcile
from saleor_optty.app.models import Attempt
from saleor_optty.app.optty_views import callback_url, merchant_webhook_url
from saleor_optty.shared.models import OpttyOrderState

from .shop import Shop


@pytest.fixture
def shop(installed_app, optty):
    return Shop(installed_app, optty)


@pytest.fixture
def authorising_shop(installed_app, optty):
    return Shop(installed_app, optty, auto_capture=False)


def test_a_payment_starts_with_an_optty_order_and_the_redirect(shop, optty):
    payment = shop.pay(amount="80.00")
    assert payment.answer["result"] == "CHARGE_ACTION_REQUIRED"
    assert payment.answer["data"]["redirectUrl"].startswith(optty.url)
    assert payment.answer["data"]["provider"] == "KLARNA"
    order = optty.order(payment.reference)
    assert Decimal(order["request"]["orderAmount"]) == Decimal("80.00")
    assert order["request"]["dynamicRedirectUrl"].endswith("/api/optty/return")
    assert payment.saleor_amounts["charged"] == 0  # nothing counts before Optty confirms it


def test_saleor_retrying_initialize_gets_the_first_answer_and_no_second_order(shop, optty):
    payment = shop.pay(idempotency_key="same-key")
    again = shop.pay(payment.checkout, idempotency_key="same-key", transaction=payment.transaction)
    assert again.answer == payment.answer
    assert optty.stats()["requests"].get("create_order") == 1


def test_an_approved_payment_is_reported_once_and_asked_of_optty_once(shop, optty):
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


def test_a_declined_payment_is_a_failure_and_the_checkout_can_be_paid_again(shop, optty):
    payment = shop.pay()
    assert payment.come_back("decline")["status"] == "declined"
    assert [event.message for event in payment.events("CHARGE_FAILURE")] == [
        "Klarna declined the payment (Declined by the provider). Choose another payment method or try again."
    ]
    assert payment.process().body["result"] == "CHARGE_FAILURE"
    second = shop.pay(payment.checkout, provider="AFTERPAY_AU")
    assert second.come_back("approve")["status"] == "success"
    assert second.saleor_amounts["charged"] == Decimal("80.00")


def test_nothing_is_reported_while_the_provider_has_not_decided(shop, optty):
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


def test_a_forged_return_changes_nothing(shop, app_url, optty):
    payment = shop.pay()
    redirect = optty.decide(payment.reference, "pending")["redirect"]
    forged = redirect.replace("status=PENDING", "status=SUCCESSFUL").replace("status=pending", "status=SUCCESSFUL")
    assert shop.follow_return(forged)["status"] == "error"
    assert not payment.events("CHARGE_SUCCESS")
    assert Attempt.objects.get(reference=payment.reference).state != OpttyOrderState.SUCCESSFUL


def test_a_return_url_outside_the_storefronts_is_refused(shop, optty):
    checkout = shop.checkout()
    transaction = shop.saleor.create_transaction(currency="AUD", checkout_id=checkout.id)
    payload_data = {"provider": "KLARNA", "returnUrl": "https://evil.example.net/steal"}
    payment = shop.pay(checkout, data=payload_data, transaction=transaction)
    assert payment.answer["result"] == "CHARGE_FAILURE"
    assert "https://evil.example.net is not a storefront" in payment.answer["message"]
    assert optty.stats()["requests"].get("create_order", 0) == 0


def test_a_provider_the_store_does_not_offer_is_refused_before_optty_is_asked(shop, optty):
    shop.configuration.providers = "AFTERPAY_AU"
    shop.configuration.save()
    payment = shop.pay(provider="KLARNA")
    assert payment.answer["result"] == "CHARGE_FAILURE"
    assert payment.answer["message"] == "KLARNA is not enabled for this store. Choose one of: AFTERPAY_AU."


def test_a_second_payment_of_a_paid_checkout_goes_back(shop, optty):
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


def test_staff_refunds_in_parts_each_once(shop, optty):
    payment = shop.pay()
    payment.come_back("approve")
    first = payment.staff("REFUND", "30.00")
    assert first.body["result"] == "REFUND_SUCCESS" and Decimal(str(first.body["amount"])) == Decimal("30.00")
    second = payment.staff("REFUND", "50.00")
    assert second.body["result"] == "REFUND_SUCCESS"
    assert payment.saleor_amounts["refunded"] == Decimal("80.00") and payment.saleor_amounts["charged"] == 0
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("80.00")
    assert first.body["pspReference"] != second.body["pspReference"]


def test_an_over_refund_saleor_clamped_to_zero_moves_nothing(shop, optty):
    payment = shop.pay()
    payment.come_back("approve")
    refused = payment.staff("REFUND", "0")
    assert refused.body["result"] == "REFUND_FAILURE"
    assert optty.stats()["requests"].get("refund", 0) == 0


def test_a_refund_whose_answer_was_lost_is_pending_then_reported_once(shop, optty):
    payment = shop.pay()
    payment.come_back("approve")
    optty.drop_next("refund", when="after")  # Optty refunds, the answer never arrives
    lost = payment.staff("REFUND", "30.00")
    assert "result" not in lost.body and lost.body["pspReference"].startswith(payment.reference)
    assert payment.saleor_amounts["refundPending"] == Decimal("30.00")

    _make_due(payment)
    reconcile.reconcile(reconcile.due_attempts())
    assert payment.saleor_amounts["refunded"] == Decimal("30.00")
    assert payment.saleor_amounts["refundPending"] == 0
    assert optty.stats()["requests"].get("refund") == 1


@pytest.mark.parametrize("saleor_version", ["3.20.119", "3.23.28"])
def test_without_auto_capture_staff_capture_then_void_the_rest(authorising_shop, optty):
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



def test_money_optty_took_for_another_amount_is_never_counted_and_goes_back(shop, optty):
    payment = shop.pay()
    # What Saleor asked for, set before the shopper decides: Optty's callback leaves at once.
    Attempt.objects.filter(pk=payment.attempt.pk).update(amount=Decimal("1.00"))
    approval = payment.approve()
    assert shop.follow_return(approval["redirect"])["status"] == "error"
    # The callback runs beside the return, and whichever of them records the give-back
    # second answers "being returned" without waiting for the other to send it.
    optty.wait_for_callbacks()

    assert payment.saleor_amounts["charged"] == 0 and not payment.events("CHARGE_SUCCESS")
    failure, = payment.events("CHARGE_FAILURE")
    assert "the payment is being returned" in failure.message
    info, = payment.events("INFO")  # Saleor is told the money went back, without counting it
    assert info.message.startswith("Returned 80.00 AUD to the shopper")
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("80.00")
    attempt = payment.attempt
    assert attempt.finalised_at is not None
    assert attempt.resolution == "The paid amount does not match; the payment was returned."


def test_a_payment_for_a_checkout_that_no_longer_exists_goes_back(shop, optty):
    payment = shop.pay()
    payment.checkout.deleted = True  # the checkout expired while the shopper was at the provider
    assert payment.come_back()["status"] == "error"
    assert payment.saleor_amounts["charged"] == 0
    assert payment.saleor_amounts["refunded"] == Decimal("80.00")  # shown, then given back
    assert payment.attempt.resolution == "The cart no longer exists; the payment was returned."


def test_a_cart_made_cheaper_mid_payment_gets_the_difference_back(shop, optty):
    payment = shop.pay()
    payment.checkout.total = Decimal("60.00")  # an item removed while the shopper was at the provider
    assert payment.come_back()["status"] == "error"
    amounts = payment.saleor_amounts
    assert (amounts["charged"], amounts["refunded"]) == (Decimal("60.00"), Decimal("20.00"))
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("20.00")


def test_a_report_saleor_did_not_take_is_sent_by_reconciliation(shop, optty):
    payment = shop.pay()
    shop.saleor.fail_next_graphql(503, times=10)  # Saleor down as the shopper comes back
    assert payment.come_back()["status"] == "pending"
    optty.wait_for_callbacks()
    assert payment.saleor_amounts["charged"] == 0
    assert payment.attempt.finalised_at is None  # Optty confirmed it: not final until Saleor has it

    shop.saleor.clear_graphql_faults()
    _make_due(payment)
    [result] = reconcile.reconcile(reconcile.due_attempts())
    assert result.status == "success"
    assert payment.saleor_amounts["charged"] == Decimal("80.00") and len(payment.events("CHARGE_SUCCESS")) == 1
    assert optty.stats()["requests"]["get_order"] <= 2  # Optty was not asked again once it had answered


def test_a_refund_made_in_optty_s_portal_reaches_saleor_once(shop, optty):
    shop.configuration.refresh_from_db()
    payment = shop.pay()
    payment.come_back()
    optty.wait_for_callbacks()
    optty.portal_refund(payment.reference, "25.00")
    webhook = merchant_webhook_url(shop.configuration)
    body = {"event": "REFUND_CALLBACK", "data": {"orderReference": payment.reference}}
    for _ in range(2):  # Optty's webhook, and a duplicate of it
        assert requests.post(webhook, json=body, timeout=10).status_code == 200
    refunds = payment.events("REFUND_SUCCESS")
    assert len(refunds) == 1 and refunds[0].amount == Decimal("25.00")
    assert payment.saleor_amounts["refunded"] == Decimal("25.00")


def test_a_declined_payment_that_optty_later_reports_paid_is_reported_paid(shop, optty):
    payment = shop.pay()
    assert payment.come_back("decline")["status"] == "declined"
    optty.wait_for_callbacks()
    optty.set_status(payment.reference, "SUCCESSFUL")  # e.g. the merchant fixed a wrong environment
    optty.wait_for_callbacks()
    assert payment.saleor_amounts["charged"] == Decimal("80.00")
    assert payment.attempt.state == OpttyOrderState.SUCCESSFUL


def test_saleor_sending_the_same_refund_request_again_moves_no_money(shop, optty):
    payment = shop.pay()
    payment.come_back()
    first = payment.staff("REFUND", "30.00")
    # Saleor's Celery task sends the same request again (its answer was lost in transit).
    payload = shop.last_action_payload
    again = shop.saleor.send_webhook("TRANSACTION_REFUND_REQUESTED", payload)
    assert again.body == first.body
    assert optty.stats()["requests"]["refund"] == 1
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("30.00")


def test_a_staff_retry_of_a_refund_whose_answer_was_lost_sends_it_only_if_optty_lacks_it(shop, optty):
    payment = shop.pay()
    payment.come_back()
    optty.drop_next("refund", when="after")  # Optty refunds; the answer is lost
    lost = payment.staff("REFUND", "30.00")
    assert "result" not in lost.body
    retried = payment.staff("REFUND", "30.00")  # staff try again from the Dashboard
    assert retried.body["result"] == "REFUND_SUCCESS" and retried.body["pspReference"] == lost.body["pspReference"]
    assert optty.stats()["requests"]["refund"] == 1  # settled from Optty's record, not sent again
    assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("30.00")


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
@pytest.mark.parametrize("endpoint", ["create_order", "get_order", "token"])
def test_every_sync_webhook_answers_inside_saleor_s_timeout_when_optty_hangs(shop, optty, endpoint):
    payment = shop.pay() if endpoint != "create_order" else None
    optty.revoke_tokens() if endpoint == "token" else None
    optty.hang_next(endpoint, seconds=30, count=5)
    started = time.monotonic()
    answer = shop.pay() if payment is None else payment.process()
    elapsed = time.monotonic() - started
    assert elapsed < 18, f"answered after {elapsed:.1f} s"
    body = answer.answer if payment is None else answer.body
    expected = "CHARGE_FAILURE" if payment is None else "CHARGE_ACTION_REQUIRED"
    assert body["result"] == expected
    if payment is None:
        assert body["message"] == "Optty is not answering right now. Please try again in a moment."


def test_the_provider_list_comes_from_optty_narrowed_by_the_store(shop, optty):
    listed = shop.gateway_initialize("80.00")
    names = [provider["name"] for provider in listed["data"]["providers"]]
    assert "KLARNA" in names and "AFTERPAY_AU" in names
    shop.configuration.providers = "KLARNA"
    shop.configuration.save()
    assert [p["name"] for p in shop.gateway_initialize("80.00")["data"]["providers"]] == ["KLARNA"]


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_an_optty_outage_gives_an_empty_provider_list_quickly(shop, optty):
    optty.hang_next("options", seconds=10, count=3)
    started = time.monotonic()
    assert shop.gateway_initialize("80.00")["data"] == {"providers": []}
    assert time.monotonic() - started < 2


def _make_due(payment) -> None:
    Attempt.objects.filter(pk=payment.attempt.pk).update(next_check_at=None, created_at=timezone.now() - timedelta(hours=1))


def test_a_rotated_secret_key_keeps_callbacks_and_stored_credentials_working(shop, optty, settings):
    payment = shop.pay()
    url = callback_url(payment.reference)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-optty-app-rotation-test"
    optty.decide(payment.reference, "approve")
    response = requests.post(url, json={"event": "ORDER_ASYNC_CALLBACK"}, timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "success"}
    assert payment.saleor_amounts["charged"] == Decimal("80.00")  # the stored secrets still decrypt
    assert callback_url(payment.reference) != url  # new orders get URLs under the new key
