"""Optty's callbacks and the reconciliation that covers for missing ones."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from saleor.checkout.models import Checkout  # noqa: E402
from saleor.order.models import Order  # noqa: E402
from saleor.payment import ChargeStatus, TransactionKind  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin import webhooks  # noqa: E402
from saleor_optty.plugin.models import OpttyNotification, OpttyOperation, OpttyOrder, OpttyOrderState  # noqa: E402


def orders_of(storefront):
    return Order.objects.filter(checkout_token=str(storefront.checkout.pk))


def get_order_calls(optty):
    return optty.stats()["requests"]["get_order"]


def test_the_shopper_who_never_returns_still_gets_exactly_one_order(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")

    response = storefront.callback(reference)
    assert response.status_code == 200 and response.json() == {"status": "success"}
    order = orders_of(storefront).get()
    payment = Payment.objects.get(order=order)
    assert payment.charge_status == ChargeStatus.FULLY_CHARGED

    calls = get_order_calls(optty)
    for _ in range(3):  # Optty's retries and duplicates
        assert storefront.callback(reference).status_code == 200
    assert get_order_calls(optty) == calls  # duplicates need no call to Optty
    late = storefront.storefront_params(storefront.follow(storefront.redirect_for(reference, "SUCCESSFUL")))
    assert late["status"] == "success" and late["orderId"]
    assert get_order_calls(optty) == calls == 1  # the late return needed no call either
    assert orders_of(storefront).count() == 1
    assert payment.transactions.filter(kind=TransactionKind.CAPTURE, is_success=True).count() == 1


def test_a_callback_body_is_only_a_trigger(storefront, optty):
    reference = storefront.start("KLARNA")  # the shopper has not approved anything
    forged = {"event": "ORDER_ASYNC_CALLBACK", "data": {"orderReference": reference, "status": "SUCCESSFUL"}}
    response = storefront.callback(reference, body=forged)
    assert response.json() == {"status": "pending"}
    assert not orders_of(storefront).exists()


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]", json.dumps({"event": 5, "data": "x"})])
def test_malformed_callback_bodies_still_trigger_a_safe_recheck(storefront, optty, body):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    assert storefront.callback(reference, body=body).status_code == 200
    assert orders_of(storefront).count() == 1


def test_a_wrong_url_key_is_refused_and_changes_nothing(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    url = optty.order(reference)["request"]["dynamicCallbackUrl"]
    response = storefront.callback(reference, url=url[:-4] + "0000")
    assert response.status_code == 403
    assert get_order_calls(optty) == 0 and not orders_of(storefront).exists()
    assert OpttyNotification.objects.filter(event="unauthenticated").count() == 1


def test_an_unknown_reference_is_acknowledged(storefront, optty):
    url = webhooks.callback_url(storefront.checkout.channel.slug, "T-NEVER-EXISTED")
    response = storefront.browser.post(url.split("127.0.0.1:9", 1)[1], data="{}", content_type="application/json")
    assert response.status_code == 200 and response.json() == {"status": "unknown"}


def test_optty_unreachable_during_the_recheck_asks_optty_to_retry(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    optty.fail_next("get_order", count=3, status=503)
    assert storefront.callback(reference).status_code == 503
    assert not orders_of(storefront).exists()
    assert storefront.callback(reference).status_code == 200  # Optty's retry
    assert orders_of(storefront).count() == 1


def test_pending_then_successful(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "pending")
    assert storefront.callback(reference).json() == {"status": "pending"}
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.state == OpttyOrderState.PENDING and attempt.finalised_at is None
    assert not orders_of(storefront).exists()

    optty.set_status(reference, "SUCCESSFUL")
    assert storefront.callback(reference).json() == {"status": "success"}
    assert orders_of(storefront).count() == 1


def test_a_declined_callback_refuses_the_payment_and_keeps_the_checkout(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "decline")
    assert storefront.callback(reference).json() == {"status": "declined"}
    payment = Payment.objects.get(checkout=storefront.checkout)
    assert payment.charge_status == ChargeStatus.REFUSED
    assert Checkout.objects.filter(pk=storefront.checkout.pk).exists()


def test_an_amount_mismatch_returns_the_money_and_makes_no_order(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    OpttyOrder.objects.filter(reference=reference).update(amount=Decimal("1.00"))  # what Saleor expected

    assert storefront.callback(reference).json() == {"status": "error"}
    assert not orders_of(storefront).exists()
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.resolution == "The paid amount does not match the order; the payment was returned."
    assert "Optty reports" in attempt.returning and attempt.finalised_at is not None
    refund = OpttyOperation.objects.get(attempt=attempt, kind="refund", source="plugin")
    assert refund.succeeded and refund.amount == optty.order(reference)["amount"]
    assert optty.order(reference)["refunded_amount"] == optty.order(reference)["amount"]


@pytest.mark.parametrize("added", [2, -1], ids=["dearer", "cheaper"])
def test_a_cart_changed_mid_payment_is_refunded_not_ordered(storefront, optty, added):
    reference = storefront.start("KLARNA")
    line = storefront.checkout.lines.first()
    line.quantity += added
    line.save(update_fields=["quantity"])
    Checkout.objects.filter(pk=storefront.checkout.pk).update(price_expiration=timezone.now())
    optty.decide(reference, "approve")

    assert storefront.callback(reference).json() == {"status": "error"}
    assert not orders_of(storefront).exists()
    payment = Payment.objects.get(pk=OpttyOrder.objects.get(reference=reference).payment_id)
    assert payment.charge_status == ChargeStatus.FULLY_REFUNDED
    assert optty.order(reference)["refunded_amount"] == optty.order(reference)["amount"]


def test_a_superseded_payment_is_returned(storefront, optty):
    first = storefront.start("KLARNA")
    storefront.create_payment("AFTERPAY_US")  # the shopper changed their mind; the first payment is inactive
    optty.decide(first, "approve")  # ...but approved the first one in another tab

    assert storefront.callback(first).json() == {"status": "error"}
    assert not orders_of(storefront).exists()
    assert optty.order(first)["refunded_amount"] == optty.order(first)["amount"]
    assert "superseded" in OpttyOrder.objects.get(reference=first).returning


def test_a_deleted_checkout_is_refunded(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    Checkout.objects.filter(pk=storefront.checkout.pk).delete()

    assert storefront.callback(reference).json() == {"status": "error"}
    assert optty.order(reference)["refunded_amount"] == optty.order(reference)["amount"]
    assert OpttyOrder.objects.get(reference=reference).returning.startswith("checkout no longer exists")


def test_a_refund_made_in_optty_portal_is_recorded_once(storefront, optty):
    reference, _ = storefront.pay("KLARNA")
    payment = Payment.objects.get(order=orders_of(storefront).get())
    optty.portal_refund(reference, "4.00")
    webhook_url = webhooks.merchant_webhook_url(storefront.checkout.channel.slug)
    body = {"event": "REFUND_CALLBACK", "data": {"orderReference": reference, "refundAmount": "4.00"}}
    for _ in range(3):  # delivered more than once
        assert storefront.callback(reference, url=webhook_url, body=body).status_code == 200

    refunds = payment.transactions.filter(kind=TransactionKind.REFUND, is_success=True)
    assert [refund.amount for refund in refunds] == [Decimal("4.00")]
    payment.refresh_from_db()
    assert payment.charge_status == ChargeStatus.PARTIALLY_REFUNDED
    assert OpttyOperation.objects.get(attempt__reference=reference, kind="refund").source == "optty"


def test_a_dashboard_refund_is_not_recorded_again_by_its_callback(storefront, optty, staff_api_client, permission_group_manage_orders):
    from saleor.graphql.tests.utils import get_graphql_content

    from . import documents

    reference, params = storefront.pay("KLARNA")
    permission_group_manage_orders.user_set.add(staff_api_client.user)
    refunded = staff_api_client.post_graphql(documents.ORDER_REFUND, {"id": params["orderId"], "amount": "3.00"})
    assert get_graphql_content(refunded)["data"]["orderRefund"]["errors"] == []
    webhook_url = webhooks.merchant_webhook_url(storefront.checkout.channel.slug)
    storefront.callback(reference, url=webhook_url, body={"event": "REFUND_CALLBACK", "data": {"orderReference": reference}})
    payment = Payment.objects.get(order=orders_of(storefront).get())
    assert payment.transactions.filter(kind=TransactionKind.REFUND, is_success=True).count() == 1


def test_reconcile_applies_outcomes_no_callback_delivered(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")  # neither the shopper nor Optty's callback ever arrive
    OpttyOrder.objects.filter(reference=reference).update(created_at=timezone.now() - timedelta(hours=1))

    out = StringIO()
    call_command("optty_reconcile", stdout=out)
    assert f"{reference}: success" in out.getvalue()
    assert orders_of(storefront).count() == 1

    calls = get_order_calls(optty)
    out = StringIO()
    call_command("optty_reconcile", stdout=out)  # a second run changes nothing
    assert "optty_reconcile: 0 order(s) checked" in out.getvalue()
    assert get_order_calls(optty) == calls and orders_of(storefront).count() == 1


def test_reconcile_leaves_young_and_pending_orders_pending(storefront, optty):
    young = storefront.start("KLARNA")
    optty.decide(young, "approve")
    call_command("optty_reconcile", stdout=StringIO())
    assert not orders_of(storefront).exists()  # the shopper may still be on their way back

    OpttyOrder.objects.filter(reference=young).update(created_at=timezone.now() - timedelta(hours=1))
    optty.set_status(young, "PENDING")
    call_command("optty_reconcile", stdout=StringIO())
    attempt = OpttyOrder.objects.get(reference=young)
    assert attempt.state == OpttyOrderState.PENDING and attempt.finalised_at is None


def test_reconcile_fails_an_order_optty_never_stored(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.reset()  # as if the create call had failed before Optty stored the order
    OpttyOrder.objects.filter(reference=reference).update(created_at=timezone.now() - timedelta(hours=1))

    out = StringIO()
    call_command("optty_reconcile", stdout=out)
    assert f"{reference}: error (Optty has no such order)" in out.getvalue()
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.state == OpttyOrderState.FAILED and attempt.finalised_at is not None
    assert Payment.objects.get(pk=attempt.payment_id).charge_status == ChargeStatus.REFUSED
    assert not orders_of(storefront).exists()


def test_the_celery_task_reconciles_too(storefront, optty):
    from saleor_optty.plugin.tasks import reconcile_optty_orders

    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    OpttyOrder.objects.filter(reference=reference).update(created_at=timezone.now() - timedelta(hours=1))
    assert reconcile_optty_orders.delay().get() == {"success": 1}
    assert orders_of(storefront).count() == 1


def test_history_shows_an_orders_trail(storefront, optty):
    reference, _ = storefront.pay("KLARNA")
    storefront.callback(reference)
    out = StringIO()
    call_command("optty_history", reference, "--payloads", stdout=out)
    text = out.getvalue()
    assert f"Optty order {reference}" in text and "state successful" in text
    assert "return: success" in text and "ORDER_ASYNC_CALLBACK: already final (success); acknowledged" in text
    assert "ada@example.com" not in text


def test_after_the_confirm_path_made_the_order_callbacks_and_the_return_need_no_recheck(storefront, optty):
    reference = storefront.start("KLARNA")
    optty.decide(reference, "approve")
    assert storefront.complete()["order"]  # checkoutComplete verified with Optty and made the order
    calls = get_order_calls(optty)

    assert storefront.callback(reference).json() == {"status": "success"}
    late = storefront.storefront_params(storefront.follow(storefront.redirect_for(reference, "SUCCESSFUL")))
    assert late["status"] == "success" and late["orderId"]
    assert get_order_calls(optty) == calls
    attempt = OpttyOrder.objects.get(reference=reference)
    assert attempt.finalised_at is not None  # so reconciliation leaves it alone too
    assert orders_of(storefront).count() == 1
