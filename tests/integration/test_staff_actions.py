"""Capture, refund and void from the Dashboard, through Saleor's GraphQL API."""

from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.order.models import Order  # noqa: E402
from saleor.payment import ChargeStatus, TransactionKind  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin.models import OpttyOperation  # noqa: E402

from . import documents  # noqa: E402


def paid_order(storefront, provider="KLARNA"):
    reference, params = storefront.pay(provider)
    assert params["status"] == "success"
    order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
    return reference, order, Payment.objects.get(order=order, is_active=True)


def test_refunds_full_and_partial_each_with_its_own_reference(storefront, dashboard, optty):
    reference, order, payment = paid_order(storefront)
    order_id = documents.global_id("Order", order.pk)
    total = payment.captured_amount

    first = dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="5.00")
    assert first["errors"] == []
    second = dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount="2.50")
    assert second["errors"] == [] and second["order"]["paymentStatus"] == "PARTIALLY_REFUNDED"

    refunds = OpttyOperation.objects.filter(attempt__reference=reference, kind="refund", status="succeeded")
    assert sorted(r.amount for r in refunds) == [Decimal("2.50"), Decimal("5.00")]
    assert len({r.reference for r in refunds}) == 2
    at_optty = optty.order(reference)
    assert sorted(Decimal(str(r["amount"])) for r in at_optty["refunds"]) == [Decimal("2.50"), Decimal("5.00")]

    rest = dashboard(documents.ORDER_REFUND, "orderRefund", id=order_id, amount=str(total - Decimal("7.50")))
    assert rest["errors"] == [] and rest["order"]["paymentStatus"] == "FULLY_REFUNDED"
    payment.refresh_from_db()
    assert payment.charge_status == ChargeStatus.FULLY_REFUNDED


def test_an_over_refund_is_refused_with_optty_reason(storefront, dashboard, optty):
    reference, order, payment = paid_order(storefront)
    optty.portal_refund(reference, str(payment.captured_amount))  # refunded in Optty's portal
    refused = dashboard(documents.ORDER_REFUND, "orderRefund", id=documents.global_id("Order", order.pk), amount="1.00")
    assert [e["message"] for e in refused["errors"]] == ["Optty refused the refund: Over refund limit"]
    payment.refresh_from_db()
    assert payment.charge_status == ChargeStatus.FULLY_CHARGED
    failed = OpttyOperation.objects.get(attempt__reference=reference, kind="refund")
    assert not failed.succeeded and failed.error == "Over refund limit"


def test_without_auto_capture_staff_capture_from_the_dashboard(storefront, dashboard, optty_plugin, optty):
    optty_plugin(auto_capture=False)
    reference, order, payment = paid_order(storefront)
    assert payment.charge_status == ChargeStatus.NOT_CHARGED
    assert payment.transactions.filter(kind=TransactionKind.AUTH, is_success=True).count() == 1
    assert optty.order(reference)["request"]["autoCapture"] is False

    # Saleor's legacy payments allow one capture; KLARNA allows it to be partial.
    captured = dashboard(documents.ORDER_CAPTURE, "orderCapture", id=documents.global_id("Order", order.pk), amount="10.00")
    assert captured["errors"] == [] and captured["order"]["paymentStatus"] == "PARTIALLY_CHARGED"
    capture = OpttyOperation.objects.get(attempt__reference=reference, kind="capture")
    assert capture.succeeded and capture.amount == Decimal("10.00")
    at_optty = optty.order(reference)
    assert (at_optty["capture_status"], at_optty["captured_amount"]) == ("PARTIALLY_CAPTURED", Decimal("10.00"))


def test_void_an_uncaptured_authorisation(storefront, dashboard, optty_plugin, optty):
    optty_plugin(auto_capture=False)
    reference, order, payment = paid_order(storefront)
    voided = dashboard(documents.ORDER_VOID, "orderVoid", id=documents.global_id("Order", order.pk))
    assert voided["errors"] == []
    assert payment.transactions.filter(kind=TransactionKind.VOID, is_success=True).count() == 1
    assert optty.order(reference)["capture_status"] == "VOIDED"
    void = OpttyOperation.objects.get(attempt__reference=reference, kind="void")
    assert void.succeeded and void.amount == payment.total
