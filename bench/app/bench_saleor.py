"""Figures A5 and A9, against a real Saleor (``SALEOR_LAB``; skipped without one).

The lab's Saleor is served for the bench alone (``saleor_lab.py``): one uvicorn process
on a copy of the lab's database, with the App (``served.py``) installed through
``appInstall`` and the plugin configured through ``pluginUpdate``, both against the
emulator. The storefront and the shopper are the App's integration harness
(tests/app_integration/harness.py). CPU is attributed by process (``cpu.py``): Saleor's is
its uvicorn process's, the App's its gunicorn processes', each over the span of the
requests measured, one request at a time; PostgreSQL's, the emulator's and the bench's
own (the storefront's HTTP client) are in neither.

A5: for each mutation whose webhook the App serves, the App's CPU against Saleor's over
the same mutation (Saleor's includes sending the webhook and reading the answer).
A9: a whole payment through the Transactions API and the App, against the same payment
through the legacy API and the plugin, on the same Saleor: Saleor's CPU plus the App's.
"""

from __future__ import annotations

import json
import statistics

import pytest

from bench.measure import Comparison, CpuClock, sample_interleaved
from saleor_optty.consts import GATEWAY_ID
from tests.app_integration import harness
from tests.app_integration.harness import STOREFRONT_ORIGIN, Shopper, Storefront, loopback_session

from .flows import Callback
from .figures import MUTATIONS
from .saleor_lab import LabSaleor

RETURN_URL = f"{STOREFRONT_ORIGIN}/payment/return"
SAMPLES = 15

PLUGIN_UPDATE = """
mutation BenchPluginUpdate($id: ID!, $channel: ID, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, channelId: $channel, input: $input) { plugin { id } errors { field message code } }
}
"""
CHECKOUT_PAYMENT_CREATE = """
mutation BenchCheckoutPaymentCreate($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) { payment { id } errors { field message code } }
}
"""
CHECKOUT_COMPLETE = """
mutation BenchCheckoutComplete($id: ID!) {
  checkoutComplete(id: $id) { order { id } confirmationNeeded confirmationData errors { field message code } }
}
"""


@pytest.fixture(scope="module")
def lab(shop, app, optty):
    """The lab's Saleor with the App installed and configured, and the plugin active in
    the same channel, both on the emulator; Optty's callbacks are delivered by the bench."""
    saleor = LabSaleor.from_environment()
    saleor.start()
    try:
        api, staff, version = harness.connect(saleor.api_url)
        harness.install(staff, app)
        app.configure(saleor.api_url, optty, channel=harness.CHANNEL, currency="USD", storefront=STOREFRONT_ORIGIN)
        channel = staff.execute(harness.CHANNEL_ID, {"slug": harness.CHANNEL})["channel"]["id"]
        settings = {
            "environment": "sandbox", "api_url": optty.api_url, "auth_url": optty.auth_url,
            "client_id": optty.client_id, "client_secret": optty.client_secret, "payment_secret": optty.payment_secret,
            "supported_currencies": "USD", "auto_capture": True, "providers": "",
        }  # fmt: skip
        staff.mutate(
            PLUGIN_UPDATE,
            {"id": GATEWAY_ID, "channel": channel, "input": {"active": True, "configuration": [
                {"name": name, "value": value if isinstance(value, str) else json.dumps(value)} for name, value in settings.items()
            ]}},
        )  # fmt: skip
        optty.set_callback_options(delay=3600)  # queued, never sent: the bench delivers them
        yield saleor, api, version
    finally:
        optty.clear_faults()
        saleor.stop()


def cpu_of(saleor, app, request) -> CpuClock:
    """Saleor's and the App's CPU while ``request()`` runs."""
    clock = CpuClock()
    saleor_before, app_before = saleor.cpu.seconds(), app.cpu.seconds()
    request()
    clock.add(saleor.cpu.seconds() - saleor_before, "Saleor")
    clock.add(app.cpu.seconds() - app_before, "App")
    return clock


