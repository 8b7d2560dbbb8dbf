"""Everything the sandbox remembers: access tokens, orders and their money movements.

Nothing here locks or sends anything. :class:`OpttyEmulator` calls the :class:`Ledger`
under its single state lock; the ledger leaves the callbacks it wants sent in an outbox
that the emulator empties and delivers after releasing the lock.

Money rules (all amounts exact Decimals in the order currency):

- authorised = orderAmount + surcharge, once the order is SUCCESSFUL;
- captures + voids never exceed authorised; refunds never exceed captures;
- with ``autoCapture`` (the default) approval captures everything at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

from .errors import ApiError, bad_request, order_not_found
from .faults import BehaviourSettings
from .money import AmountError, parse_amount, to_money
from .providers import Provider
from .validation import (
    OrderRequest,
    optional_text,
    positive_amount,
    require_object,
    required_text,
    validate_order,
)

PENDING = "PENDING"
SUCCESSFUL = "SUCCESSFUL"
DECLINED = "DECLINED"
CANCELLED = "CANCELLED"
ERROR = "ERROR"
STATUSES = (PENDING, SUCCESSFUL, DECLINED, CANCELLED, ERROR)
FINAL_STATUSES = frozenset({SUCCESSFUL, DECLINED, CANCELLED, ERROR})
DECISIONS = {"approve": SUCCESSFUL, "decline": DECLINED, "cancel": CANCELLED, "pending": PENDING}

# captureStatus values are not documented by Optty; these four are the emulator's.
NOT_CAPTURED = "NOT_CAPTURED"
PARTIALLY_CAPTURED = "PARTIALLY_CAPTURED"
CAPTURED = "CAPTURED"
VOIDED = "VOIDED"

CUSTOMER_SESSION_TTL = 604800  # seven days, as Optty documents


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """Optty's timestamp style: ``2021-10-07T14:30:36.166Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TokenStore:
    """Opaque bearer tokens with an expiry; clients must not read anything into them."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self._expiry[token] = time.monotonic() + self.ttl
        return token

    def is_valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def revoke_all(self) -> int:
        count = len(self._expiry)
        self._expiry.clear()
        return count


@dataclass
class Movement:
    """One capture, void or refund, kept with its request for idempotent replay."""

    id: str
    reference: str | None
    amount: Decimal
    created_at: datetime
    description: str | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    external_id: str | None = None  # the provider's id (refunds: bnplRefundId)


def _movement(
    reference: str | None, amount: Decimal, description: str | None, request: dict[str, Any] | None
) -> Movement:
    return Movement(
        id=str(uuid.uuid4()),
        reference=reference,
        amount=amount,
        created_at=utcnow(),
        description=description,
        request=request,
    )


def _listed(m: Movement, id_key: str, reference_key: str, echo: bool, **fields: Any) -> dict[str, Any]:
    """A capture, void or refund as the order details list it: Optty documents no
    reference there, so ours is added only with the ``echo_references`` knob."""
    entry = {id_key: m.id, "amount": m.amount, **fields, "status": SUCCESSFUL, "createdAt": iso(m.created_at)}
    if echo:
        entry[reference_key] = m.reference
    return entry


@dataclass(frozen=True)
class Take:
    """What differs between a capture and a void: both take money that is authorised
    and not yet captured, with a reference unique per merchant."""

    reference_key: str
    verb: str  # "Order cannot be <verb>: ..."
    too_much: str  # message for more than remains ({amount}, {remaining})
    whole_only: str  # message for a partial take the provider cannot do ({provider}, {remaining})
    partial: Callable[[Provider], bool]
    answer: Callable[[Movement], dict[str, Any]]
    shipping_info: bool = False  # whether the body may carry a shippingInfo object


CAPTURE = Take(
    "captureReference",
    "captured",
    "Capture amount {amount} exceeds the remaining authorised amount {remaining}",
    "{provider} does not support partial capture: amount must be {remaining}",
    lambda provider: provider.supports_partial_capture,
    lambda m: {"captureReference": m.reference, "captureId": m.id, "capturedAmount": m.amount},
    shipping_info=True,
)
VOID = Take(
    "voidReference",
    "voided",
    "Void amount {amount} exceeds the uncaptured authorised amount {remaining}",
    "{provider} does not support partial void: amount must be the full uncaptured amount {remaining}",
    lambda provider: provider.supports_partial_void,
    lambda m: {"voidReference": m.reference, "voidedId": m.id, "amount": m.amount},
)


@dataclass
class Order(OrderRequest):
    """A created order: the validated request's terms, then what became of it."""

    request: dict[str, Any]
    response: dict[str, Any]
    order_id: str
    order_token: str
    transaction_reference: str
    bnpl_order_id: str
    created_at: datetime
    updated_at: datetime
    status: str = PENDING
    failure_reason: str | None = None
    reject_reason: str | None = None
    cancelled_by: str | None = None
    settle_pending: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    captures: list[Movement] = field(default_factory=list)
    voids: list[Movement] = field(default_factory=list)
    refunds: list[Movement] = field(default_factory=list)

    @property
    def authorised(self) -> Decimal:
        return self.amount + self.surcharge

    @property
    def captured(self) -> Decimal:
        return sum((m.amount for m in self.captures), to_money(0, self.currency))

    @property
    def voided(self) -> Decimal:
        return sum((m.amount for m in self.voids), to_money(0, self.currency))

    @property
    def refunded(self) -> Decimal:
        return sum((m.amount for m in self.refunds), to_money(0, self.currency))

    @property
    def uncaptured(self) -> Decimal:
        """What a capture or a void may still take."""
        if self.status != SUCCESSFUL:
            return to_money(0, self.currency)
        return self.authorised - self.captured - self.voided

    @property
    def capture_status(self) -> str:
        captured, voided = self.captured, self.voided
        if captured == 0:
            return VOIDED if voided and voided == self.authorised else NOT_CAPTURED
        return CAPTURED if captured + voided == self.authorised else PARTIALLY_CAPTURED


@dataclass(frozen=True)
class Notification:
    """A callback the ledger wants delivered once the state lock is released."""

    event: str
    url: str
    order_reference: str
    status: str
    data: dict[str, Any]
    final: bool


@dataclass(frozen=True)
class FollowUp:
    """Settle a PENDING approval into SUCCESSFUL after ``delay`` seconds ("pending first")."""

    delay: float
    reference: str


class Ledger:
    def __init__(self, providers: tuple[Provider, ...], client_id: str, webhook_url: str | None) -> None:
        self.providers = {p.name: p for p in providers}
        self.merchant_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"optty-emulator:{client_id}"))
        self.webhook_url = webhook_url
        # The emulator sets the current knobs before every operation.
        self.behaviour = BehaviourSettings()
        self._orders: dict[str, Order] = {}
        self._by_token: dict[str, Order] = {}
        # Capture, void and refund references are unique per merchant, not per order.
        self._captures: dict[str, tuple[Order, Movement]] = {}
        self._voids: dict[str, tuple[Order, Movement]] = {}
        self._refunds: dict[str, tuple[Order, Movement]] = {}
        self._outbox: list[Notification | FollowUp] = []

    def take_outbox(self) -> list[Notification | FollowUp]:
        outbox, self._outbox = self._outbox, []
        return outbox

    # Lookups -----------------------------------------------------------------------

    def order(self, reference: str) -> Order:
        order = self._orders.get(reference)
        if order is None:
            raise order_not_found()
        return order

    def order_by_token(self, token: str) -> Order | None:
        return self._by_token.get(token)

    def references(self) -> list[str]:
        return list(self._orders)

    # Optty's API --------------------------------------------------------------------

    def options(self, currency: str, amount: Decimal, channel: str | None) -> list[Provider]:
        offered = [p for p in self.providers.values() if p.offers(currency, amount, channel)]
        return sorted(offered, key=lambda p: (p.priority, p.name))

    def create_order(self, body: Any, public_url: str) -> dict[str, Any]:
        """The 201 body. A known orderReference is answered as ``duplicate_references`` says;
        with "process" the new order replaces the old one under its reference (the old
        one's hosted page still works, but the API no longer shows it)."""
        if isinstance(body, dict) and isinstance(body.get("orderReference"), str):
            existing = self._orders.get(body["orderReference"])
            if existing is not None and self.behaviour.duplicate_references != "process":
                return self._repeated("orderReference", existing.request == body, existing.response)
        clean = validate_order(body, self.providers)
        moment = utcnow()
        order_id, token = str(uuid.uuid4()), str(uuid.uuid4())
        transaction_reference = secrets.token_hex(5)
        response: dict[str, Any] = {
            "orderId": order_id,
            "orderToken": token,
            "redirectUrl": f"{public_url}/hosted/{token}",
            "bnplProvider": clean.provider.name,
            "orderReference": clean.reference,
            "orderAmount": clean.amount,
            "orderPaymentOption": "buy now pay later",
            "orderDate": iso(moment),
            "paymentStatus": "pending",
            "transactionReference": transaction_reference,
            "surcharge": clean.surcharge,
        }
        order = Order(
            **vars(clean),
            request=body,
            response=response,
            order_id=order_id,
            order_token=token,
            transaction_reference=transaction_reference,
            bnpl_order_id=f"{clean.provider.name.split('_')[0]}-{secrets.token_hex(6).upper()}",
            created_at=moment,
            updated_at=moment,
        )
        order.history.append(
            {"transactionId": transaction_reference, "status": "INITIATED", "createdAt": iso(moment)}
        )
        self._orders[order.reference] = order
        self._by_token[token] = order
        return response

    def order_status(self, reference: str) -> dict[str, Any]:
        order = self.order(reference)
        return {
            "merchantReference": order.reference,
            "status": order.status,
            "amount": order.amount,
            "surcharge": order.surcharge,
            "currency": order.currency,
            "provider": order.provider.name,
            "updatedAt": iso(order.updated_at),
            "failureReason": order.failure_reason,
            "bnplOrderId": order.bnpl_order_id,
            "transactionReference": order.transaction_reference,
            "rejectReason": order.reject_reason,
            "partnerConfiguration": order.request.get("partnerConfiguration"),
            "cancelledBy": order.cancelled_by,
            "captureStatus": order.capture_status,
        }

    def order_details(self, reference: str) -> dict[str, Any]:
        order = self.order(reference)
        echo = self.behaviour.echo_references
        details = self.order_status(reference)
        details["transactionHistory"] = [dict(entry) for entry in order.history]
        details["refunds"] = [
            _listed(
                m, "refundId", "refundReference", echo,
                currency=order.currency, refundReason=m.description, refundFailureReason=None,
            )  # fmt: skip
            for m in order.refunds
        ]
        details["orderCaptures"] = [_listed(m, "captureId", "captureReference", echo) for m in order.captures]
        if echo:  # Optty documents no list of voids in the details
            details["orderVoids"] = [_listed(m, "voidedId", "voidReference", echo) for m in order.voids]
        return details

    def capture(self, reference: str, body: Any) -> dict[str, Any]:
        return self._take(reference, body, CAPTURE)

    def void(self, reference: str, body: Any) -> dict[str, Any]:
        return self._take(reference, body, VOID)

    def refund(self, reference: str, body: Any) -> dict[str, Any]:
        order, body, refund_reference, replay = self._movement_request(
            reference, body, self._refunds, "refundReference"
        )
        if replay is not None:
            return replay
        money = require_object(body.get("refundAmount"), "refundAmount")
        currency = required_text(money, "currency", "refundAmount.")
        if currency != order.currency:
            raise bad_request(f"refundAmount.currency must be {order.currency}, the order currency")
        amount = positive_amount(money, "amount", order.currency, "refundAmount.")
        description = optional_text(body, "refundDescription")
        return self._record_refund(order, refund_reference, amount, description, body)

    def portal_refund(self, reference: str, amount: Any, reason: str | None = None) -> dict[str, Any]:
        """A refund made by merchant staff in Optty's portal, outside the client's control."""
        order = self.order(reference)
        try:
            value = parse_amount(amount, "amount", order.currency, allow_text=True)
        except AmountError as error:
            raise bad_request(str(error)) from None
        if value == 0:
            raise bad_request("amount must be greater than 0")
        refund_reference = f"portal-{secrets.token_hex(6)}"
        return self._record_refund(
            order, refund_reference, value, reason or "Refunded in the Optty portal", None
        )

    def customer_session(self, body: Any, signing_key: str) -> dict[str, Any]:
        """A widget session token shaped like Optty's sample: an HS256 JWT holding a hash
        of the customer identifier and the merchant id, valid for seven days."""
        body = require_object(body)
        identifier = required_text(body, "customerIdentifier")
        issued = int(time.time())
        claims = {
            "customerIdentifier": hashlib.sha512(identifier.encode("utf-8")).hexdigest(),
            "merchantId": self.merchant_id,
            "iat": issued,
            "exp": issued + CUSTOMER_SESSION_TTL,
        }

        def segment(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        signing_input = (
            segment(b'{"alg":"HS256","typ":"JWT"}')
            + "."
            + segment(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        )
        signature = hmac.new(
            signing_key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256
        ).digest()
        return {"token": signing_input + "." + segment(signature), "ttl": CUSTOMER_SESSION_TTL}

    # Shopper decisions and forced changes --------------------------------------------

    def decide(self, order: Order, decision: str, pending_first: float = 0.0) -> None:
        if decision not in DECISIONS:
            raise bad_request(f"decision must be one of {', '.join(DECISIONS)}")
        if order.status in FINAL_STATUSES:
            raise ApiError(409, f"Order {order.reference} is already {order.status}")
        status = DECISIONS[decision]
        if status == SUCCESSFUL and pending_first > 0:
            self._transition(order, PENDING)
            order.settle_pending = True
            self._outbox.append(FollowUp(pending_first, order.reference))
        else:
            self._transition(order, status, cancelled_by="CUSTOMER")

    def settle(self, reference: str) -> None:
        """The delayed half of "pending first": PENDING becomes SUCCESSFUL, unless overtaken."""
        order = self._orders.get(reference)
        if order is not None and order.settle_pending and order.status == PENDING:
            self._transition(order, SUCCESSFUL)

    def force_status(self, reference: str, status: str, reason: str | None = None) -> Order:
        """Any state change, final or not (a test tool), with the same callbacks as a real one."""
        order = self.order(reference)
        status = status.upper() if isinstance(status, str) else status
        if status not in STATUSES:
            raise bad_request(f"status must be one of {', '.join(STATUSES)}")
        self._transition(order, status, reason=reason, cancelled_by="SYSTEM")
        return order

    def snapshot(self, reference: str) -> dict[str, Any]:
        """The control API's full view of one order, including the stored create request."""
        order = self.order(reference)

        def movements(items: list[Movement]) -> list[dict[str, Any]]:
            return [
                {
                    "id": m.id,
                    "reference": m.reference,
                    "amount": m.amount,
                    "created_at": iso(m.created_at),
                    "description": m.description,
                    "request": m.request,
                    "external_id": m.external_id,
                }
                for m in items
            ]

        return {
            "reference": order.reference,
            "order_id": order.order_id,
            "order_token": order.order_token,
            "transaction_reference": order.transaction_reference,
            "bnpl_order_id": order.bnpl_order_id,
            "provider": order.provider.name,
            "currency": order.currency,
            "amount": order.amount,
            "surcharge": order.surcharge,
            "status": order.status,
            "capture_status": order.capture_status,
            "auto_capture": order.auto_capture,
            "authorised_amount": (
                order.authorised if order.status == SUCCESSFUL else to_money(0, order.currency)
            ),
            "captured_amount": order.captured,
            "voided_amount": order.voided,
            "refunded_amount": order.refunded,
            "redirect_url": order.redirect_url,
            "callback_url": order.callback_url,
            "channel": order.channel,
            "hosted_url": order.response["redirectUrl"],
            "failure_reason": order.failure_reason,
            "reject_reason": order.reject_reason,
            "cancelled_by": order.cancelled_by,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
            "history": [dict(entry) for entry in order.history],
            "captures": movements(order.captures),
            "voids": movements(order.voids),
            "refunds": movements(order.refunds),
            "request": order.request,
            "response": order.response,
        }

    # Internals ------------------------------------------------------------------------

    def _movement_request(
        self, reference: str, body: Any, index: dict[str, tuple[Order, Movement]], name: str
    ) -> tuple[Order, dict[str, Any], str, dict[str, Any] | None]:
        """The order, the body, its ``name`` reference (unique per merchant) and, when the
        reference was used before, the answer ``duplicate_references`` gives it."""
        order = self.order(reference)
        body = require_object(body)
        movement_reference = required_text(body, name)
        previous = index.get(movement_reference)
        if previous is None or self.behaviour.duplicate_references == "process":
            return order, body, movement_reference, None
        owner, movement = previous
        replay = self._repeated(name, owner is order and movement.request == body, movement.response)
        return order, body, movement_reference, replay

    def _repeated(
        self, name: str, identical: bool, first_answer: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The answer to a reference sent again. Optty documents the references as unique
        but not what a retry gets: that is the ``duplicate_references`` knob."""
        if identical and self.behaviour.duplicate_references == "replay":
            return first_answer
        raise bad_request(f"{name} must be unique")

    def _take(self, reference: str, body: Any, take: Take) -> dict[str, Any]:
        """A capture or a void of money that is authorised and not yet captured."""
        index = self._captures if take is CAPTURE else self._voids
        order, body, take_reference, replay = self._movement_request(
            reference, body, index, take.reference_key
        )
        if replay is not None:
            return replay
        amount = positive_amount(body, "amount", order.currency)
        description = optional_text(body, "description")
        if take.shipping_info and body.get("shippingInfo") is not None:
            require_object(body["shippingInfo"], "shippingInfo")
        if order.status != SUCCESSFUL:
            raise bad_request(f"Order cannot be {take.verb}: its status is {order.status}")
        remaining = order.uncaptured
        if remaining == 0:
            if order.auto_capture and not order.voids:
                raise bad_request(f"Order cannot be {take.verb}: it was captured automatically (autoCapture)")
            if order.captured == 0:
                raise bad_request(f"Order cannot be {take.verb}: it has been voided")
            raise bad_request(f"Order cannot be {take.verb}: nothing uncaptured is left")
        if amount > remaining:
            raise bad_request(take.too_much.format(amount=amount, remaining=remaining))
        if amount != remaining and not take.partial(order.provider):
            raise bad_request(take.whole_only.format(provider=order.provider.name, remaining=remaining))
        movements = order.captures if take is CAPTURE else order.voids
        movement = self._record(order, movements, index, take_reference, amount, description, body)
        movement.response = take.answer(movement)
        return movement.response

    def _record(
        self,
        order: Order,
        movements: list[Movement],
        index: dict[str, tuple[Order, Movement]],
        reference: str,
        amount: Decimal,
        description: str | None,
        request: dict[str, Any] | None,
    ) -> Movement:
        """A new capture, void or refund, kept on its order and under its reference."""
        movement = _movement(reference, amount, description, request)
        movements.append(movement)
        index[reference] = (order, movement)
        return movement

    def _record_refund(
        self,
        order: Order,
        reference: str,
        amount: Decimal,
        description: str | None,
        request: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if order.refunded + amount > order.captured:
            raise bad_request("Over refund limit")
        refund = self._record(order, order.refunds, self._refunds, reference, amount, description, request)
        refund.external_id = f"RF-{secrets.token_hex(6).upper()}"
        refund.response = {
            "refundReference": reference,
            "bnplProvider": order.provider.name,
            "refundedAmount": amount,
            "refundStatus": SUCCESSFUL,
            "description": description,
            "refundDate": iso(refund.created_at),
            "bnplRefundId": refund.external_id,
        }
        if self.webhook_url:
            data = {
                "orderReference": order.reference,
                "merchantReference": order.reference,
                "refundReference": reference,
                "refundId": refund.id,
                "bnplRefundId": refund.external_id,
                "status": SUCCESSFUL,
                "amount": amount,
                "currency": order.currency,
                "provider": order.provider.name,
                "createdAt": iso(refund.created_at),
            }
            self._outbox.append(
                Notification(
                    "REFUND_CALLBACK", self.webhook_url, order.reference, SUCCESSFUL, data, final=True
                )
            )
        return refund.response

    def _transition(
        self, order: Order, status: str, *, reason: str | None = None, cancelled_by: str = "CUSTOMER"
    ) -> None:
        moment = utcnow()
        order.status = status
        order.updated_at = moment
        order.settle_pending = False
        order.failure_reason = order.reject_reason = order.cancelled_by = None
        if status == DECLINED:
            order.failure_reason = reason or "Declined by the provider"
            order.reject_reason = "PROVIDER_DECLINED"
        elif status == ERROR:
            order.failure_reason = reason or "The provider reported an error"
        elif status == CANCELLED:
            order.failure_reason = reason
            order.cancelled_by = cancelled_by
        order.history.append(
            {"transactionId": order.transaction_reference, "status": status, "createdAt": iso(moment)}
        )
        if status == SUCCESSFUL and order.auto_capture and order.uncaptured > 0:
            order.captures.append(_movement(None, order.uncaptured, "autoCapture", None))

        data = {
            "orderReference": order.reference,
            "merchantReference": order.reference,
            "status": status,
            "transactionId": order.transaction_reference,
            "provider": order.provider.name,
            "amount": order.amount,
            "currency": order.currency,
            "updatedAt": iso(moment),
        }
        final = status in FINAL_STATUSES
        # Optty sends only ORDER_ASYNC_CALLBACK to an order's dynamicCallbackUrl.
        if order.callback_url:
            self._outbox.append(
                Notification("ORDER_ASYNC_CALLBACK", order.callback_url, order.reference, status, data, final)
            )
        if self.webhook_url:
            self._outbox.append(
                Notification("ORDER_STATUS_UPDATE", self.webhook_url, order.reference, status, data, final)
            )
