"""From a Saleor-shaped cart to Optty's POST /orders: the sum rule, exactly, every time."""

import logging
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saleor_optty.optty import money
from saleor_optty.optty.types import Address, Customer, SumRuleError
from saleor_optty.core.payload import (
    ROUNDING_ADJUSTMENT_NAME,
    BuiltOrder,
    Cart,
    CartError,
    CartLine,
    build_order_request,
)

D = Decimal

CUSTOMER = Customer("Jane", "Citizen", "[email protected]", "+61 400 000 000")
ADDRESS = Address("Jane", "Citizen", "1 George St", "Sydney", "2000", "AU", state="NSW")


def line(name="Striped Dress Shirt", quantity=1, *, undiscounted, net=None, gross, sku="SHIRT-1"):
    return CartLine(
        name=name,
        quantity=quantity,
        undiscounted_total_net=D(undiscounted),
        total_net=D(undiscounted if net is None else net),
        total_gross=D(gross),
        sku=sku,
    )


def cart(*lines, total_net, total_gross, shipping_net="0", shipping_gross=None, gift_card="0",
         currency="AUD"):
    return Cart(
        currency=currency,
        country="AU",
        locale="en_AU",
        lines=tuple(lines),
        shipping_net=D(shipping_net),
        shipping_gross=D(shipping_net if shipping_gross is None else shipping_gross),
        total_net=D(total_net),
        total_gross=D(total_gross),
        gift_card_amount=D(gift_card),
        customer=CUSTOMER,
        billing_address=ADDRESS,
        shipping_address=ADDRESS,
    )


def build(shopping, **options) -> BuiltOrder:
    defaults = dict(
        reference="ORDER-1",
        provider="AFTERPAY",
        auto_capture=True,
        redirect_url="https://shop.example/optty/return",
        callback_url="https://shop.example/optty/callback",
    )
    return build_order_request(shopping, **(defaults | options))


def amounts(wire):
    keys = ("orderAmount", "shippingAmount", "taxAmount", "discountAmount")
    return {key: wire[key] for key in keys}


def item_prices(wire):
    return [(item["name"], item["quantity"], item["unitPrice"], item["totalAmount"])
            for item in wire["orderItems"]]


# ------------------------------------------------------------------------ examples


def test_optty_sample_order():
    # Optty's own sample: items 130 + shipping 7.99 + tax 6.9 = 144.89.
    built = build(cart(
        line("Optty Striped Dress Shirt", undiscounted="130.00", gross="136.90",
             sku="69309284M-1"),
        shipping_net="7.99",
        total_net="137.99",
        total_gross="144.89",
    ))

    wire = built.request.to_wire()
    assert amounts(wire) == {
        "orderAmount": D("144.89"), "shippingAmount": D("7.99"),
        "taxAmount": D("6.9"), "discountAmount": D(0),
    }
    assert wire["orderItems"] == [{
        "name": "Optty Striped Dress Shirt", "quantity": 1, "sku": "69309284M-1",
        "unitPrice": D("130"), "totalAmount": D("130"),
    }]
    assert '"orderAmount":144.89,' in money.dumps(wire)
    assert (built.adjustment, built.adjustment_note) == (0, None)


def test_unit_price_rounding_shortfall_becomes_a_visible_item(caplog):
    # 3 for 10.00 net: a unit price of 3.33 only reaches 9.99.
    caplog.set_level(logging.INFO, logger="saleor_optty.core.payload")
    built = build(cart(
        line("Socks", 3, undiscounted="10.00", gross="11.00"),
        total_net="10.00",
        total_gross="11.00",
    ))

    wire = built.request.to_wire()
    assert item_prices(wire) == [
        ("Socks", 3, D("3.33"), D("9.99")),
        (ROUNDING_ADJUSTMENT_NAME, 1, D("0.01"), D("0.01")),
    ]
    assert "sku" not in wire["orderItems"][1]
    assert amounts(wire) == {
        "orderAmount": D("11.00"), "shippingAmount": D(0), "taxAmount": D("1.00"),
        "discountAmount": D(0),
    }
    assert built.adjustment == D("0.01")
    assert "0.01 AUD" in built.adjustment_note

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "ORDER-1" in record.getMessage() and "0.01 AUD" in record.getMessage()
    assert CUSTOMER.email not in caplog.text and CUSTOMER.last_name not in caplog.text


