"""Every ordering of the paths that can complete one paid checkout, on real PostgreSQL.

The shopper has approved at the provider. Then, in every order their steps can take,
two of the paths that learn of it run through real Saleor: the shopper's return, a
callback from Optty, the storefront's ``checkoutComplete`` (the confirm path) and
reconciliation. Each stops at the checkpoints where an ordering matters: after its
``GET /orders`` to Optty, after Saleor has committed the capture of the confirm path,
and before Saleor creates the order. Whatever the ordering: one order, one capture, one
Optty order, and the payment still points at it.
"""

import uuid
from io import StringIO
from datetime import timedelta

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from saleor.checkout import complete_checkout  # noqa: E402
from saleor.checkout.models import Checkout  # noqa: E402
from saleor.graphql.tests.fixtures import ApiClient  # noqa: E402
from saleor.order.models import Order  # noqa: E402
from saleor.payment import TransactionKind  # noqa: E402
from saleor.payment.models import Payment, Transaction  # noqa: E402
from saleor.warehouse.models import Stock  # noqa: E402
from saleor_optty.plugin import reconcile  # noqa: E402
from saleor_optty.plugin.models import OpttyOrder, OpttyOrderState  # noqa: E402
from saleor_optty.optty import OpttyClient  # noqa: E402
from saleor_optty.plugin.gateway import OpttyGatewayPlugin  # noqa: E402

from . import documents  # noqa: E402
from .fixtures import Storefront  # noqa: E402
from ..interleavings import Scheduler, patch_checkpoints, schedules  # noqa: E402

#: Turns each actor gets: one to run to each checkpoint it passes, one to finish.
STEPS = {"confirm": 4, "callback": 3, "return": 3, "reconcile": 3}
PAIRS = [("confirm", "callback"), ("confirm", "return"), ("confirm", "reconcile"), ("callback", "return")]


def clone_checkout(template):
    """A new checkout like ``template``: each ordering pays a cart of its own."""
    lines = list(template.lines.all())
    checkout = Checkout.objects.get(pk=template.pk)
    checkout.pk = uuid.uuid4()
    for field in ("billing_address", "shipping_address"):
        address = getattr(checkout, field)
        if address is not None:
            address.pk = None
            address.save()
            setattr(checkout, field, address)
    checkout._state.adding = True
    checkout.save()
    for line in lines:
        line.pk = uuid.uuid4()
        line.checkout = checkout
        line._state.adding = True
        line.save()
    return checkout


def pause_at_checkpoints(monkeypatch) -> Scheduler:
    scheduler = Scheduler()
    confirm = OpttyGatewayPlugin.confirm_payment

    def confirm_then_pause_after_commit(self, payment_information, previous_value):
        response = confirm(self, payment_information, previous_value)
        if response.is_success and not response.action_required:
            # Saleor commits the capture, then opens another transaction to create the order.
            transaction.on_commit(lambda: scheduler.checkpoint("capture committed"))
        return response

    monkeypatch.setattr(OpttyGatewayPlugin, "confirm_payment", confirm_then_pause_after_commit)
    points = {
        (OpttyClient, "get_order"): "after GET /orders",
        (complete_checkout, "complete_checkout_post_payment_part"): "create order:before",
    }
    patch_checkpoints(monkeypatch, scheduler, points)
    return scheduler


