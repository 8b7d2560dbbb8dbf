"""A real browser walks the shopper's path: Optty's hosted page, the return, the storefront.

Headless Chromium (Debian's ``chromium`` package, driven by Playwright) starts at the
order's redirectUrl on the emulator, clicks a decision button, and follows the 302 to
the demo shop's return endpoint, which checks the hash and re-checks the order with
Optty's API before sending the shopper on to the storefront page. The Saleor
integration suite drives the plugin's own return handler the same way.

Outside CI the test skips when the browser or Playwright is missing; in CI (``CI=true``,
as ``.ci/run`` sets it) that is a failure, so the test can never silently stop running.
"""

import pytest

from saleor_optty.demo import DemoShop

from ..browser import browser, page  # noqa: F401 - fixtures


@pytest.fixture
def shop(optty, client):
    with DemoShop(client, payment_secret=optty.payment_secret) as shop:
        yield shop


@pytest.mark.parametrize("button, status", [("approve", "success"), ("decline", "declined")])
def test_the_shopper_decides_at_optty_and_lands_on_the_storefront(page, shop, optty, button, status):
    checkout = shop.create(shop.build_order("KLARNA"))
    page.goto(checkout.created.redirect_url)
    assert page.inner_text("#reference") == checkout.reference

    page.click(f"#{button}")
    page.wait_for_url(f"{shop.url}/checkout/result?*")

    assert page.inner_text("#status") == f"status={status}"
    assert page.inner_text("#reference") == f"Optty order {checkout.reference}"
    # The return endpoint asked Optty's API rather than believing the redirect.
    assert optty.stats()["requests"]["get_order"] == 1
    assert shop.result(checkout.reference).order.raw_status == optty.order(checkout.reference)["status"]
