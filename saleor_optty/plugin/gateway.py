"""The Saleor plugin: configuration, then routing to the modules that do the work.

Saleor builds a plugin instance on every request, so constructing one costs no more
than constructing a bare ``BasePlugin`` (see ``bench/``); the Optty client and its
connections live in :mod:`saleor_optty.config`.
"""

from __future__ import annotations

import json
import logging
import secrets
from functools import cached_property

from django.core.cache import cache
from django.core.exceptions import ValidationError

from ..consts import GATEWAY_ID, PLUGIN_NAME, RETURN_PATH
from ..core.config import DEFAULT_REFERENCE_PREFIX, FIELD_TEXT, OpttyConfiguration
from ..core.payload import build_order_request, create_failure_message
from ..optty import MoneyError, OpttyClient, OpttyError, OpttyOutcomeUnknownError
from ..optty.money import format_amount
from ..shared import operations, providers
from . import saleor_compat as saleor
from . import transitions, webhooks
from .models import OpttyOperationKind, OpttyOrder, OpttyOrderState

logger = logging.getLogger(__name__)

TransactionKind = saleor.TransactionKind
Field = saleor.ConfigurationTypeField


#: The Dashboard's input for each setting that is not plain text.
_FIELD_TYPES = {
    "client_secret": Field.SECRET,
    "payment_secret": Field.SECRET,
    "auto_capture": Field.BOOLEAN,
    "callback_url": Field.OUTPUT,
}