def test_unit_price_rounding_excess_goes_into_the_discount():
    # 3 for 20.00 net: a unit price of 6.67 reaches 20.01.
    built = build(cart(
        line("Socks", 3, undiscounted="20.00", gross="22.00"),
        total_net="20.00",
        total_gross="22.00",
    ))

    wire = built.request.to_wire()
    assert item_prices(wire) == [("Socks", 3, D("6.67"), D("20.01"))]
    assert wire["discountAmount"] == D("0.01")
    assert wire["orderAmount"] == D("22.00")
    assert built.adjustment == D("-0.01")
    assert "discount" in built.adjustment_note


def test_unit_price_rounding_on_large_quantities_is_not_mistaken_for_a_discrepancy():
    # Prices entered gross: 50 × 10.99 incl. 10% GST is 549.50, 499.55 net. A net unit
    # price of 9.99 reaches 499.50: five minor units short, all of it unit-price rounding.
    built = build(cart(
        line("Pens", 50, undiscounted="499.55", gross="549.50"),
        total_net="499.55",
        total_gross="549.50",
    ))

    assert item_prices(built.request.to_wire()) == [
        ("Pens", 50, D("9.99"), D("499.50")),
        (ROUNDING_ADJUSTMENT_NAME, 1, D("0.05"), D("0.05")),
    ]


def test_order_voucher_spread_into_lines_is_the_discount():
    # A 15.00 voucher, spread 10.00 and 5.00 across lines of 100.00 and 50.00 net.
    built = build(cart(
        line("Shirt", 2, undiscounted="100.00", net="90.00", gross="99.00", sku="SHIRT-1"),
        line("Belt", 1, undiscounted="50.00", net="45.00", gross="49.50", sku="BELT-1"),
        shipping_net="10.00",
        shipping_gross="11.00",
        total_net="145.00",
        total_gross="159.50",
    ))

    wire = built.request.to_wire()
    assert item_prices(wire) == [
        ("Shirt", 2, D("50.00"), D("100.00")), ("Belt", 1, D("50.00"), D("50.00")),
    ]
    assert amounts(wire) == {
        "orderAmount": D("159.50"), "shippingAmount": D("10.00"), "taxAmount": D("14.50"),
        "discountAmount": D("15.00"),
    }
    assert built.adjustment == 0


@pytest.mark.parametrize("shipping_net, shipping_gross", [("4.95", "5.45"), ("0.00", "0.00")])
def test_shipping_voucher_lowers_shipping_not_the_discount(shipping_net, shipping_gross):
    # 9.95 net shipping, less a 5.00 voucher or a free-shipping voucher.
    total_net = D("40.00") + D(shipping_net)
    total_gross = D("44.00") + D(shipping_gross)
    built = build(cart(
        line(undiscounted="40.00", gross="44.00"),
        shipping_net=shipping_net,
        shipping_gross=shipping_gross,
        total_net=total_net,
        total_gross=total_gross,
    ))

    wire = built.request.to_wire()
    assert wire["shippingAmount"] == D(shipping_net)
    assert wire["discountAmount"] == 0
    assert wire["taxAmount"] == total_gross - total_net
    assert wire["orderAmount"] == total_gross


def test_gift_card_is_discounted_and_not_charged():
    shopping = cart(line(undiscounted="100.00", gross="110.00"), total_net="100.00",
                    total_gross="110.00", gift_card="30.00")
    built = build(shopping)

    wire = built.request.to_wire()
    assert shopping.amount_due == D("80.00")
    assert amounts(wire) == {
        "orderAmount": D("80.00"), "shippingAmount": D(0), "taxAmount": D("10.00"),
        "discountAmount": D("30.00"),
    }


def test_variant_without_sku_sends_no_sku():
    built = build(cart(line(undiscounted="25.00", gross="25.00", sku=None), total_net="25.00",
                       total_gross="25.00"))

    [item] = built.request.to_wire()["orderItems"]
    assert "sku" not in item
    assert item["totalAmount"] == D("25.00")


