"""Authenticating Optty's callbacks and the shopper's return, and keeping their audit trail.

Optty does not sign its callbacks, so each callback URL carries a key that only Optty was
given: an HMAC, under Django's ``SECRET_KEY`` (Saleor's for the plugin, the App's own for
the App), of what the URL names (the order's reference, or the merchant's channel). A
right key still only triggers ``GET /orders/{reference}``; a wrong one is refused and
counted, so that whoever sends them cannot grow the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from contextlib import nullcontext
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from ..optty import OpttyClient, OpttyError, OpttyNotFoundError
from ..optty.redact import audit_payload
from . import operations
from .models import AttemptBase, NotificationBase, OpttyOrderState

logger = logging.getLogger(__name__)

#: Salts of the two kinds of URL key: a per-order callback, the merchant's webhook.
CALLBACK_SALT = "saleor_optty.callback"
WEBHOOK_SALT = "saleor_optty.webhooks"
MAX_BODY_BYTES = 64 * 1024
#: Requests with a wrong URL key write at most one audit record per scope this often.
REFUSALS_RECORD_SECONDS = 60
#: Every reference either adapter makes has this shape; anything else is looked up nowhere.
REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: Events after which Optty's record of the money may differ from Saleor's.
REFUND_CALLBACK = "REFUND_CALLBACK"
ORDER_STATUS_UPDATE = "ORDER_STATUS_UPDATE"
MONEY_EVENTS = (REFUND_CALLBACK, ORDER_STATUS_UPDATE)


def url_key(salt: str, value: str, *, secret: str | None = None) -> str:
    # Keyed with Django's SECRET_KEY: nothing to store, and it changes if the key does.
    return salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()[:40]


def key_matches(key: str, salt: str, value: str) -> bool:
    """Whether ``key`` is the URL key of ``value``, under SECRET_KEY or one of the
    SECRET_KEY_FALLBACKS (so the URLs of orders in flight keep working after a rotation)."""
    # compare_digest raises TypeError on non-ASCII text, and no right key is non-ASCII.
    if not key.isascii():
        return False
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return any(hmac.compare_digest(key, url_key(salt, value, secret=secret)) for secret in secrets)


def read_json(body: bytes) -> Any:
    """The body as JSON, or None when it is not JSON Optty sends (callers treat both None
    and JSON that is not an object as malformed)."""
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        # Numbers as Decimal, so amounts keep their exact text; NaN and Infinity are not
        # JSON (RFC 8259), and Optty sends neither.
        return json.loads(body or b"{}", parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON a payment service sends")


def callback_event(payload: Any, default: str) -> str:
    """The callback's event name, or "malformed" for a body that is not a JSON object."""
    if not isinstance(payload, dict):
        return "malformed"
    return str(payload.get("event") or default)[:64]


def merchant_webhook_reference(payload: Any) -> str:
    """The order reference a merchant webhook (ORDER_STATUS_UPDATE, REFUND_CALLBACK) is about."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return ""
    return str(data.get("orderReference") or data.get("merchantReference") or "")[:64]


def audit(model: type[NotificationBase], event: str, reference: str, outcome: str, payload: Any) -> None:
    """One audit record, keeping only the allow-listed fields of ``payload``; never raises."""
    try:
        # Inside a transaction, a savepoint, so that a failed audit write never breaks the
        # caller's; outside one (a callback), the insert commits by itself.
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            model.objects.create(
                event=storable(event, 64),
                reference=storable(reference, 64),
                outcome=storable(outcome, 255),
                payload=audit_payload(payload),
            )
    except DatabaseError:
        logger.exception("Could not record an Optty notification for %s", reference)


def refuse_unauthenticated(model: type[NotificationBase], scope: str, reference: str) -> JsonResponse:
    """403; the refusal is counted, so that whoever sends them cannot grow the audit trail.

    Anyone can reach these URLs. Each refusal adds one to a counter per ``scope`` (a
    channel) in the cache, and at most one audit record (and one log line) per scope and
    REFUSALS_RECORD_SECONDS says how many were counted since the previous one, giving the
    reference of the request that wrote it. Counts are best effort: an evicted counter,
    a per-process cache or a race between two refusals counts fewer.
    """
    counter = f"optty:refused:{hashlib.sha256(scope.encode()).hexdigest()[:24]}"
    try:
        refused = cache.incr(counter)
    except ValueError:  # no counter yet, or it was evicted
        refused = 1
        cache.set(counter, refused, timeout=None)
    if cache.add(f"{counter}:recorded", True, REFUSALS_RECORD_SECONDS):
        cache.set(counter, 0, timeout=None)
        logger.warning("Refused %d Optty request(s) with a wrong URL key in %s", refused, scope)
        audit(model, "unauthenticated", reference, f"rejected: wrong URL key ({refused} since the last record)", {})
    return JsonResponse({"status": "forbidden"}, status=403)


def acknowledge(status: str) -> JsonResponse:
    return JsonResponse({"status": status}, status=200)


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` set in its query string (replacing any of the same name)."""
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunparse(parts._replace(query=urlencode(query + list(params.items()))))


