"""The shopper's return from Optty and Optty's callbacks.

Each handler authenticates what it can (the return's hash, the callback URL's key),
then treats the request only as a trigger: the order's state always comes from
``GET /orders/{reference}``, and :func:`saleor_optty.transitions.apply` acts on it.

Answers to Optty: 2xx once a callback is handled (duplicates and references that will
never resolve included); 503 only when retrying can help (Optty or the database
unavailable), so Optty's own retries fill the gap.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from contextlib import nullcontext
from decimal import Decimal
from urllib.parse import urlencode, urlparse, urlunparse, parse_qsl

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from . import saleor_compat as saleor
from . import transitions
from ..shared import operations
from ..core.config import OpttyConfiguration
from ..consts import CALLBACK_PATH, GATEWAY_ID, RETURN_PATH, WEBHOOKS_PATH
from .models import OpttyNotification, OpttyOperation, OpttyOrder, OpttyOrderState
from ..optty import InvalidRedirectError, OpttyClient, OpttyError, OpttyNotFoundError, verify_return
from ..optty.redact import audit_payload

logger = logging.getLogger(__name__)

REFUND_CALLBACK = "REFUND_CALLBACK"
ORDER_STATUS_UPDATE = "ORDER_STATUS_UPDATE"
#: Events after which Optty's record of the money may differ from Saleor's.
MONEY_EVENTS = (REFUND_CALLBACK, ORDER_STATUS_UPDATE)

_CALLBACK_SALT = "saleor_optty.callback"
_WEBHOOK_SALT = "saleor_optty.webhooks"
MAX_BODY_BYTES = 64 * 1024
#: Requests with a wrong URL key write at most one audit record per channel this often.
REFUSALS_RECORD_SECONDS = 60
#: Every reference this plugin makes has this shape; anything else is looked up nowhere.
REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _key(salt: str, value: str) -> str:
    # Keyed with Django's SECRET_KEY: nothing to store, and it changes if the key does.
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()[:40]


def _key_matches(key: str, salt: str, value: str) -> bool:
    # compare_digest raises TypeError on non-ASCII text, and no right key is non-ASCII.
    return key.isascii() and hmac.compare_digest(key, _key(salt, value))


def callback_url(channel_slug: str, reference: str) -> str:
    """The order's ``dynamicCallbackUrl``: only Optty (who is given it) can know its key."""
    return saleor.plugin_url(channel_slug, GATEWAY_ID, f"{CALLBACK_PATH}/{reference}/{_key(_CALLBACK_SALT, reference)}")


def merchant_webhook_url(channel_slug: str) -> str:
    """The URL the merchant pastes into Optty's portal for status and refund webhooks."""
    return saleor.plugin_url(channel_slug, GATEWAY_ID, f"{WEBHOOKS_PATH}/{_key(_WEBHOOK_SALT, channel_slug)}")


def route(request, path: str, *, config: OpttyConfiguration, client: OpttyClient, channel_slug: str):
    parts = [part for part in path.split("/") if part]
    if path.rstrip("/") == RETURN_PATH and request.method == "GET":
        return handle_return(request, config=config, client=client, channel_slug=channel_slug)
    if request.method != "POST":
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if len(parts) == 3 and f"/{parts[0]}" == CALLBACK_PATH:
        reference, key = parts[1], parts[2]
        if not _key_matches(key, _CALLBACK_SALT, reference):
            return _refuse_unauthenticated(reference, channel_slug)
        return handle_callback(request, reference=reference, client=client, channel_slug=channel_slug)
    if len(parts) == 2 and f"/{parts[0]}" == WEBHOOKS_PATH:
        if not _key_matches(parts[1], _WEBHOOK_SALT, channel_slug):
            return _refuse_unauthenticated("", channel_slug)
        return handle_merchant_webhook(request, client=client, channel_slug=channel_slug)
    return HttpResponse("Not found.", status=404, content_type="text/plain")


# ----------------------------------------------------------------------- return


