"""Captures, refunds and voids recorded in the plugin's own tables (real PostgreSQL in CI)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from saleor_optty import operations
from saleor_optty.models import OpttyOperation, OpttyOrder
from saleor_optty.optty import OpttyValidationError

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


def test_each_refund_gets_its_own_reference_and_record(client, optty, paid):
    attempt = paid("ORD-1")
    first = operations.refund(client, attempt, Decimal("10.00"), reason="damaged")
    second = operations.refund(client, attempt, Decimal("5.00"))
    assert first.reference != second.reference and first.reference.startswith("ORD-1-R")
    assert [(op.amount, op.succeeded) for op in attempt.operations.order_by("pk")] == [
        (Decimal("10.00"), True),
        (Decimal("5.00"), True),
    ]
    assert first.optty_id
    # Optty's description carries our reference, so a refund listed under Optty's own id is still ours.
    assert [r["description"] for r in optty.order("ORD-1")["refunds"]] == [f"damaged [{first.reference}]", f"[{second.reference}]"]


def test_a_refused_operation_is_recorded_with_optty_reason(client, paid):
    attempt = paid("ORD-2")
    with pytest.raises(OpttyValidationError):
        operations.refund(client, attempt, Decimal("80.01"))
    failed = attempt.operations.get()
    assert not failed.succeeded and failed.error == "Over refund limit"


def test_capture_and_void_of_an_authorisation(client, optty, paid):
    captured = paid("ORD-3", auto_capture=False)
    operation = operations.capture(client, captured, Decimal("30.00"))
    assert operation.succeeded and operation.kind == "capture"
    assert optty.order("ORD-3")["captured_amount"] == Decimal("30.00")

    voided = paid("ORD-4", auto_capture=False)
    assert operations.void(client, voided, Decimal("80.00")).succeeded
    assert optty.order("ORD-4")["capture_status"] == "VOIDED"


def test_give_back_refunds_captured_money_and_voids_authorisations(client, optty, paid):
    assert operations.give_back(client, paid("ORD-5"), captured=True, amount=Decimal("80.00"), reason="cart changed").startswith("refunded 80.00 USD")
    assert optty.order("ORD-5")["refunded_amount"] == Decimal("80.00")
    assert operations.give_back(client, paid("ORD-6", auto_capture=False), captured=False, amount=Decimal("80.00"), reason="x").startswith("voided")


def test_operation_references_are_unique_in_the_database(paid):
    attempt = paid("ORD-7")
    OpttyOperation.objects.create(order=attempt, kind="refund", reference="DUP", amount=Decimal(1), currency="USD")
    with pytest.raises(IntegrityError):
        OpttyOperation.objects.create(order=attempt, kind="refund", reference="DUP", amount=Decimal(1), currency="USD")


def test_migrations_match_the_models():
    call_command("makemigrations", "saleor_optty", "--check", "--dry-run", stdout=StringIO())


def test_the_database_in_use_is_reported():
    # CI sets DATABASE_URL, so this suite's database tests run on PostgreSQL there.
    import os

    expected = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected
