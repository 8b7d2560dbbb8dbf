"""A checkout's or an order's ``sourceObject`` becomes the cart the plugin would build,
and Optty's order from it adds up to the transaction's amount.

The amounts below are Saleor's own arithmetic (10 % GST in AUD, the examples a shop in
Optty's markets meets); tests/integration/test_app_cart.py holds the same mapping
against the plugin's cart on a real Saleor.
"""

import copy
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_optty.app.cart import cart_from_source
from saleor_optty.app.saleor.events import MalformedPayload
from saleor_optty.core.payload import (
    ROUNDING_ADJUSTMENT_NAME,
    CartError,
    build_order_request,
)
from saleor_optty.optty.money import MoneyError
from saleor_optty.optty.types import Address, Customer

from . import saleor_payloads as saleor
from .saleor_payloads import edit, json_values, paths

ORDER_SETTINGS = {
    "reference": "T-0001",
    "provider": "KLARNA",
    "auto_capture": True,
    "redirect_url": "https://app.example.com/return",
    "callback_url": "https://app.example.com/callback",
}


def built(source, amount, currency="AUD"):
    """The Optty order for paying ``amount`` of ``source``, after checking Optty's sum rule."""
    request = build_order_request(
        cart_from_source(source, amount=Decimal(amount), currency=currency), **ORDER_SETTINGS
    ).request
    assert all(item.quantity * item.unit_price == item.total_amount for item in request.items)
    items = sum(item.total_amount for item in request.items)
    assert items + request.shipping_amount + request.tax_amount - request.discount_amount == request.amount
    return request


def test_a_checkout_at_net_prices():
    source = saleor.checkout([saleor.checkout_line(2, "40.00", "40.00", "44.00")], shipping=("10.00", "11.00"))
    cart = cart_from_source(source, amount=Decimal("55.00"), currency="aud")

    (line,) = cart.lines
    assert (line.name, line.quantity, line.sku) == ("Optty Tee (Blue)", 2, "TEE-BLUE")
    assert (line.undiscounted_total_net, line.total_net, line.total_gross) == (40, 40, 44)
    assert (cart.currency, cart.total_net, cart.total_gross, cart.gift_card_amount) == ("AUD", 50, 55, 0)
    assert (cart.shipping_net, cart.shipping_gross) == (10, 11)
    assert (cart.country, cart.locale) == ("AU", "en_AU")
    assert cart.customer == Customer("Ada", "Lovelace", "ada@example.com", "+61291234567")
    assert cart.billing_address == Address(
        first_name="Ada",
        last_name="Lovelace",
        street_address="1 George Street",
        street_address2=None,
        city="SYDNEY",
        state="NSW",
        postal_code="2000",
        country="AU",
        phone_number="+61291234567",
        email="ada@example.com",
    )
    assert cart.shipping_address == cart.billing_address

    request = built(source, "55.00")
    assert [(item.quantity, item.unit_price) for item in request.items] == [(2, Decimal("20.00"))]
    assert (request.shipping_amount, request.tax_amount, request.discount_amount, request.amount) == (10, 5, 0, 55)


def test_a_checkout_at_gross_prices_with_a_voucher():
    """Three tees listed at 11.00 with GST, 20 % off the order (Saleor spreads it into the
    line): the line's own rate takes the tax out of the listing price."""
    line = saleor.checkout_line(3, "33.00", "24.00", "26.40")
    source = saleor.checkout([line], shipping=("10.00", "11.00"), gross_prices=True)
    (cart_line,) = cart_from_source(source, amount=Decimal("37.40"), currency="AUD").lines
    assert cart_line.undiscounted_total_net == Decimal("30.00")

    request = built(source, "37.40")
    assert [(item.quantity, item.unit_price) for item in request.items] == [(3, Decimal("10.00"))]
    assert (request.shipping_amount, request.tax_amount, request.discount_amount) == (10, Decimal("3.40"), 6)


def test_an_undiscounted_line_at_gross_prices_is_its_net():
    """What Saleor charged, not the listing price divided again: no sub-cent residue."""
    source = saleor.checkout(
        [saleor.checkout_line(1, "10.00", "8.13", "10.00")], shipping=("0", "0"), gross_prices=True
    )
    (line,) = cart_from_source(source, amount=Decimal("10.00"), currency="AUD").lines
    assert line.undiscounted_total_net == Decimal("8.13")
    assert built(source, "10.00").discount_amount == 0


