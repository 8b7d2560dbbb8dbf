"""A shop for the App's payment tests: the App installed into the Saleor stand-in, one
channel configured against the Optty emulator, and the storefront's and staff's side of
each payment as Saleor would send it.

The stand-in keeps each transaction's events and amounts as Saleor does, and answers the
App's ``transaction(id)`` query from the checkouts this shop knows, so a test asserts
Saleor's record (charged, refunded, ...) against Optty's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from saleor_optty.app.models import Attempt, ChannelConfiguration
from saleor_optty.optty import money

from . import saleor_payloads
from .conftest import InstalledApp
from .standin import StandInTransaction, global_id

CHANNEL = saleor_payloads.CHANNEL
STOREFRONT = "https://shop.example.com"
RETURN_URL = f"{STOREFRONT}/checkout/payment"


@dataclass
class Checkout:
    id: str
    total: Decimal
    gift_cards: Decimal = Decimal(0)
    transactions: list[StandInTransaction] = field(default_factory=list)
    deleted: bool = False
    order_id: str | None = None


@dataclass
class Payment:
    """One ``transactionInitialize`` as the storefront made it."""

    shop: Shop
    transaction: StandInTransaction
    checkout: Checkout
    amount: Decimal
    answer: dict[str, Any]

    @property
    def reference(self) -> str:
        return self.answer["pspReference"]

    @property
    def attempt(self) -> Attempt:
        return Attempt.objects.get(transaction_id=self.transaction.id)

    def approve(self, decision: str = "approve") -> dict[str, Any]:
        """The shopper decides at the provider; the emulator answers where the browser goes."""
        return self.shop.optty.decide(self.reference, decision)

    def come_back(self, decision: str = "approve") -> dict[str, str]:
        """The shopper decides, then the browser follows Optty's redirect to the App: the
        query string the storefront's ``returnUrl`` receives, once Optty's callback is
        handled too."""
        redirect = self.approve(decision)["redirect"]
        back = self.shop.follow_return(redirect)
        # Optty's callback runs beside the return; what the test checks next is the end state.
        self.shop.optty.wait_for_callbacks()
        return back

    def process(self) -> Any:
        """``transactionProcess``: the webhook's judged answer."""
        return self.shop.saleor.send_webhook("TRANSACTION_PROCESS_SESSION", self.process_payload())

    def process_payload(self) -> dict[str, Any]:
        return self.shop.saleor.event_payload(
            "TRANSACTION_PROCESS_SESSION",
            transaction={"id": self.transaction.id, "token": self.transaction.id, "pspReference": self.transaction.psp_reference},
            action={"amount": self.amount, "currency": "AUD", "actionType": "CHARGE"},
            data=None,
            sourceObject={"__typename": "Checkout", "id": self.checkout.id, "channel": {"slug": CHANNEL}},
        )

    def staff(self, action_type: str, amount: Decimal | str | None) -> Any:
        """A staff member's ``transactionRequestAction``: Saleor records the request event,
        then sends the action webhook."""
        return self.shop.request_action(self, action_type, None if amount is None else Decimal(amount))

    @property
    def saleor_amounts(self) -> dict[str, Decimal]:
        return self.transaction.amounts

    def events(self, type: str) -> list:
        return [event for event in self.transaction.events if event.type == type]


