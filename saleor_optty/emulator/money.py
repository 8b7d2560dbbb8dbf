"""Money for the emulator: currency exponents, strict amount parsing, exact JSON output.

Amounts never pass through ``float``. Request bodies are parsed with
``json.loads(body, parse_float=Decimal)`` and every amount the emulator sends is written
by :func:`dumps`, which prints a Decimal digit for digit.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

# ISO 4217 currencies whose minor unit is not 2 (everything else has 2).
_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {code: 0 for code in _ZERO_DECIMAL.split()} | {code: 3 for code in _THREE_DECIMAL.split()}

# Optty documents "at most 2 decimals" for every amount, so three-decimal currencies are
# held to 2 as well; that is an emulator assumption.
MAX_DECIMALS = 2

# Far beyond any basket, and small enough that quantize() never exceeds Decimal precision.
MAX_AMOUNT = Decimal("999999999999")


class AmountError(ValueError):
    """An amount that Optty would reject; the message names the field."""


def decimal_places(currency: str) -> int:
    return min(_EXPONENTS.get(currency.upper(), 2), MAX_DECIMALS)


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


def dumps(value: Any, *, amounts_as_strings: bool = False, allow_floats: bool = False) -> str:
    """JSON text for ``value``, writing each Decimal exactly as it is held.

    ``amounts_as_strings`` writes Decimals as JSON strings instead (``"10.00"``), the
    liberal-parser knob. Floats are refused unless ``allow_floats`` (the control API's
    durations): in an Optty answer a float would mean an amount escaped Decimal.
    """
    parts: list[str] = []
    _encode(value, parts, amounts_as_strings, allow_floats)
    return "".join(parts)


def _encode(value: Any, out: list[str], amounts_as_strings: bool, allow_floats: bool) -> None:
    if isinstance(value, Decimal):
        text = format(value, "f")
        out.append(json.dumps(text) if amounts_as_strings else text)
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out, amounts_as_strings, allow_floats)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out, amounts_as_strings, allow_floats)
        out.append("]")
    elif isinstance(value, float) and not allow_floats:
        raise TypeError("floats are not allowed in emulator output; use Decimal")
    else:
        out.append(json.dumps(value))


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal."""
    return json.loads(text, parse_float=Decimal)
