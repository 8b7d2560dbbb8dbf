"""The providers Optty offers for a checkout, as the storefront's gateway config shows them.

``checkout.availablePaymentGateways`` is queried on every checkout page view, so the
list is cached briefly, fetched with a short timeout, and an Optty outage is remembered
for a little while (a simple circuit breaker) so that the page never waits on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from django.core.cache import cache

from ..core.config import OpttyConfiguration
from ..optty import FAST_POLICY, MoneyError, OpttyError, PaymentOption
from ..optty.money import quantize

logger = logging.getLogger(__name__)

OPTIONS_TTL_SECONDS = 300
OUTAGE_TTL_SECONDS = 30


def _as_dict(option: PaymentOption) -> dict:
    return {
        "name": option.name,
        "displayName": option.display_name,
        "logoUrl": option.image_url,
        "minAmount": None if option.min_amount is None else str(option.min_amount),
        "maxAmount": None if option.max_amount is None else str(option.max_amount),
        "requiredFields": list(option.required_fields),
    }


def offered(config: OpttyConfiguration, amount: Decimal, currency: str) -> list[dict]:
    """The allowed providers Optty offers for ``amount``; empty when Optty can't say."""
    try:
        amount = quantize(Decimal(amount), currency)
    except MoneyError:
        return []
    if amount < 1:  # Optty's /options refuses amounts below 1
        return []
    # The store's own choices apply after the cache, so a saved Dashboard form counts
    # from the next request on.
    return [option for option in _optty_options(config, amount, currency) if config.allows_provider(option["name"])]


def provider_problem(config: OpttyConfiguration, provider: str, amount: Decimal, currency: str) -> str | None:
    """Why ``provider`` cannot pay ``amount`` here, or None. When Optty cannot be asked,
    the provider is let through: Optty itself refuses the order if it must."""
    if not config.allows_provider(provider):
        return f"{provider} is not enabled for this store. Choose one of: {', '.join(config.providers)}."
    names = [option["name"] for option in offered(config, amount, currency)]
    if names and provider not in names:
        return f"{provider} is not available for this order. Choose one of: {', '.join(names)}."
    return None


def _optty_options(config: OpttyConfiguration, amount: Decimal, currency: str) -> list[dict]:
    """Optty's answer for ``amount``, cached under exactly what that answer depends on."""
    key = f"optty:options:{config.identity}:{config.optty_channel}:{currency}:{amount}"
    outage_key = f"optty:options-outage:{config.identity}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    if cache.get(outage_key):
        return []
    client = config.client(token_store=cache, policy=FAST_POLICY)
    try:
        options = client.get_options(amount, currency, channel=config.optty_channel or None)
    except OpttyError as error:
        logger.warning("Optty's payment options are unavailable: %s", error)
        cache.set(outage_key, True, OUTAGE_TTL_SECONDS)
        return []
    # An option in another currency is Optty's inconsistency, not a choice of the store.
    result = [_as_dict(option) for option in options if option.currency in ("", currency.upper())]
    cache.set(key, result, OPTIONS_TTL_SECONDS)
    return result


def remembered_amount_due(checkout, compute: Callable[[], Decimal]) -> Decimal:
    """The checkout's amount due from ``compute``, remembered while the checkout stays as it is.

    Computing it takes a query (the gift cards' balance) on every listing. Saleor moves
    the checkout's ``last_change`` and ``price_expiration`` whenever its lines, vouchers,
    gift cards or prices change, so they key the amount. Only a gift card spent in
    another checkout goes unnoticed until the entry expires; that can only shift the
    providers listed, as the payment is checked against its own amount.
    """
    key = f"optty:amount-due:{checkout.pk}:{checkout.last_change.isoformat()}:{checkout.price_expiration.isoformat()}"
    amount = cache.get(key)
    if amount is None:
        amount = compute()
        cache.set(key, amount, OPTIONS_TTL_SECONDS)
    return amount
