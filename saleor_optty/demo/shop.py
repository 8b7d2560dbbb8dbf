"""The demo shop: the merchant's side of the Optty flow, standing in for Saleor and the plugin.

One small HTTP server plays three parts:

- the **return endpoint** (``GET /return``) where Optty sends the shopper back. It runs
  the checks the plugin's return handler runs, in the same order, with the same
  Saleor-free functions: :func:`~saleor_optty.optty.verify_return` for the hash,
  ``GET /orders/{reference}`` for Optty's own word, and
  :func:`~saleor_optty.optty.payment_mismatch` against what the shop asked for. Then it
  redirects to the storefront with ``status`` (success | pending | declined |
  cancelled | error), as the plugin does;
- the **callback receiver** (``POST /callback/{reference}/{key}``), the order's
  ``dynamicCallbackUrl``. Optty signs nothing, so, like the plugin, the URL carries a
  key only Optty was given, and a callback is only recorded: it is a trigger to ask
  Optty's API, never a state to believe;
- a tiny **storefront**: ``/`` starts a checkout of the sample cart with a provider of
  the shopper's choice, and ``/checkout/result`` shows where the return endpoint sent
  the shopper.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from ..consts import CALLBACK_PATH, RETURN_PATH, STOREFRONT_STATUS
from ..core.payload import BuiltOrder, Cart, build_order_request
from ..optty import (
    CreatedOrder,
    InvalidRedirectError,
    OpttyClient,
    OpttyError,
    OrderRequest,
    OrderStatus,
    ReturnParameters,
    payment_mismatch,
    verify_return,
)
from .cart import sample_cart

RESULT_PATH = "/checkout/result"


@dataclass(frozen=True)
class Checkout:
    """One Optty order the shop created: what it must be paid, and where to pay it."""

    built: BuiltOrder
    created: CreatedOrder

    @property
    def request(self) -> OrderRequest:
        return self.built.request

    @property
    def reference(self) -> str:
        return self.request.reference


@dataclass(frozen=True)
class ReturnResult:
    """What the return endpoint concluded, and why."""

    reference: str
    status: str  # one of STOREFRONT_STATUS's values
    message: str
    returned: ReturnParameters | None = None  # set once the hash checked out
    order: OrderStatus | None = None  # Optty's API's word, once asked


@dataclass(frozen=True)
class Callback:
    """A callback the receiver accepted (its URL key matched)."""

    reference: str
    event: str
    status: str


def confirm_return(
    params: Mapping[str, str], *, payment_secret: str, client: OpttyClient, expected: OrderRequest
) -> ReturnResult:
    """The return handler's checks: hash, then Optty's API, then amount and currency.

    ``expected`` is the order the shop created under the returned reference. The
    redirect's own ``status`` only has to be authentic; what counts is the API's.
    """
    reference = params.get("reference", "")
    try:
        returned = verify_return(params, payment_secret)
    except InvalidRedirectError as error:
        return ReturnResult(reference, "error", str(error))
    try:
        order = client.get_order(returned.reference)
    except OpttyError as error:
        # Not a failure: the callback (or the plugin's reconciliation) settles it later.
        return ReturnResult(reference, "pending", f"Optty could not confirm the payment yet: {error.message}", returned)
    problem = payment_mismatch(order, amount=expected.amount, currency=expected.currency)
    if problem:
        return ReturnResult(reference, "error", f"The payment does not match the order: {problem}.", returned, order)
    message = order.failure_reason or f"Optty reports {order.raw_status} for {order.amount} {order.currency}, as ordered."
    return ReturnResult(reference, STOREFRONT_STATUS[order.status], message, returned, order)


class DemoShop:
    """The demo's merchant server; ``with DemoShop(...) as shop:`` serves it on a thread."""

    def __init__(
        self,
        client: OpttyClient,
        *,
        payment_secret: str,
        currency: str = "AUD",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client = client
        self.payment_secret = payment_secret
        self.cart: Cart = sample_cart(currency)
        # Keys the callback URLs, as Django's SECRET_KEY keys the plugin's.
        self._callback_secret = secrets.token_bytes(32)
        self._lock = threading.Condition()
        self._checkouts: dict[str, Checkout] = {}
        self._results: dict[str, ReturnResult] = {}
        self._callbacks: list[Callback] = []
        self._server = _ShopServer((host, port), self)
        self._thread: threading.Thread | None = None

    # Lifecycle -----------------------------------------------------------------------

    def start(self) -> DemoShop:
        self._thread = threading.Thread(target=self._server.serve_forever, name="optty-demo-shop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def return_url(self) -> str:
        return self.url + RETURN_PATH

    def callback_url(self, reference: str) -> str:
        return f"{self.url}{CALLBACK_PATH}/{quote(reference, safe='')}/{self._callback_key(reference)}"

    # The shop's operations -------------------------------------------------------------

    def build_order(self, provider: str) -> BuiltOrder:
        """The Optty order for the sample cart, under a new reference."""
        reference = f"DEMO-{secrets.token_hex(4).upper()}"
        return build_order_request(
            self.cart,
            reference=reference,
            provider=provider,
            auto_capture=True,
            redirect_url=self.return_url,
            callback_url=self.callback_url(reference),
        )

    def create(self, built: BuiltOrder) -> Checkout:
        """Create the order at Optty; the shopper then goes to its redirectUrl."""
        checkout = Checkout(built, self.client.create_order(built.request))
        with self._lock:
            self._checkouts[checkout.reference] = checkout
        return checkout

    def handle_return(self, params: Mapping[str, str]) -> ReturnResult | None:
        """The return endpoint's conclusion; None when the shop created no such order."""
        with self._lock:
            checkout = self._checkouts.get(params.get("reference", ""))
        if checkout is None:
            return None
        result = confirm_return(
            params, payment_secret=self.payment_secret, client=self.client, expected=checkout.request
        )
        with self._lock:
            self._results[checkout.reference] = result
        return result

    def result(self, reference: str) -> ReturnResult | None:
        """The return endpoint's last conclusion for ``reference``."""
        with self._lock:
            return self._results.get(reference)

    def callbacks(self, reference: str) -> list[Callback]:
        with self._lock:
            return self._callbacks_for(reference)

    def wait_for_callback(self, reference: str, timeout: float) -> Callback | None:
        """The first callback received for ``reference``, waiting up to ``timeout`` seconds."""
        with self._lock:
            received = self._lock.wait_for(lambda: self._callbacks_for(reference), timeout)
        return received[0] if received else None

    def receive_callback(self, reference: str, key: str, body: bytes) -> bool:
        """Record a callback whose URL key matches; False (and nothing recorded) otherwise."""
        if not hmac.compare_digest(key, self._callback_key(reference)):
            return False
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        payload = payload if isinstance(payload, dict) else {}
        data = payload.get("data")
        status = data.get("status") if isinstance(data, dict) else None
        callback = Callback(reference, str(payload.get("event") or "unknown"), str(status or ""))
        with self._lock:
            self._callbacks.append(callback)
            self._lock.notify_all()
        return True

    def _callbacks_for(self, reference: str) -> list[Callback]:
        return [callback for callback in self._callbacks if callback.reference == reference]

    def _callback_key(self, reference: str) -> str:
        return hmac.new(self._callback_secret, reference.encode(), hashlib.sha256).hexdigest()[:40]


# HTTP ------------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1f2a44}"
    "button{display:block;margin:.5rem 0;padding:.6rem 1rem;font:inherit;cursor:pointer}"
    ".status{font-size:1.2rem;font-weight:700}"
)


class _ShopServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], shop: DemoShop) -> None:
        self.shop = shop
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _ShopServer

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: the demo prints its own trace, and return URLs are not worth echoing.
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/":
            self._storefront()
        elif url.path == RETURN_PATH:
            self._return(query)
        elif url.path == RESULT_PATH:
            self._result(query)
        else:
            self._page(404, "Not found", "<p>Nothing here.</p>")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = [unquote(part) for part in urlsplit(self.path).path.split("/") if part]
        if parts == ["checkout"]:
            self._checkout(parse_qs(body.decode("utf-8", "replace")).get("provider", [""])[0])
        elif len(parts) == 3 and f"/{parts[0]}" == CALLBACK_PATH:
            accepted = self.server.shop.receive_callback(parts[1], parts[2], body)
            self._json(200 if accepted else 403, {"status": "received" if accepted else "forbidden"})
        else:
            self._json(404, {"status": "not found"})

    # The return endpoint and the storefront ----------------------------------------------

    def _return(self, query: dict[str, str]) -> None:
        result = self.server.shop.handle_return(query)
        if result is None:
            # The shop created no such order: there is no checkout to send anyone back to.
            self._page(404, "Unknown payment", "<p>This payment is not known to this shop.</p>")
            return
        self._redirect(f"{RESULT_PATH}?{urlencode({'status': result.status, 'reference': result.reference})}")

    def _result(self, query: dict[str, str]) -> None:
        shop = self.server.shop
        status, reference = query.get("status", ""), query.get("reference", "")
        result = shop.result(reference)
        callbacks = "".join(
            f"<li>{escape(callback.event)} {escape(callback.status)}</li>" for callback in shop.callbacks(reference)
        )
        body = (
            f'<p class="status" id="status">status={escape(status)}</p>'
            f'<p id="reference">Optty order {escape(reference)}</p>'
            f'<p id="message">{escape(result.message if result else "")}</p>'
            f"<h2>Optty's callbacks for this order</h2><ul id=\"callbacks\">{callbacks or '<li>none yet</li>'}</ul>"
            '<p><a href="/">Start another checkout</a></p>'
        )
        self._page(200, "Back at the shop", body)

    def _storefront(self) -> None:
        shop = self.server.shop
        cart = shop.cart
        try:
            options = shop.client.get_options(cart.amount_due, cart.currency)
        except OpttyError as error:
            self._page(502, "Optty is unavailable", f"<p>{escape(str(error))}</p>")
            return
        lines = "".join(
            f"<li>{line.quantity} &times; {escape(line.name)}: {line.total_gross} {cart.currency}</li>"
            for line in cart.lines
        )
        buttons = "".join(
            f'<button type="submit" name="provider" value="{escape(option.name, quote=True)}" '
            f'id="pay-{escape(option.name, quote=True)}">{escape(option.display_name)}</button>'
            for option in options
        )
        body = (
            f"<ul>{lines}<li>Shipping: {cart.shipping_gross} {cart.currency}</li></ul>"
            f"<p><strong>Total: {cart.amount_due} {cart.currency}</strong></p>"
            f'<form method="post" action="/checkout">{buttons or "<p>Optty offers no provider for this cart.</p>"}</form>'
        )
        self._page(200, "Demo shop checkout", body)

    def _checkout(self, provider: str) -> None:
        try:
            shop = self.server.shop
            checkout = shop.create(shop.build_order(provider))
        except (OpttyError, ValueError) as error:
            self._page(502, "Could not start the payment", f"<p>{escape(str(error))}</p>")
            return
        self._redirect(checkout.created.redirect_url, status=303)

    # Answers -----------------------------------------------------------------------------

    def _redirect(self, location: str, status: int = 302) -> None:
        self._send(status, "text/plain; charset=utf-8", b"", {"Location": location})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _page(self, status: int, title: str, body: str) -> None:
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>"
        )
        self._send(status, "text/html; charset=utf-8", html.encode())

    def _send(self, status: int, content_type: str, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


__all__ = ["Callback", "Checkout", "DemoShop", "ReturnResult", "STOREFRONT_STATUS", "confirm_return"]
