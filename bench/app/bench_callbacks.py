"""Figures A6 and A7: Optty's callbacks, duplicates (CPU against a bare view of the App,
and throughput) and a burst of them.

A6: a payment made final by the shopper's return, then its ORDER_ASYNC_CALLBACK delivered
again and again, against the same request to ``urls.bare_callback``, which answers after
one indexed lookup: both pay for gunicorn, Django's middleware and URL routing; the
difference is the App's own handling of a duplicate (its URL key, the settled-callback
cache, the audit record and its commit). Each sample is 10 requests back to back on one
keep-alive connection, the App's CPU over them (``cpu.py``), the two sides interleaved.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from decimal import Decimal

from bench.measure import CpuClock, compare
from tests.app_integration.harness import loopback_session

from .flows import Callback
from .urls import BARE_CALLBACK_PATH

CALLBACKS_PER_SAMPLE = 10
#: The sustained rate: client threads, each sending this many after a warm-up.
SENDERS = 4
WARMUP = 50
DUPLICATES = 750
BURST = 32


def delivering(app, callback: Callback, http, answer: str) -> CpuClock:
    clock = CpuClock()
    before = app.cpu.seconds()
    answers = [callback.send(http) for _ in range(CALLBACKS_PER_SAMPLE)]
    clock.add(app.cpu.seconds() - before)
    assert answers == [answer] * CALLBACKS_PER_SAMPLE, answers
    return clock


def send_duplicates(callback: Callback, results: list, barrier: threading.Barrier) -> None:
    """One sender's share, back to back after a warm-up: (start, end, latencies), wall clock."""
    with loopback_session() as http:
        for _ in range(WARMUP):
            callback.send(http)
        barrier.wait()
        latencies = []
        started = time.perf_counter()
        for _ in range(DUPLICATES):
            sent = time.perf_counter()
            assert callback.send(http) == "success"
            latencies.append(time.perf_counter() - sent)
        results.append((started, time.perf_counter(), latencies))


def test_duplicate_callbacks(shop, quiet_optty, app, record, repeats):
    payment = shop.pay()
    returned = shop.follow_return(payment.approve()["redirect"])
    assert returned["status"] == "success"  # final: every callback from now on is a duplicate
    callback = Callback.of(quiet_optty, payment.reference)
    bare = callback.to(BARE_CALLBACK_PATH)
    asked = quiet_optty.stats()["requests"].get("get_order", 0)

    with loopback_session() as http:
        result = compare(
            lambda: delivering(app, bare, http, "known"),
            lambda: delivering(app, callback, http, "success"),
            repeats=repeats * 2,  # a few ms per request: cheap enough to take more samples
        )
    results: list = []
    barrier = threading.Barrier(SENDERS)
    senders = [threading.Thread(target=send_duplicates, args=(callback, results, barrier)) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert len(results) == SENDERS, "a sender failed"
    latencies = [latency for _, _, sender_latencies in results for latency in sender_latencies]
    span = max(end for _, end, _ in results) - min(start for start, _, _ in results)

    assert quiet_optty.stats()["requests"].get("get_order", 0) == asked  # duplicates never ask Optty
    record(
        "app_duplicate_callback_overhead",
        result.ratio,
        result.detail("callback", "bare view") + f", App CPU per {CALLBACKS_PER_SAMPLE} requests, committed",
    )
    record(
        "app_duplicate_callback_rate",
        round(len(latencies) / span),
        f"{SENDERS} client threads × {DUPLICATES} callbacks back to back over HTTP to 2 gunicorn workers × 4 "
        "threads, wall time, clients on the same 2 cores",
    )
    record("app_duplicate_callback_p50", round(statistics.median(latencies) * 1e3, 2), "per callback, same run")
    record("app_duplicate_callback_p99", round(statistics.quantiles(latencies, n=100)[98] * 1e3, 2), "per callback, same run")


def test_burst_of_duplicate_callbacks(shop, quiet_optty, record):
    """Optty delivers one approval 32 times at once, before the shopper is back: one charge."""
    payment = shop.pay()
    payment.approve("approve")
    callback = Callback.of(quiet_optty, payment.reference)
    barrier = threading.Barrier(BURST)
    answers: list = [None] * BURST

    def deliver(index: int) -> None:
        with loopback_session() as http:
            barrier.wait()
            answers[index] = callback.send(http)

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    charges = payment.events("CHARGE_SUCCESS")
    charged = payment.saleor_amounts["charged"]
    assert charged == (payment.amount if charges else Decimal(0))
    answered = ", ".join(f"{count}× {answer!r}" for answer, count in Counter(map(str, answers)).items())
    record(
        "app_burst_charges",
        len(charges),
        f"answers: {answered}; Saleor's transaction charged {charged} of {payment.amount} AUD",
    )
