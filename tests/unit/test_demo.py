"""make demo: the walk-through's verdicts, and the demo shop's return and callback endpoints."""

import dataclasses
import io
import os
import re
import signal
import threading
import time
from decimal import Decimal

import pytest
import requests

from saleor_optty.demo import DemoShop, confirm_return, main
from saleor_optty.demo.cart import MARKETS, sample_cart
from saleor_optty.optty import OrderStatus, payment_mismatch
from saleor_optty.core.payload import build_order_request


def run_demo(*args):
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_approval_succeeds_and_the_trace_shows_every_step():
    code, output = run_demo()
    assert code == 0, output
    last = output.splitlines()[-1]
    assert re.fullmatch(r"demo: payment succeeded \(DEMO-[0-9A-F]{8}, 113\.85 AUD\)", last), last
    for expected in (
        "sum rule: items 105.00 + shipping 9.00 + tax 10.35 - discount 10.50 = 113.85 = orderAmount 113.85",
        "decision=approve -> 302",
        'hash verified: HMAC-SHA512 of "SUCCESSFUL|',
        "ORDER_ASYNC_CALLBACK status=SUCCESSFUL",
        "-> 302 to the storefront: /checkout/result?status=success&reference=DEMO-",
        "status SUCCESSFUL, 113.85 AUD",
    ):
        assert expected in output
    steps = re.findall(r"^(\d+)\. ", output, flags=re.MULTILINE)
    assert steps == [str(number) for number in range(1, len(steps) + 1)]


def test_the_trace_never_shows_personal_data_or_the_full_hash():
    _, output = run_demo()
    cart = sample_cart()
    for personal in (cart.customer.email, cart.customer.last_name, cart.customer.phone_number):
        assert personal not in output
    assert not re.search(r"hash=[0-9a-f]{20}", output)


@pytest.mark.parametrize(
    "decision, reason",
    [
        ("decline", "AFTERPAY_AU reports the payment as DECLINED (Declined by the provider)"),
        ("cancel", "AFTERPAY_AU reports the payment as CANCELLED"),
        ("pending", "AFTERPAY_AU has not decided yet (status PENDING)"),
    ],
)
def test_anything_but_approval_fails_with_the_reason(decision, reason):
    code, output = run_demo("--decision", decision)
    assert code == 1
    assert output.splitlines()[-1] == f"demo: payment FAILED: {reason}"


def test_a_zero_decimal_currency_goes_through_too():
    code, output = run_demo("--currency", "jpy")
    assert code == 0, output
    assert re.search(r"demo: payment succeeded \(DEMO-\w+, 11385 JPY\)$", output)


@pytest.mark.parametrize("currency", sorted(MARKETS))
def test_the_sample_cart_meets_optty_sum_rule_without_adjustment(currency):
    built = build_order_request(
        sample_cart(currency), reference="R", provider="KLARNA", auto_capture=True, redirect_url=None, callback_url=None
    )
    built.request.check()
    assert built.adjustment == 0
    assert built.request.discount_amount > 0  # the voucher is there, as Optty's discount


def test_keep_running_serves_the_storefront_until_interrupted():
    out = io.StringIO()
    seen = {}

    def shopper():
        try:
            deadline = time.monotonic() + 20
            while "Ctrl-C stops" not in out.getvalue() and time.monotonic() < deadline:
                time.sleep(0.05)
            storefront = re.search(r"storefront\s+(http\S+)", out.getvalue()).group(1)
            page = requests.get(storefront, timeout=5)
            paying = requests.post(
                storefront + "checkout", data={"provider": "KLARNA"}, allow_redirects=False, timeout=5
            )
            seen.update(page=page.text, paying=paying)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    thread = threading.Thread(target=shopper)
    thread.start()
    code = main(["--keep-running"], out=out)
    thread.join()
    assert code == 0
    assert 'id="pay-KLARNA"' in seen["page"] and "113.85 AUD" in seen["page"]
    assert seen["paying"].status_code == 303 and "/hosted/" in seen["paying"].headers["Location"]
    assert out.getvalue().splitlines()[-1].startswith("demo: payment succeeded")


