"""The checkout or order Saleor sends (``sourceObject``), as the Optty-neutral cart.

The App builds the Optty order with the plugin's payload builder and sum rule
(:func:`saleor_optty.core.payload.build_order_request`), so it must fill the same
:class:`~saleor_optty.core.payload.Cart` the plugin fills from Saleor's models
(``cart_from_checkout`` in :mod:`saleor_optty.plugin.saleor_compat`), here from GraphQL
fields; tests/integration/test_app_cart.py checks that they agree on a real Saleor.

What each field means, in Saleor's source (3.20.119 and 3.23.28 agree unless said):

* ``Checkout.totalPrice`` has gift cards taken off, and its net re-derived from that
  (``calculate_checkout_total_with_gift_cards`` in saleor/checkout/calculations.py;
  ``Checkout.resolve_total_price`` in saleor/graphql/checkout/types.py@3.23.28), so the
  cart reads the totals before gift cards as ``subtotalPrice + shippingPrice``: exactly
  how Saleor sums ``checkout.total`` (``_calculate_checkout_total`` and
  saleor/tax/calculations/checkout.py ``update_checkout_prices_with_flat_rates``).
  Vouchers are already in the line and shipping prices; ``discount`` is not needed.
* ``CheckoutLine.undiscountedTotalPrice`` is ``Money``, not ``TaxedMoney``: the
  variant's channel-listing price times the quantity
  (``checkout_line_undiscounted_total_price`` in saleor/checkout/calculations.py), that
  is, the price as the shop entered it: gross when the channel's prices are entered with
  tax, net otherwise.
* ``OrderLine.undiscountedTotalPrice`` is ``TaxedMoney`` whose net Saleor derived from
  the base price with the line's tax rate (``_get_undiscounted_price`` and
  ``_apply_tax_data`` in saleor/order/calculations.py; ``get_taxed_undiscounted_price``
  in saleor/tax/calculations/__init__.py@3.23.28).
* ``Order.total`` is the order's whole total (``order_total`` in
  saleor/order/calculations.py); gift cards and earlier transactions are what the
  transaction's amount leaves out.

``amount`` (the transaction's ``action.amount``) may be less than the total: other
transactions or gift cards pay the rest. The difference goes where the plugin puts gift
cards, ``Cart.gift_card_amount``, so Optty's order adds up to ``amount``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..core.payload import Cart, CartError, CartLine, optty_locale
from ..optty.money import currency_exponent, normalise_currency
from ..optty.types import Address, Customer
from .saleor.events import Fields

_UNNAMED_VARIANT = re.compile(r"ID:\d+")
_ADDRESS = "firstName lastName streetAddress1 streetAddress2 city countryArea postalCode country { code } phone"
_MEDIA = "media { url(size: 0) sortOrder }"  # size 0: the original image, as the plugin sends

#: What the cart reads from ``sourceObject``; the subscriptions add ``__typename``, the
#: id and the channel. Order lines are aliased: ``CheckoutLine.variant`` is non-null and
#: ``OrderLine.variant`` nullable, and two ``lines`` of different shapes in one selection
#: fail Saleor's validation when the App is installed.
SOURCE_OBJECT_FIELDS = f"""
... on Checkout {{
  email
  languageCode
  channel {{ taxConfiguration {{ pricesEnteredWithTax }} }}
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  subtotalPrice {{ net {{ amount }} gross {{ amount currency }} }}
  shippingPrice {{ net {{ amount }} gross {{ amount }} }}
  lines {{
    quantity
    undiscountedTotalPrice {{ amount }}
    totalPrice {{ net {{ amount }} gross {{ amount }} }}
    variant {{ name sku {_MEDIA} product {{ name {_MEDIA} }} }}
  }}
}}
... on Order {{
  userEmail
  languageCodeEnum
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  total {{ net {{ amount }} gross {{ amount currency }} }}
  shippingPrice {{ net {{ amount }} gross {{ amount }} }}
  orderLines: lines {{
    productName
    variantName
    productSku
    quantity
    undiscountedTotalPrice {{ net {{ amount }} }}
    totalPrice {{ net {{ amount }} gross {{ amount }} }}
    variant {{ {_MEDIA} product {{ {_MEDIA} }} }}
  }}
}}
"""


@dataclass(frozen=True)
class _Priced:
    """What differs between a Checkout and an Order: prices, lines, email, language."""

    noun: str  # "checkout" or "order", for messages a shopper reads
    currency: str
    total_net: Decimal
    total_gross: Decimal
    shipping_net: Decimal
    shipping_gross: Decimal
    lines: tuple[CartLine, ...]
    email: str
    language_code: str | None


def cart_from_source(source: Mapping[str, Any], *, amount: Decimal, currency: str) -> Cart:
    """The cart for paying ``amount`` of ``currency`` towards a checkout or an order.

    ``source`` is the ``sourceObject`` of a TRANSACTION_INITIALIZE_SESSION payload.
    Raises :class:`~saleor_optty.app.saleor.events.MalformedPayload` when a field is
    missing or ill-typed, and :class:`~saleor_optty.core.payload.CartError` (or another
    ``MoneyError``) with a message a shopper can read when Optty cannot be asked to pay.
    """
    fields = Fields(source, "sourceObject")
    typename = fields.choice("__typename", ("Checkout", "Order"))
    priced = _checkout(fields) if typename == "Checkout" else _order(fields)

    currency = normalise_currency(currency)
    if currency != priced.currency:
        raise CartError(f"The payment is in {currency}, but the {priced.noun} is in {priced.currency}.")
    if amount <= 0:
        raise CartError(f"The payment amount must be more than zero, not {_shown(amount, currency)}.")
    if amount > priced.total_gross:
        raise CartError(
            f"The payment of {_shown(amount, currency)} is more than the {priced.noun}'s total of "
            f"{_shown(priced.total_gross, currency)}."
        )
    if not priced.lines:
        raise CartError(f"The {priced.noun} has no lines; Optty needs at least one item.")
    billing_fields = fields.optional_object("billingAddress")
    if billing_fields is None:
        raise CartError(f"The {priced.noun} has no billing address; Optty needs one.")
    shipping_fields = fields.optional_object("shippingAddress")

    billing = _address(billing_fields, priced.email)
    return Cart(
        currency=priced.currency,
        country=billing.country,
        locale=optty_locale(priced.language_code, billing.country),
        lines=priced.lines,
        shipping_net=priced.shipping_net,
        shipping_gross=priced.shipping_gross,
        total_net=priced.total_net,
        total_gross=priced.total_gross,
        gift_card_amount=priced.total_gross - amount,  # paid otherwise: gift cards, other transactions
        customer=Customer(
            first_name=billing.first_name,
            last_name=billing.last_name,
            email=priced.email,
            phone_number=billing.phone_number,
        ),
        billing_address=billing,
        shipping_address=_address(shipping_fields, priced.email) if shipping_fields else None,
    )


def _checkout(fields: Fields) -> _Priced:
    subtotal = fields.object("subtotalPrice")
    shipping = fields.object("shippingPrice")
    # A channel-wide setting; Saleor's per-country exceptions do not override it.
    gross_prices = fields.object("channel").object("taxConfiguration").boolean("pricesEnteredWithTax")
    shipping_net = _amount(shipping, "net")
    shipping_gross = _amount(shipping, "gross")
    return _Priced(
        noun="checkout",
        currency=subtotal.object("gross").currency("currency"),
        total_net=_amount(subtotal, "net") + shipping_net,
        total_gross=_amount(subtotal, "gross") + shipping_gross,
        shipping_net=shipping_net,
        shipping_gross=shipping_gross,
        lines=tuple(_checkout_line(line, gross_prices) for line in fields.objects("lines")),
        email=fields.optional_text("email") or "",
        language_code=fields.optional_text("languageCode"),
    )


def _checkout_line(line: Fields, gross_prices: bool) -> CartLine:
    total = line.object("totalPrice")
    net, gross = _amount(total, "net"), _amount(total, "gross")
    listed = line.object("undiscountedTotalPrice").decimal("amount")
    undiscounted_net = _net_of_listed(listed, net, gross) if gross_prices else listed
    variant = line.object("variant")
    return CartLine(
        name=_line_name(variant.object("product").text("name"), variant.optional_text("name")),
        quantity=line.integer("quantity"),
        undiscounted_total_net=max(undiscounted_net, net),
        total_net=net,
        total_gross=gross,
        sku=variant.optional_text("sku") or None,
        image_url=_image_url(variant),
    )


def _net_of_listed(listed_gross: Decimal, net: Decimal, gross: Decimal) -> Decimal:
    """A gross listing price without its tax, at the line's own rate (net / gross).

    GraphQL gives no checkout line's tax rate, so it is read off the line's prices.
    Undiscounted, the line's net is the answer, as Saleor itself takes it for orders
    (``get_taxed_undiscounted_price``, saleor/tax/calculations/__init__.py@3.23.28). A
    free line has no rate to read; its listed price stands, and the discount covers it.
    """
    if listed_gross == gross:
        return net
    if gross > 0:
        return listed_gross * net / gross
    return listed_gross


def _order(fields: Fields) -> _Priced:
    total = fields.object("total")
    shipping = fields.object("shippingPrice")
    return _Priced(
        noun="order",
        currency=total.object("gross").currency("currency"),
        total_net=_amount(total, "net"),
        total_gross=_amount(total, "gross"),
        shipping_net=_amount(shipping, "net"),
        shipping_gross=_amount(shipping, "gross"),
        lines=tuple(_order_line(line) for line in fields.objects("orderLines")),
        email=fields.optional_text("userEmail") or "",
        language_code=fields.optional_text("languageCodeEnum"),
    )


def _order_line(line: Fields) -> CartLine:
    total = line.object("totalPrice")
    net = _amount(total, "net")
    # The names and SKU the order recorded: its variant may since have been deleted.
    sku = line.optional_text("productSku") or None
    variant = line.optional_object("variant")
    return CartLine(
        name=_line_name(line.text("productName"), _recorded_variant_name(line.optional_text("variantName"), sku)),
        quantity=line.integer("quantity"),
        undiscounted_total_net=max(_amount(line.object("undiscountedTotalPrice"), "net"), net),
        total_net=net,
        total_gross=_amount(total, "gross"),
        sku=sku,
        image_url=_image_url(variant) if variant else None,
    )


def _recorded_variant_name(variant_name: str | None, sku: str | None) -> str | None:
    """The variant's name as the order recorded it, None when it had none.

    Saleor records ``str(variant)``, which is the SKU, or "ID:<pk>", for a variant
    without a name (``ProductVariant.__str__`` in saleor/product/models.py, recorded by
    saleor/checkout/complete_checkout.py at 3.20.119 and 3.23.28); the checkout's cart
    names such a line after its product alone, and so does this one.
    """
    if not variant_name or variant_name == sku or _UNNAMED_VARIANT.fullmatch(variant_name):
        return None
    return variant_name


def _amount(taxed_money: Fields, side: str) -> Decimal:
    return taxed_money.object(side).decimal("amount")


def _line_name(product_name: str, variant_name: str | None) -> str:
    return f"{product_name} ({variant_name})" if variant_name and variant_name != product_name else product_name


def _image_url(variant: Fields) -> str | None:
    """The variant's first image, else its product's: "first" in Saleor's media order
    (``sort_order``, unset last), as the plugin takes them."""
    for owner in (variant, variant.object("product")):
        media = owner.optional_objects("media")
        if media:
            first = min(media, key=_media_position)  # min keeps Saleor's order among equals
            return first.optional_text("url") or None
    return None


def _media_position(media: Fields) -> tuple[bool, int]:
    position = media.optional_integer("sortOrder")
    return (position is None, position or 0)


def _shown(amount: Decimal, currency: str) -> str:
    """``20.0`` as Saleor's JSON has it, written as a shopper reads it: "20.00 AUD"."""
    return f"{amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))} {currency}"


def _address(address: Fields, email: str) -> Address:
    return Address(
        first_name=address.text("firstName"),
        last_name=address.text("lastName"),
        street_address=address.text("streetAddress1"),
        street_address2=address.optional_text("streetAddress2") or None,
        city=address.text("city"),
        state=address.optional_text("countryArea") or None,
        postal_code=address.text("postalCode"),
        country=address.object("country").identifier("code"),
        phone_number=address.optional_text("phone") or None,
        email=email or None,
    )
