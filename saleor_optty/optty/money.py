"""Decimal money: parsing what Optty sends, and writing what Optty accepts.

Amounts never pass through float. Optty's API takes JSON numbers with at most two
decimals, so amounts are quantised to the currency's ISO 4217 precision and written
as exact JSON number text.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# ISO 4217 minor units that differ from the common 2. Currencies with 3 decimals
# cannot be expressed in Optty's 2-decimal amounts and are refused by `optty_exponent`.
_EXPONENTS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}

OPTTY_MAX_DECIMALS = 2


class MoneyError(ValueError):
    """An amount or currency that cannot be used as money."""


def currency_exponent(currency: str) -> int:
    """The number of decimals ISO 4217 gives ``currency``."""
    code = normalise_currency(currency)
    return _EXPONENTS.get(code, 2)


def optty_exponent(currency: str) -> int:
    """The number of decimals Optty amounts in ``currency`` carry."""
    exponent = currency_exponent(currency)
    if exponent > OPTTY_MAX_DECIMALS:
        raise MoneyError(
            f"{currency} has {exponent} decimals; Optty accepts at most {OPTTY_MAX_DECIMALS}."
        )
    return exponent


def normalise_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code.")
    return code


def parse_amount(value: Any) -> Decimal:
    """Read an amount as Optty sends it: a JSON number (already Decimal) or a string."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{value!r} is not an amount.")
    if isinstance(value, float):
        # Only reachable when a caller parsed JSON without parse_float=Decimal; the
        # shortest repr is the text Optty sent.
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount.") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount.")
    return amount


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-up to the precision Optty uses for ``currency``."""
    step = Decimal(1).scaleb(-optty_exponent(currency))
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def is_exact(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` needs no rounding to be sent in ``currency``."""
    return quantize(amount, currency) == amount


def format_amount(amount: Decimal, currency: str) -> Decimal:
    """The exact amount to send: refuses anything that would need rounding."""
    if not isinstance(amount, Decimal):
        raise MoneyError(f"amounts must be Decimal, got {type(amount).__name__}.")
    if not amount.is_finite() or amount < 0:
        raise MoneyError(f"{amount} is not a payable amount.")
    if not is_exact(amount, currency):
        raise MoneyError(
            f"{amount} {currency} has more decimals than {currency} allows; "
            "round it before sending."
        )
    return quantize(amount, currency)


def dumps(payload: Any, *, amounts_as_strings: bool = False) -> str:
    """JSON-encode ``payload`` writing every Decimal as exact number text.

    ``amounts_as_strings`` writes each Decimal as a JSON string instead (``"10.00"``),
    for the emulator's liberal-output knob. Floats are refused either way: a float here
    would mean an amount escaped Decimal.
    """
    return "".join(_encode(payload, amounts_as_strings))


def _encode(value: Any, amounts_as_strings: bool):
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"{value} cannot be sent as JSON.")
        text = format(value, "f")
        yield json.dumps(text) if amounts_as_strings else text
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield json.dumps(str(key))
            yield ":"
            yield from _encode(item, amounts_as_strings)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _encode(item, amounts_as_strings)
        yield "]"
    elif isinstance(value, float):
        raise MoneyError("floats are not sent to Optty; use Decimal.")
    else:
        yield json.dumps(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as Decimal."""
    return json.loads(text, parse_float=Decimal)