def handle_return(request, *, config: OpttyConfiguration, client: OpttyClient, channel_slug: str):
    params = {key: request.GET.get(key, "") for key in ("status", "reference", "hash", "providerReference")}
    reference = params["reference"][:64]
    attempt = _attempt(reference, channel_slug, with_unsettled=False)
    try:
        verify_return(params, config.payment_secret)
    except InvalidRedirectError as error:
        _audit("return", reference, f"rejected: {error}", params)
        logger.warning("Rejected an Optty return for %r: %s", reference, error)
        if attempt is None:
            return _page(400, "This payment link is not valid.")
        return _back_to_storefront(attempt, transitions.Outcome("error", str(error), checkout_token=attempt.checkout_token))
    if attempt is None:
        _audit("return", reference, "unknown reference", params)
        return _page(404, "This payment is not known to this store.")

    if attempt.finalised_at is not None:
        # A callback got here first (or the shopper reloaded): no call to Optty needed.
        outcome = transitions.recorded_outcome(attempt)
        _audit("return", reference, f"{outcome.status}: {outcome.message}", params)
        return _back_to_storefront(attempt, outcome)
    attempt.provider_reference = _storable(params["providerReference"], 255)
    attempt.save(update_fields=["provider_reference", "updated_at"])
    try:
        outcome = transitions.check_and_apply(client, attempt, source="return")
    except OpttyError as error:
        # Nothing is lost: Optty's callback or reconciliation will apply the state later.
        outcome = transitions.Outcome(
            "pending", f"Optty could not confirm the payment yet: {error.message}", checkout_token=attempt.checkout_token
        )
    _audit("return", reference, f"{outcome.status}: {outcome.message}", params)
    return _back_to_storefront(attempt, outcome)


def _back_to_storefront(attempt: OpttyOrder, outcome: transitions.Outcome):
    query = {"status": outcome.status, "checkoutId": saleor.checkout_global_id(attempt.checkout_token)}
    if outcome.order_id:
        query["orderId"] = saleor.order_global_id(outcome.order_id)
    return_url = saleor.payment_return_url(attempt.payment_id)
    if not return_url:
        # checkoutPaymentCreate was called without returnUrl: say what happened here instead.
        return _page(200, f"Payment {outcome.status}. {outcome.message}")
    return HttpResponseRedirect(_add_query(return_url, query))


def _add_query(url: str, params: dict[str, str]) -> str:
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunparse(parts._replace(query=urlencode(query + list(params.items()))))


# -------------------------------------------------------------------- callbacks


def handle_callback(request, *, reference: str, client: OpttyClient, channel_slug: str):
    payload = _json_body(request)
    event = str(payload.get("event") or "ORDER_ASYNC_CALLBACK")[:64] if isinstance(payload, dict) else "malformed"
    settled = operations.known_settled(channel_slug, reference) if event not in MONEY_EVENTS else None
    if settled:
        return _acknowledge_settled(event, reference, payload, settled)  # Optty's retries and duplicates
    attempt = _attempt(reference, channel_slug)
    if attempt is None:
        _audit(event, reference, "unknown reference; acknowledged", payload)
        return _ack("unknown")
    return _check(client, attempt, event, payload)


def handle_merchant_webhook(request, *, client: OpttyClient, channel_slug: str):
    payload = _json_body(request)
    data = payload.get("data") if isinstance(payload, dict) else None
    event = str(payload.get("event") or "unknown")[:64] if isinstance(payload, dict) else "malformed"
    reference = ""
    if isinstance(data, dict):
        reference = str(data.get("orderReference") or data.get("merchantReference") or "")[:64]
    attempt = _attempt(reference, channel_slug)
    if attempt is None:
        _audit(event, reference, "no matching order; acknowledged", payload)
        return _ack("unknown")
    return _check(client, attempt, event, payload)


