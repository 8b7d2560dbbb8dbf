"""``TRANSACTION_INITIALIZE_SESSION``: create the Optty order and send the shopper to the provider.

The storefront's ``data`` names the provider and the ``returnUrl`` the shopper comes
back to. The Optty order is built from the webhook's ``sourceObject`` (a checkout or an
order) with the plugin's payload builder and sum rule, for the transaction's amount.

Saleor sends this webhook again, for the same transaction, on every retry with the same
``idempotencyKey``: the transaction keys the attempt, so a retry gets the first answer and
never a second Optty order, even when two arrive at once (the second waits for the
first's row). The answer is ``CHARGE_ACTION_REQUIRED`` (auto-capture) or
``AUTHORIZATION_ACTION_REQUIRED``, never a ``*_REQUEST``: nothing counts as paid before
Optty confirms it.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from ...core.payload import build_order_request, create_failure_message
from ...optty import MoneyError, OpttyAuthenticationError, OpttyError
from ...shared import providers
from ...shared.models import OpttyOrderState
from .. import problems, transitions
from ..cart import cart_from_source
from ..configuration.service import return_url_allowed, storefront_origin
from ..models import Attempt, ChannelConfiguration, unique_or_none
from ..optty_views import callback_url, return_url
from ..saleor.events import TransactionInitializeSession
from ..saleor.responses import session_response
from ..tenants import configuration, optty_client
from ..webhook import saleor_webhook, webhook_response
from . import readable_payload

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A payment that cannot start; the message is for the shopper."""


@saleor_webhook("TRANSACTION_INITIALIZE_SESSION")
@readable_payload
def transaction_initialize(request, webhook):
    event = TransactionInitializeSession.from_payload(webhook.payload)
    config = configuration(webhook.installation, event.source.channel_slug)
    auto_capture = config.auto_capture if config is not None else event.action.type == "CHARGE"
    failure = "CHARGE_FAILURE" if auto_capture else "AUTHORIZATION_FAILURE"
    try:
        attempt = _existing(webhook.installation, event) or _start(webhook.installation, config, event)
    except Refused as refusal:
        message = str(refusal)
        body = session_response(webhook.version, failure, psp_reference=None, amount=event.action.amount,
                                message=message, data={"error": message})  # fmt: skip
        return webhook_response(body)
    return webhook_response(_answer(webhook.version, attempt))


def _existing(installation, event: TransactionInitializeSession) -> Attempt | None:
    return unique_or_none(Attempt, installation=installation, transaction_id=event.transaction.id)


def _start(installation, config: ChannelConfiguration | None, event: TransactionInitializeSession) -> Attempt:
    """The attempt for this transaction, creating its Optty order unless a concurrent
    delivery of the same webhook did."""
    if config is None or config.optty.problems():
        problems.report_missing_configuration(installation, event.source.channel_slug)
        raise Refused("Optty is not set up for this channel yet. Please choose another payment method.")
    optty = config.optty
    provider, redirect_to = _storefront_choice(event.data, config)
    amount, currency = event.action.amount, event.action.currency
    if currency not in optty.supported_currencies:
        raise Refused(f"Optty does not take payments in {currency} in this shop.")
    problem = providers.provider_problem(optty, provider, amount, currency)
    if problem:
        raise Refused(problem)
    try:
        cart = cart_from_source(event.source_object, amount=amount, currency=currency)
        reference = f"{optty.order_reference_prefix}{secrets.token_hex(8).upper()}"
        built = build_order_request(
            cart,
            reference=reference,
            provider=provider,
            auto_capture=optty.auto_capture,
            redirect_url=return_url(),
            callback_url=callback_url(reference),
            channel=optty.optty_channel or None,
        )
    except MoneyError as error:
        raise Refused(f"This cart cannot be paid with Optty: {error}") from None

    with transaction.atomic():
        # The row is created and its Optty order made in one transaction: a concurrent
        # delivery for the same transaction waits on the unique key, then finds it.
        attempt, created = Attempt.objects.get_or_create(
            installation=installation,
            transaction_id=event.transaction.id,
            defaults=dict(
                reference=reference,
                channel_slug=event.source.channel_slug,
                source_type=event.source.type,
                source_id=event.source.id,
                action_type=event.action.type,
                return_url=redirect_to,
                provider=provider,
                amount=amount,
                currency=currency,
                auto_capture=optty.auto_capture,
                rounding_adjustment=built.adjustment,
            ),
        )
        if not created:
            return attempt
        try:
            created_order = optty_client(config).create_order(built.request)
        except OpttyError as error:
            # Final at once: the shopper never got a redirect URL, so even an order Optty
            # made before its answer was lost can never be paid.
            attempt.state = OpttyOrderState.FAILED
            attempt.resolution = create_failure_message(error)[:255]
            attempt.finalised_at = timezone.now()
            attempt.save(update_fields=["state", "resolution", "finalised_at", "updated_at"])
            logger.info("Optty did not create the order for transaction %s: %s", event.transaction.id, error.message)
            if isinstance(error, OpttyAuthenticationError):
                problems.report_optty_refused_credentials(config, error.message)
            elif error.retryable or error.outcome_unknown:
                problems.report_optty_unreachable(config, error)
            return attempt  # answered as the failure it is, now and on every retry
        attempt.optty_order_id = created_order.order_id
        attempt.optty_order_token = created_order.order_token
        attempt.redirect_url = created_order.redirect_url
        attempt.save(update_fields=["optty_order_id", "optty_order_token", "redirect_url", "updated_at"])
    return attempt


def _storefront_choice(data: Any, config: ChannelConfiguration) -> tuple[str, str]:
    """(provider, returnUrl) from the storefront's ``data``; the URL must be one of the
    channel's storefront origins, so the App never redirects a shopper elsewhere."""
    if not isinstance(data, dict):
        raise Refused('Pass {"provider": "<provider name>", "returnUrl": "<storefront URL>"} as the payment gateway data.')
    provider = str(data.get("provider") or "").strip().upper()
    if not provider:
        raise Refused("Choose a buy-now-pay-later provider: pass its name as data.provider.")
    redirect_to = str(data.get("returnUrl") or "").strip()
    origin = storefront_origin(redirect_to)
    if origin is None:
        raise Refused("Pass data.returnUrl: the storefront page the shopper comes back to.")
    if not return_url_allowed(config, redirect_to):
        raise Refused(f"{origin} is not a storefront this channel sends shoppers back to.")
    return provider, redirect_to


def _answer(version, attempt: Attempt) -> dict:
    """The answer for the transaction's attempt, the same however often Saleor asks."""
    if attempt.redirect_url and attempt.finalised_at is None and attempt.state in (
        OpttyOrderState.CREATED, OpttyOrderState.PENDING
    ):  # fmt: skip
        data = {"redirectUrl": attempt.redirect_url, "reference": attempt.reference, "provider": attempt.provider}
        return session_response(version, transitions.action_required_type(attempt), psp_reference=attempt.reference,
                                amount=attempt.money, data=data)  # fmt: skip
    outcome = transitions.recorded_outcome(attempt)
    if attempt.state == OpttyOrderState.FAILED and not attempt.redirect_url:  # Optty never made the order
        return session_response(version, outcome.result, psp_reference=None, amount=attempt.money,
                                message=outcome.message, data={"error": outcome.message})  # fmt: skip
    return session_response(version, outcome.result, psp_reference=attempt.reference, amount=outcome.amount,
                            message=outcome.message, data={"status": outcome.status, "message": outcome.message})  # fmt: skip
