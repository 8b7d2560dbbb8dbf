"""Typed requests to and responses from Optty.

Requests are built by the caller and checked before they leave (the sum rule, exact
amounts). Responses are read liberally: unknown fields are kept in ``raw``, numbers
may arrive as strings, statuses in any case. What the plugin acts on (status, amount,
currency) is typed and validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from .errors import OpttyResponseError
from .money import MoneyError, format_amount, normalise_currency, parse_amount
from .status import PaymentStatus, normalise_status


def _amount(data: Mapping[str, Any], key: str, *, default: Decimal | None = None) -> Decimal:
    value = data.get(key)
    if value is None or value == "":
        if default is not None:
            return default
        raise OpttyResponseError(f"Optty's response has no {key}.")
    try:
        return parse_amount(value)
    except MoneyError:
        raise OpttyResponseError(f"Optty's response has an unreadable {key}.") from None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _moment(data: Mapping[str, Any], key: str) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset); None when missing or unreadable,
    because a timestamp is never worth losing the rest of an answer over."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Optty writes UTC ("...Z"); a timestamp without an offset is read the same way.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _require_mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise OpttyResponseError(f"Optty's {what} response is not a JSON object.")
    return data


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class OrderItem:
    name: str
    quantity: int
    unit_price: Decimal
    total_amount: Decimal
    sku: str | None = None
    image_url: str | None = None

    def to_wire(self, currency: str) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "name": self.name,
            "quantity": self.quantity,
            "unitPrice": format_amount(self.unit_price, currency),
            "totalAmount": format_amount(self.total_amount, currency),
        }
        if self.sku:
            wire["sku"] = self.sku
        if self.image_url:
            wire["imageUrl"] = self.image_url
        return wire


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    email: str
    phone_number: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return _drop_empty(
            {
                "firstName": self.first_name,
                "lastName": self.last_name,
                "email": self.email,
                "phoneNumber": self.phone_number,
            }
        )


@dataclass(frozen=True)
class Address:
    first_name: str
    last_name: str
    street_address: str
    city: str
    postal_code: str
    country: str
    street_address2: str | None = None
    state: str | None = None
    phone_number: str | None = None
    email: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return _drop_empty(
            {
                "firstName": self.first_name,
                "lastName": self.last_name,
                "email": self.email,
                "phoneNumber": self.phone_number,
                "streetAddress": self.street_address,
                "streetAddress2": self.street_address2,
                "city": self.city,
                "state": self.state,
                "postalCode": self.postal_code,
                "country": self.country,
            }
        )


def _drop_empty(wire: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in wire.items() if value not in (None, "")}


class SumRuleError(MoneyError):
    """The order's amounts do not add up the way Optty checks them."""


@dataclass(frozen=True)
class OrderRequest:
    """The body of ``POST /orders``."""

    reference: str
    provider: str
    country: str
    currency: str
    locale: str
    amount: Decimal
    items: tuple[OrderItem, ...]
    customer: Customer
    billing_address: Address
    shipping_address: Address | None = None
    shipping_amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    auto_capture: bool = True
    redirect_url: str | None = None
    callback_url: str | None = None
    channel: str | None = None
    customer_token: str | None = None

    def expected_amount(self) -> Decimal:
        """Optty's rule: items + shipping + tax − discount."""
        items_total = sum((item.total_amount for item in self.items), Decimal(0))
        return items_total + self.shipping_amount + self.tax_amount - self.discount_amount

    def check(self) -> None:
        """Raise :class:`SumRuleError` when Optty would refuse the amounts."""
        for item in self.items:
            if item.quantity < 1 or item.quantity * item.unit_price != item.total_amount:
                raise SumRuleError(
                    f"Line {item.name!r}: {item.quantity} × {item.unit_price} "
                    f"≠ {item.total_amount}."
                )
        expected = self.expected_amount()
        if expected != self.amount:
            raise SumRuleError(
                f"Order amount {self.amount} ≠ items + shipping + tax − discount = {expected}."
            )

    def to_wire(self) -> dict[str, Any]:
        self.check()
        currency = normalise_currency(self.currency)
        wire: dict[str, Any] = {
            "orderReference": self.reference,
            "bnplProvider": self.provider,
            "purchaseCountry": self.country,
            "purchaseCurrency": currency,
            "locale": self.locale,
            "orderAmount": format_amount(self.amount, currency),
            "shippingAmount": format_amount(self.shipping_amount, currency),
            "taxAmount": format_amount(self.tax_amount, currency),
            "discountAmount": format_amount(self.discount_amount, currency),
            "orderItems": [item.to_wire(currency) for item in self.items],
            "customer": self.customer.to_wire(),
            "billingAddress": self.billing_address.to_wire(),
            "autoCapture": self.auto_capture,
        }
        optional = {
            "shippingAddress": self.shipping_address.to_wire() if self.shipping_address else None,
            "dynamicRedirectUrl": self.redirect_url,
            "dynamicCallbackUrl": self.callback_url,
            "channel": self.channel,
            "customerToken": self.customer_token,
        }
        wire.update(_drop_empty(optional))
        return wire


