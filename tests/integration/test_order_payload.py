"""What Optty is told about a Saleor checkout: lines, amounts, customer and addresses."""

from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.utils import timezone  # noqa: E402
from saleor.product.models import ProductMedia  # noqa: E402
from saleor.tax import TaxCalculationStrategy  # noqa: E402
from saleor.tax.models import TaxClassCountryRate  # noqa: E402

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


def test_a_variant_image_is_preferred_to_the_product_image(storefront, optty):
    variant = storefront.checkout.lines.get().variant
    ProductMedia.objects.create(product=variant.product, external_url="https://cdn.example.com/product.jpg", sort_order=0)
    own = ProductMedia.objects.create(product=variant.product, external_url="https://cdn.example.com/red.jpg", sort_order=1)
    variant.media.add(own)

    (item,) = optty.order(storefront.start("KLARNA"))["request"]["orderItems"]
    assert item["imageUrl"] == "https://cdn.example.com/red.jpg"


@pytest.mark.parametrize("prices_entered_with_tax", [True, False], ids=["gross-prices", "net-prices"])
def test_taxed_lines_are_sent_net_with_the_tax_apart(storefront, optty, prices_entered_with_tax):
    checkout = storefront.checkout
    tax_configuration = checkout.channel.tax_configuration
    tax_configuration.charge_taxes = True
    tax_configuration.tax_calculation_strategy = TaxCalculationStrategy.FLAT_RATES
    tax_configuration.prices_entered_with_tax = prices_entered_with_tax
    tax_configuration.save()
    tax_configuration.country_exceptions.all().delete()
    country = checkout.shipping_address.country.code
    TaxClassCountryRate.objects.update_or_create(country=country, tax_class=None, defaults={"rate": Decimal(23)})
    checkout.price_expiration = timezone.now()  # recalculate with the new taxes
    checkout.save(update_fields=["price_expiration"])

    reference = storefront.start("KLARNA")
    sent = optty.order(reference)["request"]
    checkout.refresh_from_db()
    line = checkout.lines.get()
    (item,) = sent["orderItems"]
    assert line.tax_rate == Decimal("0.23")
    assert sent["taxAmount"] == checkout.total_gross_amount - checkout.total_net_amount > 0
    assert item["totalAmount"] == line.total_price_net_amount
    listed = line.variant.channel_listings.get(channel=checkout.channel).price_amount * line.quantity
    assert item["totalAmount"] == (listed / Decimal("1.23") if prices_entered_with_tax else listed).quantize(Decimal("0.01"))
    assert sent["orderAmount"] == checkout.total_gross_amount
    assert sum_rule_holds(sent), sent


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
