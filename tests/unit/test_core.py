"""The shared rules: the verdict on Optty's verified state, and how the ledger settles."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from saleor_optty.core.decision import Verdict, decide
from saleor_optty.core.ledger import (
    CLOCK_SKEW,
    SETTLE_WINDOW,
    Operation,
    OperationKind,
    OperationStatus,
    settle,
)
from saleor_optty.optty import OrderDetails, OrderStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def status(state="SUCCESSFUL", amount="80.00", currency="USD", capture_status=""):
    return OrderStatus.from_wire(
        {"merchantReference": "R", "status": state, "amount": amount, "currency": currency, "captureStatus": capture_status}
    )


@pytest.mark.parametrize(
    ("state", "verdict"),
    [("PENDING", Verdict.PENDING), ("whatever", Verdict.PENDING), ("DECLINED", Verdict.REFUSED),
     ("CANCELED", Verdict.REFUSED), ("ERROR", Verdict.REFUSED), ("SUCCESSFUL", Verdict.PAID)],
)  # fmt: skip
def test_the_verdict_follows_optty_status(state, verdict):
    assert decide(status(state), amount=Decimal("80.00"), currency="USD", auto_capture=True).verdict is verdict


@pytest.mark.parametrize(("amount", "currency"), [("79.99", "USD"), ("80.01", "USD"), ("80.00", "AUD")])
def test_a_success_for_other_money_is_a_mismatch_holding_what_optty_took(amount, currency):
    decision = decide(status(amount=amount, currency=currency), amount=Decimal("80.00"), currency="USD", auto_capture=True)
    assert decision.verdict is Verdict.MISMATCH
    assert decision.amount == Decimal(amount) and decision.reason


def test_capture_follows_auto_capture_or_optty_capture_status():
    def captured(auto, capture_status):
        return decide(status(capture_status=capture_status), amount=Decimal("80.00"), currency="USD", auto_capture=auto).captured

    assert captured(True, "") and captured(False, "CAPTURED") and not captured(False, "NOT_CAPTURED")


def details(refunds=(), captures=(), capture_status="CAPTURED", voids=None):
    wire = {
        "merchantReference": "R",
        "status": "SUCCESSFUL",
        "amount": "80.00",
        "currency": "USD",
        "captureStatus": capture_status,
        "refunds": list(refunds),
        "orderCaptures": list(captures),
    }
    if voids is not None:
        wire["orderVoids"] = voids
    return OrderDetails.from_wire(wire)


def refund(refund_id, amount, minutes, **extra):
    return {"refundId": refund_id, "amount": amount, "currency": "USD", "status": "SUCCESSFUL",
            "createdAt": (NOW + timedelta(minutes=minutes)).isoformat(), "refundReason": "", **extra}  # fmt: skip


def op(key, amount, *, minutes=0, kind=OperationKind.REFUND, status=OperationStatus.UNKNOWN, reference=None, record_id=""):
    return Operation(key, kind, reference or f"R-R{key}", Decimal(amount), "USD", status, NOW + timedelta(minutes=minutes), record_id)


def by_key(result):
    return {s.key: (s.status, s.record_id) for s in result.settlements}


def test_an_unknown_refund_is_settled_by_amount_after_it_was_requested_and_a_portal_refund_stays_foreign():
    ops = [op(1, "10.00", minutes=5)]
    record = details(refunds=[refund("portal", "10.00", minutes=-30), refund("ours", "10.00", minutes=5)])
    result = settle(ops, record, now=NOW + timedelta(minutes=6))
    assert by_key(result) == {1: (OperationStatus.SUCCEEDED, "ours")}
    assert [entry.record_id for entry in result.foreign_refunds] == ["portal"]


def test_an_echoed_reference_wins_over_amount_and_time():
    ops = [op(1, "10.00"), op(2, "10.00", minutes=1)]
    record = details(refunds=[refund("a", "10.00", 1, refundReason="[R-R2]"), refund("b", "10.00", 2)])
    result = settle(ops, record, now=NOW + timedelta(minutes=3))
    assert by_key(result) == {1: (OperationStatus.SUCCEEDED, "b"), 2: (OperationStatus.SUCCEEDED, "a")}
    assert result.foreign_refunds == ()


def test_a_refund_answered_at_once_claims_its_entry_so_it_is_never_recorded_again_as_foreign():
    # Optty's documented /details has no refundReference: a Dashboard refund is known by amount and time.
    ops = [op(1, "25.00", status=OperationStatus.SUCCEEDED)]
    result = settle(ops, details(refunds=[refund("x", "25.00", 0)]), now=NOW)
    assert by_key(result) == {1: (OperationStatus.SUCCEEDED, "x")}
    assert result.foreign_refunds == ()
    again = settle([op(1, "25.00", status=OperationStatus.SUCCEEDED, record_id="x")], details(refunds=[refund("x", "25.00", 0)]), now=NOW)
    assert again.foreign_refunds == ()


def test_each_entry_accounts_for_one_operation_only():
    ops = [op(1, "10.00"), op(2, "10.00", minutes=1)]
    result = settle(ops, details(refunds=[refund("only", "10.00", 2)]), now=NOW + timedelta(minutes=3))
    assert by_key(result) == {1: (OperationStatus.SUCCEEDED, "only")}


def test_an_entry_from_before_the_request_is_not_ours_beyond_the_clock_skew():
    ops = [op(1, "10.00", minutes=10)]
    early = refund("early", "10.00", minutes=10 - CLOCK_SKEW.total_seconds() / 60 - 1)
    result = settle(ops, details(refunds=[early]), now=NOW + timedelta(minutes=11))
    assert by_key(result) == {} and [e.record_id for e in result.foreign_refunds] == ["early"]


def test_absence_means_failure_only_after_the_settle_window():
    ops = [op(1, "10.00")]
    assert by_key(settle(ops, details(), now=NOW + SETTLE_WINDOW - timedelta(seconds=1))) == {}
    late = settle(ops, details(), now=NOW + SETTLE_WINDOW)
    assert by_key(late) == {1: (OperationStatus.FAILED, "")}


def test_a_failed_or_pending_entry_settles_accordingly():
    failed = refund("f", "10.00", 1, status="FAILED", refundFailureReason="Provider refused")
    result = settle([op(1, "10.00")], details(refunds=[failed]), now=NOW + timedelta(minutes=2))
    assert result.settlements[0].status is OperationStatus.FAILED and result.settlements[0].reason == "Provider refused"
    pending = refund("p", "10.00", 1, status="PENDING")
    result = settle([op(1, "10.00")], details(refunds=[pending]), now=NOW + SETTLE_WINDOW * 2)
    assert by_key(result) == {1: (OperationStatus.UNKNOWN, "p")}  # listed: never declared failed
    assert result.foreign_refunds == ()


def test_a_requested_operation_waits_its_grace_before_it_is_treated_as_unknown():
    requested = [op(1, "10.00", status=OperationStatus.REQUESTED)]
    assert by_key(settle(requested, details(), now=NOW + SETTLE_WINDOW)) == {1: (OperationStatus.FAILED, "")}
    fresh = [op(1, "10.00", minutes=60, status=OperationStatus.REQUESTED)]
    assert by_key(settle(fresh, details(), now=NOW + timedelta(minutes=61))) == {}


def test_captures_match_like_refunds():
    capture = {"captureId": "c1", "amount": "30.00", "status": "SUCCESSFUL", "createdAt": NOW.isoformat()}
    result = settle([op(1, "30.00", kind=OperationKind.CAPTURE)], details(captures=[capture]), now=NOW)
    assert by_key(result) == {1: (OperationStatus.SUCCEEDED, "c1")}


def test_a_void_is_settled_from_the_capture_status_or_an_echoed_void():
    void = op(1, "80.00", kind=OperationKind.VOID)
    assert by_key(settle([void], details(capture_status="VOIDED"), now=NOW)) == {1: (OperationStatus.SUCCEEDED, "")}
    assert by_key(settle([void], details(capture_status="NOT_CAPTURED"), now=NOW)) == {}
    echoed = details(capture_status="NOT_CAPTURED", voids=[{"voidedId": "v", "voidReference": "R-R1", "amount": "80.00", "status": "SUCCESSFUL"}])
    assert by_key(settle([void], echoed, now=NOW)) == {1: (OperationStatus.SUCCEEDED, "v")}
