"""The shopper's return from Optty and Optty's callbacks.

Each handler authenticates what it can (the return's hash, the callback URL's key),
then treats the request only as a trigger: the order's state always comes from
``GET /orders/{reference}``, and :func:`.transitions.apply` acts on it. How callback
URLs are keyed and audited is shared with the App (:mod:`saleor_optty.shared.callbacks`).

Answers to Optty: 2xx once a callback is handled (duplicates and references that will
never resolve included); 503 only when retrying can help (Optty or the database
unavailable), so Optty's own retries fill the gap.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse, HttpResponseRedirect

from ..consts import CALLBACK_PATH, GATEWAY_ID, RETURN_PATH, WEBHOOKS_PATH
from ..core.config import OpttyConfiguration
from ..optty import InvalidRedirectError, OpttyClient, OpttyError, verify_return
from ..shared import callbacks, operations
from ..shared.callbacks import CALLBACK_SALT, MONEY_EVENTS, REFERENCE, WEBHOOK_SALT, key_matches, storable, url_key
from . import saleor_compat as saleor
from . import transitions
from .models import OpttyNotification, OpttyOrder

logger = logging.getLogger(__name__)


def callback_url(channel_slug: str, reference: str) -> str:
    """The order's ``dynamicCallbackUrl``: only Optty (who is given it) can know its key."""
    return saleor.plugin_url(channel_slug, GATEWAY_ID, f"{CALLBACK_PATH}/{reference}/{url_key(CALLBACK_SALT, reference)}")


def merchant_webhook_url(channel_slug: str) -> str:
    """The URL the merchant pastes into Optty's portal for status and refund webhooks."""
    return saleor.plugin_url(channel_slug, GATEWAY_ID, f"{WEBHOOKS_PATH}/{url_key(WEBHOOK_SALT, channel_slug)}")


def route(request, path: str, *, config: OpttyConfiguration, client: OpttyClient, channel_slug: str):
    parts = [part for part in path.split("/") if part]
    if path.rstrip("/") == RETURN_PATH and request.method == "GET":
        return handle_return(request, config=config, client=client, channel_slug=channel_slug)
    if request.method != "POST":
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if len(parts) == 3 and f"/{parts[0]}" == CALLBACK_PATH:
        reference, key = parts[1], parts[2]
        if not key_matches(key, CALLBACK_SALT, reference):
            return callbacks.refuse_unauthenticated(OpttyNotification, f"channel {channel_slug}", reference)
        return handle_callback(request, reference=reference, client=client, channel_slug=channel_slug)
    if len(parts) == 2 and f"/{parts[0]}" == WEBHOOKS_PATH:
        if not key_matches(parts[1], WEBHOOK_SALT, channel_slug):
            return callbacks.refuse_unauthenticated(OpttyNotification, f"channel {channel_slug}", "")
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
            return callbacks.page(400, "This payment link is not valid.")
        return _back_to_storefront(attempt, transitions.Outcome("error", str(error), checkout_token=attempt.checkout_token))
    if attempt is None:
        _audit("return", reference, "unknown reference", params)
        return callbacks.page(404, "This payment is not known to this store.")

    if attempt.finalised_at is not None:
        # A callback got here first (or the shopper reloaded): no call to Optty needed.
        outcome = transitions.recorded_outcome(attempt)
        _audit("return", reference, f"{outcome.status}: {outcome.message}", params)
        return _back_to_storefront(attempt, outcome)
    provider_reference = storable(params["providerReference"], 255)
    try:
        outcome = transitions.check_and_apply(client, attempt, source="return", provider_reference=provider_reference)
    except OpttyError as error:
        # Nothing is lost: Optty's callback or reconciliation will apply the state later.
        OpttyOrder.objects.filter(pk=attempt.pk).update(provider_reference=provider_reference)
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
        return callbacks.page(200, f"Payment {outcome.status}. {outcome.message}")
    return HttpResponseRedirect(callbacks.with_query(return_url, query))


# -------------------------------------------------------------------- callbacks


def handle_callback(request, *, reference: str, client: OpttyClient, channel_slug: str):
    payload = callbacks.read_json(request.body)
    event = callbacks.callback_event(payload, "ORDER_ASYNC_CALLBACK")
    settled = operations.known_settled(reference) if event not in MONEY_EVENTS else None
    if settled:
        # Optty's retries and duplicates
        return callbacks.acknowledge_settled(OpttyNotification, event, reference, payload, settled)
    attempt = _attempt(reference, channel_slug)
    if attempt is None:
        _audit(event, reference, "unknown reference; acknowledged", payload)
        return callbacks.acknowledge("unknown")
    return callbacks.handle(transitions, client, attempt, event, payload, audit_model=OpttyNotification)


def handle_merchant_webhook(request, *, client: OpttyClient, channel_slug: str):
    payload = callbacks.read_json(request.body)
    event = callbacks.callback_event(payload, "unknown")
    reference = callbacks.merchant_webhook_reference(payload)
    attempt = _attempt(reference, channel_slug)
    if attempt is None:
        _audit(event, reference, "no matching order; acknowledged", payload)
        return callbacks.acknowledge("unknown")
    return callbacks.handle(transitions, client, attempt, event, payload, audit_model=OpttyNotification)


# ---------------------------------------------------------------------- helpers


def _attempt(reference: str, channel_slug: str, *, with_unsettled: bool = True) -> OpttyOrder | None:
    """The attempt; for callbacks with ``has_unsettled`` (an operation whose outcome is
    unknown), in the same query."""
    if not REFERENCE.fullmatch(reference):
        return None
    attempts = OpttyOrder.objects.filter(reference=reference, channel_slug=channel_slug)
    if with_unsettled:
        attempts = operations.with_unsettled(attempts)
    return attempts.first()


def _audit(event: str, reference: str, outcome: str, payload) -> None:
    callbacks.audit(OpttyNotification, event, reference, outcome, payload)
