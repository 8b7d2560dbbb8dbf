"""What an answer of PENDING from Optty changes in the App: nothing once it is recorded.

A storefront polls ``transactionProcess`` while the provider decides, and each poll asks
Optty; and a path may read PENDING from Optty just before another path records Optty's
decision. Neither may write the attempt: the first costs a locked write per poll for
nothing, the second would take a confirmed payment back to pending.
"""

from __future__ import annotations

import pytest

from saleor_optty.app import transitions
from saleor_optty.app.tenants import optty_client
from saleor_optty.shared.models import OpttyOrderState

from .shop import Shop


@pytest.fixture
def shop(installed_app, optty):
    return Shop(installed_app, optty)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_polling_a_pending_payment_asks_optty_and_writes_nothing(shop, optty):
    payment = shop.pay()
    assert payment.come_back("pending")["status"] == "pending"
    recorded = payment.attempt
    assert recorded.state == OpttyOrderState.PENDING
    asked = optty.stats()["requests"]["get_order"]

    for _ in range(3):
        assert payment.process().body["result"] == "CHARGE_ACTION_REQUIRED"

    assert optty.stats()["requests"]["get_order"] == asked + 3  # each poll asks Optty
    polled = payment.attempt
    assert (polled.state, polled.updated_at) == (OpttyOrderState.PENDING, recorded.updated_at)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_pending_read_older_than_the_decision_never_takes_a_confirmed_payment_back(shop, optty):
    payment = shop.pay()
    client = optty_client(shop.configuration)
    stale = client.get_order(payment.reference)  # read before the shopper approves
    shop.saleor.fail_next_graphql(503, times=10)  # Saleor down: confirmed, not yet reported, so not final
    assert payment.come_back("approve")["status"] == "pending"
    confirmed = payment.attempt
    assert confirmed.state == OpttyOrderState.SUCCESSFUL and confirmed.finalised_at is None

    outcome = transitions.apply(client, confirmed, stale, source="ORDER_ASYNC_CALLBACK")

    shop.saleor.clear_graphql_faults()
    assert outcome.status == "pending"  # "paid; Saleor has not confirmed it yet"
    assert payment.attempt.state == OpttyOrderState.SUCCESSFUL
