"""Every Optty call of every path, failing every way, through real Saleor.

For each path (checkout, the shopper's return, a callback, the confirm path,
reconciliation, the Dashboard's capture, refund and void) and each Optty call it makes,
the call fails in one of three ways: before Optty processed it (a 503), after Optty
processed it with the answer lost (a 500 once the work is done), or Optty hangs past
the client's timeout and processes it late. Then the dust settles as it would in a
shop: Optty's callback arrives, staff retry what the Dashboard said is being confirmed,
reconciliation runs. Afterwards Optty's record and Saleor's agree, nothing happened
twice, and no paid order is missing.
"""

import time
from io import StringIO
from datetime import timedelta
from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from saleor.order.models import Order  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin import webhooks  # noqa: E402
from saleor_optty.plugin.models import OpttyOperation, OpttyOrder  # noqa: E402

from . import documents  # noqa: E402

FAULTS = ("before", "lost", "hang")
#: Longer than the client's read timeout (4.5 s): the client gives up, Optty finishes later.
HANG_SECONDS = 5.0
#: A read is retried by the client; a fault meant to reach the path must outlast the retries.
READ_ATTEMPTS = 3
PATHS = [
    ("checkout", "create_order"),
    ("return", "get_order"),
    ("callback", "get_order"),
    ("confirm", "get_order"),
    ("reconcile", "get_order"),
    ("refund callback", "details"),
    ("reconcile", "details"),
    ("dashboard", "capture"),
    ("dashboard", "refund"),
    ("dashboard", "void"),
]
WRITES = {"create_order", "capture", "refund", "void"}


def inject(optty, endpoint, fault):
    count = 1 if endpoint in WRITES else READ_ATTEMPTS
    if fault == "before":
        optty.fail_next(endpoint, status=503, when="before", count=count)
    elif fault == "lost":
        optty.fail_next(endpoint, status=500, when="after", count=count)
    else:
        optty.hang_next(endpoint, seconds=HANG_SECONDS)


def age_everything():
    """Let reconciliation see every attempt and settle every operation, as hours later."""
    past = timezone.now() - timedelta(hours=2)
    OpttyOrder.objects.update(created_at=past, next_check_at=None)
    OpttyOperation.objects.update(created_at=past)


def let_the_dust_settle(storefront, optty, reference, fault, retry=None):
    optty.clear_faults()
    if fault == "hang":
        time.sleep(HANG_SECONDS)  # Optty finishes what it hung on
    if retry is not None:
        retry()
    storefront.callback(reference)
    age_everything()
    call_command("optty_reconcile", stdout=StringIO())


def assert_records_agree(storefront, optty, reference):
    at_optty = optty.order(reference)
    attempt = OpttyOrder.objects.get(reference=reference)
    payment = Payment.objects.get(pk=attempt.payment_id)
    ledger = list(attempt.operations.all())
    # Saleor's payment nets refunds out of what it calls captured.
    assert payment.captured_amount == at_optty["captured_amount"] - at_optty["refunded_amount"], (payment, at_optty)
    for kind, moved in (("capture", "captures"), ("refund", "refunds"), ("void", "voids")):
        ours = [op for op in ledger if op.kind == kind and op.succeeded]
        # Optty's automatic capture at approval is no operation of the plugin's.
        theirs = [m for m in at_optty[moved] if kind != "capture" or m["reference"]]
        assert len(ours) == len(theirs), (kind, ours, theirs)
        assert sum((op.amount for op in ours), Decimal(0)) == sum((Decimal(str(m["amount"])) for m in theirs), Decimal(0))
    # No movement under one reference twice.
    for moved in ("captures", "refunds", "voids"):
        references = [m["reference"] for m in at_optty[moved] if m["reference"]]  # portal refunds have none
        assert len(references) == len(set(references)), references
    if at_optty["status"] == "SUCCESSFUL":
        orders = Order.objects.filter(checkout_token=str(storefront.checkout.pk))
        given_back = at_optty["refunded_amount"] + at_optty["voided_amount"] >= at_optty["amount"]
        assert orders.count() == 1 or given_back, "a paid order is missing"
        assert attempt.finalised_at is not None
    assert not [op for op in ledger if not op.settled], [(op.reference, op.status) for op in ledger]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("path", "endpoint"), PATHS, ids=[f"{p}:{e}" for p, e in PATHS])