class Shop:
    def __init__(self, app: InstalledApp, optty, *, auto_capture: bool = True):
        self.saleor = app.saleor
        self.optty = optty
        self.installation = app.installation
        self.configuration = ChannelConfiguration.objects.create(
            installation=self.installation,
            channel_slug=CHANNEL,
            environment="sandbox",
            client_id=optty.client_id,
            client_secret=optty.client_secret,
            payment_secret=optty.payment_secret,
            api_url=optty.api_url,
            auth_url=optty.auth_url,
            supported_currencies="AUD",
            auto_capture=auto_capture,
            storefront_urls=STOREFRONT,
        )
        self.checkouts: dict[str, Checkout] = {}
        self.saleor.on("transaction", self._transaction)

    # ---------------------------------------------------------------- storefront

    def checkout(self, total: str = "80.00", *, gift_cards: str = "0") -> Checkout:
        checkout = Checkout(global_id("Checkout", secrets.token_hex(8)), Decimal(total), Decimal(gift_cards))
        self.checkouts[checkout.id] = checkout
        return checkout

    def pay(self, checkout: Checkout | None = None, *, amount: str | None = None, provider: str = "KLARNA",
            data: Any = None, idempotency_key: str | None = None, transaction: StandInTransaction | None = None) -> Payment:  # fmt: skip
        """``transactionInitialize`` for ``checkout`` (a new one of 80.00 by default)."""
        checkout = checkout or self.checkout()
        value = Decimal(amount) if amount is not None else checkout.total - checkout.gift_cards
        if transaction is None:
            transaction = self.saleor.create_transaction(currency="AUD", checkout_id=checkout.id)
            checkout.transactions.append(transaction)
        payload = self.saleor.event_payload(
            "TRANSACTION_INITIALIZE_SESSION",
            transaction={"id": transaction.id, "token": transaction.id, "pspReference": ""},
            action={"amount": value, "currency": "AUD", "actionType": "CHARGE"},
            data=data if data is not None else {"provider": provider, "returnUrl": RETURN_URL},
            idempotencyKey=idempotency_key or secrets.token_hex(8),
            merchantReference=transaction.id,
            customerIpAddress="203.0.113.7",
            sourceObject=_checkout_source(checkout),
        )
        result = self.saleor.send_webhook("TRANSACTION_INITIALIZE_SESSION", payload)
        assert result.accepted, (result.status, result.body, result.problems)
        return Payment(self, transaction, checkout, value, result.body)

    def gateway_initialize(self, total: str) -> dict[str, Any]:
        """``paymentGatewayInitialize`` for a checkout of ``total``: the App's judged answer."""
        checkout = self.checkout(total)
        payload = self.saleor.event_payload(
            "PAYMENT_GATEWAY_INITIALIZE_SESSION",
            amount=None,
            data=None,
            sourceObject={
                "__typename": "Checkout",
                "id": checkout.id,
                "channel": {"slug": CHANNEL},
                "totalPrice": {"gross": {"amount": checkout.total, "currency": "AUD"}},
            },
        )
        result = self.saleor.send_webhook("PAYMENT_GATEWAY_INITIALIZE_SESSION", payload)
        assert result.accepted, (result.status, result.body, result.problems)
        return result.body

    def signed(self, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        """(path, body, headers) of a webhook as Saleor signs it, for a request made in
        this thread (Django's test client) instead of by the stand-in."""
        event = next(name for name in self.saleor.app.webhooks if _type_name(name) == payload["__typename"])
        body = money.dumps(payload).encode()
        headers = {
            "Saleor-Event": event.lower(),
            "Saleor-Api-Url": self.saleor.api_url,
            "Saleor-Domain": self.saleor.domain,
            "Saleor-Signature": self.saleor.sign(body),
        }
        return urlsplit(self.saleor.app.webhooks[event]["targetUrl"]).path, body, headers

    def follow_return(self, redirect: str) -> dict[str, str]:
        response = requests.get(redirect, allow_redirects=False, timeout=10)
        assert response.status_code == 302, (response.status_code, response.text[:300])
        location = response.headers["Location"]
        assert location.startswith(RETURN_URL), location
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}

    # --------------------------------------------------------------------- staff

    def request_action(self, payment: Payment, action_type: str, amount: Decimal | None) -> Any:
        request_type = {"CHARGE": "CHARGE_REQUEST", "REFUND": "REFUND_REQUEST", "CANCEL": "CANCEL_REQUEST"}[action_type]
        transaction = payment.transaction
        with self.saleor.lock:
            transaction.add_event(request_type, None, amount or Decimal(0))
        graphql = transaction.as_graphql()
        event = _event_of(action_type)
        payload = self.saleor.event_payload(
            event,
            action={"actionType": action_type, "amount": amount, "currency": "AUD"},
            transaction={
                "id": transaction.id,
                "token": transaction.id,
                "pspReference": transaction.psp_reference,
                "authorizedAmount": graphql["authorizedAmount"],
                "chargedAmount": graphql["chargedAmount"],
                "events": [
                    {key: event[key] for key in ("id", "type", "pspReference", "createdAt", "amount")}
                    for event in graphql["events"]
                ],
                "checkout": {"channel": {"slug": CHANNEL}},
                "order": None,
            },
        )
        self.last_action_payload = payload
        return self.saleor.send_webhook(event, payload)

    # --------------------------------------------------------------- Saleor's side

    def _transaction(self, info, id):
        """Saleor's ``transaction(id)`` for the App: where the money sits now."""
        transaction = self.saleor.transactions.get(id)
        if transaction is None:
            return None
        answer = transaction.as_graphql()
        checkout = self.checkouts.get(transaction.checkout_id or "")
        if checkout is not None and checkout.order_id:
            answer["order"] = {"id": checkout.order_id}
        answer["checkout"] = None if checkout is None or checkout.deleted or checkout.order_id else {
            "id": checkout.id,
            "totalPrice": {"gross": {"amount": checkout.total, "currency": "AUD"}},
            "giftCards": [{"currentBalance": {"amount": checkout.gift_cards}}] if checkout.gift_cards else [],
            "transactions": [other.as_graphql() for other in checkout.transactions],
        }  # fmt: skip
        return answer


def _type_name(event: str) -> str:
    return "".join(part.capitalize() for part in event.split("_"))


def _event_of(action_type: str) -> str:
    return {"CHARGE": "TRANSACTION_CHARGE_REQUESTED", "REFUND": "TRANSACTION_REFUND_REQUESTED",
            "CANCEL": "TRANSACTION_CANCELATION_REQUESTED"}[action_type]  # fmt: skip


def _checkout_source(checkout: Checkout) -> dict[str, Any]:
    """A checkout of one line whose prices add up to ``checkout.total`` (10.00 shipping)."""
    lines_gross = checkout.total - Decimal("11.00")
    lines_net = (lines_gross / Decimal("1.1")).quantize(Decimal("0.01"))
    source = saleor_payloads.checkout(
        [saleor_payloads.checkout_line(1, str(lines_net), str(lines_net), str(lines_gross))],
        shipping=("10.00", "11.00"),
    )
    source["id"] = checkout.id
    return source
