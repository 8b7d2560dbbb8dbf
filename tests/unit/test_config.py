"""The plugin's configuration as the Dashboard stores it: parsing and per-field problems."""

import pytest

from saleor_optty.core.config import OpttyConfiguration
from saleor_optty.optty import FAST_POLICY

VALID = {
    "environment": "sandbox",
    "client_id": "id",
    "client_secret": "secret-value",
    "payment_secret": "payment-secret",
    "supported_currencies": "aud, nzd",
    "providers": "klarna, ZIP_AU,,",
    "auto_capture": "false",
    "order_reference_prefix": "SHOP-",
}


def test_values_are_parsed_the_way_merchants_type_them():
    config = OpttyConfiguration.from_plugin_configuration([{"name": k, "value": v} for k, v in VALID.items()])
    assert config.supported_currencies == ("AUD", "NZD")
    assert config.providers == ("KLARNA", "ZIP_AU")
    assert config.auto_capture is False
    assert config.problems() == {}


@pytest.mark.parametrize("value, expected", [(True, True), ("true", True), ("False", False), (None, False)])
def test_auto_capture_accepts_saleors_stored_booleans(value, expected):
    assert OpttyConfiguration.from_values({**VALID, "auto_capture": value}).auto_capture is expected


def test_auto_capture_is_on_by_default():
    values = {k: v for k, v in VALID.items() if k != "auto_capture"}
    assert OpttyConfiguration.from_values(values).auto_capture is True


def test_an_empty_allow_list_allows_every_provider():
    config = OpttyConfiguration.from_values({**VALID, "providers": ""})
    assert config.allows_provider("ANYTHING")
    restricted = OpttyConfiguration.from_values(VALID)
    assert restricted.allows_provider("klarna") and not restricted.allows_provider("AFTERPAY_AU")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"environment": "live"}, "environment"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": " "}, "client_secret"),
        ({"payment_secret": ""}, "payment_secret"),
        ({"supported_currencies": ""}, "supported_currencies"),
        ({"supported_currencies": "AUD,dollars"}, "supported_currencies"),
        ({"api_url": "api.optty.com"}, "api_url"),
        ({"environment": "production", "auth_url": "http://auth.example.com/token"}, "auth_url"),
        ({"order_reference_prefix": "has spaces"}, "order_reference_prefix"),
        ({"order_reference_prefix": "X" * 17}, "order_reference_prefix"),
    ],
)
def test_each_problem_is_reported_on_its_own_field(changes, field):
    problems = OpttyConfiguration.from_values({**VALID, **changes}).problems()
    assert list(problems) == [field]
    assert problems[field].endswith(".")


def test_identity_names_the_credentials_without_containing_them():
    config = OpttyConfiguration.from_values(VALID)
    other = OpttyConfiguration.from_values({**VALID, "client_secret": "rotated"})
    assert config.identity != other.identity
    assert "secret" not in config.identity


def test_clients_are_shared_per_credentials_and_policy():
    config = OpttyConfiguration.from_values(VALID)
    again = OpttyConfiguration.from_values(dict(VALID))
    assert config.client() is again.client()
    assert config.client(policy=FAST_POLICY) is not config.client()
    assert OpttyConfiguration.from_values({**VALID, "client_secret": "rotated"}).client() is not config.client()


def test_no_secret_in_repr_or_str():
    config = OpttyConfiguration.from_values(VALID)
    for text in (repr(config), str(config)):
        assert "secret-value" not in text and "payment-secret" not in text
        assert "client_id='id'" in text  # what is not secret still helps a traceback
