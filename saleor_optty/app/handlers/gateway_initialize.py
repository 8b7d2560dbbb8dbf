"""``PAYMENT_GATEWAY_INITIALIZE_SESSION``: the providers Optty offers for this checkout or order.

The storefront shows one choice per provider and passes its ``name`` to
``transactionInitialize``. The list is cached and fetched with a short timeout
(:mod:`saleor_optty.shared.providers`), so an Optty outage answers an empty list
quickly instead of failing the storefront's page.
"""

from ...shared import providers
from .. import problems
from ..saleor.events import GatewayInitializeSession
from ..saleor.responses import gateway_initialize_response
from ..tenants import configuration
from ..webhook import saleor_webhook, webhook_response
from . import readable_payload


@saleor_webhook("PAYMENT_GATEWAY_INITIALIZE_SESSION")
@readable_payload
def gateway_initialize(request, webhook):
    event = GatewayInitializeSession.from_payload(webhook.payload)
    config = configuration(webhook.installation, event.source.channel_slug)
    if config is None or config.optty.problems():
        problems.report_missing_configuration(webhook.installation, event.source.channel_slug)
        return webhook_response(gateway_initialize_response({"providers": []}))
    amount = event.amount if event.amount is not None else event.total.amount
    currency = event.total.currency
    offered = []
    if currency in config.optty.supported_currencies:
        offered = providers.offered(config.optty, amount, currency)
    return webhook_response(gateway_initialize_response({"providers": offered}))