def test_every_call_of_every_path_failing_every_way(storefront, optty, optty_plugin, dashboard, path, endpoint, fault):
    if endpoint in ("capture", "void"):
        optty_plugin(auto_capture=False)
    retry = None

    if path == "checkout":
        assert storefront.create_payment("KLARNA")["errors"] == []
        inject(optty, endpoint, fault)
        first = storefront.complete()
        assert first["errors"] and "Optty" in first["errors"][0]["message"], first
        assert optty.stats()["requests"]["create_order"] == 1  # never re-sent blindly
        optty.clear_faults()
        time.sleep(HANG_SECONDS if fault == "hang" else 0)
        reference, params = storefront.pay("KLARNA")  # the shopper tries again
        assert params["status"] == "success"
    else:
        reference = storefront.start("KLARNA")
        approval = optty.decide(reference, "approve")

    if path == "return":
        inject(optty, endpoint, fault)
        params = storefront.storefront_params(storefront.follow(approval["redirect"]))
        assert params["status"] in ("success", "pending")
    elif path == "callback":
        inject(optty, endpoint, fault)
        assert storefront.callback(reference).status_code in (200, 503)
    elif path == "confirm":
        inject(optty, endpoint, fault)
        completed = storefront.complete()
        assert completed["errors"] or completed["order"], completed
    elif path == "reconcile":
        if endpoint == "details":
            storefront.callback(reference)  # paid; then a refund made in Optty's portal to settle
            optty.portal_refund(reference, "1.00")
        age_everything()
        inject(optty, endpoint, fault)
        call_command("optty_reconcile", stdout=StringIO())
        if endpoint == "details":
            storefront.callback(reference, url=webhooks.merchant_webhook_url(storefront.checkout.channel.slug),
                                body={"event": "REFUND_CALLBACK", "data": {"orderReference": reference}})  # fmt: skip
    elif path == "refund callback":
        storefront.callback(reference)
        optty.portal_refund(reference, "1.00")
        inject(optty, endpoint, fault)
        url = webhooks.merchant_webhook_url(storefront.checkout.channel.slug)
        body = {"event": "REFUND_CALLBACK", "data": {"orderReference": reference}}
        assert storefront.callback(reference, url=url, body=body).status_code in (200, 503)
        retry = lambda: storefront.callback(reference, url=url, body=body)  # noqa: E731 - Optty retries a 503
    elif path == "dashboard":
        storefront.callback(reference)
        order = Order.objects.get(checkout_token=str(storefront.checkout.pk))
        order_id = documents.global_id("Order", order.pk)
        document, key, variables = {
            "capture": (documents.ORDER_CAPTURE, "orderCapture", {"amount": str(order.total_gross_amount)}),
            "refund": (documents.ORDER_REFUND, "orderRefund", {"amount": "5.00"}),
            "void": (documents.ORDER_VOID, "orderVoid", {}),
        }[endpoint]
        inject(optty, endpoint, fault)
        answer = dashboard(document, key, id=order_id, **variables)
        if answer["errors"]:
            message = answer["errors"][0]["message"]
            assert "being checked with Optty" in message or "Optty" in message, message
        assert optty.stats()["requests"][endpoint] == 1  # never re-sent blindly

        def retry():
            # Staff retry what the Dashboard reported as not done; the message says a retry is safe.
            if answer["errors"]:
                dashboard(document, key, id=order_id, **variables)

    let_the_dust_settle(storefront, optty, reference, fault, retry)
    assert_records_agree(storefront, optty, reference)
