"""The App's six sync webhooks: Saleor event, route and subscription query.

The manifest lists them; Saleor validates each query when the App is installed (the
GraphQL rules, one ``event`` field, at least one event found in its ``... on`` types:
``SubscriptionQuery`` in saleor/graphql/webhook/subscription_query.py, run by
``_clean_webhooks`` in saleor/app/manifest_validations.py at 3.20.119 and 3.23.28) and
resolves it into the webhook's body for every call. Each query selects what the App
reads (:mod:`.events`, :mod:`saleor_optty.app.cart`) and nothing more: every field is
work for Saleor during the shopper's checkout.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cart import SOURCE_OBJECT_FIELDS

#: On every event: ``__typename`` the route it was meant for (Saleor sends only what is
#: selected, and the App refuses a body replayed to another route), ``recipient.id`` that
#: it was meant for the App, and ``version`` which of Saleor's response rules apply.
_EVENT_FIELDS = "__typename issuedAt version recipient { id }"
#: The checkout or order a session pays for, and its channel (the App's configuration).
_SOURCE_IDENTITY = """
__typename
... on Checkout { id channel { slug } }
... on Order { id channel { slug } }
"""
_TRANSACTION = "transaction { id token pspReference }"
_SESSION_ACTION = "action { amount currency actionType }"
#: Charge, refund and cancel: what the transaction holds now, its history, and the
#: channel of its checkout or order. Saleor 3.20 sends a cancel without ``amount``; the
#: App then voids ``authorizedAmount``.
_ACTION_REQUEST = """
action { actionType amount currency }
transaction {
  id
  token
  pspReference
  authorizedAmount { amount currency }
  chargedAmount { amount currency }
  events { id type pspReference createdAt amount { amount currency } }
  checkout { channel { slug } }
  order { channel { slug } }
}
"""


@dataclass(frozen=True)
class WebhookSpec:
    event: str  # Saleor's sync event, e.g. "TRANSACTION_INITIALIZE_SESSION"
    name: str  # what the Dashboard lists
    path: str  # the App's route, relative to its public URL
    query: str  # the subscription; its only ``... on`` type is ``event``'s


def _webhook(event: str, type_name: str, selection: str) -> WebhookSpec:
    query = f"subscription {type_name} {{\nevent {{\n{_EVENT_FIELDS}\n... on {type_name} {{\n{selection}\n}}\n}}\n}}"
    return WebhookSpec(
        event=event,
        name=f"Optty: {event.lower().replace('_', ' ')}",
        path="api/webhooks/" + event.lower().replace("_", "-"),
        query=_laid_out(query),
    )


def _laid_out(document: str) -> str:
    """The composed document indented two spaces a brace, for the manifest's readers."""
    lines, depth = [], 0
    for line in filter(None, (raw.strip() for raw in document.splitlines())):
        closes_first = line.startswith("}")
        lines.append("  " * (depth - closes_first) + line)
        depth += line.count("{") - line.count("}")
    return "\n".join(lines) + "\n"


WEBHOOKS: tuple[WebhookSpec, ...] = (
    _webhook(
        "PAYMENT_GATEWAY_INITIALIZE_SESSION",
        "PaymentGatewayInitializeSession",
        f"""
        amount
        data
        sourceObject {{
          {_SOURCE_IDENTITY}
          ... on Checkout {{ totalPrice {{ gross {{ amount currency }} }} }}
          ... on Order {{ total {{ gross {{ amount currency }} }} }}
        }}
        """,
    ),
    _webhook(
        "TRANSACTION_INITIALIZE_SESSION",
        "TransactionInitializeSession",
        f"""
        {_TRANSACTION}
        {_SESSION_ACTION}
        data
        idempotencyKey
        merchantReference
        customerIpAddress
        sourceObject {{
          {_SOURCE_IDENTITY}
          {SOURCE_OBJECT_FIELDS}
        }}
        """,
    ),
    _webhook(
        "TRANSACTION_PROCESS_SESSION",
        "TransactionProcessSession",
        f"""
        {_TRANSACTION}
        {_SESSION_ACTION}
        data
        sourceObject {{
          {_SOURCE_IDENTITY}
        }}
        """,
    ),
    _webhook("TRANSACTION_CHARGE_REQUESTED", "TransactionChargeRequested", _ACTION_REQUEST),
    _webhook("TRANSACTION_REFUND_REQUESTED", "TransactionRefundRequested", _ACTION_REQUEST),
    _webhook("TRANSACTION_CANCELATION_REQUESTED", "TransactionCancelationRequested", _ACTION_REQUEST),
)

_BY_EVENT = {spec.event: spec for spec in WEBHOOKS}


def webhook_for(event: str) -> WebhookSpec:
    """The webhook for a Saleor event, named as in the manifest or, lower case, as in
    the ``Saleor-Event`` header; ``KeyError`` for any other."""
    return _BY_EVENT[event.upper()]
