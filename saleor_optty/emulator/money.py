"""Money for the emulator: strict amount parsing, exact JSON output.

Amounts never pass through ``float``. Request bodies are parsed with :func:`loads`
(``parse_float=Decimal``) and every amount the emulator sends is written by
:func:`dumps`, which prints a Decimal digit for digit. Those two and the ISO 4217 table
are the client's (:mod:`saleor_optty.optty.money`, standard library only): they are
neutral. Validating requests is not: the emulator checks amounts its own way, with
Optty's field-named messages, independently of what the client does.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..optty.money import MoneyError, currency_exponent, dumps, loads

# Optty documents "at most 2 decimals" for every amount, so three-decimal currencies are
# held to 2 as well; that is an emulator assumption.
MAX_DECIMALS = 2

# Far beyond any basket, and small enough that quantize() never exceeds Decimal precision.
MAX_AMOUNT = Decimal("999999999999")


class AmountError(ValueError):
    """An amount that Optty would reject; the message names the field."""


def decimal_places(currency: str) -> int:
    """ISO 4217 minor unit of ``currency`` (a checked three-letter code), at most 2."""
    return min(currency_exponent(currency), MAX_DECIMALS)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-decimal_places(currency))


def to_money(amount: Decimal | int, currency: str) -> Decimal:
    """``amount`` with exactly the currency's digits, e.g. 5 -> 5.00 (USD) or 5 (JPY)."""
    return Decimal(amount).quantize(quantum(currency))


def parse_amount(value: Any, field: str, currency: str, *, allow_text: bool = False) -> Decimal:
    """Validate a non-negative amount with no more digits than ``currency`` allows.

    JSON numbers arrive as ``int`` or ``Decimal``. Text such as ``"5.00"`` is accepted
    only where ``allow_text`` says so (the emulator's own control API), because Optty's
    API rejects amounts sent as strings.
    """
    if allow_text and isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise AmountError(f"{field} must be a number") from None
    # bool is an int subclass and float only appears for NaN/Infinity: neither is money.
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise AmountError(f"{field} must be a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise AmountError(f"{field} must be a number")
    if amount < 0:
        raise AmountError(f"{field} must not be less than 0")
    if amount > MAX_AMOUNT:
        raise AmountError(f"{field} must not be greater than {MAX_AMOUNT}")
    exact = to_money(amount, currency)
    if exact != amount:
        places = decimal_places(currency)
        if places == 0:
            raise AmountError(f"{field} must be a whole number: {currency.upper()} has no minor unit")
        raise AmountError(f"{field} must have at most {places} decimal places for {currency.upper()}")
    return exact


def control_dumps(value: Any) -> str:
    """JSON for the control API, whose durations are floats; amounts are still exact.

    Each float is written as the Decimal of its shortest repr, so :func:`dumps` (which
    refuses floats) still writes every Decimal digit for digit.
    """
    return dumps(_floats_as_decimals(value))


def _floats_as_decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _floats_as_decimals(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_floats_as_decimals(item) for item in value]
    return value


__all__ = [
    "MAX_AMOUNT",
    "MAX_DECIMALS",
    "AmountError",
    "MoneyError",
    "control_dumps",
    "decimal_places",
    "dumps",
    "loads",
    "parse_amount",
    "quantum",
    "to_money",
]
