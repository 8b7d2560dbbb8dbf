"""What Optty is told about a Saleor checkout: lines, amounts, customer and addresses."""

from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.product.models import ProductMedia  # noqa: E402

from . import documents  # noqa: E402


def sum_rule_holds(sent):
    items = sum(item["totalAmount"] for item in sent["orderItems"])
    expected = items + sent["shippingAmount"] + sent["taxAmount"] - sent["discountAmount"]
    every_line = all(item["quantity"] * item["unitPrice"] == item["totalAmount"] for item in sent["orderItems"])
    return expected == sent["orderAmount"] and every_line


def test_the_order_describes_the_checkout(storefront, optty):
    checkout = storefront.checkout
    line = checkout.lines.get()
    variant = line.variant
    ProductMedia.objects.create(product=variant.product, external_url="https://cdn.example.com/tee.jpg", alt="tee")

    reference = storefront.start("KLARNA")
    sent = optty.order(reference)["request"]

    checkout.refresh_from_db()  # the prices checkoutComplete calculated
    (item,) = sent["orderItems"]
    assert item["quantity"] == line.quantity
    assert item["name"].startswith(variant.product.name)
    assert item["sku"] == variant.sku
    assert item["imageUrl"] == "https://cdn.example.com/tee.jpg"
    assert sum_rule_holds(sent), sent
    assert sent["orderAmount"] == checkout.total_gross_amount
    assert sent["shippingAmount"] == checkout.shipping_price_net_amount
    assert sent["taxAmount"] == checkout.total_gross_amount - checkout.total_net_amount

    address = checkout.billing_address
    assert sent["purchaseCountry"] == address.country.code
    assert sent["locale"].endswith("_" + address.country.code)
    assert sent["customer"] == {
        "firstName": address.first_name,
        "lastName": address.last_name,
        "email": "ada@example.com",
        "phoneNumber": str(address.phone),
    }
    assert sent["billingAddress"]["streetAddress"] == address.street_address_1
    assert sent["billingAddress"]["postalCode"] == address.postal_code
    assert sent["shippingAddress"]["city"] == checkout.shipping_address.city
    assert sent["autoCapture"] is True
    assert "/optty.payments/callback/" + reference + "/" in sent["dynamicCallbackUrl"]


def test_a_voucher_becomes_optty_discount_and_the_sum_still_holds(storefront, optty, voucher):
    before = Decimal(str(storefront.total()))
    added = storefront.query(documents.ADD_PROMO_CODE, id=storefront.checkout_id, promoCode=voucher.code)
    assert added["checkoutAddPromoCode"]["errors"] == []
    after = Decimal(str(storefront.total()))
    assert after < before

    reference = storefront.start("KLARNA")
    sent = optty.order(reference)["request"]
    assert sent["discountAmount"] > 0
    assert sent["orderAmount"] == after
    assert sum_rule_holds(sent)
    assert storefront.storefront_params(storefront.pay_at_provider(reference, "approve"))["status"] == "success"
