"""Webhook bodies shaped as Saleor 3.20.119 and 3.23.28 send them for the App's queries.

The shapes are those Saleor's own payload generator produced for the App's
subscriptions (tests/integration/test_app_cart.py runs it); amounts are what
``parse_body`` makes of Saleor's JSON numbers. tests/app/test_events.py checks every
builder here against its subscription query, so they cannot drift from what the App
asks Saleor for.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

APP_ID = "QXBwOjE="  # App:1
CHECKOUT_ID = "Q2hlY2tvdXQ6OGE5YTkxYWQtMWQyMy00MTlkLWFiZDgtZTU1ZGQzODNmYWQ3"
ORDER_ID = "T3JkZXI6MDRlZDdlYmEtYzIxZC00YmU3LWI4YmUtYWMxN2JhOTZjNjFj"
TRANSACTION_ID = "VHJhbnNhY3Rpb25JdGVtOjc0NGFkOWMxLTg4ZTQtNGE4Zi04YjY2LTFjNDdkM2M0N2MyZg=="
TRANSACTION_TOKEN = "744ad9c1-88e4-4a8f-8b66-1c47d3c47c2f"
CHANNEL = "default-channel"

ADDRESS: dict[str, Any] = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "streetAddress1": "1 George Street",
    "streetAddress2": "",
    "city": "SYDNEY",
    "countryArea": "NSW",
    "postalCode": "2000",
    "country": {"code": "AU"},
    "phone": "+61291234567",
}


def amount(value: str | int) -> dict[str, Decimal]:
    return {"amount": Decimal(value)}


def taxed(net: str, gross: str, currency: str | None = None) -> dict[str, Any]:
    """A ``TaxedMoney`` selected as ``net { amount } gross { amount [currency] }``."""
    gross_money: dict[str, Any] = amount(gross)
    if currency:
        gross_money["currency"] = currency
    return {"net": amount(net), "gross": gross_money}


def media(*urls_and_positions: tuple[str, int | None]) -> list[dict[str, Any]]:
    return [{"url": url, "sortOrder": position} for url, position in urls_and_positions]


def checkout_line(
    quantity: int,
    listed: str,
    net: str,
    gross: str,
    *,
    variant: str = "Blue",
    product: str = "Optty Tee",
    sku: str | None = "TEE-BLUE",
    variant_media: list | None = None,
    product_media: list | None = None,
) -> dict[str, Any]:
    """``listed`` is ``undiscountedTotalPrice``: the listing price times the quantity."""
    return {
        "quantity": quantity,
        "undiscountedTotalPrice": amount(listed),
        "totalPrice": taxed(net, gross),
        "variant": {
            "name": variant,
            "sku": sku,
            "media": variant_media or [],
            "product": {"name": product, "media": product_media or []},
        },
    }


def checkout(
    lines: list[dict[str, Any]],
    *,
    shipping: tuple[str, str] = ("10.00", "11.00"),
    gross_prices: bool = False,
    currency: str = "AUD",
    email: str | None = "ada@example.com",
    language: str = "EN_AU",
    billing: dict[str, Any] | None = ADDRESS,
    delivery: dict[str, Any] | None = ADDRESS,
) -> dict[str, Any]:
    """A ``sourceObject`` Checkout; the subtotal is the sum of the lines, as in Saleor."""
    net = sum((line["totalPrice"]["net"]["amount"] for line in lines), Decimal(0))
    gross = sum((line["totalPrice"]["gross"]["amount"] for line in lines), Decimal(0))
    return {
        "__typename": "Checkout",
        "id": CHECKOUT_ID,
        "channel": {"slug": CHANNEL, "taxConfiguration": {"pricesEnteredWithTax": gross_prices}},
        "email": email,
        "languageCode": language,
        "billingAddress": billing,
        "shippingAddress": delivery,
        "subtotalPrice": taxed(str(net), str(gross), currency),
        "shippingPrice": taxed(*shipping),
        "lines": lines,
    }


def order_line(
    quantity: int,
    undiscounted_net: str,
    net: str,
    gross: str,
    *,
    product: str = "Optty Tee",
    variant: str = "Blue",
    sku: str | None = "TEE-BLUE",
    variant_media: list | None = None,
    product_media: list | None = None,
    deleted: bool = False,
) -> dict[str, Any]:
    return {
        "productName": product,
        "variantName": variant,
        "productSku": sku,
        "quantity": quantity,
        "undiscountedTotalPrice": {"net": amount(undiscounted_net)},
        "totalPrice": taxed(net, gross),
        "variant": None if deleted else {"media": variant_media or [], "product": {"media": product_media or []}},
    }


def order(
    lines: list[dict[str, Any]],
    *,
    shipping: tuple[str, str] = ("10.00", "11.00"),
    currency: str = "AUD",
    email: str | None = "ada@example.com",
    language: str = "EN_AU",
    total: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A ``sourceObject`` Order; its total is lines plus shipping unless given."""
    if total is None:
        net = sum((line["totalPrice"]["net"]["amount"] for line in lines), Decimal(shipping[0]))
        gross = sum((line["totalPrice"]["gross"]["amount"] for line in lines), Decimal(shipping[1]))
        total = (str(net), str(gross))
    return {
        "__typename": "Order",
        "id": ORDER_ID,
        "channel": {"slug": CHANNEL},
        "userEmail": email,
        "languageCodeEnum": language,
        "billingAddress": ADDRESS,
        "shippingAddress": ADDRESS,
        "total": taxed(*total, currency),
        "shippingPrice": taxed(*shipping),
        "orderLines": lines,
    }