def test_jpy_has_no_decimals():
    # Prices entered with 10% consumption tax: 7 × ¥980 = ¥6,860 (¥6,236 net), and
    # ¥500 shipping (¥455 net). A ¥891 net unit price overshoots by ¥1.
    built = build(cart(
        line("Matcha", 7, undiscounted="6236", gross="6860"),
        shipping_net="455",
        shipping_gross="500",
        total_net="6691",
        total_gross="7360",
        currency="JPY",
    ))

    wire = built.request.to_wire()
    assert item_prices(wire) == [("Matcha", 7, D("891"), D("6237"))]
    assert amounts(wire) == {
        "orderAmount": D("7360"), "shippingAmount": D("455"), "taxAmount": D("669"),
        "discountAmount": D("1"),
    }
    assert '"orderAmount":7360,' in money.dumps(wire)
    assert built.adjustment == D("-1")


def test_saleor_total_rounding_within_tolerance_is_reconciled():
    # Prices entered with 10% GST. Each 10.95 line is 9.95 net, but a tax app works the
    # net total out from the 21.90 gross total: 19.91, a cent more than the lines.
    built = build(cart(
        line("Tea", undiscounted="9.95", gross="10.95", sku="TEA"),
        line("Honey", undiscounted="9.95", gross="10.95", sku="HONEY"),
        total_net="19.91",
        total_gross="21.90",
    ))

    wire = built.request.to_wire()
    assert wire["orderItems"][-1]["totalAmount"] == D("0.01")
    assert (wire["orderAmount"], wire["taxAmount"]) == (D("21.90"), D("1.99"))
    assert built.adjustment == D("0.01")


def test_totals_that_disagree_with_the_lines_are_refused():
    with pytest.raises(SumRuleError, match="disagree"):
        build(cart(line(undiscounted="10.00", gross="11.00"), total_net="12.00",
                   total_gross="13.20"))


def test_request_options_are_passed_through():
    shopping = replace(
        cart(line(undiscounted="10.00", gross="10.00"), total_net="10.00", total_gross="10.00"),
        shipping_address=None,
    )
    request = build(shopping, reference="R-9", provider="ZIP", auto_capture=False, channel="web",
                    customer_token="jwt", redirect_url=None, callback_url=None).request

    assert (request.reference, request.provider, request.auto_capture) == ("R-9", "ZIP", False)
    assert (request.channel, request.customer_token) == ("web", "jwt")
    assert (request.country, request.currency, request.locale) == ("AU", "AUD", "en_AU")
    assert (request.customer, request.billing_address, request.shipping_address) == (
        CUSTOMER, ADDRESS, None,
    )
    assert "dynamicRedirectUrl" not in request.to_wire()


def test_three_decimal_currency_is_refused():
    with pytest.raises(money.MoneyError, match="at most 2"):
        build(cart(line(undiscounted="10.000", gross="10.000"), total_net="10.000",
                   total_gross="10.000", currency="KWD"))


def test_empty_cart_is_refused():
    with pytest.raises(CartError, match="no lines"):
        build(cart(total_net="0", total_gross="0"))


def test_nothing_left_to_pay_is_refused():
    with pytest.raises(CartError, match="leaves nothing"):
        build(cart(line(undiscounted="10.00", gross="10.00"), total_net="10.00",
                   total_gross="10.00", gift_card="10.00"))


@pytest.mark.parametrize(
    "bad_line, bad_cart, message",
    [
        ({"quantity": 0}, {}, "at least 1"),
        ({"quantity": 1.5}, {}, "whole number"),
        ({"total_net": D("-1.00")}, {}, "cannot be negative"),
        ({"undiscounted_total_net": 10.0}, {}, "must be a Decimal"),
        ({"total_net": D("NaN")}, {}, "not an amount"),
        ({}, {"shipping_net": D("-5.00")}, "cannot be negative"),
        ({}, {"gift_card_amount": D("-1")}, "cannot be negative"),
        ({}, {"total_net": D("11.00")}, "below its net total"),
        ({"total_net": D("10.50")}, {}, "more after discounts"),
    ],
)
def test_carts_optty_cannot_take_are_refused(bad_line, bad_cart, message):
    good_line = line(undiscounted="10.00", gross="10.00")
    shopping = replace(
        cart(good_line, total_net="10.00", total_gross="10.00"),
        lines=(replace(good_line, **bad_line),),
        **bad_cart,
    )
    with pytest.raises(CartError, match=message):
        build(shopping)


