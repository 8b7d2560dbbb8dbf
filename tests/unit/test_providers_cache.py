"""The providers listed at checkout: Optty's answer is cached, the store's choices are not."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from saleor_optty.shared import providers
from saleor_optty.core.config import OpttyConfiguration


@pytest.fixture
def configure(optty):
    cache.clear()  # Optty's answers and outages remembered by other tests

    def configure(**changes):
        return OpttyConfiguration.from_values(
            {
                "client_id": optty.client_id,
                "client_secret": optty.client_secret,
                "payment_secret": optty.payment_secret,
                "api_url": optty.api_url,
                "auth_url": optty.auth_url,
                "supported_currencies": "AUD",
                **changes,
            }
        )

    return configure


def names(config, amount="100.00"):
    return [option["name"] for option in providers.offered(config, Decimal(amount), "AUD")]


def options_requests(optty):
    return optty.stats()["requests"]["options"]


def test_a_changed_allow_list_counts_from_the_next_request(optty, configure):
    assert names(configure(providers="ZIP_AU")) == ["ZIP_AU"]
    assert names(configure(providers="KLARNA, ZIP_AU")) == ["ZIP_AU", "KLARNA"]
    everything = names(configure(providers=""))
    assert {"AFTERPAY_AU", "ZIP_AU", "KLARNA", "HUMM_AU"} <= set(everything)
    assert names(configure(providers="ZIP_AU")) == ["ZIP_AU"]
    assert options_requests(optty) == 1  # one answer from Optty served every allow-list


def test_optty_is_asked_again_for_what_its_answer_depends_on(optty, configure):
    config = configure()
    names(config)
    names(config, "100")  # the same amount once quantised
    assert options_requests(optty) == 1
    names(config, "101.00")
    names(configure(optty_channel="web"))
    assert options_requests(optty) == 3


def test_an_outage_is_remembered_whatever_the_allow_list(optty, configure):
    optty.fail_next("options", count=10, status=503)
    assert names(configure(providers="ZIP_AU")) == []
    asked = options_requests(optty)
    assert names(configure(providers="")) == []
    assert options_requests(optty) == asked  # no new call while the outage is remembered
