"""The ledger as the plugin stores it: captures, refunds and voids written before they are
sent, settled by Optty's answer or, when the answer was lost, by Optty's record (real
PostgreSQL in CI)."""

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from saleor_optty.shared import operations
from saleor_optty.plugin.models import OpttyOrder
from saleor_optty.optty import OpttyOutcomeUnknownError, OpttyUnavailableError, OpttyValidationError

from .conftest import order_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, optty):
    def pay(reference, *, auto_capture=True):
        client.create_order(order_request(reference, auto_capture=auto_capture))
        optty.decide(reference, "approve")
        return OpttyOrder.objects.create(
            reference=reference,
            channel_slug="default",
            checkout_token="c0ffee",
            payment_id=1,
            provider="KLARNA",
            amount=Decimal("80.00"),
            currency="USD",
            auto_capture=auto_capture,
            state="successful",
        )

    return pay


def refund(client, attempt, amount, reason=""):
    return operations.perform(client, attempt, "refund", Decimal(amount), source="dashboard", description=reason)


def test_each_refund_gets_its_own_reference_and_record(client, optty, paid):
    attempt = paid("ORD-1")
    first = refund(client, attempt, "10.00", reason="damaged")
    second = refund(client, attempt, "5.00")
    assert first.reference != second.reference and first.reference.startswith("ORD-1-R")
    assert [(op.amount, op.status, op.sends) for op in attempt.operations.order_by("pk")] == [
        (Decimal("10.00"), "succeeded", 1),
        (Decimal("5.00"), "succeeded", 1),
    ]
    # The description carries our reference: the one place Optty's record may echo it.
    assert [r["description"] for r in optty.order("ORD-1")["refunds"]] == [f"damaged [{first.reference}]", f"[{second.reference}]"]


def test_a_refused_operation_is_recorded_as_failed_with_optty_reason(client, paid):
    attempt = paid("ORD-2")
    with pytest.raises(OpttyValidationError):
        refund(client, attempt, "80.01")
    failed = attempt.operations.get()
    assert failed.status == "failed" and failed.error == "Over refund limit" and failed.settled_at


def test_an_operation_optty_certainly_did_not_process_is_failed_not_unknown(client, optty, paid):
    attempt = paid("ORD-3")
    optty.fail_next("refund", status=429, when="before")  # rate-limited: refused before processing
    with pytest.raises(OpttyUnavailableError):
        refund(client, attempt, "10.00")
    assert attempt.operations.get().status == "failed"
    assert optty.order("ORD-3")["refunded_amount"] == 0


@pytest.mark.parametrize("fault", ["fail_after", "drop_after", "hang"])
def test_a_lost_answer_leaves_the_operation_unknown_until_optty_record_settles_it_once(client, optty, paid, fault):
    attempt = paid("ORD-4")
    if fault == "fail_after":
        optty.fail_next("refund", status=500, when="after")
    elif fault == "drop_after":
        optty.drop_next("refund", when="after")
    else:
        optty.hang_next("refund", seconds=1.0)
    with pytest.raises(OpttyOutcomeUnknownError):
        refund(client, attempt, "10.00")
    operation = attempt.operations.get()
    assert operation.status == "unknown" and operation.sends == 1
    optty.clear_faults()
    deadline = time.monotonic() + 3
    while not optty.order("ORD-4")["refunds"] and time.monotonic() < deadline:
        time.sleep(0.05)  # a hung request is processed late

    first = operations.settle(attempt, client.get_order_details("ORD-4"))
    assert [op.pk for op in first.settled] == [operation.pk] and first.foreign_refunds == ()
    operation.refresh_from_db()
    assert operation.status == "succeeded" and operation.record_id and not operation.in_saleor
    assert [op.pk for op in operations.not_yet_in_saleor(attempt)] == [operation.pk]

    again = operations.settle(attempt, client.get_order_details("ORD-4"))
    assert again.settled == () and again.foreign_refunds == ()
    assert len(optty.order("ORD-4")["refunds"]) == 1  # sent once, whatever happened


def test_a_refund_made_in_optty_portal_is_recorded_once_beside_ours(client, optty, paid):
    attempt = paid("ORD-5")
    ours = refund(client, attempt, "10.00")
    optty.portal_refund("ORD-5", "7.50", reason="goodwill")
    first = operations.settle(attempt, client.get_order_details("ORD-5"))
    assert [(op.amount, op.source) for op in first.foreign_refunds] == [(Decimal("7.50"), "optty")]
    ours.refresh_from_db()
    assert ours.record_id  # claimed by ours, so never taken for a portal refund
    assert operations.settle(attempt, client.get_order_details("ORD-5")).foreign_refunds == ()
    assert attempt.operations.filter(kind="refund").count() == 2


def test_money_back_counts_succeeded_refunds_and_voids_only(client, paid):
    attempt = paid("ORD-6")
    refund(client, attempt, "10.00")
    with pytest.raises(OpttyValidationError):
        refund(client, attempt, "75.00")
    back = operations.money_back(attempt)
    assert (back.returned, back.owed, back.on_its_way) == (Decimal("10.00"), attempt.amount - Decimal("10.00"), False)


def test_capture_and_void_of_an_authorisation(client, optty, paid):
    captured = paid("ORD-7", auto_capture=False)
    operation = operations.perform(client, captured, "capture", Decimal("30.00"), source="dashboard")
    assert operation.succeeded and operation.kind == "capture"
    assert optty.order("ORD-7")["captured_amount"] == Decimal("30.00")

    voided = paid("ORD-8", auto_capture=False)
    assert operations.perform(client, voided, "void", Decimal("80.00"), source="dashboard").succeeded
    assert optty.order("ORD-8")["capture_status"] == "VOIDED"


def test_migrations_match_the_models():
    call_command("makemigrations", "saleor_optty", "--check", "--dry-run", stdout=StringIO())