def test_app_cpu_against_saleor_s_per_mutation(lab, app, optty, record):
    saleor, api, version = lab
    storefront, shopper = Storefront(api), Shopper()
    listing_checkout = storefront.new_checkout()

    def gateway_initialize():
        config = storefront.gateway_initialize(listing_checkout.id)
        assert config["errors"] == [] and config["data"]["providers"], config

    def transaction_initialize():
        checkout = storefront.new_checkout()
        return lambda: harness.start_payment(storefront, checkout)

    def transaction_process():
        payment = harness.start_payment(storefront, storefront.new_checkout())
        assert shopper.come_back(shopper.decide(payment.redirect_url, "pending"))["status"] == "pending"

        def process():
            processed = storefront.transaction_process(payment.transaction_id)
            assert processed["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED", processed  # the App asked Optty

        return process

    prepared = {"gateway_initialize": lambda: gateway_initialize, "transaction_initialize": transaction_initialize,
                "transaction_process": transaction_process}  # fmt: skip
    for name, mutation in MUTATIONS.items():
        clocks = [cpu_of(saleor, app, prepared[name]()) for _ in range(SAMPLES)]
        app_cpu = statistics.median(clock.parts["App"] for clock in clocks)
        saleor_cpu = statistics.median(clock.parts["Saleor"] for clock in clocks)
        record(
            f"app_over_saleor_{name}",
            app_cpu / saleor_cpu,
            f"App {app_cpu * 1e3:.1f} ms vs Saleor {saleor_cpu * 1e3:.1f} ms per {mutation}, medians of {SAMPLES}, Saleor {version}",
        )


def test_whole_checkout_against_the_plugin_s(lab, app, optty, record, repeats):
    saleor, api, version = lab
    storefront, shopper = Storefront(api), Shopper()
    http = loopback_session()
    # A connection each: one kept alive between rounds may be closed by the server as a
    # callback goes out on it (RemoteDisconnected), and a callback is not re-sent blindly.
    http.headers["Connection"] = "close"

    def through_the_app() -> CpuClock:
        """transactionInitialize, the shopper's return, Optty's callback, transactionProcess, checkoutComplete."""
        checkout = storefront.new_checkout()

        def pay():
            payment = harness.start_payment(storefront, checkout)
            assert shopper.come_back(shopper.decide(payment.redirect_url, "approve"))["status"] == "success"
            assert Callback.of(optty, payment.reference).send(http) == "success"
            storefront.transaction_process(payment.transaction_id)
            completed = storefront.complete(checkout.id)
            assert completed["errors"] == [] and completed["order"], completed

        return cpu_of(saleor, app, pay)

    def through_the_plugin() -> CpuClock:
        """checkoutPaymentCreate, checkoutComplete, the shopper's return, Optty's callback."""
        checkout = storefront.new_checkout()

        def pay():
            api.mutate(CHECKOUT_PAYMENT_CREATE, {"id": checkout.id, "input": {
                "gateway": GATEWAY_ID, "token": "KLARNA", "amount": str(checkout.total), "returnUrl": RETURN_URL,
            }})  # fmt: skip
            completed = api.execute(CHECKOUT_COMPLETE, {"id": checkout.id})["checkoutComplete"]
            assert completed["errors"] == [] and completed["confirmationNeeded"], completed
            confirmation = json.loads(completed["confirmationData"])
            assert shopper.come_back(shopper.decide(confirmation["redirectUrl"], "approve"))["status"] == "success"
            assert Callback.of(optty, confirmation["reference"]).send(http) == "success"

        return cpu_of(saleor, app, pay)

    clocks = sample_interleaved({"plugin": through_the_plugin, "App": through_the_app}, repeats=repeats, warmup=2)
    result = Comparison(clocks["plugin"], clocks["App"])
    record(
        "app_checkout_over_legacy",
        result.ratio,
        result.detail("Transactions API + App", "legacy API + plugin") + f", Saleor {version}",
    )
