"""What Saleor sends the App, read into typed, frozen objects.

A webhook body is the JSON of the subscription's ``event { ... }`` selection, not
wrapped in ``data``, with an ``errors`` list added when a field failed to resolve
(``generate_payload_from_subscription`` in saleor/graphql/webhook/subscription_payload.py
at 3.20.119 and 3.23.28). The selections are in :mod:`.subscriptions`; this module reads
exactly those fields.

Saleor writes money as JSON numbers (graphene ``Float``), so :func:`parse_body` reads
them as ``Decimal``: an amount never passes through float. A body that lacks a field the
App needs, or has one of the wrong type, raises :class:`MalformedPayload` naming the
field, which the webhook view answers with a 400: never a ``KeyError`` or a 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Self

from ...optty.money import MoneyError, loads, normalise_currency, parse_amount

SourceType = Literal["checkout", "order"]
SessionActionType = Literal["CHARGE", "AUTHORIZATION"]
RequestedActionType = Literal["CHARGE", "REFUND", "CANCEL"]

_SOURCE_TYPES: dict[str, SourceType] = {"Checkout": "checkout", "Order": "order"}
_VERSION = re.compile(r"(\d+)\.(\d+)(?:[.-]|$)")
#: Saleor keeps money in 20 digits, 3 of them decimals (DEFAULT_MAX_DIGITS and
#: DEFAULT_DECIMAL_PLACES in saleor/settings.py at 3.20.119 and 3.23.28): no amount it
#: sends reaches this, and arithmetic on one that does could overflow.
_AMOUNT_LIMIT = Decimal(10) ** 17
#: Saleor's messages are short; a few of them are enough to say what went wrong.
_MAX_REPORTED_ERRORS = 3


class MalformedPayload(ValueError):
    """A webhook body the App cannot act on; the message names the field."""


def parse_body(body: bytes | str) -> Mapping[str, Any]:
    """A webhook body as a JSON object, with every non-integer number as ``Decimal``."""
    try:
        payload = loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        raise MalformedPayload("The body is not JSON.") from None
    if not isinstance(payload, Mapping):
        raise MalformedPayload("The body is not a JSON object.")
    return payload


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str  # ISO 4217, upper case


class Fields:
    """One JSON object of a payload, read field by field.

    Each reader checks the value's type and raises :class:`MalformedPayload` with the
    field's path (``sourceObject.lines[2].quantity``) when it is missing or wrong.
    """

    __slots__ = ("_data", "path")

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise MalformedPayload(f"{path or 'The payload'} must be an object, not {_kind(data)}.")
        self._data = data
        self.path = path

    def _name(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _value(self, name: str, expected: type | tuple[type, ...], what: str, *, required: bool = True) -> Any:
        value = self._data.get(name)
        if value is None:
            if required:
                raise MalformedPayload(f"{self._name(name)} is missing.")
            return None
        accepted = expected if isinstance(expected, tuple) else (expected,)
        # bool is an int in Python, but JSON's true is never a count or an amount.
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            raise MalformedPayload(f"{self._name(name)} must be {what}, not {_kind(value)}.")
        return value

    def text(self, name: str) -> str:
        return self._value(name, str, "a string")

    def optional_text(self, name: str) -> str | None:
        return self._value(name, str, "a string", required=False)

    def identifier(self, name: str) -> str:
        """A string that must not be empty: an id, a token, a slug."""
        value = self.text(name)
        if not value.strip():
            raise MalformedPayload(f"{self._name(name)} is empty.")
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise MalformedPayload(f"{self._name(name)} is {value[:40]!r}, not one of {', '.join(allowed)}.")
        return value

    def boolean(self, name: str) -> bool:
        return self._value(name, bool, "true or false")

    def integer(self, name: str) -> int:
        return self._value(name, int, "a whole number")

    def optional_integer(self, name: str) -> int | None:
        return self._value(name, int, "a whole number", required=False)

    def decimal(self, name: str) -> Decimal:
        value = self.optional_decimal(name)
        if value is None:
            raise MalformedPayload(f"{self._name(name)} is missing.")
        return value

    def optional_decimal(self, name: str) -> Decimal | None:
        # A float only arrives when the caller parsed JSON without parse_float=Decimal;
        # parse_amount then reads its shortest repr, which is the text Saleor wrote.
        value = self._value(name, (Decimal, int, float, str), "a number", required=False)
        if value is None:
            return None
        try:
            number = parse_amount(value)
        except MoneyError:
            raise MalformedPayload(f"{self._name(name)} is not a number.") from None
        if abs(number) >= _AMOUNT_LIMIT:
            raise MalformedPayload(f"{self._name(name)} is out of range.")
        return number

    def currency(self, name: str) -> str:
        try:
            return normalise_currency(self.text(name))
        except MoneyError:
            raise MalformedPayload(f"{self._name(name)} is not a currency code.") from None

    def money(self, name: str) -> Money:
        """A Saleor ``Money``: ``{ amount currency }``."""
        money = self.object(name)
        return Money(money.decimal("amount"), money.currency("currency"))

    def moment(self, name: str) -> datetime:
        value = self.optional_moment(name)
        if value is None:
            raise MalformedPayload(f"{self._name(name)} is missing.")
        return value

    def optional_moment(self, name: str) -> datetime | None:
        value = self.optional_text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise MalformedPayload(f"{self._name(name)} is not an ISO 8601 date and time.") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def object(self, name: str) -> Fields:
        return Fields(self._value(name, Mapping, "an object"), self._name(name))

    def optional_object(self, name: str) -> Fields | None:
        value = self._value(name, Mapping, "an object", required=False)
        return None if value is None else Fields(value, self._name(name))

    def objects(self, name: str) -> tuple[Fields, ...]:
        items = self._value(name, list, "a list")
        return tuple(Fields(item, f"{self._name(name)}[{index}]") for index, item in enumerate(items))

    def optional_objects(self, name: str) -> tuple[Fields, ...]:
        """A list that Saleor may send as null: then empty."""
        return self.objects(name) if self._data.get(name) is not None else ()

    def json(self, name: str) -> Any:
        """Any JSON value, as sent; None when missing."""
        return self._data.get(name)

    def mapping(self) -> Mapping[str, Any]:
        return self._data


# ------------------------------------------------------------------ the event's parts


@dataclass(frozen=True)
class Source:
    """The checkout or order being paid (``sourceObject``)."""

    type: SourceType
    id: str  # Saleor's global id
    channel_slug: str

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        typename = fields.choice("__typename", tuple(_SOURCE_TYPES))
        return cls(_SOURCE_TYPES[typename], fields.identifier("id"), fields.object("channel").identifier("slug"))


@dataclass(frozen=True)
class Transaction:
    """Saleor's TransactionItem: ``id token pspReference``."""

    id: str
    token: str
    psp_reference: str  # "" until the App gave Saleor one

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        return cls(fields.identifier("id"), fields.identifier("token"), fields.text("pspReference"))