class OpttyGatewayPlugin(saleor.BasePlugin):
    PLUGIN_ID = GATEWAY_ID
    PLUGIN_NAME = PLUGIN_NAME
    PLUGIN_DESCRIPTION = (
        "Buy now, pay later through Optty: Klarna, Afterpay/Clearpay, Zip, Humm, Atome and more."
    )
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_ACTIVE = False

    DEFAULT_CONFIGURATION = [
        {"name": "environment", "value": "sandbox"},
        {"name": "api_url", "value": ""},
        {"name": "auth_url", "value": ""},
        {"name": "client_id", "value": ""},
        {"name": "client_secret", "value": ""},
        {"name": "payment_secret", "value": ""},
        {"name": "optty_channel", "value": ""},
        {"name": "providers", "value": ""},
        {"name": "auto_capture", "value": True},
        {"name": "supported_currencies", "value": ""},
        {"name": "order_reference_prefix", "value": DEFAULT_REFERENCE_PREFIX},
        {"name": "callback_url", "value": ""},
    ]
    # Labels and help texts are the App's too (core.config.FIELD_TEXT): one wording.
    CONFIG_STRUCTURE = {
        name: {"type": _FIELD_TYPES.get(name, Field.STRING), "label": text.label, "help_text": text.help_text}
        for name, text in FIELD_TEXT.items()
    }

    def __init__(self, *, configuration, **kwargs):
        super().__init__(configuration=configuration, **kwargs)
        # The values as loaded: Saleor masks the secrets in self.configuration, in place,
        # before it shows the configuration in the API.
        self._values = {item["name"]: item["value"] for item in self.configuration}

    @cached_property
    def config(self) -> OpttyConfiguration:
        # Parsed on first use: Saleor constructs every plugin on every request, and most
        # requests never call this one.
        return OpttyConfiguration.from_values(self._values)

    def resolve_plugin_configuration(self, request):
        # The callback URL is built when the Dashboard asks for it, not on every construction.
        if self.channel is None:
            return self.configuration
        url = webhooks.merchant_webhook_url(self.channel.slug)
        return [{**item, "value": url} if item["name"] == "callback_url" else item for item in self.configuration]

    # ------------------------------------------------------------------ helpers

    @property
    def client(self) -> OpttyClient:
        return self.config.client(token_store=cache)

    @property
    def channel_slug(self) -> str:
        return self.channel.slug if self.channel else ""

    def _attempt(self, payment_information) -> OpttyOrder | None:
        return OpttyOrder.objects.filter(payment_id=payment_information.payment_id).order_by("-pk").first()

    # ------------------------------------------------------------ gateway list

    def get_supported_currencies(self, previous_value):
        if not self.active:
            return previous_value
        return list(self.config.supported_currencies)

    def token_is_required_as_payment_input(self, previous_value):
        # The token names the provider; checkoutComplete's paymentData may name it instead.
        if not self.active:
            return previous_value
        return False

    def get_payment_gateways(self, currency, checkout_info, checkout_lines, previous_value):
        if not self.active or self.config.problems():
            return previous_value or []
        if currency and currency.upper() not in self.config.supported_currencies:
            return previous_value or []
        offered = []
        if checkout_info is not None and checkout_lines is not None:
            amount = providers.remembered_amount_due(
                checkout_info.checkout,
                lambda: saleor.checkout_amount_due(
                    saleor.manager(allow_replica=self.allow_replica),
                    checkout_info,
                    checkout_lines,
                    allow_replica=self.allow_replica,
                ),
            )
            offered = providers.offered(self.config, amount, checkout_info.checkout.currency)
        gateway = saleor.PaymentGateway(
            id=self.PLUGIN_ID,
            name=self.PLUGIN_NAME,
            currencies=list(self.config.supported_currencies),
            config=[{"field": "providers", "value": json.dumps(offered)}],
        )
        return [gateway]

    # --------------------------------------------------------------- payments

    def process_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        # Saleor calls this again when a path completes the checkout of a payment that the
        # confirm path has already recorded as paid: never a second Optty order.
        paid = saleor.recorded_money(payment_information)
        if paid is not None:
            return _already_processed(payment_information, paid)
        if self._attempt_holding_money(payment_information) is not None:
            return self._failure(
                payment_information, "This payment has already been paid through Optty; its outcome is being settled."
            )
        provider = _chosen_provider(payment_information)
        if not provider:
            return self._failure(payment_information, "Choose a buy-now-pay-later provider: pass its name as the payment token.")
        problem = providers.provider_problem(
            self.config, provider, payment_information.amount, payment_information.currency
        )
        if problem:
            return self._failure(payment_information, problem)
        try:
            cart = saleor.cart_from_checkout(
                payment_information.checkout_token, customer_email=payment_information.customer_email
            )
        except ValueError as error:
            return self._failure(payment_information, str(error))
        if cart is None:
            return self._failure(payment_information, "This payment has no checkout to pay for.")
        if cart.amount_due != payment_information.amount:
            return self._failure(
                payment_information,
                f"The cart changed after the payment was created (cart {cart.amount_due}, "
                f"payment {payment_information.amount} {payment_information.currency}). Create a new payment.",
            )

        reference = self._new_reference(payment_information)
        try:
            built = build_order_request(
                cart,
                reference=reference,
                provider=provider,
                auto_capture=self.config.auto_capture,
                redirect_url=saleor.plugin_url(self.channel_slug, self.PLUGIN_ID, RETURN_PATH),
                callback_url=webhooks.callback_url(self.channel_slug, reference),
                channel=self.config.optty_channel or None,
            )
        except ValueError as error:
            return self._failure(payment_information, f"This cart cannot be paid with Optty: {error}")

        attempt = OpttyOrder.objects.create(
            reference=reference,
            channel_slug=self.channel_slug,
            checkout_token=str(payment_information.checkout_token or ""),
            payment_id=payment_information.payment_id,
            provider=provider,
            amount=payment_information.amount,
            currency=payment_information.currency,
            auto_capture=self.config.auto_capture,
            rounding_adjustment=built.adjustment,
        )
        try:
            created = self.client.create_order(built.request)
        except OpttyError as error:
            attempt.state = OpttyOrderState.FAILED
            attempt.resolution = f"create failed: {error.message}"[:255]
            attempt.save(update_fields=["state", "resolution", "updated_at"])
            return self._failure(payment_information, create_failure_message(error))

        attempt.optty_order_id = created.order_id
        attempt.optty_order_token = created.order_token
        attempt.redirect_url = created.redirect_url
        attempt.save(update_fields=["optty_order_id", "optty_order_token", "redirect_url", "updated_at"])
        return self._action_required(payment_information, attempt)

    def confirm_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        paid = saleor.recorded_money(payment_information)
        if paid is not None:
            # The return or a callback already recorded the money (see transitions.apply).
            return _already_processed(payment_information, paid)
        attempt = self._attempt(payment_information)
        if attempt is None:
            return self._failure(payment_information, "No Optty payment was started for this checkout.")
        try:
            outcome = transitions.check_and_apply(self.client, attempt, source="confirm")
        except OpttyError as error:
            return self._failure(payment_information, f"Optty could not confirm the payment: {error.message}")
        if outcome.status == "pending":
            return self._action_required(payment_information, attempt)
        if outcome.paid_transaction is not None:
            # Recorded by transitions.apply, as every other path records it; Saleor makes the order.
            return _already_processed(payment_information, saleor.RecordedMoney.of(outcome.paid_transaction))
        return self._failure(payment_information, outcome.message)

    def capture_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        return self._operation(payment_information, TransactionKind.CAPTURE, OpttyOperationKind.CAPTURE)

    def refund_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        return self._operation(payment_information, TransactionKind.REFUND, OpttyOperationKind.REFUND)

    def void_payment(self, payment_information, previous_value):
        if not self.active:
            return previous_value
        return self._operation(payment_information, TransactionKind.VOID, OpttyOperationKind.VOID)

    def _operation(self, payment_information, kind, operation_kind):
        attempt = OpttyOrder.objects.filter(
            payment_id=payment_information.payment_id, state=OpttyOrderState.SUCCESSFUL
        ).order_by("-pk").first()
        if attempt is None:
            return self._failure(payment_information, "This payment has no successful Optty order.", kind=kind)
        amount = payment_information.amount
        try:
            format_amount(amount, attempt.currency)
        except MoneyError:
            return self._failure(
                payment_information, f"{amount} is not an amount in {attempt.currency}: too many decimal places.", kind=kind
            )
        # Money the plugin itself is giving back goes through Saleor too (Saleor's record
        # must show it); the ledger tells it apart from the Dashboard's.
        source = "plugin" if attempt.is_returning else "dashboard"
        try:
            done = operations.send_once(self.client, attempt, operation_kind, amount, source=source)
        except OpttyOutcomeUnknownError:
            return self._failure(payment_information, _unknown_outcome_message(kind, amount, attempt), kind=kind)
        except OpttyError as error:
            return self._failure(payment_information, f"Optty refused the {kind}: {error.message}", kind=kind)
        operations.shown_in_saleor(done)  # by the transaction Saleor makes of this answer
        return saleor.GatewayResponse(
            is_success=True,
            action_required=False,
            kind=kind,
            amount=done.amount,
            currency=attempt.currency,
            transaction_id=done.reference,
            error=None,
            raw_response={"reference": done.reference, "optty_id": done.optty_id},
            psp_reference=done.reference,
        )

    # ---------------------------------------------------------------- webhook

    def webhook(self, request, path, previous_value):
        if not self.active or self.channel is None:
            return previous_value
        return webhooks.route(request, path, config=self.config, client=self.client, channel_slug=self.channel_slug)

    # ---------------------------------------------------------- configuration

    @classmethod
    def validate_plugin_configuration(cls, plugin_configuration, **kwargs):
        if not plugin_configuration.active:
            return
        config = OpttyConfiguration.from_plugin_configuration(plugin_configuration.configuration)
        problems = config.checked_problems(token_store=cache)
        if problems:
            raise ValidationError(
                {
                    field: ValidationError(message, code=saleor.PluginErrorCode.INVALID.value)
                    for field, message in problems.items()
                }
            )

    # ----------------------------------------------------------------- answers

    @staticmethod
    def _attempt_holding_money(payment_information) -> OpttyOrder | None:
        """An attempt of this payment that Optty has confirmed paid (its money is in the
        ledger's hands even when Saleor shows none, e.g. while it is given back)."""
        return OpttyOrder.objects.filter(
            payment_id=payment_information.payment_id, state=OpttyOrderState.SUCCESSFUL
        ).only("pk").first()

    def _new_reference(self, payment_information) -> str:
        prefix = self.config.order_reference_prefix
        return f"{prefix}{payment_information.payment_id}-{secrets.token_hex(4).upper()}"

    def _action_required(self, payment_information, attempt: OpttyOrder):
        return saleor.GatewayResponse(
            is_success=True,
            action_required=True,
            kind=TransactionKind.ACTION_TO_CONFIRM,
            amount=payment_information.amount,
            currency=payment_information.currency,
            transaction_id=attempt.reference,
            error=None,
            raw_response={"reference": attempt.reference, "provider": attempt.provider},
            action_required_data={
                "redirectUrl": attempt.redirect_url,
                "reference": attempt.reference,
                "provider": attempt.provider,
            },
            psp_reference=attempt.reference,
        )

    def _failure(self, payment_information, message: str, *, kind=TransactionKind.ACTION_TO_CONFIRM):
        logger.info("Optty payment %s refused: %s", payment_information.payment_id, message)
        return saleor.GatewayResponse(
            is_success=False,
            action_required=False,
            kind=kind,
            amount=payment_information.amount,
            currency=payment_information.currency,
            transaction_id="",
            error=message,
            raw_response=None,
        )


def _already_processed(payment_information, paid: saleor.RecordedMoney) -> saleor.GatewayResponse:
    """An answer that makes Saleor reuse the transaction that records the money.

    It names a pspReference only when the payment does not have this one yet: Saleor
    writes the payment again for any pspReference it is given.
    """
    return saleor.GatewayResponse(
        is_success=True,
        action_required=False,
        kind=paid.kind,
        amount=paid.amount,
        currency=paid.currency,
        transaction_id=paid.token,
        error=None,
        raw_response=paid.gateway_response,
        psp_reference=None if paid.token == payment_information.psp_reference else paid.token,
        transaction_already_processed=True,
    )


def _unknown_outcome_message(kind: str, amount, attempt: OpttyOrder) -> str:
    return (
        f"Optty has not confirmed the {kind} of {amount} {attempt.currency} yet; its outcome is being checked "
        f"with Optty and will show on this order once known. Do not start another {kind}: retrying this one is safe."
    )


def _chosen_provider(payment_information) -> str:
    data = payment_information.data or {}
    provider = data.get("bnplProvider") if isinstance(data, dict) else None
    return str(provider or payment_information.token or "").strip().upper()
