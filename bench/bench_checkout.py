"""Figure 1 (checkout overhead) and figure 4 (calls to Optty per checkout)."""

import pytest
from saleor.graphql.tests.utils import get_graphql_content

from tests.integration import documents
from tests.integration.fixtures import STOREFRONT_RETURN_URL

from .measure import CpuClock, compare, rolled_back

DUMMY_GATEWAY = "mirumee.payments.dummy"


def dummy_checkout(storefront, amount) -> float:
    clock = CpuClock()
    with rolled_back():
        with clock.running():
            created = storefront.query(
                documents.PAYMENT_CREATE,
                id=storefront.checkout_id,
                input={"gateway": DUMMY_GATEWAY, "token": "dummy", "amount": amount},
            )["checkoutPaymentCreate"]
            completed = storefront.complete()
        assert created["errors"] == [] and completed["order"], (created, completed)
    return clock.seconds


def optty_checkout(storefront, optty, amount) -> float:
    clock = CpuClock()
    with rolled_back():
        with clock.running():
            created = storefront.create_payment("KLARNA", amount=amount)
            completed = storefront.complete()
        reference = completed["confirmationData"]["reference"]
        redirect = optty.decide(reference, "approve")["redirect"]  # the shopper, at the provider
        with clock.running():
            returned = storefront.follow(redirect)
        assert storefront.storefront_params(returned)["status"] == "success"
    return clock.seconds


def test_checkout_overhead(storefront, optty, settings, record):
    settings.PLUGINS = ["saleor.payment.gateways.dummy.plugin.DeprecatedDummyGatewayPlugin", *settings.PLUGINS]
    amount = storefront.total()
    result = compare(lambda: dummy_checkout(storefront, amount), lambda: optty_checkout(storefront, optty, amount), repeats=10)
    print(result.ratio, result.detail("optty", "dummy"))