def actors(storefront, optty, reference, approval):
    def fresh():
        return Storefront(None, Client(), optty, storefront.checkout)

    def make_old_enough():
        # Reconciliation looks only at attempts the return and callbacks had time for.
        OpttyOrder.objects.filter(reference=reference).update(created_at=timezone.now() - timedelta(hours=1))

    def reconcile_now():
        make_old_enough()
        return reconcile.reconcile(OpttyOrder.objects.filter(reference=reference))

    return {
        "return": lambda: Storefront.storefront_params(fresh().follow(approval["redirect"]))["status"],
        "callback": lambda: fresh().callback(reference).status_code,
        "confirm": lambda: ApiClient(user=None).post_graphql(documents.CHECKOUT_COMPLETE, {"id": storefront.checkout_id}).json(),
        "reconcile": reconcile_now,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("replica_in_threads")
@pytest.mark.parametrize("pair", PAIRS, ids="+".join)
def test_every_ordering_makes_one_order_from_one_optty_order(storefront, optty, pair):
    Stock.objects.update(quantity=100_000)  # one order per ordering
    orderings = list(schedules({actor: STEPS[actor] for actor in pair}))
    for schedule in orderings:
        shop = Storefront(storefront.api, Client(), optty, clone_checkout(storefront.checkout))
        with pytest.MonkeyPatch.context() as monkeypatch:
            scheduler = pause_at_checkpoints(monkeypatch)
            reference = shop.start("KLARNA")
            approval = optty.decide(reference, "approve")
            creates = optty.stats()["requests"]["create_order"]
            everyone = actors(shop, optty, reference, approval)
            results = scheduler.run({name: everyone[name] for name in pair}, schedule)
        why = f"ordering {'-'.join(schedule)}: {scheduler.trace}"
        assert_one_order(shop, optty, reference, results, creates, why)
    assert len(orderings) >= 20


def assert_one_order(shop, optty, reference, results, creates, why):
    for name, result in results.items():
        assert not isinstance(result, BaseException), (name, result, why)
    orders = Order.objects.filter(checkout_token=str(shop.checkout.pk))
    assert orders.count() == 1, why
    payment = Payment.objects.get(pk=OpttyOrder.objects.get(reference=reference).payment_id)
    assert payment.order_id == orders.get().pk, why
    captures = Transaction.objects.filter(payment=payment, kind=TransactionKind.CAPTURE, is_success=True)
    assert captures.count() == 1, why
    assert optty.stats()["requests"]["create_order"] == creates, f"a second Optty order was created; {why}"
    assert payment.psp_reference == reference, why
    if "return" in results:
        assert results["return"] == "success", why
    if "callback" in results:
        assert results["callback"] == 200, why
    if "confirm" in results:
        data = results["confirm"]["data"]["checkoutComplete"]
        assert data["errors"] == [] and data["order"] is not None, (data, why)
    attempt = OpttyOrder.objects.get(reference=reference)
    if attempt.finalised_at is None:
        # The confirm path may be the last to touch it: the order exists, and the next
        # return, callback or reconciliation finalises it without asking Optty.
        assert attempt.state == OpttyOrderState.SUCCESSFUL and not attempt.resolution, why
        reconcile.reconcile(OpttyOrder.objects.filter(reference=reference))
        attempt.refresh_from_db()
    assert attempt.finalised_at is not None and attempt.state == OpttyOrderState.SUCCESSFUL, why
    assert not attempt.resolution, why  # nothing was given back


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("replica_in_threads")
def test_a_confirm_request_that_dies_after_the_capture_leaves_the_order_to_reconciliation(storefront, optty, monkeypatch):
    """Saleor committed the capture, then the worker died before it made the order."""
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    confirm = OpttyGatewayPlugin.confirm_payment

    class WorkerDied(Exception):
        """Stands for the worker being killed between Saleor's two transactions."""

    def confirm_then_die(self, payment_information, previous_value):
        response = confirm(self, payment_information, previous_value)

        def die():
            raise WorkerDied

        transaction.on_commit(die)
        return response

    monkeypatch.setattr(OpttyGatewayPlugin, "confirm_payment", confirm_then_die)
    answer = ApiClient(user=None).post_graphql(documents.CHECKOUT_COMPLETE, {"id": storefront.checkout_id}).json()
    assert answer.get("errors") or answer["data"]["checkoutComplete"]["order"] is None, answer
    monkeypatch.undo()
    payment = Payment.objects.get(pk=OpttyOrder.objects.get(reference=reference).payment_id)
    assert payment.transactions.filter(kind=TransactionKind.CAPTURE, is_success=True).count() == 1
    assert payment.order_id is None
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.state == OpttyOrderState.SUCCESSFUL and attempt.finalised_at is None  # paid, no order: not final

    # Paid attempts without an order never age out of reconciliation.
    OpttyOrder.objects.filter(pk=attempt.pk).update(created_at=timezone.now() - timedelta(days=30))
    creates = optty.stats()["requests"]["create_order"]
    out = StringIO()
    call_command("optty_reconcile", stdout=out)
    assert f"{reference}: success" in out.getvalue(), out.getvalue()
    payment.refresh_from_db()
    assert payment.order_id is not None
    assert optty.stats()["requests"]["create_order"] == creates
    assert Order.objects.filter(checkout_token=str(storefront.checkout.pk)).count() == 1
