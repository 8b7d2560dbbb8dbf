"""Whether the order Optty reports pays for what the shop asked for.

The last of the three checks before a shop trusts an Optty payment: the return's hash
(:func:`~saleor_optty.optty.redirect.verify_return`) proves the redirect came from
Optty, ``GET /orders/{reference}`` gives Optty's own word on the order, and this
compares that word with the amount and currency the shop recorded when it created the
order. A SUCCESSFUL order for another amount is not a payment for this cart.
"""

from __future__ import annotations

from decimal import Decimal

from .types import OrderStatus


def payment_mismatch(order: OrderStatus, *, amount: Decimal, currency: str) -> str | None:
    """Why ``order`` does not pay for ``amount`` in ``currency``; None when it does."""
    if order.currency != currency.upper():
        return f"Optty reports {order.currency}, the payment is in {currency.upper()}"
    if order.amount != amount:
        return f"Optty reports {order.amount} {order.currency}, the payment is {amount}"
    return None
