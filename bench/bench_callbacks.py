"""Figure 3: Optty's callbacks, duplicates (CPU, and throughput), ones that make the order (CPU), and a burst.

Callbacks go through Django's test client: Saleor's URL routing, middleware, plugins
manager and the plugin's webhook, without an HTTP server in front. The duplicates and
the burst run on committed transactions (``transaction=True``), as a real server's
requests do, so every callback pays for its own commit. The duplicates' baseline is the
same request to the bench's bare webhook plugin (``bare_webhook.py``), which answers 200
at once: what Saleor costs any plugin's webhook.
"""

import os
import pickle
import statistics
import time
from collections import Counter

import pytest
from django.db import connections
from django.test import Client

from saleor.order.models import Order
from saleor.payment import TransactionKind
from saleor.payment.models import Transaction
from tests.integration.fixtures import run_together

from .bare_webhook import BareWebhookPlugin
from .flows import DUMMY_GATEWAY, Callback, complete_to_redirect, complete_with_order, create_optty_payment, create_payment
from .measure import CpuClock, compare, rolled_back

#: Requests per CPU sample: one takes a few ms, in which a garbage collection or a
#: scheduler hiccup is a large share; a sample of several is steadier.
CALLBACKS_PER_SAMPLE = 10
WARMUP = 100
DUPLICATES = 1500  # per worker: a few seconds, a sustained rate rather than a burst
BURST = 32


def in_worker_processes(count: int, job):
    """Run ``job`` in ``count`` forked processes at once, as a server's workers; returns their results.

    Each worker inherits the settings and the committed test data. Django's connections
    are closed before forking, so that each process opens its own rather than sharing
    one socket.
    """
    connections.close_all()
    workers = []
    for _ in range(count):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                result = job()
            except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
                result = error
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe)
            os._exit(0)  # leave pytest's teardown to the parent
        os.close(write)
        workers.append((pid, read))
    results = []
    for pid, read in workers:
        with os.fdopen(read, "rb") as pipe:
            results.append(pickle.load(pipe))
        os.waitpid(pid, 0)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def send_duplicates(callback: Callback) -> tuple[float, float, list[float]]:
    """One worker's share, back to back after a warm-up: (start, end, latencies), wall clock."""
    client = Client()
    for _ in range(WARMUP):
        callback.send(client)
    latencies = []
    started = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes
    for _ in range(DUPLICATES):
        sent = time.perf_counter()
        assert callback.send(client) == "success"
        latencies.append(time.perf_counter() - sent)
    return started, time.perf_counter(), latencies


def rate(shares) -> tuple[float, list[float]]:
    """Callbacks per second over the span every worker was sending in, and all latencies."""
    latencies = [latency for _, _, worker_latencies in shares for latency in worker_latencies]
    span = max(end for _, end, _ in shares) - min(start for start, _, _ in shares)
    return len(latencies) / span, latencies


def delivering(callback: Callback, client, answer: str | None = None) -> CpuClock:
    """``CALLBACKS_PER_SAMPLE`` deliveries back to back, each answered 200 (and ``answer``, when given)."""
    clock = CpuClock()
    with clock.running():
        responses = [callback.post(client) for _ in range(CALLBACKS_PER_SAMPLE)]
    assert answer is None or all(response.json()["status"] == answer for response in responses)
    return clock


@pytest.mark.django_db(transaction=True)
def test_duplicate_callbacks(storefront, optty, bench_plugins, record, repeats):
    """Callbacks whose order is already final: CPU against a bare webhook's, then a server's sustained rate.

    The rate is of a server with one worker process per core.
    """
    reference, params = storefront.pay("KLARNA")
    assert params["status"] == "success"  # the order exists: every callback from now on is a duplicate
    callback = Callback.of(optty, reference)
    asked = optty.stats()["requests"]["get_order"]

    bare, client = callback.to(BareWebhookPlugin.PLUGIN_ID), Client()
    result = compare(
        lambda: delivering(bare, client),
        lambda: delivering(callback, client, answer="success"),
        repeats=repeats * 2,  # a few ms per request: cheap enough to take more samples
    )
    single, _ = rate(in_worker_processes(1, lambda: send_duplicates(callback)))
    cores = len(os.sched_getaffinity(0))
    sustained, latencies = rate(in_worker_processes(cores, lambda: send_duplicates(callback)))

    assert optty.stats()["requests"]["get_order"] == asked  # duplicates never ask Optty
    record(
        "duplicate_callback_overhead",
        result.ratio,
        result.detail("callback", "bare webhook") + f", per {CALLBACKS_PER_SAMPLE} requests, committed",
    )
    record(
        "duplicate_callback_rate",
        round(sustained),
        f"{cores} worker processes × {DUPLICATES} callbacks back to back (1 worker: {single:.0f}/s), "
        "Django test client, wall time",
    )
    record("duplicate_callback_p50", round(statistics.median(latencies) * 1e3, 2), "per callback, same run")
    record("duplicate_callback_p99", round(statistics.quantiles(latencies, n=100)[98] * 1e3, 2), "per callback, same run")


def dummy_complete(storefront, amount) -> CpuClock:
    clock = CpuClock()
    with rolled_back():
        create_payment(storefront, DUMMY_GATEWAY, amount)
        with clock.running():
            complete_with_order(storefront)
    return clock


def callback_completing(storefront, optty, amount) -> CpuClock:
    """The shopper approved but never came back: Optty's callback turns the checkout into the order."""
    clock = CpuClock()
    with rolled_back():
        create_optty_payment(storefront, amount)
        reference = complete_to_redirect(storefront)["reference"]
        optty.decide(reference, "approve")
        callback = Callback.of(optty, reference)
        with clock.running():
            outcome = callback.send(storefront.browser)
        assert outcome == "success"
    return clock


def test_callbacks_making_the_order(storefront, optty, bench_plugins, record, repeats):
    amount = storefront.total()
    result = compare(
        lambda: dummy_complete(storefront, amount),
        lambda: callback_completing(storefront, optty, amount),
        repeats=repeats,
    )
    record("order_callback_overhead", result.ratio, result.detail("callback", "dummy checkoutComplete"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("replica_in_threads")
def test_burst_of_duplicate_callbacks(storefront, optty, record):
    """Optty delivers one approval 32 times at once, before the shopper is back: one order."""
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    callback = Callback.of(optty, reference)

    answers = run_together([lambda: callback.send(Client())] * BURST)

    orders = Order.objects.filter(checkout_token=str(storefront.checkout.pk))
    captures = Transaction.objects.filter(payment__order__in=orders, kind=TransactionKind.CAPTURE, is_success=True)
    answered = ", ".join(f"{count}× {answer!r}" for answer, count in Counter(map(str, answers)).items())
    record("burst_orders", orders.count(), f"answers: {answered}; {captures.count()} capture(s)")