@dataclass(frozen=True)
class SessionAction:
    """What the storefront's ``transactionInitialize`` asked for: always an amount."""

    type: SessionActionType
    amount: Decimal
    currency: str

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        action_type: SessionActionType = fields.choice("actionType", ("CHARGE", "AUTHORIZATION"))  # type: ignore[assignment]
        return cls(action_type, fields.decimal("amount"), fields.currency("currency"))


@dataclass(frozen=True)
class RequestedAction:
    """A staff member's (or Saleor's) charge, refund or cancel request.

    ``amount`` is None only for CANCEL on Saleor 3.20, which documents it as "Null when
    action type is VOID" (``TransactionAction`` in
    saleor/graphql/webhook/subscription_types.py@3.20.119); from 3.21 it is always set.
    The App then voids what the transaction holds authorised.
    """

    type: RequestedActionType
    amount: Decimal | None
    currency: str

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        action_type: RequestedActionType = fields.choice("actionType", ("CHARGE", "REFUND", "CANCEL"))  # type: ignore[assignment]
        amount = fields.decimal("amount") if action_type != "CANCEL" else fields.optional_decimal("amount")
        return cls(action_type, amount, fields.currency("currency"))


@dataclass(frozen=True)
class TransactionEventRecord:
    """One entry of the transaction's history in Saleor."""

    id: str
    type: str | None  # TransactionEventTypeEnum; nullable in Saleor's schema
    psp_reference: str
    created_at: datetime
    amount: Money

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        return cls(
            id=fields.identifier("id"),
            type=fields.optional_text("type"),
            psp_reference=fields.text("pspReference"),
            created_at=fields.moment("createdAt"),
            amount=fields.money("amount"),
        )


# ------------------------------------------------------------------------- the events


@dataclass(frozen=True)
class SaleorEvent:
    """What every subscription selects: ``issuedAt version recipient { id }``."""

    version: str  # Saleor's version, e.g. "3.20.119"; its response rules depend on it
    recipient_id: str | None  # the App this was meant for
    issued_at: datetime | None

    @property
    def saleor_version(self) -> tuple[int, int]:
        """(major, minor): ``(3, 20)`` for "3.20.119"."""
        major, minor = _VERSION.match(self.version).groups()  # type: ignore[union-attr]
        return int(major), int(minor)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """Read ``payload`` (see :func:`parse_body`); raises :class:`MalformedPayload`."""
        fields = Fields(payload)
        try:
            return cls(**_event_fields(fields), **cls._read(fields))
        except MalformedPayload as error:
            raise MalformedPayload(_with_saleor_errors(str(error), payload)) from None

    @classmethod
    def _read(cls, fields: Fields) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class GatewayInitializeSession(SaleorEvent):
    """PAYMENT_GATEWAY_INITIALIZE_SESSION: which providers to offer for this source."""

    source: Source
    total: Money  # the checkout's total less gift cards, or the order's total
    amount: Decimal | None  # what the storefront asked for, when it did
    data: Any  # the storefront's JSON, whatever it is

    @property
    def channel_slug(self) -> str:
        return self.source.channel_slug

    @classmethod
    def _read(cls, fields: Fields) -> dict[str, Any]:
        source = fields.object("sourceObject")
        parsed = Source.from_fields(source)
        total = source.object("totalPrice" if parsed.type == "checkout" else "total").money("gross")
        return {
            "source": parsed,
            "total": total,
            "amount": fields.optional_decimal("amount"),
            "data": fields.json("data"),
        }