def source_identity(kind: str = "Checkout") -> dict[str, Any]:
    """The ``sourceObject`` of the process session: type, id and channel."""
    return {"__typename": kind, "id": CHECKOUT_ID if kind == "Checkout" else ORDER_ID, "channel": {"slug": CHANNEL}}


def event(type_name: str, version: str = "3.23.28", **fields: Any) -> dict[str, Any]:
    return {
        "__typename": type_name,
        "issuedAt": "2026-05-04T10:00:00.123456+00:00",
        "version": version,
        "recipient": {"id": APP_ID},
        **fields,
    }


def transaction(psp_reference: str = "") -> dict[str, Any]:
    return {"id": TRANSACTION_ID, "token": TRANSACTION_TOKEN, "pspReference": psp_reference}


def session_action(value: str, currency: str = "AUD", action_type: str = "CHARGE") -> dict[str, Any]:
    return {"amount": Decimal(value), "currency": currency, "actionType": action_type}


def gateway_initialize(kind: str = "Checkout", total: str = "42.00", requested: str | None = None, **extra):
    source = source_identity(kind)
    source["totalPrice" if kind == "Checkout" else "total"] = {"gross": {"amount": Decimal(total), "currency": "AUD"}}
    return event(
        "PaymentGatewayInitializeSession",
        amount=None if requested is None else Decimal(requested),
        data={"returnUrl": "https://shop.example.com/checkout"},
        sourceObject=source,
        **extra,
    )


def transaction_initialize(source: dict[str, Any], value: str, *, currency: str = "AUD", **extra) -> dict[str, Any]:
    return event(
        "TransactionInitializeSession",
        transaction=transaction(),
        action=session_action(value, currency),
        data={"provider": "KLARNA", "returnUrl": "https://shop.example.com/checkout"},
        idempotencyKey="attempt-1",
        merchantReference=TRANSACTION_ID,
        customerIpAddress="203.0.113.7",
        sourceObject=source,
        **extra,
    )


def transaction_process(value: str = "42.00", kind: str = "Checkout", **extra) -> dict[str, Any]:
    return event(
        "TransactionProcessSession",
        transaction=transaction("T-0001"),
        action=session_action(value, action_type="AUTHORIZATION"),
        data=None,
        sourceObject=source_identity(kind),
        **extra,
    )


ACTION_REQUEST_TYPES = {
    "CHARGE": "TransactionChargeRequested",
    "REFUND": "TransactionRefundRequested",
    "CANCEL": "TransactionCancelationRequested",
}


def action_request(
    action_type: str,
    value: str | None,
    *,
    version: str = "3.23.28",
    authorized: str = "0",
    charged: str = "42.00",
    owner: str | None = "checkout",
) -> dict[str, Any]:
    """A charge, refund or cancel request; ``owner`` is "checkout", "order" or None."""
    return event(
        ACTION_REQUEST_TYPES[action_type],
        version=version,
        action={"actionType": action_type, "amount": None if value is None else Decimal(value), "currency": "AUD"},
        transaction={
            **transaction("T-0001"),
            "authorizedAmount": {"amount": Decimal(authorized), "currency": "AUD"},
            "chargedAmount": {"amount": Decimal(charged), "currency": "AUD"},
            "events": [
                {
                    "id": "VHJhbnNhY3Rpb25FdmVudDox",
                    "type": "CHARGE_SUCCESS",
                    "pspReference": "T-0001",
                    "createdAt": "2026-05-04T09:58:00.000000+00:00",
                    "amount": {"amount": Decimal(charged), "currency": "AUD"},
                }
            ],
            "checkout": {"channel": {"slug": CHANNEL}} if owner == "checkout" else None,
            "order": {"channel": {"slug": "order-channel"}} if owner == "order" else None,
        },
    )


# ----------------------------------------------------------- damaging a body, for tests

#: Any JSON value, and the odd value a careless caller might put in a parsed body.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.floats()
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def paths(value: Any, prefix: tuple = ()):
    """Every path (keys and indexes) to a value inside ``value``, parents first."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


def edit(body: Any, path: tuple, value: Any) -> Any:
    """A deep copy of ``body`` with the value at ``path`` replaced, or removed when
    ``value`` is ``...``."""
    body = copy.deepcopy(body)
    *parents, last = path
    node = body
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return body