# ------------------------------------------------------------ properties over carts

CURRENCIES = ["JPY", "KRW", "AUD", "USD", "GBP", "EUR"]
TAX_RATES = [D(0), D("0.05"), D("0.07"), D("0.0825"), D("0.10"), D("0.19"), D("0.20")]


@st.composite
def saleor_carts(draw):
    """A checkout priced the way Saleor prices one.

    Lines are priced per unit and discounted per line. An order voucher is spread across
    the lines in proportion to their totals, and a shipping voucher lowers shipping.
    Tax is worked out per line total, from prices entered either net or gross. The
    checkout totals are then either summed from the lines (Saleor's flat rates) or
    taxed as a whole, the way a tax app may round them.
    """
    currency = draw(st.sampled_from(CURRENCIES))
    minor_unit = D(1).scaleb(-money.optty_exponent(currency))
    rate = draw(st.sampled_from(TAX_RATES))
    prices_entered_with_tax = draw(st.booleans())

    def price(low=1, high=100_000):
        return draw(st.integers(low, high)) * minor_unit

    def percent_of(amount):
        percent = draw(st.sampled_from([0, 100]) | st.integers(1, 99))
        return money.quantize(amount * percent / 100, currency)

    def net_and_gross(entered):
        if prices_entered_with_tax:
            return money.quantize(entered / (1 + rate), currency), entered
        return entered, money.quantize(entered * (1 + rate), currency)

    quantities = draw(st.lists(st.integers(1, 50), min_size=1, max_size=6))
    undiscounted = [quantity * price() for quantity in quantities]
    after_line_discounts = [total - percent_of(total) for total in undiscounted]
    voucher = D(0)
    if draw(st.booleans()):
        voucher = price(0, int(sum(after_line_discounts) / minor_unit))
    voucher_shares = _spread(voucher, after_line_discounts, minor_unit)
    discounted = [total - share for total, share in zip(after_line_discounts, voucher_shares)]

    lines = []
    for position, quantity in enumerate(quantities):
        before, after = undiscounted[position], discounted[position]
        undiscounted_net, _ = net_and_gross(before)
        total_net, total_gross = net_and_gross(after)
        lines.append(CartLine(
            name=f"Product {position}",
            quantity=quantity,
            undiscounted_total_net=undiscounted_net,
            total_net=total_net,
            total_gross=total_gross,
            sku=draw(st.sampled_from([None, f"SKU-{position}"])),
            image_url=draw(st.sampled_from([None, f"https://cdn.example/{position}.jpg"])),
        ))

    shipping = price(0, 5_000)
    if draw(st.booleans()):
        shipping -= price(0, int(shipping / minor_unit))  # the shipping voucher
    shipping_net, shipping_gross = net_and_gross(shipping)

    total_net = sum((item.total_net for item in lines), shipping_net)
    total_gross = sum((item.total_gross for item in lines), shipping_gross)
    if draw(st.booleans()):
        if prices_entered_with_tax:
            total_net = money.quantize(total_gross / (1 + rate), currency)
        else:
            total_gross = money.quantize(total_net * (1 + rate), currency)
    assume(total_gross > 0)

    gift_card = D(0)
    if draw(st.booleans()) and total_gross > minor_unit:
        gift_card = price(1, int(total_gross / minor_unit) - 1)

    shopping = Cart(
        currency=currency, country="AU", locale="en_AU", lines=tuple(lines),
        shipping_net=shipping_net, shipping_gross=shipping_gross,
        total_net=total_net, total_gross=total_gross, gift_card_amount=gift_card,
        customer=CUSTOMER, billing_address=ADDRESS, shipping_address=ADDRESS,
    )
    return shopping, prices_entered_with_tax


