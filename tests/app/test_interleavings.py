"""Every ordering of the App's paths that learn of one approved payment, on real PostgreSQL.

The shopper has approved at the provider. Then two of the paths that learn of it run in
every order their steps can take: the shopper's return, Optty's callback, the
storefront's ``transactionProcess`` and reconciliation. Each stops where an ordering
matters: before it takes the lock (just after its ``GET /orders`` to Optty), after a
report reaches Saleor, and before it asks whether all the money is needed. Whatever the
ordering: Saleor hears CHARGE_SUCCESS exactly once (the App reports it once, not
relying on Saleor's de-duplication), Optty made one order, and the attempt is final.

A second test races two payments of one checkout: exactly one of them is given back.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from saleor_optty.app import reconcile, transitions
from saleor_optty.app.models import Attempt
from saleor_optty.optty import money
from saleor_optty.shared import operations

from ..interleavings import Scheduler, patch_checkpoints, schedules
from .shop import Shop

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL"), reason="row locks need PostgreSQL: set DATABASE_URL (CI does)"
)

#: Turns each actor gets: one to run to each checkpoint it can pass, one to finish.
STEPS = {"return": 4, "callback": 4, "process": 4, "reconcile": 4}
PAIRS = [("return", "callback"), ("return", "process"), ("callback", "process"), ("process", "reconcile")]
#: Every path asks Optty (``GET /orders``) just before it takes the lock, so pausing
#: before the lock is pausing after the GET; a path that finds the answer recorded
#: takes the lock without asking.
CHECKPOINTS = {
    (transitions._locked, "__enter__"): "lock:before",
    (transitions, "_send_report"): "after the report",
    (transitions, "_unaccounted_for"): "money needed?:before",
}


@pytest.fixture
def shop(installed_app, optty):
    optty.set_callback_options(delay=3600)  # Optty's own callbacks never come: the callback is an actor
    return Shop(installed_app, optty)


def actors(shop: Shop, payment, redirect: str) -> dict:
    def returning():
        parts = urlsplit(redirect)
        response = Client().get(f"{parts.path}?{parts.query}")
        return response.status_code, response.headers.get("Location", "")

    def callback():
        body = {"event": "ORDER_ASYNC_CALLBACK", "data": {"orderReference": payment.reference, "status": "SUCCESSFUL"}}
        path = urlsplit(transitions_callback_url(payment.reference)).path
        return Client().post(path, body, content_type="application/json").status_code

    def process():
        path, body, headers = shop.signed(payment.process_payload())
        return Client().post(path, body, content_type="application/json", headers=headers).json()

    def reconciling():
        Attempt.objects.filter(reference=payment.reference).update(created_at=timezone.now() - timedelta(hours=1))
        return reconcile.reconcile(Attempt.objects.filter(reference=payment.reference))

    return {"return": returning, "callback": callback, "process": process, "reconcile": reconciling}


def transitions_callback_url(reference: str) -> str:
    from saleor_optty.app.optty_views import callback_url

    return callback_url(reference)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
@pytest.mark.parametrize("pair", PAIRS, ids="+".join)
def test_every_ordering_reports_the_payment_once(shop, optty, pair):
    orderings = list(schedules({actor: STEPS[actor] for actor in pair}))
    for schedule in orderings:
        payment = shop.pay()
        approval = optty.decide(payment.reference, "approve")
        reports_before = len(shop.saleor.calls_to("transactionEventReport"))
        with pytest.MonkeyPatch.context() as monkeypatch:
            scheduler = Scheduler(blocked_after=0.25)
            patch_checkpoints(monkeypatch, scheduler, CHECKPOINTS)
            everyone = actors(shop, payment, approval["redirect"])
            results = scheduler.run({name: everyone[name] for name in pair}, schedule)
        where = f"ordering {'-'.join(schedule)}: {scheduler.trace}"
        for name, result in results.items():
            assert not isinstance(result, BaseException), f"{name} raised {result!r} in {where}"
        reports = [
            call for call in shop.saleor.calls_to("transactionEventReport")[reports_before:]
            if call.variables["type"] == "CHARGE_SUCCESS"
        ]  # fmt: skip
        assert len(reports) == 1, f"{len(reports)} CHARGE_SUCCESS reports in {where}"
        assert len(payment.events("CHARGE_SUCCESS")) == 1, where
        assert payment.saleor_amounts["charged"] == money.quantize(Decimal("80.00"), "AUD"), where
        assert payment.attempt.finalised_at is not None, where
    assert optty.stats()["requests"]["create_order"] == len(orderings)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_two_payments_of_one_checkout_confirmed_at_once_give_back_exactly_one(shop, optty):
    orderings = list(schedules({"first": STEPS["return"], "second": STEPS["return"]}))
    for schedule in orderings:
        checkout = shop.checkout("80.00")
        payments = {"first": shop.pay(checkout), "second": shop.pay(checkout, provider="AFTERPAY_AU")}
        redirects = {name: optty.decide(payment.reference, "approve")["redirect"] for name, payment in payments.items()}
        with pytest.MonkeyPatch.context() as monkeypatch:
            scheduler = Scheduler(blocked_after=0.25)
            patch_checkpoints(monkeypatch, scheduler, CHECKPOINTS)
            results = scheduler.run(
                {name: actors(shop, payments[name], redirects[name])["return"] for name in payments}, schedule
            )
        where = f"ordering {'-'.join(schedule)}: {scheduler.trace}"
        statuses = sorted(location.rsplit("status=", 1)[1] for _, location in results.values())
        assert statuses == ["error", "success"], where
        kept = [payment for payment in payments.values() if payment.saleor_amounts["charged"] == Decimal("80.00")]
        returned = [payment for payment in payments.values() if payment.saleor_amounts["refunded"] == Decimal("80.00")]
        assert len(kept) == 1 and len(returned) == 1, where
        assert Decimal(optty.order(returned[0].reference)["refunded_amount"]) == Decimal("80.00"), where
        assert Decimal(optty.order(kept[0].reference)["refunded_amount"]) == 0, where


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_difference_two_paths_find_at_once_goes_back_once(shop, optty):
    """The cart got cheaper while the shopper was at the provider: the return and a
    callback both find the difference to give back, in every order of their steps."""
    points = {
        (transitions._locked, "__enter__"): "lock:before",
        (operations, "record_give_back"): "give back:before",
        (operations, "send"): "after Optty's answer",
    }
    orderings = list(schedules({"return": 4, "callback": 4}))
    for schedule in orderings:
        payment = shop.pay()
        payment.checkout.total = Decimal("60.00")
        approval = optty.decide(payment.reference, "approve")
        with pytest.MonkeyPatch.context() as monkeypatch:
            scheduler = Scheduler(blocked_after=0.25)
            patch_checkpoints(monkeypatch, scheduler, points)
            everyone = actors(shop, payment, approval["redirect"])
            results = scheduler.run({name: everyone[name] for name in ("return", "callback")}, schedule)
        where = f"ordering {'-'.join(schedule)}: {scheduler.trace}"
        for name, result in results.items():
            assert not isinstance(result, BaseException), f"{name} raised {result!r} in {where}"
        assert Decimal(optty.order(payment.reference)["refunded_amount"]) == Decimal("20.00"), where
        assert payment.attempt.operations.count() == 1, where
        amounts = payment.saleor_amounts
        assert (amounts["charged"], amounts["refunded"]) == (Decimal("60.00"), Decimal("20.00")), where
