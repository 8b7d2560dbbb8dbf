"""The shopper's return from Optty and Optty's callbacks.

Each handler authenticates what it can (the return's hash, the callback URL's key),
then treats the request only as a trigger: the order's state always comes from
``GET /orders/{reference}``, and :func:`saleor_optty.transitions.apply` acts on it.

Answers to Optty: 2xx once a callback is handled (duplicates and references that will
never resolve included); 503 only when retrying can help (Optty or the database
unavailable), so Optty's own retries fill the gap.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from decimal import Decimal
from urllib.parse import urlencode, urlparse, urlunparse, parse_qsl

from django.db import DatabaseError, transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from . import saleor_compat as saleor
from . import transitions
from .config import OpttyConfiguration
from .consts import CALLBACK_PATH, GATEWAY_ID, RETURN_PATH, WEBHOOKS_PATH
from .models import OpttyNotification, OpttyOrder, OpttyOrderState
from .optty import InvalidRedirectError, OpttyClient, OpttyError, OpttyNotFoundError, verify_return
from .optty.redact import redact

logger = logging.getLogger(__name__)

REFUND_CALLBACK = "REFUND_CALLBACK"
ORDER_STATUS_UPDATE = "ORDER_STATUS_UPDATE"

_CALLBACK_SALT = "saleor_optty.callback"
_WEBHOOK_SALT = "saleor_optty.webhooks"
MAX_BODY_BYTES = 64 * 1024
#: Every reference this plugin makes has this shape; anything else is looked up nowhere.
REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _key(salt: str, value: str) -> str:
    # Keyed with Django's SECRET_KEY: nothing to store, and it changes if the key does.
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()[:40]


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
        if not hmac.compare_digest(key, _key(_CALLBACK_SALT, reference)):
            return _refuse_unauthenticated(request, reference)
        return handle_callback(request, reference=reference, client=client, channel_slug=channel_slug)
    if len(parts) == 2 and f"/{parts[0]}" == WEBHOOKS_PATH:
        if not hmac.compare_digest(parts[1], _key(_WEBHOOK_SALT, channel_slug)):
            return _refuse_unauthenticated(request, "")
        return handle_merchant_webhook(request, client=client, channel_slug=channel_slug)
    return HttpResponse("Not found.", status=404, content_type="text/plain")


# ----------------------------------------------------------------------- return


def handle_return(request, *, config: OpttyConfiguration, client: OpttyClient, channel_slug: str):
    params = {key: request.GET.get(key, "") for key in ("status", "reference", "hash", "providerReference")}
    reference = params["reference"][:64]
    attempt = _attempt(reference, channel_slug)
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
        outcome = transitions.check_and_apply(client, reference, source="return")
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
    """Re-check the order with Optty and apply what Optty's API says."""
    refunds_may_have_changed = event == REFUND_CALLBACK or (
        event == ORDER_STATUS_UPDATE and attempt.state == OpttyOrderState.SUCCESSFUL
    )
    if attempt.finalised_at is not None and not refunds_may_have_changed:
        # Duplicates and replays: no call to Optty, no lock.
        _audit(event, attempt.reference, f"already {attempt.state}; acknowledged", payload)
        return _ack(transitions.RETURN_STATUS[attempt.state])
    try:
        if refunds_may_have_changed:
            recorded = transitions.sync_refunds(client, attempt.reference)
            status, message = "refunds", f"{len(recorded)} new refund(s) recorded"
        else:
            outcome = transitions.check_and_apply(client, attempt.reference, source=event)
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


# ---------------------------------------------------------------------- helpers


def _attempt(reference: str, channel_slug: str) -> OpttyOrder | None:
    if not REFERENCE.fullmatch(reference):
        return None
    return OpttyOrder.objects.filter(reference=reference, channel_slug=channel_slug).first()


def _refuse_unauthenticated(request, reference: str):
    _audit("unauthenticated", reference, "rejected: wrong URL key", {"path": request.path[:200]})
    return JsonResponse({"status": "forbidden"}, status=403)


def _json_body(request):
    body = request.body[:MAX_BODY_BYTES]
    try:
        # Numbers as Decimal and NaN/Infinity refused: the body is stored, and JSON
        # columns hold neither floats' infinities nor NaN.
        return json.loads(body or b"{}", parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        return {"unreadable": body[:200].decode("utf-8", "replace")}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON a payment service sends")


def _ack(status: str):
    return JsonResponse({"status": status}, status=200)


def _audit(event: str, reference: str, outcome: str, payload) -> None:
    record = redact(payload) if isinstance(payload, dict) else {"body": redact(payload)}
    record = json.loads(json.dumps(record, default=str))  # Decimals as their exact text
    try:
        # A savepoint, so that a failed audit write never breaks the caller's transaction.
        with transaction.atomic():
            OpttyNotification.objects.create(
                event=_storable(event, 64), reference=_storable(reference, 64), outcome=_storable(outcome, 255), payload=record
            )
    except DatabaseError:
        logger.exception("Could not record an Optty notification for %s", reference)


def _storable(text: str, limit: int) -> str:
    return text.replace("\x00", "")[:limit]  # PostgreSQL text cannot hold NUL


def _page(status: int, message: str):
    html = f"<!doctype html><meta charset=utf-8><title>Optty payment</title><p>{escape(message)}</p>"
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
