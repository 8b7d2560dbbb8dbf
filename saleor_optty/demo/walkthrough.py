"""The scripted checkout behind ``make demo``, printed step by step."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TextIO
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from ..core.payload import BuiltOrder
from ..emulator import OpttyEmulator
from ..optty import MoneyError, OpttyClient, OpttyError, PaymentStatus, payment_mismatch
from .cart import MARKETS, TAX_RATE, VOUCHER_CODE, VOUCHER_RATE
from .shop import Checkout, DemoShop

DECISIONS = ("approve", "decline", "cancel", "pending")
CALLBACK_WAIT_SECONDS = 10.0


class DemoFailed(Exception):
    """The walk-through could not go on; the message ends the demo's last line."""


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    summary: str  # "(<reference>, <amount> <currency>)" or why it failed

    @property
    def line(self) -> str:
        if self.succeeded:
            return f"demo: payment succeeded {self.summary}"
        return f"demo: payment FAILED: {self.summary}"


class Trace:
    """Numbered steps with indented detail lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._step = 0

    def step(self, title: str) -> None:
        self._step += 1
        print(f"\n{self._step}. {title}", file=self._out, flush=True)

    def say(self, text: str) -> None:
        print(f"   {text}", file=self._out, flush=True)


class _HostedForm(HTMLParser):
    """The hosted page's decision form, read the way a browser reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.buttons: dict[str, tuple[str, str]] = {}  # id -> (name, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = attributes.get("action", "")
        elif tag == "button" and attributes.get("id"):
            self.buttons[attributes["id"]] = (attributes.get("name", ""), attributes.get("value", ""))


def _shorten(secret_looking: str, keep: int = 12) -> str:
    return secret_looking if len(secret_looking) <= keep else secret_looking[:keep] + "..."


def _with_short_hash(url: str) -> str:
    """``url`` with its ``hash`` parameter cut short, to keep the trace readable."""
    parts = urlsplit(url)
    query = "&".join(
        f"{key}={_shorten(value) if key == 'hash' else value}"
        for key, values in parse_qs(parts.query).items()
        for value in values
    )
    return parts._replace(query=query).geturl()


def walk_through(trace: Trace, optty: OpttyEmulator, shop: DemoShop, decision: str) -> Outcome:
    client, cart = shop.client, shop.cart
    currency = cart.currency

    trace.step("Start Optty's sandbox emulator and the demo shop, on free local ports")
    trace.say(f"Optty emulator  {optty.url}  (token endpoint, API, hosted approval page)")
    trace.say(f"demo shop       {shop.url}  (return endpoint, callback receiver, storefront)")

    trace.step(f"Ask Optty which providers it offers for {cart.amount_due} {currency}  (GET /options)")
    options = client.get_options(cart.amount_due, currency)
    if not options:
        raise DemoFailed(f"Optty offers no provider for {cart.amount_due} {currency}")
    provider = options[0].name
    trace.say(", ".join(option.name for option in options))
    trace.say(f"the shopper picks {provider}; a storefront passes it as checkoutPaymentCreate's token")

    trace.step("Build the Optty order from a sample Saleor checkout  (saleor_optty.payload)")
    built = shop.build_order(provider)
    _show_order(trace, shop, built)

    trace.step("Create the order at Optty  (POST /orders)")
    checkout = shop.create(built)
    created = checkout.created
    trace.say(f"reference {checkout.reference}, paymentStatus {created.status.value}")
    trace.say(f"redirectUrl {created.redirect_url}")
    trace.say("the plugin hands this URL to the storefront in checkoutComplete's confirmationData")

    trace.step(f"The shopper chooses {decision!r} on the hosted page, as a browser would")
    location = _decide_like_a_browser(trace, created.redirect_url, decision)

    trace.step("The browser brings the shopper back to the shop's return endpoint")
    _follow_return(trace, shop, checkout, location)

    trace.step("Optty's callback reaches the receiver  (ORDER_ASYNC_CALLBACK on dynamicCallbackUrl)")
    callback = shop.wait_for_callback(checkout.reference, CALLBACK_WAIT_SECONDS)
    if callback is None:
        trace.say(f"none within {CALLBACK_WAIT_SECONDS:.0f} s; the return and the API re-check stand without it")
    else:
        trace.say(f"{callback.event} status={callback.status}: the URL key matched, acknowledged with 200")
        trace.say("a callback is unsigned, so it only triggers the re-check below; nothing changes on its word")

    trace.step(f"Re-check with Optty's API  (GET /orders/{checkout.reference})")
    order = client.get_order(checkout.reference)
    problem = payment_mismatch(order, amount=checkout.request.amount, currency=currency)
    trace.say(
        f"status {order.raw_status}, {order.amount} {order.currency}, provider {order.provider}, "
        f"captureStatus {order.capture_status or '-'}"
    )
    trace.say(problem or "amount and currency match the order the shop created")

    trace.step("Final payment state")
    if problem:
        trace.say("a payment for another amount: the plugin returns the money and reports an error")
        return Outcome(False, problem)
    if order.status is PaymentStatus.SUCCESSFUL:
        trace.say("paid and captured (autoCapture): the plugin records a CAPTURE transaction and creates the order")
        return Outcome(True, f"({checkout.reference}, {order.amount} {order.currency})")
    if order.status is PaymentStatus.PENDING:
        trace.say("pending: the plugin keeps the checkout open until a callback or checkoutComplete sees a final state")
        return Outcome(False, f"{provider} has not decided yet (status {order.raw_status})")
    trace.say("refused: the plugin marks the payment refused; the checkout stays open for another provider")
    reason = f" ({order.failure_reason})" if order.failure_reason else ""
    return Outcome(False, f"{provider} reports the payment as {order.raw_status}{reason}")


