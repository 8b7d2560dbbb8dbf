"""Duplicates racing the shopper's return: the return, two Optty callbacks and the
storefront's ``transactionProcess`` reach the App at once. Saleor must get one charge,
and the checkout make one order: on the single-process SQLite App, and on two workers
sharing PostgreSQL (row locks, no shared memory)."""

import threading
import time
import uuid

import pytest

from . import harness
from .harness import SaleorAPI, Shopper, Storefront, amounts, events_of, transaction

harness.require_lab()

#: When the racers start after the shopper's decision: Optty's callbacks wait as long.
START_DELAY = 0.5


@pytest.fixture(params=["sqlite_app", "postgres_app"])
def racing_app(request, deployment, optty):
    return deployment.use(request.getfixturevalue(request.param), auto_capture=True)


@pytest.mark.parametrize("round_", range(3))
def test_return_callbacks_and_process_at_once_report_one_charge_and_make_one_order(
    racing_app, round_, saleor, storefront, shopper, optty
):
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    before = optty.stats()
    # Two copies of each callback, each on its own thread, START_DELAY after the decision.
    optty.set_callback_options(duplicates=1, mode="concurrent", delay=START_DELAY)
    return_url = shopper.decide(payment.redirect_url, "approve")
    start = time.monotonic() + START_DELAY

    results: dict[str, object] = {}

    def at_start(name, call):
        def run():
            time.sleep(max(0.0, start - time.monotonic()))
            try:
                results[name] = call()
            except Exception as error:  # reported below, with the others' results
                results[name] = error

        return threading.Thread(target=run, name=name)

    # Each racer with its own connection, as separate browsers and servers would be.
    process_client = Storefront(SaleorAPI(saleor.api_url, saleor.api.schema))
    racers = [
        at_start("return", lambda: Shopper().come_back(return_url)),
        at_start("process", lambda: process_client.transaction_process(payment.transaction_id)),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(90)
    assert optty.wait_for_callbacks(timeout=60)

    assert isinstance(results.get("return"), dict), results
    assert results["return"]["status"] == "success", results
    assert results["return"]["transactionId"] == payment.transaction_id
    assert isinstance(results.get("process"), dict), results
    assert results["process"]["transactionEvent"]["type"] == "CHARGE_SUCCESS", results
    callbacks = [d for d in optty.deliveries() if d["order_reference"] == payment.reference and d["status"] == "SUCCESSFUL"]
    assert len(callbacks) == 2 and all(d["state"] == "delivered" for d in callbacks), callbacks

    paid = transaction(saleor.staff, payment.transaction_id)
    assert len(events_of(paid, "CHARGE_SUCCESS")) == 1, paid["events"]
    assert amounts(paid)["charged"] == checkout.total
    assert harness.emulator_counts(optty, before)["create_order"] == 0

    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    assert harness.orders_of_checkout(saleor.staff, checkout.id) == [completed["order"]["id"]]
    assert harness.order(saleor.staff, completed["order"]["id"])["chargeStatus"] == "FULL"
    # Nothing went back: the one payment is the order's.
    assert optty.order(payment.reference)["refunded_amount"] == 0


def test_transaction_initialize_twice_at_once_makes_one_optty_order(racing_app, saleor, storefront, optty):
    """A storefront's retry racing its first ``transactionInitialize`` (one idempotency key)."""
    checkout = storefront.new_checkout()
    key = uuid.uuid4().hex
    before = optty.stats()
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def initialize(slot: int) -> None:
        client = Storefront(SaleorAPI(saleor.api_url, saleor.api.schema))
        barrier.wait()
        try:
            results[slot] = client.transaction_initialize(checkout.id, "KLARNA", idempotency_key=key)
        except Exception as error:  # reported below, with the other answer
            results[slot] = error

    racers = [threading.Thread(target=initialize, args=(slot,)) for slot in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(90)

    answers = [result for result in results if isinstance(result, dict)]
    assert answers, results
    assert len({answer["transaction"]["id"] for answer in answers}) == 1, results
    assert all(answer["transactionEvent"]["type"] == "CHARGE_ACTION_REQUIRED" for answer in answers), results
    assert len({answer["data"]["redirectUrl"] for answer in answers}) == 1, results
    assert harness.emulator_counts(optty, before)["create_order"] == 1