def _check(client: OpttyClient, attempt: OpttyOrder, event: str, payload):
    """Re-check the order with Optty and carry out what Optty's record says."""
    paid = attempt.state == OpttyOrderState.SUCCESSFUL
    # Refunds, captures or an answer lost earlier: Optty's record of the money may have moved.
    money_may_have_moved = paid and (event in MONEY_EVENTS or attempt.has_unsettled)
    if paid and attempt.finalised_at is not None and not money_may_have_moved:
        # Duplicates and replays of a paid order: no call to Optty, no lock. (A refused
        # one is asked again: one GET, and Optty may report it paid after all.)
        status = transitions.recorded_outcome(attempt).status
        operations.remember_settled(attempt, status)
        return _acknowledge_settled(event, attempt.reference, payload, status)
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
        _audit(event, attempt.reference, "Optty does not know this order; acknowledged", payload)
        return _ack("unknown")
    except OpttyError as error:
        _audit(event, attempt.reference, f"Optty unavailable, retry expected: {error.message}", payload)
        return JsonResponse({"status": "retry", "message": error.message}, status=503)
    except DatabaseError:
        logger.exception("Database error while applying Optty callback for %s", attempt.reference)
        return JsonResponse({"status": "retry"}, status=503)
    _audit(event, attempt.reference, f"{status}: {message}", payload)
    return _ack(status)


def _acknowledge_settled(event: str, reference: str, payload, status: str):
    _audit(event, reference, f"already final ({status}); acknowledged", payload)
    return _ack(status)


# ---------------------------------------------------------------------- helpers


def _attempt(reference: str, channel_slug: str, *, with_unsettled: bool = True) -> OpttyOrder | None:
    """The attempt; for callbacks with ``has_unsettled`` (an operation whose outcome is
    unknown), in the same query."""
    if not REFERENCE.fullmatch(reference):
        return None
    attempts = OpttyOrder.objects.filter(reference=reference, channel_slug=channel_slug)
    if with_unsettled:
        unsettled = OpttyOperation.objects.filter(attempt=OuterRef("pk"), status__in=operations.UNSETTLED)
        attempts = attempts.annotate(has_unsettled=Exists(unsettled))
    return attempts.first()


def _refuse_unauthenticated(reference: str, channel_slug: str):
    """403; the refusal is counted, so that whoever sends them cannot grow the audit trail.

    Anyone can reach these URLs. Each refusal adds one to a per-channel counter in the
    cache, and at most one audit record (and one log line) per channel and
    REFUSALS_RECORD_SECONDS says how many were counted since the previous one, giving the
    reference of the request that wrote it. Counts are best effort: an evicted counter,
    a per-process cache or a race between two refusals counts fewer.
    """
    counter = f"optty:refused:{hashlib.sha256(channel_slug.encode()).hexdigest()[:24]}"
    try:
        refused = cache.incr(counter)
    except ValueError:  # no counter yet, or it was evicted
        refused = 1
        cache.set(counter, refused, timeout=None)
    if cache.add(f"{counter}:recorded", True, REFUSALS_RECORD_SECONDS):
        cache.set(counter, 0, timeout=None)
        logger.warning("Refused %d Optty request(s) with a wrong URL key in channel %s", refused, channel_slug)
        _audit("unauthenticated", reference, f"rejected: wrong URL key ({refused} since the last record)", {})
    return JsonResponse({"status": "forbidden"}, status=403)


def _json_body(request):
    """The body as JSON, or None when it is not JSON Optty sends (the handlers treat both
    None and JSON that is not an object as malformed)."""
    body = request.body
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


def _ack(status: str):
    return JsonResponse({"status": status}, status=200)


def _audit(event: str, reference: str, outcome: str, payload) -> None:
    try:
        # Inside a transaction, a savepoint, so that a failed audit write never breaks the
        # caller's; outside one (a callback), the insert commits by itself.
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            OpttyNotification.objects.create(
                event=_storable(event, 64),
                reference=_storable(reference, 64),
                outcome=_storable(outcome, 255),
                payload=audit_payload(payload),
            )
    except DatabaseError:
        logger.exception("Could not record an Optty notification for %s", reference)


def _storable(text: str, limit: int) -> str:
    return text.replace("\x00", "")[:limit]  # PostgreSQL text cannot hold NUL


def _page(status: int, message: str):
    html = f"<!doctype html><meta charset=utf-8><title>Optty payment</title><p>{escape(message)}</p>"
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
