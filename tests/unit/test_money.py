"""Money parsing and formatting: Decimal in, exact JSON number text out."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saleor_optty.optty import money


@pytest.mark.parametrize(
    "value, expected",
    [("12.50", Decimal("12.50")), (Decimal("3.1"), Decimal("3.1")), (7, Decimal(7)),
     (" 100 ", Decimal(100)), (0.1, Decimal("0.1"))],
)
def test_parse_amount_reads_what_optty_sends(value, expected):
    assert money.parse_amount(value) == expected


@pytest.mark.parametrize("value", ["", "abc", None, True, "NaN", "Infinity", [], "1,00"])
def test_parse_amount_refuses_non_amounts(value):
    with pytest.raises(money.MoneyError):
        money.parse_amount(value)


def test_currency_precision():
    assert money.optty_exponent("aud") == 2
    assert money.optty_exponent("JPY") == 0
    with pytest.raises(money.MoneyError, match="at most 2"):
        money.optty_exponent("KWD")
    with pytest.raises(money.MoneyError):
        money.normalise_currency("dollars")


def test_format_amount_refuses_rounding_and_floats():
    assert money.format_amount(Decimal("10"), "AUD") == Decimal("10.00")
    assert money.format_amount(Decimal("1500"), "JPY") == Decimal("1500")
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.format_amount(Decimal("10.001"), "AUD")
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.format_amount(Decimal("10.5"), "JPY")
    with pytest.raises(money.MoneyError):
        money.format_amount(10.0, "AUD")
    with pytest.raises(money.MoneyError):
        money.format_amount(Decimal("-1"), "AUD")


def test_dumps_writes_exact_number_text():
    text = money.dumps({"a": Decimal("144.89"), "b": [Decimal("0.10"), 3, "x", None, True]})
    assert text == '{"a":144.89,"b":[0.10,3,"x",null,true]}'
    assert json.loads(text, parse_float=Decimal)["a"] == Decimal("144.89")
    with pytest.raises(money.MoneyError):
        money.dumps({"a": 0.1})


def test_dumps_can_write_amounts_as_strings():
    payload = {"a": Decimal("10.10"), "b": [Decimal("1E+2"), 3], "c": "x", "d": None, "e": True}
    assert money.dumps(payload) == '{"a":10.10,"b":[100,3],"c":"x","d":null,"e":true}'
    text = money.dumps(payload, amounts_as_strings=True)
    assert text == '{"a":"10.10","b":["100",3],"c":"x","d":null,"e":true}'
    assert money.loads(text)["a"] == "10.10"
    with pytest.raises(money.MoneyError):
        money.dumps({"a": 1.5}, amounts_as_strings=True)
    with pytest.raises(money.MoneyError):
        money.dumps({"a": Decimal("NaN")}, amounts_as_strings=True)
    with pytest.raises(TypeError):
        money.dumps(payload, True)  # keyword only


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["AUD", "USD", "GBP", "JPY", "KRW", "SGD"]),
)
def test_quantised_amounts_round_trip_through_json(cents, currency):
    exponent = money.optty_exponent(currency)
    amount = Decimal(cents).scaleb(-exponent)
    wire = money.format_amount(amount, currency)
    parsed = money.loads(money.dumps({"amount": wire}))["amount"]
    assert money.parse_amount(parsed) == amount
    text = money.dumps(wire)
    assert ("." in text) == (exponent > 0)
    if exponent:
        assert len(text.split(".")[1]) == exponent


@given(amount=st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False, places=6))
def test_quantize_is_half_up_and_within_half_a_unit(amount):
    rounded = money.quantize(amount, "AUD")
    assert abs(rounded - amount) <= Decimal("0.005")
    assert money.is_exact(rounded, "AUD")
