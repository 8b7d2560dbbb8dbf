"""The demo's sample checkout, priced the way Saleor prices one.

Two lines, an order voucher, shipping and a flat 10% tax. As on a real Saleor checkout
(see :class:`~saleor_optty.payload.Cart`), the voucher is already spread into the line
totals, so :func:`~saleor_optty.payload.build_order_request` has to send the lines at
their undiscounted prices and the voucher as Optty's ``discountAmount`` for the sum
rule to hold.
"""

from __future__ import annotations

from decimal import Decimal

from ..core.payload import Cart, CartLine
from ..optty import Address, Customer
from ..optty.money import normalise_currency, optty_exponent, quantize

#: Purchase country and locale for each currency the emulator's providers take.
MARKETS = {
    "AUD": ("AU", "en_AU"),
    "EUR": ("DE", "de_DE"),
    "GBP": ("GB", "en_GB"),
    "JPY": ("JP", "ja_JP"),
    "SGD": ("SG", "en_SG"),
    "USD": ("US", "en_US"),
}

VOUCHER_CODE = "SPRING10"
VOUCHER_RATE = Decimal("0.10")
TAX_RATE = Decimal("0.10")

# (name, quantity, net unit price, SKU); prices read in a two-decimal currency.
_LINES = (
    ("Merino crew tee", 2, Decimal("40.00"), "TEE-MERINO-M"),
    ("Canvas tote bag", 1, Decimal("25.00"), "TOTE-CANVAS"),
)
_SHIPPING_NET = Decimal("9.00")


def sample_cart(currency: str = "AUD") -> Cart:
    """The sample checkout in ``currency`` (one of :data:`MARKETS`)."""
    currency = normalise_currency(currency)
    country, locale = MARKETS[currency]
    # 40.00 in a two-decimal currency becomes 4000 in a zero-decimal one such as JPY.
    scale = Decimal(10) ** (2 - optty_exponent(currency))

    def price(amount: Decimal) -> Decimal:
        return quantize(amount, currency)

    lines = []
    for name, quantity, unit_net, sku in _LINES:
        undiscounted = price(unit_net * scale * quantity)
        net = price(undiscounted * (1 - VOUCHER_RATE))
        lines.append(CartLine(name, quantity, undiscounted, net, price(net * (1 + TAX_RATE)), sku=sku))
    shipping_net = price(_SHIPPING_NET * scale)
    shipping_gross = price(shipping_net * (1 + TAX_RATE))
    # Sample personal data; the demo never prints it (see saleor_optty.optty.redact).
    customer = Customer("Ada", "Lovelace", "ada@example.com", "+61400000000")
    address = Address(
        "Ada", "Lovelace", "1 Sample Street", "Sampleton", "1000", country,
        phone_number=customer.phone_number, email=customer.email,
    )  # fmt: skip
    return Cart(
        currency=currency,
        country=country,
        locale=locale,
        lines=tuple(lines),
        shipping_net=shipping_net,
        shipping_gross=shipping_gross,
        total_net=sum((line.total_net for line in lines), shipping_net),
        total_gross=sum((line.total_gross for line in lines), shipping_gross),
        gift_card_amount=Decimal(0),
        customer=customer,
        billing_address=address,
        shipping_address=address,
    )