def test_a_free_line_at_gross_prices_keeps_its_listed_price_as_a_discount():
    lines = [
        saleor.checkout_line(1, "22.00", "20.00", "22.00"),
        saleor.checkout_line(1, "5.50", "0", "0", variant="Gift"),
    ]
    source = saleor.checkout(lines, shipping=("0", "0"), gross_prices=True)
    request = built(source, "22.00")
    assert [item.total_amount for item in request.items] == [Decimal("20.00"), Decimal("5.50")]
    assert request.discount_amount == Decimal("5.50")


def test_a_partial_payment_leaves_the_rest_to_what_paid_it():
    """Gift cards or other transactions paid 25.00 of the 55.00: Optty's order is for 30.00."""
    source = saleor.checkout([saleor.checkout_line(2, "40.00", "40.00", "44.00")])
    assert cart_from_source(source, amount=Decimal("30.00"), currency="AUD").gift_card_amount == 25
    request = built(source, "30.00")
    assert (request.amount, request.discount_amount) == (30, 25)


def test_prices_that_do_not_divide_get_a_rounding_adjustment():
    source = saleor.checkout([saleor.checkout_line(3, "10.00", "10.00", "11.00")], shipping=("0", "0"))
    request = built(source, "11.00")
    assert [(item.name, item.total_amount) for item in request.items] == [
        ("Optty Tee (Blue)", Decimal("9.99")),
        (ROUNDING_ADJUSTMENT_NAME, Decimal("0.01")),
    ]


def test_an_order_at_net_prices_with_a_discount():
    source = saleor.order([saleor.order_line(2, "40.00", "36.00", "39.60")], shipping=("10.00", "11.00"))
    cart = cart_from_source(source, amount=Decimal("50.60"), currency="AUD")
    (line,) = cart.lines
    assert (line.name, line.undiscounted_total_net, line.total_net, line.total_gross) == (
        "Optty Tee (Blue)",
        40,
        36,
        Decimal("39.60"),
    )
    assert (cart.total_net, cart.total_gross, cart.customer.email) == (46, Decimal("50.60"), "ada@example.com")
    request = built(source, "50.60")
    assert (request.tax_amount, request.discount_amount) == (Decimal("4.60"), 4)


def test_an_order_at_gross_prices_reads_the_undiscounted_net_saleor_derived():
    """Saleor 3.20.119's order from a 23 %-taxed checkout with a 20.00 voucher."""
    source = saleor.order(
        [saleor.order_line(3, "24.39", "8.13", "10.00", variant="123", sku="123")],
        shipping=("8.13", "10.00"),
        currency="USD",
    )
    request = built(source, "20.00", currency="USD")
    (item,) = request.items
    assert (item.name, item.unit_price, item.sku) == ("Optty Tee", Decimal("8.13"), "123")
    assert (request.tax_amount, request.discount_amount, request.amount) == (Decimal("3.74"), Decimal("16.26"), 20)


@pytest.mark.parametrize(
    ("variant", "sku", "name"),
    [
        ("Blue", "TEE-BLUE", "Optty Tee (Blue)"),
        ("TEE-BLUE", "TEE-BLUE", "Optty Tee"),  # Saleor recorded the SKU for an unnamed variant
        ("ID:12", None, "Optty Tee"),  # ... or its id, without a SKU
        ("Optty Tee", None, "Optty Tee"),
        ("", None, "Optty Tee"),
    ],
)
def test_an_order_lines_name_is_the_one_the_order_recorded(variant, sku, name):
    source = saleor.order([saleor.order_line(1, "10.00", "10.00", "11.00", variant=variant, sku=sku)])
    (line,) = cart_from_source(source, amount=Decimal("21.00"), currency="AUD").lines
    assert (line.name, line.sku) == (name, sku)


@pytest.mark.parametrize(
    ("variant_media", "product_media", "expected"),
    [
        (saleor.media(("https://cdn/v2.jpg", 2), ("https://cdn/v1.jpg", 1)), [], "https://cdn/v1.jpg"),
        ([], saleor.media(("https://cdn/unsorted.jpg", None), ("https://cdn/p0.jpg", 0)), "https://cdn/p0.jpg"),
        (saleor.media(("https://cdn/v.jpg", 5)), saleor.media(("https://cdn/p.jpg", 0)), "https://cdn/v.jpg"),
        ([], saleor.media(("https://cdn/first.jpg", None), ("https://cdn/second.jpg", None)), "https://cdn/first.jpg"),
        ([{"url": None, "sortOrder": 0}], [], None),
        ([], [], None),
    ],
)
def test_a_lines_image_is_the_variants_first_else_the_products(variant_media, product_media, expected):
    line = saleor.checkout_line(1, "10", "10", "11", variant_media=variant_media, product_media=product_media)
    (checkout_line,) = cart_from_source(saleor.checkout([line]), amount=Decimal(21), currency="AUD").lines
    assert checkout_line.image_url == expected
    ordered = saleor.order_line(1, "10", "10", "11", variant_media=variant_media, product_media=product_media)
    (order_line,) = cart_from_source(saleor.order([ordered]), amount=Decimal(21), currency="AUD").lines
    assert order_line.image_url == expected


