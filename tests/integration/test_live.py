"""Over real HTTP: a browser through the plugin's return handler, and Optty's own callbacks.

Saleor runs in pytest-django's live server, so the emulator's callbacks and the
browser's redirects reach the plugin the way they do in production.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.order.models import Order  # noqa: E402

from ..browser import browser, page  # noqa: E402, F401 - fixtures
from .documents import global_id  # noqa: E402
from .fixtures import STOREFRONT_RETURN_URL  # noqa: E402

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("replica_in_threads")]


@pytest.fixture
def live_saleor(live_server, settings, storefront, optty):
    settings.PUBLIC_URL = live_server.url + "/"
    # Real deliveries to the live server; completing a checkout takes a moment.
    optty.set_callback_options(max_attempts=5, backoff=0.2, timeout=10)
    return storefront


@pytest.fixture
def storefront_page(page):
    """The storefront's return page, served by the test so no request leaves the machine."""
    page.route(
        STOREFRONT_RETURN_URL + "*",
        lambda route: route.fulfill(content_type="text/html", body=f"<p id=query>{urlsplit(route.request.url).query}</p>"),
    )
    return page


@pytest.mark.parametrize("button, status", [("approve", "success"), ("decline", "declined")])
def test_the_shopper_decides_in_a_browser_and_the_plugin_sends_them_back(live_saleor, storefront_page, optty, button, status):
    reference = live_saleor.start("KLARNA")
    storefront_page.goto(optty.order(reference)["hosted_url"])
    storefront_page.click(f"#{button}")
    storefront_page.wait_for_url(STOREFRONT_RETURN_URL + "?*")

    query = {key: values[0] for key, values in parse_qs(storefront_page.inner_text("#query")).items()}
    assert query["status"] == status and query["checkoutId"] == live_saleor.checkout_id
    orders = Order.objects.filter(checkout_token=str(live_saleor.checkout.pk))
    if status == "success":
        assert query["orderId"] == global_id("Order", orders.get().pk)
    else:
        assert "orderId" not in query and not orders.exists()


def test_optty_callback_alone_creates_the_order(live_saleor, optty):
    reference = live_saleor.start("KLARNA")
    optty.set_callback_options(duplicates=3)
    optty.decide(reference, "approve")  # the shopper closes the tab; only Optty's callbacks arrive
    assert optty.wait_for_callbacks(timeout=30)

    assert Order.objects.filter(checkout_token=str(live_saleor.checkout.pk)).count() == 1
    deliveries = [d for d in optty.deliveries() if d["order_reference"] == reference]
    assert len(deliveries) == 4  # the callback and its three duplicates, all acknowledged
    assert {d["state"] for d in deliveries} == {"delivered"}, deliveries
