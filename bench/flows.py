"""The requests the benchmarks time, built on the integration suite's ``Storefront``.

Each helper sends what a storefront, a shopper's browser or Optty sends; whatever the
emulator is asked (the shopper's decision, the callback's URL) is asked before, so
that the request timed is the one Saleor answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import import_module
from urllib.parse import urlsplit

from saleor_optty.consts import GATEWAY_ID
from tests.integration import documents
from tests.integration.fixtures import STOREFRONT_RETURN_URL

from .emulator import order_callback

DUMMY_GATEWAY = "mirumee.payments.dummy"


def dummy_plugin_path() -> str:
    """Saleor's dummy gateway, whose class was renamed in 3.22 (DummyGatewayPlugin, then DeprecatedDummy...).

    main removed the gateway itself and keeps the same plugin as a test double.
    """
    try:
        module = import_module("saleor.payment.gateways.dummy.plugin")
    except ModuleNotFoundError:
        module = import_module("saleor.plugins.tests.gateways.dummy")
    for name, value in vars(module).items():
        if isinstance(value, type) and getattr(value, "PLUGIN_ID", None) == DUMMY_GATEWAY:
            return f"{module.__name__}.{name}"
    raise LookupError(f"No {DUMMY_GATEWAY} plugin class in {module.__name__}.")


def create_payment(storefront, gateway: str, amount) -> None:
    """checkoutPaymentCreate for a gateway other than Optty (the dummy, the minimal redirect)."""
    created = storefront.query(
        documents.PAYMENT_CREATE,
        id=storefront.checkout_id,
        input={"gateway": gateway, "token": "bench", "amount": amount, "returnUrl": STOREFRONT_RETURN_URL},
    )["checkoutPaymentCreate"]
    assert created["errors"] == [], created["errors"]


def complete_with_order(storefront) -> str:
    """checkoutComplete that must answer with the order; returns its id."""
    completed = storefront.complete()
    assert completed["errors"] == [] and completed["order"], completed
    return completed["order"]["id"]


def create_optty_payment(storefront, amount) -> None:
    created = storefront.create_payment("KLARNA", amount=amount)
    assert created["errors"] == [], created["errors"]


def complete_to_redirect(storefront) -> dict:
    """The first checkoutComplete of a redirect payment; returns its confirmationData."""
    completed = storefront.complete()
    assert completed["errors"] == [] and completed["confirmationNeeded"], completed
    return completed["confirmationData"]


@dataclass(frozen=True)
class Callback:
    """Optty's ORDER_ASYNC_CALLBACK for one order, as the emulator would deliver it."""

    path: str
    body: str

    @classmethod
    def of(cls, optty, reference: str) -> Callback:
        url, body = order_callback(optty, reference)
        return cls(urlsplit(url).path, body)

    def to(self, plugin_id: str) -> Callback:
        """The same request, through the same route, to another plugin's webhook."""
        return replace(self, path=self.path.replace(f"/{GATEWAY_ID}/", f"/{plugin_id}/", 1))

    def post(self, client):
        """Deliver it; returns the response, which must be a 200."""
        response = client.post(self.path, data=self.body, content_type="application/json")
        assert response.status_code == 200, response.content
        return response

    def send(self, client) -> str:
        """Deliver it; returns the plugin's answer (``"success"``...)."""
        return self.post(client).json()["status"]
