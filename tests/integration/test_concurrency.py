"""Exactly one order when the return, the confirm path and many callbacks race, on real PostgreSQL."""

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.test import Client  # noqa: E402

from saleor.graphql.tests.fixtures import ApiClient  # noqa: E402
from saleor.order.models import Order  # noqa: E402
from saleor.payment import TransactionKind  # noqa: E402
from saleor.payment.models import Transaction  # noqa: E402
from saleor_optty.plugin.models import OpttyNotification  # noqa: E402

from . import documents  # noqa: E402
from .fixtures import Storefront, run_together  # noqa: E402

CALLBACKS = 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("replica_in_threads")
def test_duplicate_callbacks_racing_the_return_and_the_confirm_path(storefront, optty):
    reference = storefront.start("KLARNA")
    approval = optty.decide(reference, "approve")
    # Every re-check answers at the same moment, so all of them reach the database together.
    optty.set_latency("get_order", 0.5)

    def callback():
        return Storefront(None, Client(), optty, storefront.checkout).callback(reference).status_code

    def shopper_returns():
        response = Storefront(None, Client(), optty, storefront.checkout).follow(approval["redirect"])
        return Storefront.storefront_params(response)["status"]

    def storefront_confirms():
        response = ApiClient(user=None).post_graphql(documents.CHECKOUT_COMPLETE, {"id": storefront.checkout_id})
        return response.json()["data"]["checkoutComplete"]["order"] is not None

    results = run_together([callback] * CALLBACKS + [shopper_returns, storefront_confirms])

    assert results[:CALLBACKS] == [200] * CALLBACKS, results
    assert results[CALLBACKS] == "success", results
    assert results[CALLBACKS + 1] is True, results  # whoever made the order, checkoutComplete returns it
    orders = Order.objects.filter(checkout_token=str(storefront.checkout.pk))
    assert orders.count() == 1
    captures = Transaction.objects.filter(payment__order=orders.get(), kind=TransactionKind.CAPTURE, is_success=True)
    assert captures.count() == 1
    assert OpttyNotification.objects.filter(reference=reference).count() == CALLBACKS + 1