# The demo shop's endpoints --------------------------------------------------------------


@pytest.fixture
def shop(optty, client):
    with DemoShop(client, payment_secret=optty.payment_secret) as shop:
        yield shop


def returned(shop, optty, decision):
    """Create an order, decide it at the emulator, and follow the redirect to the shop."""
    checkout = shop.create(shop.build_order("KLARNA"))
    redirect = optty.decide(checkout.reference, decision)["redirect"]
    answer = requests.get(redirect, allow_redirects=False, timeout=5)
    return checkout, answer


def test_the_return_endpoint_verifies_rechecks_and_sends_the_shopper_to_the_storefront(shop, optty):
    checkout, answer = returned(shop, optty, "approve")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/checkout/result?status=success&reference={checkout.reference}"
    assert optty.stats()["requests"]["get_order"] == 1
    page = requests.get(shop.url + answer.headers["Location"], timeout=5)
    assert '<p class="status" id="status">status=success</p>' in page.text


def test_a_forged_return_is_an_error_without_asking_optty(shop, optty):
    checkout = shop.create(shop.build_order("KLARNA"))
    forged = {"status": "SUCCESSFUL", "reference": checkout.reference, "hash": "00" * 64}
    answer = requests.get(shop.return_url, params=forged, allow_redirects=False, timeout=5)
    assert answer.headers["Location"] == f"/checkout/result?status=error&reference={checkout.reference}"
    assert shop.result(checkout.reference).message == "The return hash does not match."
    assert optty.stats()["requests"]["get_order"] == 0


def test_a_return_for_an_order_the_shop_never_created_is_404(shop, optty):
    params = {"status": "SUCCESSFUL", "reference": "ELSEWHERE-1", "hash": optty.redirect_hash("SUCCESSFUL", "ELSEWHERE-1")}
    answer = requests.get(shop.return_url, params=params, allow_redirects=False, timeout=5)
    assert answer.status_code == 404


def test_a_successful_order_for_another_amount_is_an_error(shop, optty, client):
    checkout = shop.create(shop.build_order("KLARNA"))
    decided = optty.decide(checkout.reference, "approve")
    params = {key: decided[key] for key in ("status", "reference", "hash")}
    dearer = dataclasses.replace(checkout.request, amount=checkout.request.amount + 1)
    result = confirm_return(params, payment_secret=optty.payment_secret, client=client, expected=dearer)
    assert result.status == "error"
    assert result.message == "The payment does not match the order: Optty reports 113.85 AUD, the payment is 114.85."


def test_optty_unavailable_on_return_means_pending_not_failed(shop, optty):
    optty.fail_next("get_order", count=3, status=503)
    _, answer = returned(shop, optty, "approve")
    assert "status=pending" in answer.headers["Location"]


def test_callbacks_are_recorded_only_with_the_url_key(shop, optty):
    checkout, _ = returned(shop, optty, "decline")
    callback = shop.wait_for_callback(checkout.reference, timeout=5)
    assert (callback.event, callback.status) == ("ORDER_ASYNC_CALLBACK", "DECLINED")

    forged = f"{shop.url}/callback/{checkout.reference}/{'0' * 40}"
    answer = requests.post(forged, json={"event": "ORDER_ASYNC_CALLBACK", "data": {"status": "SUCCESSFUL"}}, timeout=5)
    assert answer.status_code == 403
    assert [c.status for c in shop.callbacks(checkout.reference)] == ["DECLINED"]


def test_payment_mismatch_compares_currency_then_amount():
    order = OrderStatus.from_wire({"status": "SUCCESSFUL", "amount": "10.00", "currency": "aud"})
    assert payment_mismatch(order, amount=Decimal("10"), currency="aud") is None
    assert payment_mismatch(order, amount=Decimal("10"), currency="NZD") == "Optty reports AUD, the payment is in NZD"
    assert payment_mismatch(order, amount=Decimal("9.99"), currency="AUD") == "Optty reports 10.00 AUD, the payment is 9.99"
