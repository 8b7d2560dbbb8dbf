"""What Optty's verified state of an order means for the payment that created it.

Every path that learns something about an order (the shopper's return, a callback,
``checkoutComplete`` again, reconciliation) fetches ``GET /orders/{reference}`` itself
and asks :func:`decide`; the adapter then carries the verdict out under its locks.
Nothing here reads a redirect's or a callback's word: only Optty's API answer, and
what the shop asked for when it created the order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from ..optty import OrderStatus, PaymentStatus, payment_mismatch

#: Optty's ``captureStatus`` values that mean the money has been taken.
CAPTURED_STATUSES = frozenset({"CAPTURED", "FULLY_CAPTURED"})


class Verdict(str, enum.Enum):
    #: The provider has not decided: nothing changes, someone looks again later.
    PENDING = "pending"
    #: Declined, cancelled or failed: no money moved, the cart may be paid again.
    REFUSED = "refused"
    #: Optty holds exactly the money that was asked for: the order may be made.
    PAID = "paid"
    #: Optty took money that does not pay for what was asked: it must go back.
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    #: Whether the money is captured (True) or only authorised (False); PAID and MISMATCH only.
    captured: bool = False
    #: Why, for REFUSED and MISMATCH: safe to show to staff.
    reason: str = ""
    #: The amount Optty holds, which is what goes back on a MISMATCH.
    amount: Decimal = Decimal(0)


def is_captured(verified: OrderStatus, *, auto_capture: bool) -> bool:
    """Whether Optty holds the money as captured (refund it) or only authorised (void it)."""
    return auto_capture or verified.capture_status in CAPTURED_STATUSES


def decide(verified: OrderStatus, *, amount: Decimal, currency: str, auto_capture: bool) -> Decision:
    """The verdict on Optty's verified state of an order created for ``amount`` ``currency``."""
    if verified.status is PaymentStatus.PENDING:
        return Decision(Verdict.PENDING)
    if verified.status.is_failure:
        return Decision(Verdict.REFUSED, reason=verified.failure_reason)
    captured = is_captured(verified, auto_capture=auto_capture)
    problem = payment_mismatch(verified, amount=amount, currency=currency)
    if problem:
        return Decision(Verdict.MISMATCH, captured=captured, reason=problem, amount=verified.amount)
    return Decision(Verdict.PAID, captured=captured, amount=verified.amount)


def refusal_message(provider: str, verified: OrderStatus) -> str:
    """What the shopper is told of a refused payment (REFUSED), with Optty's reason."""
    name = provider.replace("_", " ").title()
    verb = {
        PaymentStatus.DECLINED: "declined the payment",
        PaymentStatus.CANCELLED: "payment was cancelled",
        PaymentStatus.FAILED: "payment failed",
    }[verified.status]
    message = f"{name} {verb}" if verified.status is PaymentStatus.DECLINED else f"The {name} {verb}"
    if verified.failure_reason:
        message += f" ({verified.failure_reason[:120]})"
    return message + ". Choose another payment method or try again."