def test_a_deleted_variant_leaves_the_order_line_without_an_image():
    source = saleor.order([saleor.order_line(1, "10", "10", "11", deleted=True)])
    (line,) = cart_from_source(source, amount=Decimal(21), currency="AUD").lines
    assert (line.image_url, line.sku, line.name) == (None, "TEE-BLUE", "Optty Tee (Blue)")


def test_the_shoppers_language_in_the_billing_country_and_what_contact_details_there_are():
    billing = {**saleor.ADDRESS, "phone": None, "streetAddress2": "Level 3", "countryArea": ""}
    source = saleor.checkout(
        [saleor.checkout_line(1, "10", "10", "11")], language="PT_BR", email=None, billing=billing, delivery=None
    )
    cart = cart_from_source(source, amount=Decimal(21), currency="AUD")
    assert cart.locale == "pt_AU"
    assert cart.customer == Customer("Ada", "Lovelace", "", None)
    assert (cart.billing_address.street_address2, cart.billing_address.state, cart.billing_address.email) == (
        "Level 3",
        None,
        None,
    )
    assert cart.shipping_address is None


@pytest.mark.parametrize(
    ("source", "amount", "currency", "message"),
    [
        (
            saleor.checkout([saleor.checkout_line(2, "40.00", "40.00", "44.00")]),
            "60",
            "AUD",
            "The payment of 60.00 AUD is more than the checkout's total of 55.00 AUD.",
        ),
        (
            saleor.order([saleor.order_line(2, "40.00", "40.00", "44.00")]),
            "55.00",
            "NZD",
            "The payment is in NZD, but the order is in AUD.",
        ),
        (
            saleor.checkout([saleor.checkout_line(1, "10", "10", "11")]),
            "0",
            "AUD",
            "The payment amount must be more than zero, not 0.00 AUD.",
        ),
        (saleor.order([], shipping=("5", "5")), "5", "AUD", "The order has no lines; Optty needs at least one item."),
        (
            saleor.checkout([saleor.checkout_line(1, "10", "10", "11")], billing=None),
            "21",
            "AUD",
            "The checkout has no billing address; Optty needs one.",
        ),
    ],
)
def test_what_optty_cannot_be_asked_to_pay_is_refused_in_words_a_shopper_reads(source, amount, currency, message):
    with pytest.raises(CartError) as raised:
        cart_from_source(source, amount=Decimal(amount), currency=currency)
    assert str(raised.value) == message


def test_a_currency_optty_cannot_take_is_refused_by_the_payload_builder():
    source = saleor.checkout([saleor.checkout_line(1, "10.000", "10.000", "11.000")], currency="KWD")
    with pytest.raises(MoneyError, match="KWD has 3 decimals"):
        built(source, "21.000", currency="KWD")


def test_an_ill_typed_field_is_a_malformed_payload_not_a_refusal():
    source = saleor.checkout([saleor.checkout_line(1, "10", "10", "11")])
    with pytest.raises(
        MalformedPayload, match=r"^sourceObject\.lines\[0\]\.quantity must be a whole number, not a string\.$"
    ):
        cart_from_source(edit(source, ("lines", 0, "quantity"), "1"), amount=Decimal(21), currency="AUD")
    with pytest.raises(MalformedPayload, match=r"^sourceObject\.channel\.taxConfiguration is missing\.$"):
        cart_from_source(edit(source, ("channel", "taxConfiguration"), ...), amount=Decimal(21), currency="AUD")


SOURCES = {
    "checkout-net": saleor.checkout([saleor.checkout_line(2, "40.00", "40.00", "44.00")]),
    "checkout-gross": saleor.checkout([saleor.checkout_line(3, "33.00", "24.00", "26.40")], gross_prices=True),
    "order": saleor.order([saleor.order_line(2, "40.00", "36.00", "39.60", variant_media=saleor.media(("u", 1)))]),
}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("kind", SOURCES)
def test_a_damaged_source_is_malformed_refused_or_an_order_that_adds_up(kind, data):
    source = copy.deepcopy(SOURCES[kind])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([(), *paths(source)]))
        source = edit(source, path, data.draw(st.just(...) | json_values)) if path else data.draw(json_values)
        if not isinstance(source, dict):
            break
    amount = data.draw(st.decimals(min_value=0, max_value=100, places=2))
    try:
        built(source, amount)
    except (MalformedPayload, MoneyError) as error:  # CartError and SumRuleError are MoneyErrors
        assert str(error)
