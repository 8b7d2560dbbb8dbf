"""The least work a redirect payment costs Saleor: the floor for figure 1.

Saleor's legacy Payments API has one way to send a shopper to a provider: the first
``checkoutComplete`` asks the gateway to process the payment, the gateway answers
"action required", and after the shopper's return the checkout is completed again,
which confirms the payment and makes the order. This gateway does exactly that and
nothing else: no provider to ask, no verification, no records of its own. Its
checkout, measured beside the dummy gateway's and Optty's in the same run, separates
what the flow costs Saleor from what the Optty plugin adds.

The return completes the checkout through the plugin's own path in ``saleor_compat``:
``check_checkout_unchanged`` loads the checkout's lines and info that Saleor's
``complete_checkout`` takes and makes the cart total check any gateway needs (Saleor's
Stripe webhook makes it too), then ``complete_checkout_for_payment`` calls
``complete_checkout``.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect

from saleor.payment import TransactionKind
from saleor.payment.interface import GatewayResponse
from saleor.payment.models import Payment
from saleor.plugins.base_plugin import BasePlugin
from saleor_optty.plugin import saleor_compat

RETURN_PATH = "return"


class MinimalRedirectGatewayPlugin(BasePlugin):
    PLUGIN_ID = "bench.redirect"
    PLUGIN_NAME = "Minimal redirect gateway"
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_ACTIVE = True

    def get_supported_currencies(self, previous_value):
        return ["USD"]

    def get_payment_config(self, previous_value):
        return []

    def process_payment(self, payment_information, previous_value):
        redirect_url = saleor_compat.plugin_url(self.channel.slug, self.PLUGIN_ID, RETURN_PATH)
        return _response(
            payment_information,
            kind=TransactionKind.ACTION_TO_CONFIRM,
            action_required_data={"redirectUrl": f"{redirect_url}?payment={payment_information.payment_id}"},
        )

    def confirm_payment(self, payment_information, previous_value):
        return _response(payment_information, kind=TransactionKind.CAPTURE)

    def webhook(self, request, path, previous_value):
        """The shopper's return: complete the checkout of the payment, then back to the storefront."""
        payment = Payment.objects.filter(pk=request.GET.get("payment"), checkout__isnull=False).first()
        if path.strip("/") != RETURN_PATH or payment is None:
            return HttpResponse("Not found.", status=404)
        prepared = saleor_compat.check_checkout_unchanged(payment.checkout, payment)
        order = saleor_compat.complete_checkout_for_payment(payment.checkout, prepared)
        return HttpResponseRedirect(f"{payment.return_url}?status=success&orderId={order.pk}")


def _response(payment_information, *, kind: str, action_required_data: dict | None = None) -> GatewayResponse:
    return GatewayResponse(
        is_success=True,
        action_required=action_required_data is not None,
        action_required_data=action_required_data,
        kind=kind,
        amount=payment_information.amount,
        currency=payment_information.currency,
        transaction_id=f"redirect-{payment_information.payment_id}",
        error=None,
    )
