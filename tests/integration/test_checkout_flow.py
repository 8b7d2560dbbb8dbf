"""A storefront paying with Optty, end to end through Saleor's GraphQL API."""

from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.order.models import Order  # noqa: E402
from saleor.payment import ChargeStatus  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.models import OpttyOrder, OpttyOrderState  # noqa: E402

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

    params = storefront.storefront_params(storefront.pay_at_provider(reference, "approve"))
    order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
    assert params == {
        "status": "success",
        "checkoutId": storefront.checkout_id,
        "orderId": global_id("Order", order.pk),
    }
    payment_row = Payment.objects.get(order=order)
    assert payment_row.charge_status == ChargeStatus.FULLY_CHARGED
    assert payment_row.captured_amount == Decimal(str(storefront_total))
    assert OpttyOrder.objects.get(reference=reference).state == OpttyOrderState.SUCCESSFUL

    again = storefront.complete()  # the storefront confirms once more after the return
    assert again["errors"] == [] and again["order"]["id"] == params["orderId"]
    assert Order.objects.filter(checkout_token=str(storefront.checkout.pk)).count() == 1
    assert payment_row.transactions.filter(kind="capture", is_success=True).count() == 1