def _spread(voucher, totals, minor_unit):
    """Split ``voucher`` in proportion to ``totals``, no share above its line's total.

    Each line gets its proportional share rounded down; the minor units left over go to
    the lines whose shares lost the most in rounding.
    """
    subtotal = sum(totals)
    if not voucher:
        return [D(0)] * len(totals)
    exact = [voucher * total / subtotal for total in totals]
    shares = [share.quantize(minor_unit, rounding=ROUND_DOWN) for share in exact]
    leftover = int((voucher - sum(shares)) / minor_unit)
    by_rounding_loss = sorted(
        range(len(totals)), key=lambda index: exact[index] - shares[index], reverse=True
    )
    for index in by_rounding_loss[:leftover]:
        shares[index] += minor_unit
    return shares


@settings(max_examples=200, deadline=None)
@given(saleor_carts())
def test_any_saleor_cart_adds_up_exactly(drawn):
    shopping, prices_entered_with_tax = drawn
    currency = shopping.currency
    exponent = money.optty_exponent(currency)
    minor_unit = D(1).scaleb(-exponent)
    built = build(shopping)
    request = built.request

    request.check()
    wire = request.to_wire()

    # The sum rule and the per-item rule, re-done by hand.
    for item in request.items:
        assert item.quantity * item.unit_price == item.total_amount
    items_total = sum(item.total_amount for item in request.items)
    charged = items_total + request.shipping_amount + request.tax_amount - request.discount_amount
    assert charged == request.amount

    # Non-negative, exact at the currency's precision, and written with its decimals.
    all_amounts = [request.amount, request.shipping_amount, request.tax_amount,
                   request.discount_amount]
    for item in request.items:
        all_amounts += [item.unit_price, item.total_amount]
    for amount in all_amounts:
        assert amount >= 0 and money.quantize(amount, currency) == amount
    wire_amounts = list(amounts(wire).values())
    for item in wire["orderItems"]:
        wire_amounts += [item["unitPrice"], item["totalAmount"]]
    for amount in wire_amounts:
        assert amount.as_tuple().exponent == -exponent

    # The amount is what Saleor charges; shipping and tax are Saleor's.
    assert request.amount == money.quantize(shopping.amount_due, currency)
    assert request.shipping_amount == shopping.shipping_net
    assert request.tax_amount == shopping.total_gross - shopping.total_net

    # One item per line at its undiscounted net unit price, plus an adjustment item
    # exactly when the order came up short.
    adjustment_items = [item for item in request.items if item.name == ROUNDING_ADJUSTMENT_NAME]
    line_items = [item for item in request.items if item.name != ROUNDING_ADJUSTMENT_NAME]
    for cart_line, item in zip(shopping.lines, line_items, strict=True):
        assert (item.name, item.quantity, item.sku, item.image_url) == (
            cart_line.name, cart_line.quantity, cart_line.sku, cart_line.image_url,
        )
        assert item.unit_price == money.quantize(
            cart_line.undiscounted_total_net / cart_line.quantity, currency
        )
    if built.adjustment > 0:
        assert [(item.quantity, item.total_amount, item.sku) for item in adjustment_items] == [
            (1, built.adjustment, None)
        ]
    else:
        assert adjustment_items == []
    assert (built.adjustment_note is None) == (built.adjustment == 0)

    line_discounts = sum(item.undiscounted_total_net - item.total_net for item in shopping.lines)
    assert request.discount_amount == line_discounts + shopping.gift_card_amount + max(
        -built.adjustment, D(0)
    )

    # The adjustment is rounding, nothing more. Rounding a unit price moves its line by at
    # most half a minor unit per unit sold. Saleor's own rounding stays within one minor
    # unit per line, plus one. Net-entered prices divide exactly, so with them only
    # Saleor's rounding is left.
    unit_price_rounding = sum(
        cart_line.undiscounted_total_net - item.total_amount
        for cart_line, item in zip(shopping.lines, line_items)
    )
    units_sold = sum(cart_line.quantity for cart_line in shopping.lines)
    saleor_rounding_bound = (len(shopping.lines) + 1) * minor_unit
    assert abs(unit_price_rounding) <= units_sold * minor_unit / 2
    assert abs(built.adjustment - unit_price_rounding) <= saleor_rounding_bound
    if not prices_entered_with_tax:
        assert unit_price_rounding == 0
        assert abs(built.adjustment) <= saleor_rounding_bound