def _show_order(trace: Trace, shop: DemoShop, built: BuiltOrder) -> None:
    cart, request, currency = shop.cart, built.request, shop.cart.currency
    trace.say(f"cart, as Saleor priced it ({currency}, tax {TAX_RATE:.0%}):")
    for line in cart.lines:
        trace.say(
            f"  {line.quantity} x {line.name:<16} net {line.undiscounted_total_net} before the voucher, "
            f"{line.total_net} after, gross {line.total_gross}"
        )
    trace.say(f"  shipping net {cart.shipping_net}, gross {cart.shipping_gross}")
    trace.say(
        f"  voucher {VOUCHER_CODE} ({VOUCHER_RATE:.0%} off the order), already spread into the line totals by Saleor"
    )
    trace.say(f"  checkout total {cart.total_gross} {currency}")
    trace.say("Optty order items, at undiscounted net prices (quantity x unitPrice = totalAmount):")
    for item in request.items:
        trace.say(f"  {item.quantity} x {item.unit_price} = {item.total_amount}  {item.name}")
    items_total = sum(item.total_amount for item in request.items)
    trace.say(
        f"sum rule: items {items_total} + shipping {request.shipping_amount} + tax {request.tax_amount} "
        f"- discount {request.discount_amount} = {request.expected_amount()} = orderAmount {request.amount}"
    )
    if built.adjustment_note:
        trace.say(built.adjustment_note)
    trace.say("customer and addresses go to Optty but never into this trace or any log")


def _decide_like_a_browser(trace: Trace, redirect_url: str, decision: str) -> str:
    """GET the hosted page, submit the decision's button, and return the 302's Location."""
    with requests.Session() as browser:
        page = browser.get(redirect_url, timeout=10)
        form = _HostedForm()
        form.feed(page.text)
        if page.status_code != 200 or decision not in form.buttons:
            raise DemoFailed(f"the hosted page answered {page.status_code} without a {decision!r} button")
        trace.say(f"GET redirectUrl -> {page.status_code}, a form with buttons {', '.join(sorted(form.buttons))}")
        name, value = form.buttons[decision]
        action = urljoin(redirect_url, form.action)
        answer = browser.post(action, data={name: value}, allow_redirects=False, timeout=10)
    location = answer.headers.get("Location", "")
    trace.say(f"POST {urlsplit(action).path} {name}={value} -> {answer.status_code}")
    if answer.status_code != 302 or not location:
        raise DemoFailed(f"the hosted page answered {answer.status_code} instead of redirecting back to the shop")
    trace.say(f"Location: {_with_short_hash(location)}")
    return location


def _follow_return(trace: Trace, shop: DemoShop, checkout: Checkout, location: str) -> None:
    answer = requests.get(location, allow_redirects=False, timeout=10)
    result = shop.result(checkout.reference)
    if result is None:
        raise DemoFailed(f"the return endpoint answered {answer.status_code} without a result")
    if result.returned is None:
        trace.say(f"return hash rejected: {result.message}")
    else:
        returned = result.returned
        trace.say(
            f'hash verified: HMAC-SHA512 of "{returned.raw_status}|{returned.reference}" with the payment secret'
        )
        trace.say("the redirect's status is authentic but not trusted; the endpoint asks Optty's API:")
    if result.order is not None:
        trace.say(f"GET /orders/{result.reference} -> {result.order.raw_status} {result.order.amount} {result.order.currency}")
    trace.say(result.message)
    trace.say(f"-> {answer.status_code} to the storefront: {answer.headers.get('Location', '')}")


def _wait_for_interrupt() -> None:
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m saleor_optty.demo",
        description="Walk one checkout through the plugin's Optty flow against the bundled emulator: "
        "no Saleor, no Optty account.",
    )
    parser.add_argument(
        "--decision", choices=DECISIONS, default="approve", help="what the shopper does on Optty's page (default approve)"
    )
    parser.add_argument(
        "--currency", choices=sorted(MARKETS), default="AUD", type=str.upper, help="the cart's currency (default AUD)"
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="afterwards, keep the emulator and the demo storefront up to try by hand (Ctrl-C stops)",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    trace = Trace(out)
    print("Optty demo: one checkout through the plugin's Optty flow, against the bundled emulator.", file=out)
    with OpttyEmulator(callback_backoff=0.2, callback_max_attempts=3, callback_timeout=2.0) as optty:
        client = OpttyClient(optty.client_id, optty.client_secret, api_url=optty.api_url, auth_url=optty.auth_url)
        with client, DemoShop(client, payment_secret=optty.payment_secret, currency=args.currency) as shop:
            try:
                outcome = walk_through(trace, optty, shop, args.decision)
            except (DemoFailed, OpttyError, MoneyError, requests.RequestException) as error:
                outcome = Outcome(False, str(error))
            if args.keep_running:
                print("\nStill running, to try by hand (Ctrl-C stops):", file=out)
                print(f"   storefront  {shop.url}/  pick a provider, decide on Optty's page, come back", file=out)
                print(f"   emulator    {optty.url}/_emulator/stats  (its control API)", file=out, flush=True)
                _wait_for_interrupt()
    print(outcome.line, file=out, flush=True)
    return 0 if outcome.succeeded else 1
