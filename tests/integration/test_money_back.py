"""What Saleor is told while money is uncertain, and money that must go back but has not."""

from datetime import timedelta
from decimal import Decimal
import threading
from io import StringIO

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from saleor.order.models import Order  # noqa: E402
from saleor.payment import ChargeStatus, TransactionKind  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin import reconcile, transitions  # noqa: E402
from saleor_optty.shared import reconciliation  # noqa: E402
from saleor_optty.plugin.models import OpttyNotification, OpttyOperation, OpttyOrder, OpttyOrderState  # noqa: E402

from . import documents  # noqa: E402


def paid(storefront):
    reference, params = storefront.pay("KLARNA")
    assert params["status"] == "success"
    order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
    return reference, order, Payment.objects.get(order=order)


def make_due():
    past = timezone.now() - timedelta(hours=2)
    OpttyOrder.objects.update(created_at=past, next_check_at=None)
    OpttyOperation.objects.update(created_at=past)


def test_a_refund_whose_answer_was_lost_is_reported_as_being_confirmed_then_recorded_once(storefront, optty, dashboard):
    reference, order, payment = paid(storefront)
    optty.fail_next("refund", status=500, when="after")  # Optty refunds, the answer is lost
    answer = dashboard(documents.ORDER_REFUND, "orderRefund", id=documents.global_id("Order", order.pk), amount="5.00")
    [message] = [error["message"] for error in answer["errors"]]
    assert message.startswith("Optty has not confirmed the refund of 5.00 USD yet") and "retrying this one is safe" in message
    payment.refresh_from_db()
    assert payment.captured_amount == payment.total  # Saleor does not yet show it...
    operation = OpttyOperation.objects.get(attempt__reference=reference, kind="refund")
    assert operation.status == "unknown"  # ...and does not show it as a plain failure either

    # The next callback settles it from Optty's record and shows it in Saleor, once.
    for _ in range(2):
        assert storefront.callback(reference).status_code == 200
    operation.refresh_from_db()
    payment.refresh_from_db()
    assert operation.status == "succeeded" and operation.in_saleor and operation.sends == 1
    assert payment.captured_amount == payment.total - Decimal("5.00")
    assert payment.transactions.filter(kind=TransactionKind.REFUND, is_success=True).count() == 1
    assert len(optty.order(reference)["refunds"]) == 1


def test_a_staff_retry_of_an_unsettled_refund_reuses_its_reference_and_sends_only_what_optty_lacks(storefront, optty, dashboard):
    reference, order, payment = paid(storefront)
    order_id = documents.global_id("Order", order.pk)
    optty.fail_next("refund", status=503, when="before")  # never processed, but the client cannot know
    assert dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="5.00")["errors"]
    first = OpttyOperation.objects.get(attempt__reference=reference, kind="refund")
    assert first.status == "unknown"

    retried = dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="5.00")
    assert retried["errors"] == [] and retried["order"]["paymentStatus"] == "PARTIALLY_REFUNDED"
    first.refresh_from_db()
    assert first.status == "succeeded" and first.sends == 2
    assert [r["reference"] for r in optty.order(reference)["refunds"]] == [first.reference]
    assert OpttyOperation.objects.filter(attempt__reference=reference, kind="refund").count() == 1


def test_a_staff_retry_after_optty_made_the_refund_sends_nothing(storefront, optty, dashboard):
    reference, order, payment = paid(storefront)
    order_id = documents.global_id("Order", order.pk)
    optty.drop_next("refund", when="after")
    assert dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="5.00")["errors"]
    refunds_sent = optty.stats()["requests"]["refund"]

    retried = dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="5.00")
    assert retried["errors"] == []
    assert optty.stats()["requests"]["refund"] == refunds_sent  # settled from /details, not sent again
    assert len(optty.order(reference)["refunds"]) == 1
    payment.refresh_from_db()
    assert payment.transactions.filter(kind=TransactionKind.REFUND, is_success=True).count() == 1


def test_a_refund_amount_finer_than_the_currency_is_refused_clearly(storefront, optty, dashboard):
    reference, order, payment = paid(storefront)
    answer = dashboard(documents.ORDER_REFUND, "orderRefund", id=documents.global_id("Order", order.pk), amount="1.005")
    assert [e["message"] for e in answer["errors"]] == ["1.005 is not an amount in USD: too many decimal places."]
    assert not OpttyOperation.objects.filter(attempt__reference=reference).exists()


