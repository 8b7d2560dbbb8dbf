"""The App's answers to Saleor's payment webhooks, in the shape each Saleor version accepts.

Saleor parses the answer of a payment webhook differently by version:

- 3.20 (``saleor/payment/utils.py@3.20.119``, ``parse_transaction_action_data``): by hand.
  A session answer needs ``result`` *and* ``amount``; an action answer with a ``result``
  needs ``amount`` too, and one with neither is the asynchronous form (only the
  ``pspReference`` is recorded). ``pspReference`` may be left out only for the
  ``*_ACTION_REQUIRED`` and ``*_FAILURE`` results (``OPTIONAL_PSP_REFERENCE_EVENTS``).
  Sessions cannot answer ``CANCEL_SUCCESS``.
- 3.21 and later (``saleor/webhook/response_schemas/transaction.py``): pydantic models.
  ``amount`` may be left out (Saleor then takes the requested amount), ``pspReference``
  must be a JSON string (a number is refused), ``externalUrl`` must be a valid http(s)
  URL when present (``""`` is refused), and an unknown ``result`` is refused.
  3.23 adds ``CANCEL_SUCCESS`` to session answers.
- ``PAYMENT_GATEWAY_INITIALIZE_SESSION``: ``{"data": ...}`` on every version (3.21+
  validate it; 3.20 hands only ``data`` to the storefront).

The builders here produce one shape that the given version accepts, and raise
``ValueError`` for an answer no Saleor version would take (a programming error, caught
by the tests, never a shopper's input).

Amounts are written as JSON *strings* of the exact Decimal (``"80.00"``): Saleor reads
the answer with a plain ``json.loads`` (``saleor/webhook/transport/synchronous/
transport.py``), so a JSON number becomes a binary float before Saleor makes it a
Decimal, while a string goes to ``Decimal`` untouched. Every version takes strings:
3.20 calls ``decimal.Decimal(value)``, 3.21+ declare ``amount: Decimal`` (pydantic
accepts numeric strings), and the published JSON schemas (3.22+) say ``number | string``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

#: Saleor keeps at most this much of an event's message, cutting the rest to "..."
#: (``TRANSACTION_EVENT_MSG_MAX_LENGTH``); the App cuts it the same way itself, so that
#: what it logs is what Saleor shows.
MESSAGE_MAX_LENGTH = 512

#: What a session webhook (initialize, process) may answer.
SESSION_SUCCESS_RESULTS = frozenset({"CHARGE_SUCCESS", "AUTHORIZATION_SUCCESS", "CHARGE_REQUEST", "AUTHORIZATION_REQUEST"})
SESSION_FAILURE_RESULTS = frozenset({"CHARGE_FAILURE", "AUTHORIZATION_FAILURE"})
SESSION_ACTION_REQUIRED_RESULTS = frozenset({"CHARGE_ACTION_REQUIRED", "AUTHORIZATION_ACTION_REQUIRED"})
#: Saleor 3.23 and later only.
SESSION_CANCEL_RESULT = "CANCEL_SUCCESS"

#: What a staff-action webhook (charge, refund, cancel requested) may answer, besides
#: the asynchronous form (no result).
ACTION_SUCCESS_RESULTS = frozenset({"CHARGE_SUCCESS", "REFUND_SUCCESS", "CANCEL_SUCCESS"})
ACTION_FAILURE_RESULTS = frozenset({"CHARGE_FAILURE", "REFUND_FAILURE", "CANCEL_FAILURE"})

#: ``actions``: what the staff may do next with the transaction.
TRANSACTION_ACTIONS = frozenset({"CHARGE", "REFUND", "CANCEL"})

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, order=True)
class SaleorVersion:
    """The Saleor version a webhook came from (its subscription's ``version`` field).

    An absent or unreadable version is taken as the oldest supported, 3.20, whose rules
    are the strictest about what an answer must carry. Prereleases count as their
    release (``3.24.0-a.0`` is 3.24.0).
    """

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str | None) -> SaleorVersion:
        match = _VERSION.match(text) if isinstance(text, str) else None
        if not match:
            return OLDEST_SUPPORTED
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def strict_responses(self) -> bool:
        """Answers are validated by pydantic models (3.21+): amounts optional, no ``""`` URLs."""
        return (self.major, self.minor) >= (3, 21)

    @property
    def amount_required(self) -> bool:
        """3.20 needs ``amount`` in every answer that carries a ``result``."""
        return not self.strict_responses

    @property
    def cancel_in_session(self) -> bool:
        """A session answer may be ``CANCEL_SUCCESS`` (3.23+)."""
        return (self.major, self.minor) >= (3, 23)

    def session_results(self) -> frozenset[str]:
        results = SESSION_SUCCESS_RESULTS | SESSION_FAILURE_RESULTS | SESSION_ACTION_REQUIRED_RESULTS
        return results | {SESSION_CANCEL_RESULT} if self.cancel_in_session else results


OLDEST_SUPPORTED = SaleorVersion(3, 20, 0)


def session_response(
    version: SaleorVersion,
    result: str,
    *,
    psp_reference: str | None,
    amount: Decimal | None,
    message: str = "",
    data: Any = None,
    external_url: str | None = None,
    actions: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The answer to ``TRANSACTION_INITIALIZE_SESSION`` or ``TRANSACTION_PROCESS_SESSION``.

    ``data`` reaches the storefront as the mutation's ``data``. ``psp_reference`` is
    required for the success and request results; ``amount`` on 3.20.
    """
    if result not in version.session_results():
        raise ValueError(f"Saleor {version} does not accept {result!r} from a session webhook.")
    body = _event_fields(
        version,
        result,
        psp_reference=psp_reference,
        psp_required=result in SESSION_SUCCESS_RESULTS,
        amount=amount,
        message=message,
        external_url=external_url,
        actions=actions,
    )
    if data is not None:
        body["data"] = data
    return body


def action_response(
    version: SaleorVersion,
    result: str | None,
    *,
    psp_reference: str | None,
    amount: Decimal | None = None,
    message: str = "",
    actions: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The answer to ``TRANSACTION_CHARGE_REQUESTED``, ``_REFUND_REQUESTED`` or
    ``_CANCELATION_REQUESTED``.

    ``result=None`` is the asynchronous form: only ``pspReference`` (and ``actions``),
    the request stays pending in Saleor, and the App reports the outcome later with
    ``transactionEventReport``. On 3.20 that form must carry no amount (an amount without
    a result is refused), and 3.21+ ignore one, so it never carries one.

    On 3.21+ an ``amount`` of 0 (or none) is recorded as the requested amount (Saleor
    takes ``amount or requested``), so a failure "of 0" is a failure of the request.
    """
    if result is None:
        if amount is not None:
            raise ValueError("The asynchronous answer carries no amount (3.20 refuses an amount without a result).")
        if not psp_reference:
            raise ValueError("The asynchronous answer needs the pspReference the outcome will be reported under.")
        body: dict[str, Any] = {"pspReference": _psp(psp_reference)}
        if actions is not None:
            body["actions"] = _actions(actions)
        return body
    if result not in ACTION_SUCCESS_RESULTS | ACTION_FAILURE_RESULTS:
        raise ValueError(f"{result!r} is not an answer to a staff action.")
    return _event_fields(
        version,
        result,
        psp_reference=psp_reference,
        psp_required=result in ACTION_SUCCESS_RESULTS,
        amount=amount,
        message=message,
        external_url=None,
        actions=actions,
    )


def gateway_initialize_response(data: Any) -> dict[str, Any]:
    """The answer to ``PAYMENT_GATEWAY_INITIALIZE_SESSION`` on every version: the storefront
    gets ``data`` in ``gatewayConfigs[].data``."""
    return {"data": data}


def truncate_message(message: str) -> str:
    """``message`` as Saleor stores it: at most 512 characters, the excess cut to "...";
    NUL characters dropped (PostgreSQL text cannot hold them)."""
    message = str(message).replace("\x00", "")
    if len(message) > MESSAGE_MAX_LENGTH:
        message = message[: MESSAGE_MAX_LENGTH - 3] + "..."
    return message


def amount_text(amount: Decimal) -> str:
    """An amount as the exact decimal text Saleor reads (see the module's notes)."""
    if not isinstance(amount, Decimal):
        raise ValueError(f"Amounts must be Decimal, got {type(amount).__name__}.")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{amount} is not an amount Saleor can record.")
    return format(amount, "f")


# ------------------------------------------------------------------------ internals


def _event_fields(
    version: SaleorVersion,
    result: str,
    *,
    psp_reference: str | None,
    psp_required: bool,
    amount: Decimal | None,
    message: str,
    external_url: str | None,
    actions: Iterable[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"result": result}
    if psp_reference:
        body["pspReference"] = _psp(psp_reference)
    elif psp_required:
        raise ValueError(f"{result} needs a pspReference.")
    if amount is not None:
        body["amount"] = amount_text(amount)
    elif version.amount_required:
        raise ValueError(f"Saleor {version} needs an amount with {result}.")
    message = truncate_message(message)
    if message:
        body["message"] = message
    if external_url:  # "" is refused by 3.21+, and means nothing on 3.20
        body["externalUrl"] = _http_url(external_url)
    if actions is not None:
        body["actions"] = _actions(actions)
    return body


def _psp(psp_reference: str) -> str:
    # 3.21+ refuse a JSON number here, and Saleor matches later reports by this text.
    if not isinstance(psp_reference, str):
        raise ValueError(f"pspReference must be a string, got {type(psp_reference).__name__}.")
    return psp_reference


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"externalUrl must be an http(s) URL, got {url!r}.")
    return url


def _actions(actions: Iterable[str]) -> list[str]:
    listed = list(dict.fromkeys(actions))
    unknown = [action for action in listed if action not in TRANSACTION_ACTIONS]
    if unknown:
        raise ValueError(f"Unknown transaction actions: {', '.join(map(str, unknown))}.")
    return listed
