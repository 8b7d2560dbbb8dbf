"""A storefront paying with Optty, end to end through Saleor's GraphQL API."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.order.models import Order  # noqa: E402
from saleor.payment import ChargeStatus  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin.models import OpttyOrder, OpttyOrderState  # noqa: E402

from .documents import global_id  # noqa: E402


def test_gateway_lists_the_providers_optty_offers_for_the_checkout(storefront):
    providers = storefront.optty_providers()
    names = [provider["name"] for provider in providers]
    assert names == ["AFTERPAY_US", "KLARNA"]  # the USD providers, in Optty's order
    assert {"name", "displayName", "logoUrl", "minAmount", "maxAmount", "requiredFields"} <= set(providers[0])


def test_paying_with_optty_creates_exactly_one_order(storefront, optty):
    payment = storefront.create_payment("KLARNA")
    assert payment["errors"] == []

    completed = storefront.complete()
    assert completed["errors"] == []
    assert completed["order"] is None and completed["confirmationNeeded"] is True
    confirmation = completed["confirmationData"]
    assert confirmation["provider"] == "KLARNA"
    assert confirmation["redirectUrl"].startswith(optty.url)
    reference = confirmation["reference"]

    sent = optty.order(reference)["request"]
    assert sent["orderAmount"] == Decimal(str(storefront_total := payment["payment"]["total"]["amount"]))
    assert sent["purchaseCurrency"] == "USD" and sent["bnplProvider"] == "KLARNA"
    assert sent["dynamicRedirectUrl"].endswith(f"/plugins/channel/{storefront.checkout.channel.slug}/optty.payments/return")

    approved = optty.decide(reference, "approve")
    params = storefront.storefront_params(storefront.follow(approved["redirect"]))
    order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
    assert params == {
        "status": "success",
        "checkoutId": storefront.checkout_id,
        "orderId": global_id("Order", order.pk),
    }
    payment_row = Payment.objects.get(order=order)
    assert payment_row.charge_status == ChargeStatus.FULLY_CHARGED
    assert payment_row.captured_amount == Decimal(str(storefront_total))
    assert payment_row.psp_reference == reference
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.state == OpttyOrderState.SUCCESSFUL
    assert attempt.provider_reference == approved["providerReference"] != ""  # staff find it by the provider's id

    again = storefront.complete()  # the storefront confirms once more after the return
    assert again["errors"] == [] and again["order"]["id"] == params["orderId"]
    assert Order.objects.filter(checkout_token=str(storefront.checkout.pk)).count() == 1
    assert payment_row.transactions.filter(kind="capture", is_success=True).count() == 1
    # One order created at Optty, one status check for the return, none for the confirm.
    requests = optty.stats()["requests"]
    assert (requests["create_order"], requests["get_order"]) == (1, 1)


def test_the_provider_may_be_named_in_payment_data(storefront, optty):
    created = storefront.create_payment(None)
    assert created["errors"] == []
    completed = storefront.complete({"bnplProvider": "AFTERPAY_US"})
    assert completed["confirmationNeeded"]
    assert optty.order(completed["confirmationData"]["reference"])["request"]["bnplProvider"] == "AFTERPAY_US"


@pytest.mark.parametrize(
    "provider, configured, message",
    [
        ("NOPE", "", "NOPE is not available for this order. Choose one of: AFTERPAY_US, KLARNA."),
        ("AFTERPAY_US", "KLARNA", "AFTERPAY_US is not enabled for this store. Choose one of: KLARNA."),
        (None, "", "Choose a buy-now-pay-later provider: pass its name as the payment token."),
    ],
)
def test_unknown_or_disallowed_providers_get_a_clear_error(storefront, optty_plugin, optty, provider, configured, message):
    optty_plugin(providers=configured)
    assert storefront.create_payment(provider)["errors"] == []
    completed = storefront.complete()
    assert [error["message"] for error in completed["errors"]] == [message]
    assert optty.orders() == []


def test_decline_then_another_provider_pays(storefront, optty):
    reference = storefront.start("KLARNA")
    declined = storefront.storefront_params(storefront.pay_at_provider(reference, "decline"))
    assert declined == {"status": "declined", "checkoutId": storefront.checkout_id}
    assert not Order.objects.exists()

    again = storefront.complete()
    assert [e["message"] for e in again["errors"]] == [
        "Klarna declined the payment (Declined by the provider). Choose another payment method or try again."
    ]

    _, paid = storefront.pay("AFTERPAY_US")
    assert paid["status"] == "success"
    order = Order.objects.get()
    declined_payment, paying_payment = Payment.objects.filter(order=order).order_by("pk")
    assert declined_payment.charge_status == ChargeStatus.REFUSED and not declined_payment.is_active
    assert paying_payment.charge_status == ChargeStatus.FULLY_CHARGED and paying_payment.is_active
    assert OpttyOrder.objects.get(reference=reference).state == OpttyOrderState.DECLINED


def test_cancel_at_the_provider_keeps_the_checkout(storefront):
    _, params = storefront.pay("KLARNA", decision="cancel")
    assert params["status"] == "cancelled"
    assert storefront.gateways()["totalPrice"]["gross"]["amount"] > 0  # checkout still there


def test_pending_return_waits_for_a_final_state(storefront, optty):
    reference, params = storefront.pay("KLARNA", decision="pending")
    assert params == {"status": "pending", "checkoutId": storefront.checkout_id}
    assert not Order.objects.exists()
    assert storefront.complete()["confirmationNeeded"]  # still waiting, no order, no error

    optty.set_status(reference, "SUCCESSFUL")
    completed = storefront.complete()
    assert completed["errors"] == [] and completed["order"]["paymentStatus"] == "FULLY_CHARGED"


def test_polling_checkout_complete_on_a_pending_payment_asks_optty_and_writes_nothing(storefront, optty):
    reference, params = storefront.pay("KLARNA", decision="pending")
    assert params["status"] == "pending"
    recorded = OpttyOrder.objects.get(reference=reference)
    assert recorded.state == OpttyOrderState.PENDING
    asked = optty.stats()["requests"]["get_order"]

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert storefront.complete()["confirmationNeeded"]

    assert optty.stats()["requests"]["get_order"] == asked + 3  # each poll asks Optty
    attempt_table = OpttyOrder._meta.db_table
    touching_the_attempt = [
        query["sql"] for query in queries.captured_queries
        if attempt_table in query["sql"] and ("FOR UPDATE" in query["sql"] or query["sql"].startswith("UPDATE"))
    ]  # fmt: skip
    assert touching_the_attempt == []  # no lock taken, nothing written
    assert OpttyOrder.objects.get(pk=recorded.pk).updated_at == recorded.updated_at


def test_confirm_path_completes_when_the_shopper_never_comes_back(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")  # the browser never returns to Saleor
    completed = storefront.complete()
    assert completed["errors"] == [] and completed["order"]
    order_id = completed["order"]["id"]

    late_return = storefront.redirect_for(reference, "SUCCESSFUL")
    assert storefront.storefront_params(storefront.follow(late_return))["orderId"] == order_id
    assert Order.objects.count() == 1


def test_confirm_path_refuses_a_cart_made_cheaper_at_the_provider_and_returns_the_money(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    line = storefront.checkout.lines.first()  # meanwhile, in another tab, one item fewer
    line.quantity -= 1
    line.save(update_fields=["quantity"])
    storefront.checkout.price_expiration = storefront.checkout.created_at
    storefront.checkout.save(update_fields=["price_expiration"])

    completed = storefront.complete()
    assert completed["errors"] and completed["order"] is None
    assert not Order.objects.exists()
    assert optty.order(reference)["refunded_amount"] == optty.order(reference)["amount"]
    assert "cart total changed" in OpttyOrder.objects.get(reference=reference).returning


def test_a_forged_return_changes_nothing(storefront, optty):
    reference = storefront.start("KLARNA")
    forged = storefront.redirect_for(reference, "SUCCESSFUL", hash_="00" * 64)
    params = storefront.storefront_params(storefront.follow(forged))
    assert params["status"] == "error"
    assert optty.stats()["requests"]["get_order"] == 0  # not even a status check
    assert OpttyOrder.objects.get(reference=reference).state == OpttyOrderState.CREATED
    assert not Order.objects.exists()


def test_gateway_list_degrades_to_no_providers_when_optty_is_down(storefront, optty):
    optty.hang_next("options", seconds=3)
    import time

    started = time.monotonic()
    assert storefront.optty_providers() == []
    assert time.monotonic() - started < 1.5
    assert storefront.optty_providers() == []  # remembered briefly: no second wait
    assert optty.stats()["requests"]["options"] == 1


def test_cart_changed_after_payment_creation_is_refused(storefront, optty):
    storefront.create_payment("KLARNA")
    line = storefront.checkout.lines.first()
    line.quantity += 1
    line.save(update_fields=["quantity"])
    storefront.checkout.price_expiration = storefront.checkout.created_at
    storefront.checkout.save(update_fields=["price_expiration"])
    completed = storefront.complete()
    assert completed["errors"] and completed["order"] is None
    assert optty.orders() == []  # nothing was charged


def test_providers_are_cached_between_checkout_page_views(storefront, optty):
    assert storefront.optty_providers() and storefront.optty_providers()
    assert optty.stats()["requests"]["options"] == 1


@pytest.mark.parametrize(
    "configuration",
    [{"supported_currencies": "AUD"}, {"client_id": ""}],
    ids=["currency-not-supported", "incomplete-configuration"],
)
def test_the_gateway_is_listed_only_when_it_can_take_the_payment(storefront, optty_plugin, configuration):
    optty_plugin(**configuration)
    assert storefront.optty_providers() is None
