"""The shopper's return from Optty, and Optty's callbacks, as the App receives them.

Each handler authenticates what it can (the return's hash, the callback URL's key:
:mod:`saleor_optty.shared.callbacks`), then treats the request only as a trigger: the
order's state always comes from ``GET /orders/{reference}``, and
:func:`saleor_optty.app.transitions.apply` acts on it, as for every other path.

Answers to Optty: 2xx once a callback is handled (duplicates and references that will
never resolve included); 503 only when retrying can help (Optty or the database
unavailable), so Optty's own retries fill the gap.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..optty import InvalidRedirectError, OpttyError, verify_return
from ..shared import callbacks, operations
from ..shared.callbacks import CALLBACK_SALT, MONEY_EVENTS, REFERENCE, WEBHOOK_SALT, key_matches, storable, url_key
from . import transitions
from .models import Attempt, ChannelConfiguration, Notification
from .tenants import attempt_configuration, optty_client

logger = logging.getLogger(__name__)

RETURN_PATH = "api/optty/return"
CALLBACK_PATH = "api/optty/callback"
WEBHOOKS_PATH = "api/optty/webhooks"


def return_url() -> str:
    """Where Optty sends the shopper after the provider (it adds status, reference and hash)."""
    return f"{settings.APP_URL}/{RETURN_PATH}"


def callback_url(reference: str) -> str:
    """The order's ``dynamicCallbackUrl``: only Optty (who is given it) can know its key."""
    return f"{settings.APP_URL}/{CALLBACK_PATH}/{reference}/{url_key(CALLBACK_SALT, reference)}"


def merchant_webhook_url(configuration: ChannelConfiguration) -> str:
    """The URL the merchant pastes into Optty's portal for status and refund webhooks."""
    key = url_key(WEBHOOK_SALT, _webhook_scope(configuration))
    return f"{settings.APP_URL}/{WEBHOOKS_PATH}/{configuration.channel_slug}/{key}"


def _webhook_scope(configuration: ChannelConfiguration) -> str:
    # One Saleor's channel: the same slug in another Saleor gets another key.
    return f"{configuration.installation.saleor_api_url}|{configuration.channel_slug}"


# ----------------------------------------------------------------------- return


@require_GET
def optty_return(request):
    params = {key: request.GET.get(key, "") for key in ("status", "reference", "hash", "providerReference")}
    reference = params["reference"][:64]
    attempt = _attempt(Attempt.objects.filter(reference=reference), reference)
    if attempt is None:
        _audit("return", reference, "unknown reference", params)
        return callbacks.page(404, "This payment is not known to this store.")
    configuration = attempt_configuration(attempt)
    try:
        if configuration is None:
            raise InvalidRedirectError("This channel has no Optty configuration any more.")
        verify_return(params, configuration.payment_secret)
    except InvalidRedirectError as error:
        _audit("return", reference, f"rejected: {error}", params)
        logger.warning("Rejected an Optty return for %r: %s", reference, error)
        return _back_to_storefront(attempt, "error")

    if attempt.finalised_at is not None:
        # A callback got here first (or the shopper reloaded): no call to Optty needed.
        outcome = transitions.recorded_outcome(attempt)
    else:
        Attempt.objects.filter(pk=attempt.pk).update(provider_reference=storable(params["providerReference"], 255))
        try:
            outcome = transitions.check_and_apply(optty_client(configuration), attempt, source="return")
        except OpttyError as error:
            # Nothing is lost: Optty's callback, the process webhook or reconciliation apply it later.
            _audit("return", reference, f"pending: Optty could not confirm the payment yet: {error.message}", params)
            return _back_to_storefront(attempt, "pending")
    _audit("return", reference, f"{outcome.status}: {outcome.message}", params)
    return _back_to_storefront(attempt, outcome.status)


def _back_to_storefront(attempt: Attempt, status: str):
    # return_url was checked against the channel's storefront origins when the payment began.
    query = {"transactionId": attempt.transaction_id, "status": status}
    return HttpResponseRedirect(callbacks.with_query(attempt.return_url, query))


# -------------------------------------------------------------------- callbacks


@csrf_exempt
@require_POST
def order_callback(request, reference: str, key: str):
    if not key_matches(key, CALLBACK_SALT, reference):
        return callbacks.refuse_unauthenticated(Notification, "order callbacks", reference[:64])
    payload = callbacks.read_json(request.body)
    event = callbacks.callback_event(payload, "ORDER_ASYNC_CALLBACK")
    settled = operations.known_settled(reference) if event not in MONEY_EVENTS else None
    if settled:
        # Optty's retries and duplicates
        return callbacks.acknowledge_settled(Notification, event, reference, payload, settled)
    attempt = _attempt(operations.with_unsettled(Attempt.objects.filter(reference=reference)), reference)
    if attempt is None:
        _audit(event, reference, "unknown reference; acknowledged", payload)
        return callbacks.acknowledge("unknown")
    return _handle(attempt, event, payload)


@csrf_exempt
@require_POST
def merchant_webhook(request, channel_slug: str, key: str):
    configurations = ChannelConfiguration.objects.filter(channel_slug=channel_slug).select_related("installation")
    configuration = next((c for c in configurations if key_matches(key, WEBHOOK_SALT, _webhook_scope(c))), None)
    if configuration is None:
        return callbacks.refuse_unauthenticated(Notification, "merchant webhooks", "")
    payload = callbacks.read_json(request.body)
    event = callbacks.callback_event(payload, "unknown")
    reference = callbacks.merchant_webhook_reference(payload)
    attempts = Attempt.objects.filter(
        reference=reference, installation=configuration.installation, channel_slug=configuration.channel_slug
    )
    attempt = _attempt(operations.with_unsettled(attempts), reference)
    if attempt is None:
        _audit(event, reference, "no matching order; acknowledged", payload)
        return callbacks.acknowledge("unknown")
    return _handle(attempt, event, payload)


def _handle(attempt: Attempt, event: str, payload):
    configuration = attempt_configuration(attempt)
    if configuration is None:
        _audit(event, attempt.reference, "no Optty configuration for its channel; retry expected", payload)
        return JsonResponse({"status": "retry"}, status=503)
    client = optty_client(configuration)
    return callbacks.handle(transitions, client, attempt, event, payload, audit_model=Notification)


# ---------------------------------------------------------------------- helpers


def _attempt(attempts, reference: str) -> Attempt | None:
    if not REFERENCE.fullmatch(reference):
        return None
    return attempts.select_related("installation").first()


def _audit(event: str, reference: str, outcome: str, payload) -> None:
    callbacks.audit(Notification, event, reference, outcome, payload)