@dataclass(frozen=True)
class TransactionInitializeSession(SaleorEvent):
    """TRANSACTION_INITIALIZE_SESSION: start paying ``action.amount`` of the source.

    ``source_object`` is the ``sourceObject`` as Saleor sent it, for
    :func:`saleor_optty.app.cart.cart_from_source`. Saleor re-sends this webhook with
    the same ``idempotency_key`` on every retry of the storefront's mutation.
    """

    transaction: Transaction
    action: SessionAction
    source: Source
    source_object: Mapping[str, Any]
    data: Any
    idempotency_key: str
    merchant_reference: str
    customer_ip_address: str | None

    @property
    def channel_slug(self) -> str:
        return self.source.channel_slug

    @classmethod
    def _read(cls, fields: Fields) -> dict[str, Any]:
        source = fields.object("sourceObject")
        return {
            **_session_fields(fields),
            "source_object": source.mapping(),
            "idempotency_key": fields.identifier("idempotencyKey"),
            "merchant_reference": fields.identifier("merchantReference"),
            "customer_ip_address": fields.optional_text("customerIpAddress"),
        }


@dataclass(frozen=True)
class TransactionProcessSession(SaleorEvent):
    """TRANSACTION_PROCESS_SESSION: the storefront asks again how the payment stands."""

    transaction: Transaction
    action: SessionAction
    source: Source
    data: Any

    @property
    def channel_slug(self) -> str:
        return self.source.channel_slug

    @classmethod
    def _read(cls, fields: Fields) -> dict[str, Any]:
        return _session_fields(fields)


@dataclass(frozen=True)
class TransactionActionRequest(SaleorEvent):
    """TRANSACTION_CHARGE_REQUESTED, _REFUND_REQUESTED and _CANCELATION_REQUESTED.

    ``channel_slug`` is that of the transaction's checkout or order; None when neither
    is left (a checkout deleted before it became an order), for the App to find the
    channel from its own record of the transaction.
    """

    transaction: Transaction
    action: RequestedAction
    authorized: Money
    charged: Money
    history: tuple[TransactionEventRecord, ...]
    channel_slug: str | None

    @classmethod
    def _read(cls, fields: Fields) -> dict[str, Any]:
        transaction = fields.object("transaction")
        owners = (transaction.optional_object("checkout"), transaction.optional_object("order"))
        owner = next((owner for owner in owners if owner is not None), None)
        return {
            "transaction": Transaction.from_fields(transaction),
            "action": RequestedAction.from_fields(fields.object("action")),
            "authorized": transaction.money("authorizedAmount"),
            "charged": transaction.money("chargedAmount"),
            "history": tuple(TransactionEventRecord.from_fields(event) for event in transaction.objects("events")),
            "channel_slug": owner.object("channel").identifier("slug") if owner else None,
        }


def _event_fields(fields: Fields) -> dict[str, Any]:
    version = fields.text("version")
    if not _VERSION.match(version):
        raise MalformedPayload(f"version is {version[:40]!r}, not a Saleor version.")
    recipient = fields.optional_object("recipient")
    return {
        "version": version,
        "recipient_id": recipient.identifier("id") if recipient else None,
        "issued_at": fields.optional_moment("issuedAt"),
    }


def _session_fields(fields: Fields) -> dict[str, Any]:
    return {
        "transaction": Transaction.from_fields(fields.object("transaction")),
        "action": SessionAction.from_fields(fields.object("action")),
        "source": Source.from_fields(fields.object("sourceObject")),
        "data": fields.json("data"),
    }


def _with_saleor_errors(message: str, payload: Mapping[str, Any]) -> str:
    """Add what Saleor said went wrong resolving the subscription (a field the App may
    not read, say), which is usually why the field is missing."""
    errors = payload.get("errors")
    if not isinstance(errors, list) or not errors:
        return message
    texts = [str(error.get("message")) for error in errors[:_MAX_REPORTED_ERRORS] if isinstance(error, Mapping)]
    return f"{message} Saleor reported: {'; '.join(texts)}" if texts else message


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return "null" if value is None else type(value).__name__