def test_a_superseded_payment_whose_refund_fails_stays_open_until_reconciliation_returns_it(storefront, optty):
    first = storefront.start("KLARNA")
    storefront.create_payment("AFTERPAY_US")  # the first payment is now inactive
    optty.decide(first, "approve")
    optty.fail_next("refund", status=400)  # Optty refuses the give-back, this time

    response = storefront.callback(first)
    assert response.json()["status"] == "error"
    attempt = OpttyOrder.objects.get(reference=first)
    assert attempt.is_returning and attempt.finalised_at is None, "recorded as returned while it was not"
    assert optty.order(first)["refunded_amount"] == 0
    assert OpttyNotification.objects.filter(reference=first, event="give back", outcome__startswith="not yet returned").exists()
    history = StringIO()
    call_command("optty_history", first, stdout=history)
    assert "not yet returned: superseded by a newer payment" in history.getvalue()

    make_due()
    results = reconcile.reconcile(reconcile.due_attempts())
    assert [r.reference for r in results] == [first]
    attempt.refresh_from_db()
    assert not attempt.is_returning and attempt.finalised_at is not None
    assert optty.order(first)["refunded_amount"] == optty.order(first)["amount"]
    payment = Payment.objects.get(pk=attempt.payment_id)
    assert payment.charge_status == ChargeStatus.FULLY_REFUNDED and not payment.is_active
    assert not Order.objects.filter(checkout_token=str(storefront.checkout.pk)).exists()


def test_a_refusal_is_checked_again_by_a_callback_and_a_late_success_becomes_the_order(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.fail_next("get_order", status=404)  # say, the merchant's Optty environment was wrong
    make_due()
    out = StringIO()
    call_command("optty_reconcile", stdout=out)
    assert f"{reference}: error (Optty has no such order)" in out.getvalue()
    assert OpttyOrder.objects.get(reference=reference).state == OpttyOrderState.FAILED

    optty.decide(reference, "approve")  # Optty had it after all, and it is paid
    assert storefront.callback(reference).json() == {"status": "success"}
    order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
    payment = Payment.objects.get(order=order)
    assert payment.charge_status == ChargeStatus.FULLY_CHARGED
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.state == OpttyOrderState.SUCCESSFUL and attempt.finalised_at is not None and not attempt.resolution


def test_a_pending_read_from_before_the_approval_never_takes_a_paid_attempt_back(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "pending")
    attempt = OpttyOrder.objects.get(reference=reference)
    client = reconcile.saleor.active_plugin(attempt.channel_slug).client
    stale = client.get_order(reference)  # one path reads PENDING...
    optty.set_status(reference, "SUCCESSFUL")
    assert storefront.callback(reference).json() == {"status": "success"}  # ...another records the approval
    OpttyOrder.objects.filter(pk=attempt.pk).update(finalised_at=None)  # paid, its order not yet made

    assert transitions.apply(client, attempt, stale, source="return").status == "pending"
    assert OpttyOrder.objects.get(pk=attempt.pk).state == OpttyOrderState.SUCCESSFUL


def test_a_declined_attempt_costs_a_callback_one_get(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "decline")
    assert storefront.callback(reference).json() == {"status": "declined"}
    calls = optty.stats()["requests"]["get_order"]
    assert storefront.callback(reference).json() == {"status": "declined"}
    assert optty.stats()["requests"]["get_order"] == calls + 1


def test_one_attempt_that_raises_does_not_stop_reconciliation_and_waits_longer_next_time(storefront, optty, monkeypatch):
    broken = storefront.start("KLARNA")
    optty.decide(broken, "approve")
    other = OpttyOrder.objects.get(reference=broken)
    other.pk, other.reference, other.payment_id = None, "T-NEVER-STORED", 0
    other.save()  # a second stale attempt, which Optty never stored
    make_due()
    OpttyOrder.objects.filter(reference=broken).update(created_at=timezone.now() - timedelta(hours=3))  # looked at first
    original = transitions.check_and_apply

    def explode_for_one(client, attempt, **kwargs):
        if attempt.reference == broken:
            raise RuntimeError("database went away")
        return original(client, attempt, **kwargs)

    monkeypatch.setattr(transitions, "check_and_apply", explode_for_one)
    results = [(r.reference, r.status) for r in reconcile.reconcile(reconcile.due_attempts())]
    assert results == [(broken, "error"), ("T-NEVER-STORED", "error")]
    assert OpttyOrder.objects.get(reference="T-NEVER-STORED").resolution == transitions.UNKNOWN_TO_OPTTY
    waiting = OpttyOrder.objects.get(reference=broken)
    assert waiting.next_check_at > timezone.now() and waiting.checks == 1
    assert reconcile.reconcile(reconcile.due_attempts()) == []  # neither is due again yet

    monkeypatch.undo()
    OpttyOrder.objects.filter(reference=broken).update(next_check_at=timezone.now())
    assert [(r.reference, r.status) for r in reconcile.reconcile(reconcile.due_attempts())] == [(broken, "success")]


@pytest.mark.django_db(transaction=True)
def test_two_reconciliation_runs_never_overlap():
    results = []

    def second_run():
        try:
            results.append(reconcile.reconcile(OpttyOrder.objects.all()))
        finally:
            connections.close_all()

    with reconciliation._single_run(reconcile.RUN_LOCK) as running:
        assert running
        thread = threading.Thread(target=second_run)
        thread.start()
        thread.join(10)
    assert results == [None]  # the second run saw the first one's lock and did nothing
    assert reconcile.reconcile(OpttyOrder.objects.none()) == []  # free again
