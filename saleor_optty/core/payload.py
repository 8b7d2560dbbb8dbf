"""A Saleor-shaped cart, turned into the body of Optty's ``POST /orders``.

This module is pure: it knows Optty's request types and nothing of Saleor or Django.
The Saleor-facing layer fills a :class:`Cart` from Saleor's checkout calculations, and
:func:`build_order_request` maps it so that Optty's two checks hold exactly:

    quantity × unitPrice = totalAmount                                   (every item)
    orderAmount = Σ items.totalAmount + shippingAmount + taxAmount − discountAmount

Amounts are on the net basis, as in Optty's own sample (items 130 + shipping 7.99 +
tax 6.90 = 144.89). Each line goes at its undiscounted net price. Shipping goes net of
tax, after any shipping voucher. All tax goes in ``taxAmount``. Every other discount
goes in ``discountAmount``: line discounts, order vouchers that Saleor spreads into
lines, and gift cards.

Two kinds of rounding can leave these pieces a few minor units away from the amount
Saleor charges. Per-unit prices have to be rounded to the currency's precision. And
Saleor rounds its totals apart from its lines. That residual is never hidden inside a
line. When the order needs more, it becomes a visible "Rounding adjustment" item. When
it needs less, it is added to the discount. A residual bigger than rounding can
explain means Saleor's figures disagree, and the cart is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from ..optty.errors import OpttyError
from ..optty.money import MoneyError, normalise_currency, optty_exponent, quantize
from ..optty.types import Address, Customer, OrderItem, OrderRequest, SumRuleError

logger = logging.getLogger(__name__)

ROUNDING_ADJUSTMENT_NAME = "Rounding adjustment"


class CartError(MoneyError):
    """A cart that Optty cannot be asked to pay for."""


@dataclass(frozen=True)
class CartLine:
    """One checkout line, with the prices Saleor calculated for the whole line."""

    name: str
    quantity: int
    undiscounted_total_net: Decimal  # before any discount or voucher
    total_net: Decimal  # after line discounts and the line's share of order vouchers
    total_gross: Decimal
    sku: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class Cart:
    """A checkout as Saleor priced it; every amount is a Decimal in ``currency``."""

    currency: str
    country: str  # ISO 3166 alpha-2 purchase country
    locale: str  # for example "en_AU"
    lines: tuple[CartLine, ...]
    shipping_net: Decimal  # after shipping vouchers
    shipping_gross: Decimal
    total_net: Decimal  # Saleor's checkout total
    total_gross: Decimal  # Saleor's checkout total, before gift cards
    gift_card_amount: Decimal  # 0 when no gift card applies
    customer: Customer
    billing_address: Address
    shipping_address: Address | None

    @property
    def amount_due(self) -> Decimal:
        """What the Saleor payment charges: the checkout total less gift cards."""
        return self.total_gross - self.gift_card_amount


@dataclass(frozen=True)
class BuiltOrder:
    """The request to send, plus any rounding adjustment that made it add up.

    A positive ``adjustment`` was added as a "Rounding adjustment" item. A negative one
    was added to the discount. Zero means the cart added up as it was.
    """

    request: OrderRequest
    adjustment: Decimal
    adjustment_note: str | None = None


def optty_locale(language_code: str | None, country: str) -> str:
    """Optty's locale: the shopper's language in the billing country ("EN_US" or "en-us"
    with a Polish billing address gives "en_PL"); English when Saleor knows no language."""
    language = (language_code or "en").replace("-", "_").split("_")[0].lower()
    return f"{language}_{country.upper()}"


def build_order_request(
    cart: Cart,
    *,
    reference: str,
    provider: str,
    auto_capture: bool,
    redirect_url: str | None,
    callback_url: str | None,
    channel: str | None = None,
    customer_token: str | None = None,
) -> BuiltOrder:
    """Map ``cart`` to an :class:`OrderRequest` whose amounts satisfy Optty's sum rule.

    Raises :class:`~saleor_optty.optty.money.MoneyError` for a currency Optty can't
    take, :class:`CartError` for a cart it can't be asked to pay for, and
    :class:`~saleor_optty.optty.types.SumRuleError` when Saleor's totals disagree with
    its lines by more than rounding. All three are ``MoneyError``s.
    """
    currency = normalise_currency(cart.currency)
    minor_unit = Decimal(1).scaleb(-optty_exponent(currency))
    _check_cart(cart)

    amount = quantize(cart.amount_due, currency)
    if amount <= 0:
        raise CartError(
            f"The checkout total {cart.total_gross} {currency} less gift cards "
            f"{cart.gift_card_amount} {currency} leaves nothing for Optty to charge."
        )

    items = [_order_item(line, currency) for line in cart.lines]
    shipping = quantize(cart.shipping_net, currency)
    tax = quantize(cart.total_gross - cart.total_net, currency)
    line_discounts = quantize(
        sum((line.undiscounted_total_net for line in cart.lines), Decimal(0))
        - sum((line.total_net for line in cart.lines), Decimal(0)),
        currency,
    )
    if line_discounts < 0:
        raise CartError(
            "The checkout lines cost more after discounts than before; "
            "Optty's discount amount cannot be negative."
        )
    discount = line_discounts + quantize(cart.gift_card_amount, currency)

    items_total = sum((item.total_amount for item in items), Decimal(0))
    residual = amount - (items_total + shipping + tax - discount)
    _check_residual_is_rounding(cart, items, residual, minor_unit, currency)

    note = None
    if residual > 0:
        items.append(OrderItem(ROUNDING_ADJUSTMENT_NAME, 1, residual, residual))
        note = (
            f"Added a {ROUNDING_ADJUSTMENT_NAME.lower()} item of {residual} {currency} "
            f"so the order adds up to the {amount} {currency} charged."
        )
    elif residual < 0:
        discount += -residual
        note = (
            f"Added {-residual} {currency} to the discount "
            f"so the order adds up to the {amount} {currency} charged."
        )
    if note:
        # The reference and amounts only: a cart's names and addresses stay out of logs.
        logger.info("Optty order %s: %s", reference, note)

    request = OrderRequest(
        reference=reference,
        provider=provider,
        country=cart.country,
        currency=currency,
        locale=cart.locale,
        amount=amount,
        items=tuple(items),
        customer=cart.customer,
        billing_address=cart.billing_address,
        shipping_address=cart.shipping_address,
        shipping_amount=shipping,
        tax_amount=tax,
        discount_amount=discount,
        auto_capture=auto_capture,
        redirect_url=redirect_url,
        callback_url=callback_url,
        channel=channel,
        customer_token=customer_token,
    )
    return BuiltOrder(request=request, adjustment=residual, adjustment_note=note)


def _order_item(line: CartLine, currency: str) -> OrderItem:
    # Optty checks quantity × unitPrice = totalAmount, so the total is derived from the
    # rounded unit price rather than copied from Saleor; what that loses or gains shows
    # up in the residual, not in a line that doesn't multiply out.
    unit_price = quantize(line.undiscounted_total_net / line.quantity, currency)
    return OrderItem(
        name=line.name,
        quantity=line.quantity,
        unit_price=unit_price,
        total_amount=line.quantity * unit_price,
        sku=line.sku,
        image_url=line.image_url,
    )


def _check_cart(cart: Cart) -> None:
    if not cart.lines:
        raise CartError("The checkout has no lines; Optty needs at least one order item.")
    for position, line in enumerate(cart.lines, start=1):
        label = f"Line {position} ({line.name!r})"
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise CartError(f"{label} has quantity {line.quantity!r}; it must be a whole number.")
        if line.quantity < 1:
            raise CartError(f"{label} has quantity {line.quantity}; Optty needs at least 1.")
        _check_amount(line.undiscounted_total_net, f"{label} undiscounted net total")
        _check_amount(line.total_net, f"{label} net total")
        _check_amount(line.total_gross, f"{label} gross total")
    _check_amount(cart.shipping_net, "The net shipping price")
    _check_amount(cart.shipping_gross, "The gross shipping price")
    _check_amount(cart.total_net, "The checkout's net total")
    _check_amount(cart.total_gross, "The checkout's gross total")
    _check_amount(cart.gift_card_amount, "The gift card amount")
    if cart.total_gross < cart.total_net:
        raise CartError(
            f"The checkout's gross total {cart.total_gross} is below its net total "
            f"{cart.total_net}; Optty's tax amount cannot be negative."
        )


def _check_amount(amount: Decimal, what: str) -> None:
    if not isinstance(amount, Decimal):
        raise CartError(f"{what} must be a Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise CartError(f"{what} is {amount}, not an amount.")
    if amount < 0:
        raise CartError(f"{what} is {amount}; Optty amounts cannot be negative.")


def _check_residual_is_rounding(
    cart: Cart,
    items: list[OrderItem],
    residual: Decimal,
    minor_unit: Decimal,
    currency: str,
) -> None:
    """Refuse a residual that rounding cannot explain: it would hide a real discrepancy.

    Rounding unit prices moves each line by up to half a minor unit per unit sold. That
    share of the residual is known exactly, so it is taken out before the check. What
    is left comes from Saleor rounding its totals apart from its lines (for example
    ``total_net`` ≠ Σ line nets + ``shipping_net``). That is allowed at most one minor
    unit per line, plus one for shipping.
    """
    unit_price_rounding = sum(
        (line.undiscounted_total_net - item.total_amount for line, item in zip(cart.lines, items)),
        Decimal(0),
    )
    unexplained = residual - unit_price_rounding
    tolerance = (len(cart.lines) + 1) * minor_unit
    if abs(unexplained) > tolerance:
        lines_and_shipping = sum((line.total_net for line in cart.lines), cart.shipping_net)
        raise SumRuleError(
            f"Saleor's totals disagree with its lines by {unexplained} {currency}, more "
            f"than rounding explains (at most {tolerance} {currency}): net total "
            f"{cart.total_net}, lines plus shipping net {lines_and_shipping}."
        )


def create_failure_message(error: OpttyError) -> str:
    """What the shopper is told when Optty did not create the order."""
    # An order whose creation may have been lost is harmless: the shopper never got its
    # redirect URL, so nobody can approve it; the next try makes a new one.
    if error.retryable or error.outcome_unknown:
        return "Optty is not answering right now. Please try again in a moment."
    return f"Optty refused the order: {error.message}"
