"""Request-body rules, applied the way Optty's API applies them.

Each failure is a 400 whose message names the field (class-validator style, as NestJS
writes them). The create-order rules come from Optty's OpenAPI: required fields, amounts
with at most 2 decimals, ``quantity x unitPrice == totalAmount`` per item and
``orderAmount == sum(items) + shipping + tax - discount``. Requiring a non-empty
``orderItems`` list and the provider's ``requiredFields`` are emulator assumptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from .errors import bad_request
from .money import AmountError, parse_amount, to_money
from .providers import Provider

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOMER_FIELDS = ("firstName", "lastName", "email", "phoneNumber")


@dataclass
class OrderRequest:
    """A create-order body that passed every rule, with amounts as exact Decimals.

    The ledger's ``Order`` extends it with the order's state, so it is not frozen
    (a dataclass cannot extend a frozen one); nothing changes these fields once set.
    """

    reference: str
    provider: Provider
    country: str
    currency: str
    amount: Decimal
    surcharge: Decimal
    auto_capture: bool
    redirect_url: str | None
    callback_url: str | None
    channel: str | None
    items: tuple[dict[str, Any], ...]


def require_object(body: Any, what: str = "Request body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(f"{what} must be a JSON object")
    return body


def required_text(container: dict[str, Any], key: str, path: str = "") -> str:
    value = optional_text(container, key, path)
    if value is None or not value.strip():
        raise bad_request(f"{path}{key} should not be empty")
    return value


def optional_text(container: dict[str, Any], key: str, path: str = "") -> str | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"{path}{key} must be a string")
    return value


def amount(
    container: dict[str, Any], key: str, currency: str, path: str = "", *, required: bool = True
) -> Decimal:
    """A money field; a missing optional one counts as zero."""
    value = container.get(key)
    if value is None:
        if required:
            raise bad_request(f"{path}{key} should not be empty")
        return to_money(0, currency)
    try:
        return parse_amount(value, f"{path}{key}", currency)
    except AmountError as error:
        raise bad_request(str(error)) from None


def positive_amount(container: dict[str, Any], key: str, currency: str, path: str = "") -> Decimal:
    value = amount(container, key, currency, path)
    if value == 0:
        raise bad_request(f"{path}{key} must be greater than 0")
    return value


def _url(body: dict[str, Any], key: str) -> str | None:
    value = optional_text(body, key)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_request(f"{key} must be a URL address")
    return value


def _required_object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = _optional_object(body, key)
    if not value:
        raise bad_request(f"{key} should not be empty")
    return value


def _optional_object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"{key} must be an object")
    return value


def _provider(
    name: str, providers: dict[str, Provider], currency: str, order_amount: Decimal, channel: str | None
) -> Provider:
    provider = providers.get(name)
    if provider is None or not provider.enabled:
        raise bad_request(f"bnplProvider {name} is not enabled for this merchant")
    if currency not in provider.currencies:
        raise bad_request(f"bnplProvider {name} does not support purchaseCurrency {currency}")
    if provider.channels and channel is not None and channel not in provider.channels:
        raise bad_request(f"bnplProvider {name} is not configured for channel {channel}")
    if not provider.min_amount <= order_amount <= provider.max_amount:
        raise bad_request(
            f"orderAmount {order_amount} is outside the limits of {name} "
            f"({provider.min_amount} to {provider.max_amount} {currency})"
        )
    return provider


def _items(body: dict[str, Any], currency: str) -> tuple[dict[str, Any], ...]:
    items = body.get("orderItems")
    if not isinstance(items, list) or not items:
        raise bad_request("orderItems should not be empty")
    clean = []
    for index, item in enumerate(items):
        path = f"orderItems[{index}]."
        item = require_object(item, f"orderItems[{index}]")
        name = required_text(item, "name", path)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise bad_request(f"{path}quantity must be a positive integer")
        unit_price = amount(item, "unitPrice", currency, path)
        total = amount(item, "totalAmount", currency, path)
        expected = unit_price * quantity
        if total != expected:
            raise bad_request(
                f"{path}totalAmount must equal quantity x unitPrice: "
                f"expected {expected} ({quantity} x {unit_price}), got {total}"
            )
        clean.append(
            {
                "name": name,
                "sku": item.get("sku"),
                "quantity": quantity,
                "unitPrice": unit_price,
                "totalAmount": total,
            }
        )
    return tuple(clean)


def _customer_and_addresses(body: dict[str, Any], provider: Provider) -> None:
    customer = _required_object(body, "customer")
    for key in ("firstName", "lastName", "email"):
        required_text(customer, key, "customer.")
    if not _EMAIL.match(customer["email"]):
        raise bad_request("customer.email must be an email")
    optional_text(customer, "phoneNumber", "customer.")
    _required_object(body, "billingAddress")
    shipping = _optional_object(body, "shippingAddress")
    # Optty returns each provider's requiredFields from /options and advises checkouts to
    # collect them; the emulator enforces them so a client that ignores them finds out.
    for name in provider.required_fields:
        if name in _CUSTOMER_FIELDS:
            if not customer.get(name):
                raise bad_request(f"customer.{name} is required by {provider.name}")
        elif name == "shippingAddress" and not shipping:
            raise bad_request(f"shippingAddress is required by {provider.name}")


def validate_order(body: Any, providers: dict[str, Provider]) -> OrderRequest:
    body = require_object(body)
    reference = required_text(body, "orderReference")
    provider_name = required_text(body, "bnplProvider")
    country = required_text(body, "purchaseCountry")
    if not _COUNTRY.match(country):
        raise bad_request("purchaseCountry must be an ISO 3166-1 alpha-2 country code, e.g. AU")
    currency = required_text(body, "purchaseCurrency")
    if not _CURRENCY.match(currency):
        raise bad_request("purchaseCurrency must be an ISO 4217 currency code, e.g. AUD")
    locale = required_text(body, "locale")
    if not _LOCALE.match(locale):
        raise bad_request("locale must be an RFC 1766 locale, e.g. en_AU")

    order_amount = amount(body, "orderAmount", currency)
    shipping = amount(body, "shippingAmount", currency, required=False)
    tax = amount(body, "taxAmount", currency, required=False)
    discount = amount(body, "discountAmount", currency, required=False)
    surcharge = amount(body, "surcharge", currency, required=False)
    channel = optional_text(body, "channel")
    provider = _provider(provider_name, providers, currency, order_amount, channel)

    _customer_and_addresses(body, provider)
    items = _items(body, currency)
    expected = sum((item["totalAmount"] for item in items), to_money(0, currency)) + shipping + tax - discount
    if order_amount != expected:
        raise bad_request(
            "orderAmount must equal the sum of orderItems totalAmount + shippingAmount + taxAmount "
            f"- discountAmount: expected {expected}, got {order_amount}"
        )

    auto_capture = body.get("autoCapture")
    if auto_capture is not None and not isinstance(auto_capture, bool):
        raise bad_request("autoCapture must be a boolean value")

    return OrderRequest(
        reference=reference,
        provider=provider,
        country=country,
        currency=currency,
        amount=order_amount,
        surcharge=surcharge,
        auto_capture=auto_capture is not False,  # Optty captures automatically unless told not to
        redirect_url=_url(body, "dynamicRedirectUrl"),
        callback_url=_url(body, "dynamicCallbackUrl"),
        channel=channel,
        items=items,
    )


__all__ = [
    "OrderRequest",
    "amount",
    "optional_text",
    "positive_amount",
    "require_object",
    "required_text",
    "validate_order",
]
