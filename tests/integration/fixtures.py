"""Fixtures of the Saleor integration suite (loaded by conftest.py only when Saleor is)."""

import json
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.db import connections

from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.models import PluginConfiguration
from saleor_optty.consts import GATEWAY_ID
from saleor_optty.emulator import OpttyEmulator

from . import documents

PLUGIN_PATH = "saleor_optty.plugin.gateway.OpttyGatewayPlugin"
STOREFRONT_RETURN_URL = "https://www.example.com/checkout/return"
#: Saleor's public URL in these tests: nothing listens there, so the emulator's own
#: callback deliveries fail fast and tests deliver callbacks through Django's client.
PUBLIC_URL = "http://127.0.0.1:9/"


@pytest.fixture(scope="session")
def optty_emulator():
    with OpttyEmulator(callback_backoff=0.01, callback_max_attempts=1, callback_timeout=0.2) as emulator:
        yield emulator


@pytest.fixture
def optty(optty_emulator):
    optty_emulator.reset()
    cache.clear()  # cached options and tokens from other tests
    return optty_emulator


@pytest.fixture
def optty_configuration(optty):
    return {
        "environment": "sandbox",
        "api_url": optty.api_url,
        "auth_url": optty.auth_url,
        "client_id": optty.client_id,
        "client_secret": optty.client_secret,
        "payment_secret": optty.payment_secret,
        "providers": "",
        "auto_capture": True,
        "supported_currencies": "USD",
        "order_reference_prefix": "T-",
    }


@pytest.fixture
def optty_plugin(settings, channel_USD, optty_configuration):
    """Activate the plugin for channel_USD; returns a function to change its configuration."""
    settings.PLUGINS = [PLUGIN_PATH]
    settings.PUBLIC_URL = PUBLIC_URL

    def configure(**changes):
        values = {**optty_configuration, **changes}
        PluginConfiguration.objects.update_or_create(
            identifier=GATEWAY_ID,
            channel=channel_USD,
            defaults={
                "active": True,
                "configuration": [{"name": name, "value": value} for name, value in values.items()],
            },
        )

    configure()
    return configure


@pytest.fixture
def replica_in_threads():
    """Point the replica alias of new threads' connections at the test database.

    Django makes ``replica`` a test mirror of ``default`` only for the connection objects
    of the thread that set the test database up; a new thread would open the real,
    empty database under the replica alias.
    """
    replica = connections.settings["replica"]
    original = replica["NAME"]
    replica["NAME"] = connections["default"].settings_dict["NAME"]
    yield
    replica["NAME"] = original


def run_together(jobs):
    """Start every job at the same moment, each on its own thread and database connection."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


class Storefront:
    """Drives the GraphQL API the way a storefront does, and follows Optty's redirects."""

    def __init__(self, api_client, django_client, optty, checkout):
        self.api = api_client
        self.browser = django_client
        self.optty = optty
        self.checkout = checkout
        self.checkout_id = documents.global_id("Checkout", checkout.pk)

    def query(self, document, **variables):
        return get_graphql_content(self.api.post_graphql(document, variables))["data"]

    def gateways(self):
        return self.query(documents.AVAILABLE_GATEWAYS, id=self.checkout_id)["checkout"]

    def optty_providers(self):
        for gateway in self.gateways()["availablePaymentGateways"]:
            if gateway["id"] == GATEWAY_ID:
                return json.loads({line["field"]: line["value"] for line in gateway["config"]}["providers"])
        return None

    def total(self):
        return self.gateways()["totalPrice"]["gross"]["amount"]

    def create_payment(self, provider, *, amount=None, return_url=STOREFRONT_RETURN_URL):
        data = self.query(
            documents.PAYMENT_CREATE,
            id=self.checkout_id,
            input={"gateway": GATEWAY_ID, "token": provider, "amount": amount or self.total(), "returnUrl": return_url},
        )["checkoutPaymentCreate"]
        return data

    def complete(self, payment_data=None):
        variables = {"id": self.checkout_id}
        if payment_data is not None:
            variables["paymentData"] = json.dumps(payment_data)
        data = self.query(documents.CHECKOUT_COMPLETE, **variables)["checkoutComplete"]
        if data.get("confirmationData"):
            data["confirmationData"] = json.loads(data["confirmationData"])
        return data

    def pay_at_provider(self, reference, decision):
        """The shopper's choice on the provider's page, then the browser's return to Saleor."""
        redirect = self.optty.decide(reference, decision)["redirect"]
        return self.follow(redirect)

    def redirect_for(self, reference, status, *, hash_=None):
        """A return URL as Optty would build it, for replays and forgeries."""
        request = self.optty.order(reference)["request"]
        params = {"status": status, "reference": reference, "hash": hash_ or self.optty.redirect_hash(status, reference)}
        return request["dynamicRedirectUrl"] + "?" + urlencode(params)

    def follow(self, url):
        parts = urlsplit(url)
        response = self.browser.get(parts.path, data={k: v[0] for k, v in parse_qs(parts.query).items()})
        return response

    def start(self, provider, *, payment_data=None):
        """Create a payment and complete: returns the Optty reference to approve."""
        created = self.create_payment(provider)
        assert created["errors"] == [], created["errors"]
        completed = self.complete(payment_data)
        assert completed["errors"] == [] and completed["confirmationNeeded"], completed
        return completed["confirmationData"]["reference"]

    def pay(self, provider="KLARNA", decision="approve"):
        """The whole happy path; returns the reference and what the storefront was told."""
        reference = self.start(provider)
        return reference, self.storefront_params(self.pay_at_provider(reference, decision))

    def callback(self, reference, event="ORDER_ASYNC_CALLBACK", *, url=None, body=None):
        """Optty's callback for ``reference`` as the emulator would send it, through Saleor's URL routing."""
        order = self.optty.order(reference)
        url = url or order["request"]["dynamicCallbackUrl"]
        if body is None:
            body = {"event": event, "data": {"orderReference": reference, "status": order["status"]}}
        payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.browser.post(urlsplit(url).path, data=payload, content_type="application/json")

    @staticmethod
    def storefront_params(response):
        assert response.status_code == 302, response.content
        location = response["Location"]
        assert location.startswith(STOREFRONT_RETURN_URL)
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def storefront(api_client, client, optty, optty_plugin, checkout_with_item_and_shipping):
    checkout = checkout_with_item_and_shipping
    checkout.email = "ada@example.com"
    checkout.save(update_fields=["email"])
    return Storefront(api_client, client, optty, checkout)


@pytest.fixture
def dashboard(staff_api_client, permission_group_manage_orders):
    """Staff with order permissions, calling the Dashboard's GraphQL: ``dashboard(document, key, **variables)``."""
    permission_group_manage_orders.user_set.add(staff_api_client.user)

    def call(document, key, **variables):
        return get_graphql_content(staff_api_client.post_graphql(document, variables))["data"][key]

    return call