def storable(text: str, limit: int) -> str:
    return text.replace("\x00", "")[:limit]  # PostgreSQL text cannot hold NUL


def page(status: int, message: str) -> HttpResponse:
    """A bare page for a shopper who has no storefront to go back to."""
    html = f"<!doctype html><meta charset=utf-8><title>Optty payment</title><p>{escape(message)}</p>"
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


class Outcome(Protocol):
    """What carrying out an attempt's outcome did, as either adapter reports it."""

    status: str  # the storefront's vocabulary: success, pending, declined, cancelled, error
    message: str


class Transitions(Protocol):
    """The one decision point of an adapter (the plugin's or the App's ``transitions``)."""

    def check_and_apply(self, client: OpttyClient, attempt, *, source: str, recheck_failure: bool = False) -> Outcome: ...
    def give_back(self, client: OpttyClient, attempt) -> Outcome | None: ...
    def sync_with_optty(self, client: OpttyClient, attempt) -> operations.Settled: ...
    def recorded_outcome(self, attempt) -> Outcome: ...


def handle(
    transitions: Transitions,
    client: OpttyClient,
    attempt: AttemptBase,
    event: str,
    payload: Any,
    *,
    audit_model: type[NotificationBase],
) -> JsonResponse:
    """An authenticated callback for ``attempt``: re-check with Optty and carry out what
    Optty's record says, through the adapter's ``transitions``.

    ``attempt`` carries ``has_unsettled`` (:func:`saleor_optty.shared.operations.with_unsettled`).
    Answers Optty 2xx once handled (duplicates and orders Optty does not know included),
    503 only when retrying can help (Optty or the database unavailable).
    """
    paid = attempt.state == OpttyOrderState.SUCCESSFUL
    # Refunds, captures or an answer lost earlier: Optty's record of the money may have moved.
    money_may_have_moved = paid and (event in MONEY_EVENTS or attempt.has_unsettled)
    if paid and attempt.finalised_at is not None and not money_may_have_moved:
        # Duplicates and replays of a paid order: no call to Optty, no lock. (A refused
        # one is asked again: one GET, and Optty may report it paid after all.)
        status = transitions.recorded_outcome(attempt).status
        operations.remember_settled(attempt, status)
        return acknowledge_settled(audit_model, event, attempt.reference, payload, status)
    try:
        status, message = "refunds", ""
        if money_may_have_moved:
            settled = transitions.sync_with_optty(client, attempt)
            message = f"{len(settled.foreign_refunds)} new refund(s) recorded, {len(settled.settled)} operation(s) settled"
        attempt.refresh_from_db()
        if attempt.is_returning:
            outcome = transitions.give_back(client, attempt) or transitions.recorded_outcome(attempt)
            status, message = outcome.status, outcome.message
        elif not (paid and attempt.finalised_at is not None):
            outcome = transitions.check_and_apply(client, attempt, source=event, recheck_failure=True)
            status, message = outcome.status, outcome.message
    except OpttyNotFoundError:
        audit(audit_model, event, attempt.reference, "Optty does not know this order; acknowledged", payload)
        return acknowledge("unknown")
    except OpttyError as error:
        audit(audit_model, event, attempt.reference, f"Optty unavailable, retry expected: {error.message}", payload)
        return JsonResponse({"status": "retry", "message": error.message}, status=503)
    except DatabaseError:
        logger.exception("Database error while applying Optty callback for %s", attempt.reference)
        return JsonResponse({"status": "retry"}, status=503)
    audit(audit_model, event, attempt.reference, f"{status}: {message}", payload)
    return acknowledge(status)


def acknowledge_settled(model: type[NotificationBase], event: str, reference: str, payload: Any, status: str) -> JsonResponse:
    audit(model, event, reference, f"already final ({status}); acknowledged", payload)
    return acknowledge(status)
