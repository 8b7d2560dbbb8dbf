"""Reconciliation: the shopper approved at the provider, then neither their return nor
Optty's callbacks reached the App. ``saleor-optty-app reconcile`` finds the payment and
reports it to Saleor, once."""

import re

from . import harness
from .harness import amounts, events_of, transaction

harness.require_lab()


def test_reconcile_reports_an_approval_whose_return_and_callbacks_never_came(
    app, saleor, storefront, shopper, optty
):
    optty.set_callback_options(delay=3600)  # Optty's callbacks are not delivered during the test
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    late_return = shopper.decide(payment.redirect_url, "approve")  # ... and the shopper's tab closes
    assert optty.order(payment.reference)["status"] == "SUCCESSFUL"
    unpaid = transaction(saleor.staff, payment.transaction_id)
    assert amounts(unpaid)["charged"] == 0 and not events_of(unpaid, "CHARGE_SUCCESS")
    assert storefront.complete(checkout.id)["order"] is None

    # Reconciliation first looks at an attempt 15 minutes after it began (or at its
    # next_check_at); the command has no option for that, so the attempt is made due now
    # in the App's database.
    updated = app.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from saleor_optty.app.models import Attempt\n"
        f"print(Attempt.objects.filter(reference={payment.reference!r})"
        ".update(next_check_at=timezone.now() - timedelta(minutes=1)))"
    )
    assert updated.strip() == "1"
    before = optty.stats()

    summary = app.run("reconcile").stdout.strip()
    match = re.fullmatch(r"saleor-optty-app reconcile: (\d+) checked \((.*)\)", summary)
    assert match and int(match.group(1)) >= 1 and "success" in match.group(2), summary
    assert harness.emulator_counts(optty, before)["get_order"] >= 1

    paid = transaction(saleor.staff, payment.transaction_id)
    assert amounts(paid)["charged"] == checkout.total
    assert len(events_of(paid, "CHARGE_SUCCESS")) == 1
    assert app.query(
        f"list(Attempt.objects.filter(reference={payment.reference!r}).values_list('state', 'reported'))"
    ) == [["successful", "CHARGE_SUCCESS"]]

    # Settled: a second run leaves it alone, and the shopper coming back late is told it is paid.
    app.run("reconcile")
    assert len(events_of(transaction(saleor.staff, payment.transaction_id), "CHARGE_SUCCESS")) == 1
    back = shopper.come_back(late_return)
    assert back["status"] == "success" and back["transactionId"] == payment.transaction_id

    completed = storefront.complete(checkout.id)
    assert completed["errors"] == []
    assert harness.order(saleor.staff, completed["order"]["id"])["chargeStatus"] == "FULL"