# -------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class PaymentOption:
    """One provider offered by ``GET /options``."""

    name: str
    display_name: str
    image_url: str
    currency: str
    min_amount: Decimal | None
    max_amount: Decimal | None
    priority: int
    required_fields: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Any) -> PaymentOption:
        data = _require_mapping(data, "options")
        name = _text(data, "name").strip()
        if not name:
            raise OpttyResponseError("An option in Optty's response has no name.")
        try:
            priority = int(str(data.get("priority") or 0))
        except ValueError:
            priority = 0
        required = data.get("requiredFields")
        if not isinstance(required, list):
            required = ()
        return cls(
            name=name,
            display_name=_text(data, "terms") or name,
            image_url=_text(data, "imageUrl"),
            currency=_text(data, "currency").upper(),
            min_amount=_amount(data, "minAmount") if data.get("minAmount") not in (None, "") else None,
            max_amount=_amount(data, "maxAmount") if data.get("maxAmount") not in (None, "") else None,
            priority=priority,
            required_fields=tuple(str(item) for item in required if isinstance(item, (str, int))),
            raw=data,
        )


@dataclass(frozen=True)
class CreatedOrder:
    """Optty's answer to ``POST /orders``."""

    reference: str
    order_id: str
    order_token: str
    redirect_url: str
    provider: str
    amount: Decimal
    status: PaymentStatus
    transaction_reference: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Any) -> CreatedOrder:
        data = _require_mapping(data, "create order")
        redirect_url = _text(data, "redirectUrl")
        if not redirect_url.startswith(("https://", "http://")):
            raise OpttyResponseError("Optty's create-order response has no redirect URL.")
        return cls(
            reference=_text(data, "orderReference"),
            order_id=_text(data, "orderId"),
            order_token=_text(data, "orderToken"),
            redirect_url=redirect_url,
            provider=_text(data, "bnplProvider"),
            amount=_amount(data, "orderAmount"),
            status=normalise_status(data.get("paymentStatus") or "pending"),
            transaction_reference=_text(data, "transactionReference"),
            raw=data,
        )


@dataclass(frozen=True)
class OrderStatus:
    """What ``GET /orders/{reference}`` says about an order: the only state trusted."""

    reference: str
    status: PaymentStatus
    raw_status: str
    amount: Decimal
    surcharge: Decimal
    currency: str
    provider: str
    capture_status: str
    failure_reason: str
    transaction_reference: str
    provider_order_id: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Any) -> OrderStatus:
        data = _require_mapping(data, "order status")
        raw_status = _text(data, "status")
        if not raw_status:
            raise OpttyResponseError("Optty's order status response has no status.")
        currency = _text(data, "currency").strip().upper()
        if not currency:
            raise OpttyResponseError("Optty's order status response has no currency.")
        return cls(
            reference=_text(data, "merchantReference") or _text(data, "orderReference"),
            status=normalise_status(raw_status),
            raw_status=raw_status,
            amount=_amount(data, "amount"),
            surcharge=_amount(data, "surcharge", default=Decimal(0)),
            currency=currency,
            provider=_text(data, "provider"),
            capture_status=_text(data, "captureStatus").upper(),
            failure_reason=_text(data, "failureReason") or _text(data, "rejectReason"),
            transaction_reference=_text(data, "transactionReference"),
            provider_order_id=_text(data, "bnplOrderId"),
            raw=data,
        )


# Optty documents no reference on the listed captures and refunds; ``reference`` is
# filled only when the answer echoes the one sent, and is "" otherwise.


@dataclass(frozen=True)
class Capture:
    capture_id: str
    reference: str
    amount: Decimal
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class Refund:
    refund_id: str
    reference: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime | None
    #: refundReason: the description sent with the refund, or the merchant's in the portal.
    reason: str
    #: refundFailureReason: why Optty or the provider did not make it.
    failure_reason: str


@dataclass(frozen=True)
class Void:
    """A void listed in ``orderVoids``, which Optty does not document (the emulator's echo)."""

    void_id: str
    reference: str
    amount: Decimal
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class OrderDetails:
    """``POST /orders/{reference}/details``: the status plus captures, refunds and voids."""

    order: OrderStatus
    captures: tuple[Capture, ...]
    refunds: tuple[Refund, ...]
    voids: tuple[Void, ...]

    @classmethod
    def from_wire(cls, data: Any) -> OrderDetails:
        data = _require_mapping(data, "order details")
        order = OrderStatus.from_wire(data)
        captures = tuple(
            Capture(
                capture_id=_text(entry, "captureId"),
                reference=_text(entry, "captureReference"),
                amount=_amount(entry, "amount"),
                status=_text(entry, "status").upper(),
                created_at=_moment(entry, "createdAt"),
            )
            for entry in _entries(data, "orderCaptures")
        )
        refunds = tuple(
            Refund(
                refund_id=_text(entry, "refundId"),
                reference=_text(entry, "refundReference"),
                amount=_amount(entry, "amount"),
                currency=(_text(entry, "currency") or order.currency).upper(),
                status=_text(entry, "status").upper(),
                created_at=_moment(entry, "createdAt"),
                reason=_text(entry, "refundReason"),
                failure_reason=_text(entry, "refundFailureReason"),
            )
            for entry in _entries(data, "refunds")
        )
        voids = tuple(
            Void(
                void_id=_text(entry, "voidedId"),
                reference=_text(entry, "voidReference"),
                amount=_amount(entry, "amount"),
                status=_text(entry, "status").upper(),
                created_at=_moment(entry, "createdAt"),
            )
            for entry in _entries(data, "orderVoids")
        )
        return cls(order=order, captures=captures, refunds=refunds, voids=voids)


def _entries(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise OpttyResponseError(f"Optty's {key} is not a list.")
    return [_require_mapping(entry, key) for entry in entries]


@dataclass(frozen=True)
class OperationResult:
    """The answer to a capture, void or refund: Optty's id for it and the amount moved."""

    reference: str
    operation_id: str
    amount: Decimal
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CustomerSession:
    token: str
    ttl_seconds: int
