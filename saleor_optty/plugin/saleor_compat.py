"""Every touch point with Saleor's internals, and every difference between its versions.

Supported: Saleor 3.20 (LTS) to 3.23, and main while it keeps the legacy Payments API.
A new Saleor version should need changes in this file only. The differences handled:

* ``calculate_checkout_total_with_gift_cards`` takes a positional ``address`` up to
  3.23.1 and none from 3.23.2 (feature-detected below).
* ``fetch_checkout_data`` is a function returning a tuple up to 3.20 and a promise
  (``.get()``) from 3.21; this module only calls the helpers around it.
* ``GatewayResponse`` has extra defaulted fields on some versions, so it is always
  built with keywords.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import graphene
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import reverse
from saleor.checkout.calculations import calculate_checkout_total_with_gift_cards
from saleor.checkout.complete_checkout import complete_checkout
from saleor.checkout.fetch import fetch_checkout_info, fetch_checkout_lines
from saleor.checkout.models import Checkout, CheckoutLine
from saleor.core.db.connection import allow_writer
from saleor.core.transactions import transaction_with_commit_on_errors
from saleor.core.utils import build_absolute_uri
from saleor.order.actions import order_refunded
from saleor.order.models import Order
from saleor.payment import ChargeStatus, PaymentError, TransactionKind
from saleor.payment.gateway import payment_refund_or_void
from saleor.payment.interface import GatewayResponse, PaymentGateway
from saleor.payment.models import Payment, Transaction
from saleor.payment.utils import create_transaction, update_payment_charge_status
from saleor.plugins.base_plugin import BasePlugin, ConfigurationTypeField
from saleor.plugins.error_codes import PluginErrorCode
from saleor.plugins.manager import get_plugins_manager
from saleor.product.models import ProductMedia

from ..consts import GATEWAY_ID
from ..core.payload import Cart, CartLine, optty_locale
from ..optty.types import Address as OpttyAddress
from ..optty.types import Customer

if TYPE_CHECKING:
    from saleor.checkout.fetch import CheckoutInfo

# What the rest of the plugin may use from Saleor: these names and the functions below.
__all__ = [
    "BasePlugin",
    "ConfigurationTypeField",
    "GatewayResponse",
    "Payment",
    "PaymentError",
    "PaymentGateway",
    "PluginErrorCode",
    "RecordedMoney",
    "TransactionKind",
    "active_plugin",
    "allow_writer",
    "cart_from_checkout",
    "channel_plugin",
    "check_checkout_unchanged",
    "checkout_amount_due",
    "checkout_global_id",
    "complete_checkout_for_payment",
    "deactivate_payment",
    "lock_checkout",
    "lock_payment",
    "manager",
    "order_global_id",
    "payment_holds_money",
    "payment_return_url",
    "plugin_url",
    "record_operation",
    "record_refund",
    "record_transaction",
    "recorded_money",
    "refuse_payment",
    "return_money",
    "successful_transaction",
    "successful_transaction_for",
    "transaction_with_commit_on_errors",
]


_TOTAL_TAKES_ADDRESS = "address" in inspect.signature(calculate_checkout_total_with_gift_cards).parameters


def manager(*, allow_replica: bool = False):
    """A plugins manager; the writer database unless a query context allows the replica."""
    return get_plugins_manager(allow_replica=allow_replica)


def plugin_url(channel_slug: str, plugin_id: str, path: str) -> str:
    """The absolute URL Saleor routes to ``plugin.webhook`` (built from PUBLIC_URL or the Site)."""
    base = reverse("plugins-per-channel", kwargs={"plugin_id": plugin_id, "channel_slug": channel_slug})
    return build_absolute_uri(base.rstrip("/") + "/" + path.lstrip("/"))


def order_global_id(order_id: Any) -> str:
    return graphene.Node.to_global_id("Order", order_id)


def checkout_global_id(checkout_token: Any) -> str:
    return graphene.Node.to_global_id("Checkout", checkout_token)


# ------------------------------------------------------------------------ checkout


def checkout_amount_due(plugins_manager, checkout_info: CheckoutInfo, lines, *, allow_replica: bool) -> Decimal:
    """The checkout's gross total less gift cards, recalculated if the prices expired.

    Queries such as ``availablePaymentGateways`` must read from the replica (Saleor
    refuses writer access there); mutations pass ``allow_replica=False``.
    """
    connection = settings.DATABASE_CONNECTION_REPLICA_NAME if allow_replica else settings.DATABASE_CONNECTION_DEFAULT_NAME
    kwargs: dict[str, Any] = {
        "manager": plugins_manager,
        "checkout_info": checkout_info,
        "lines": lines,
        "database_connection_name": connection,
    }
    if _TOTAL_TAKES_ADDRESS:
        kwargs["address"] = checkout_info.shipping_address or checkout_info.billing_address
    return calculate_checkout_total_with_gift_cards(**kwargs).gross.amount


#: The address fields Optty's order takes (see :func:`_address`).
_ADDRESS_FIELDS = (
    "first_name", "last_name", "street_address_1", "street_address_2", "city", "country_area", "postal_code",
    "country", "phone",
)  # fmt: skip


def _checkout_for_cart(checkout_token: Any) -> Checkout | None:
    """The checkout with only what Optty's order needs, in four queries.

    Saleor's ``fetch_checkout_lines``/``fetch_checkout_info`` load everything a price
    calculation could need and cost several times as much; the prices here are the
    ones Saleor stored when it last calculated the checkout. Only the columns read below
    are selected: whole rows (products' descriptions, metadata, search documents) cost
    more to compile, fetch and convert than the rest of the read.
    """
    media = ProductMedia.objects.only("image", "external_url", "sort_order", "product_id")
    lines = (
        CheckoutLine.objects.select_related("variant__product")
        .only(
            "checkout_id", "quantity", "undiscounted_unit_price_amount", "tax_rate", "total_price_net_amount",
            "total_price_gross_amount", "variant__name", "variant__sku", "variant__product__name",
        )
        .prefetch_related(Prefetch("variant__media", queryset=media), Prefetch("variant__product__media", queryset=media))
    )  # fmt: skip
    return (
        Checkout.objects.select_related("user", "billing_address", "shipping_address", "channel__tax_configuration")
        .only(
            "currency", "language_code", "email", "shipping_price_net_amount", "shipping_price_gross_amount",
            "total_net_amount", "total_gross_amount", "user__email", "channel__tax_configuration__prices_entered_with_tax",
            *(f"billing_address__{name}" for name in _ADDRESS_FIELDS),
            *(f"shipping_address__{name}" for name in _ADDRESS_FIELDS),
        )
        .prefetch_related(Prefetch("lines", queryset=lines))
        .filter(pk=checkout_token)
        .first()
    )  # fmt: skip


def cart_from_checkout(checkout_token: Any, *, customer_email: str | None) -> Cart | None:
    """The Optty-neutral cart for a checkout, from the prices Saleor last calculated.

    ``checkoutComplete`` recalculates the checkout before it asks the gateway to
    process a payment, so the stored prices are the ones being paid.
    """
    checkout = _checkout_for_cart(checkout_token)
    if checkout is None:
        return None
    # A channel-wide setting: the per-country exceptions do not override it.
    prices_include_tax = checkout.channel.tax_configuration.prices_entered_with_tax
    cart_lines = []
    for line in checkout.lines.all():
        undiscounted = line.undiscounted_unit_price_amount * line.quantity
        if prices_include_tax and line.tax_rate:
            # Listing prices include tax; Optty's items are pre-tax.
            undiscounted = undiscounted / (1 + line.tax_rate)
        cart_lines.append(
            CartLine(
                name=_line_name(line.variant),
                quantity=line.quantity,
                undiscounted_total_net=max(undiscounted, line.total_price_net_amount),
                total_net=line.total_price_net_amount,
                total_gross=line.total_price_gross_amount,
                sku=line.variant.sku or None,
                image_url=_image_url(line.variant),
            )
        )
    billing = checkout.billing_address
    shipping = checkout.shipping_address
    if billing is None:
        raise ValueError("The checkout has no billing address; Optty needs one.")
    email = customer_email or checkout.get_customer_email() or ""
    return Cart(
        currency=checkout.currency,
        country=billing.country.code,
        locale=optty_locale(checkout.language_code, billing.country.code),
        lines=tuple(cart_lines),
        shipping_net=checkout.shipping_price_net_amount,
        shipping_gross=checkout.shipping_price_gross_amount,
        total_net=checkout.total_net_amount,
        total_gross=checkout.total_gross_amount,
        gift_card_amount=checkout.get_total_gift_cards_balance().amount,
        customer=Customer(
            first_name=billing.first_name,
            last_name=billing.last_name,
            email=email,
            phone_number=str(billing.phone or "") or None,
        ),
        billing_address=_address(billing, email),
        shipping_address=_address(shipping, email) if shipping else None,
    )


def _line_name(variant) -> str:
    product_name = variant.product.name
    return f"{product_name} ({variant.name})" if variant.name and variant.name != product_name else product_name


def _image_url(variant) -> str | None:
    # The first of the prefetched media (ordered by sort_order): the variant's own, else the product's.
    media = next(iter(variant.media.all()), None) or next(iter(variant.product.media.all()), None)
    if media is None:
        return None
    if media.image:
        return build_absolute_uri(media.image.url)
    return media.external_url or None


def _address(address, email: str) -> OpttyAddress:
    return OpttyAddress(
        first_name=address.first_name,
        last_name=address.last_name,
        street_address=address.street_address_1,
        street_address2=address.street_address_2 or None,
        city=address.city,
        state=address.country_area or None,
        postal_code=address.postal_code,
        country=address.country.code,
        phone_number=str(address.phone or "") or None,
        email=email or None,
    )


# ------------------------------------------------------------------------ payments


def payment_return_url(payment_id: int) -> str:
    # PaymentData carries no return URL; Saleor stores it on the payment.
    return Payment.objects.filter(pk=payment_id).values_list("return_url", flat=True).first() or ""


def lock_checkout(checkout_token: str) -> Checkout | None:
    """Lock a checkout row, first, as Saleor's checkoutComplete does; None once it is gone."""
    if not checkout_token:
        return None
    return Checkout.objects.select_for_update(of=("self",)).filter(pk=checkout_token).first()


def lock_payment(payment_id: int) -> Payment | None:
    return Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()


def successful_transaction(payment: Payment, kinds: tuple[str, ...]) -> Transaction | None:
    return successful_transaction_for(payment.pk, kinds)


def successful_transaction_for(payment_id: int, kinds: tuple[str, ...]) -> Transaction | None:
    return (
        Transaction.objects.filter(payment_id=payment_id, is_success=True, action_required=False, kind__in=kinds)
        .order_by("pk")
        .first()
    )


@dataclass(frozen=True)
class RecordedMoney:
    """A successful authorisation or capture that Saleor holds for a payment."""

    kind: str
    amount: Decimal
    currency: str
    token: str
    gateway_response: Any

    @classmethod
    def of(cls, transaction: Transaction) -> RecordedMoney:
        return cls(transaction.kind, transaction.amount, transaction.currency, transaction.token, transaction.gateway_response)


def recorded_money(payment_information) -> RecordedMoney | None:
    """The payment's first successful authorisation or capture, as :func:`successful_transaction_for`
    finds it, from the transactions Saleor read under the payment's lock to build
    ``payment_information`` (``PaymentData.transactions``, 3.20 to main): no query.

    (``TransactionData`` has no ``action_required``; none of the Optty payment's
    authorisations or captures is ever action-required: the plugin answers "action
    required" with ``ACTION_TO_CONFIRM``.)
    """
    for transaction in payment_information.transactions:
        if transaction.is_success and transaction.kind in (TransactionKind.AUTH, TransactionKind.CAPTURE):
            amount = transaction.amount
            return RecordedMoney(
                transaction.kind, Decimal(amount["amount"]), amount["currency"], transaction.token, transaction.gateway_response
            )
    return None


def refuse_payment(payment_id: int, *, cancelled: bool) -> None:
    """Mark a payment the provider refused, unless money already moved under it."""
    if successful_transaction_for(payment_id, (TransactionKind.AUTH, TransactionKind.CAPTURE)):
        return
    status = ChargeStatus.CANCELLED if cancelled else ChargeStatus.REFUSED
    Payment.objects.filter(pk=payment_id).update(charge_status=status)


def record_transaction(payment: Payment, *, kind: str, amount: Decimal, reference: str, raw: dict) -> Transaction:
    """Add a successful transaction for money Optty confirmed, and update the charge status."""
    response = GatewayResponse(
        is_success=True,
        action_required=False,
        kind=kind,
        amount=amount,
        currency=payment.currency,
        transaction_id=reference,
        error=None,
        raw_response=raw,
        psp_reference=reference,
    )
    transaction = create_transaction(
        payment, kind=kind, payment_information=None, action_required=False, gateway_response=response
    )
    update_payment_charge_status(payment, transaction)  # saves, and updates ``payment`` in place
    return transaction


def record_refund(payment: Payment, *, amount: Decimal, reference: str, raw: dict) -> None:
    """A refund made outside Saleor (Optty's portal): a REFUND transaction and order event."""
    record_transaction(payment, kind=TransactionKind.REFUND, amount=amount, reference=reference, raw=raw)
    if payment.order_id:
        order_refunded(payment.order, None, None, amount, payment, manager())


def channel_plugin(channel_slug: str):
    """The Optty plugin of a channel, active or not; None for an unknown channel."""
    return manager().get_plugin(GATEWAY_ID, channel_slug=channel_slug)


def active_plugin(channel_slug: str):
    """The Optty plugin of a channel, when it is active there."""
    plugin = channel_plugin(channel_slug)
    return plugin if plugin is not None and plugin.active else None


def record_operation(payment: Payment, operation) -> None:
    """Show Saleor a capture, refund or void that Optty settled after its answer was lost
    (or a refund made in Optty's portal)."""
    raw = {"source": operation.source, "reference": operation.reference, "amount": str(operation.amount)}
    if operation.kind == "refund":
        if payment.captured_amount >= operation.amount:
            record_refund(payment, amount=operation.amount, reference=operation.reference, raw=raw)
        return
    kind = TransactionKind.CAPTURE if operation.kind == "capture" else TransactionKind.VOID
    record_transaction(payment, kind=kind, amount=operation.amount, reference=operation.reference, raw=raw)


def payment_holds_money(payment: Payment) -> bool:
    """Whether Saleor's record of the payment shows money still to refund or void."""
    return (payment.can_refund() and payment.captured_amount > 0) or payment.can_void()


def return_money(payment: Payment, channel_slug: str) -> None:
    """Refund or void whatever the payment still holds, through the plugin's own refund or
    void; raises PaymentError when that fails (the plugin's ledger says how)."""
    payment.refresh_from_db()
    if payment_holds_money(payment):
        payment_refund_or_void(payment, manager(), channel_slug=channel_slug)


def deactivate_payment(payment: Payment) -> None:
    """Recording a capture makes a payment active again; a superseded one must stay inactive."""
    payment.is_active = False
    payment.save(update_fields=["is_active"])


def check_checkout_unchanged(checkout: Checkout, payment: Payment) -> tuple:
    """Raise ``ValidationError`` unless the checkout still costs what the payment paid;
    returns the checkout's lines and info, for :func:`complete_checkout_for_payment`.

    Checked before completing rather than left to complete_checkout, whose failure
    path refunds twice with a stale payment (as Saleor's Stripe webhook also avoids),
    and on the confirm path, where Saleor only checks that the payment covers the cart:
    a dearer cart is not paid for, and a cheaper one would keep the shopper's excess.
    """
    plugins_manager = manager()
    lines, unavailable = fetch_checkout_lines(checkout)
    if unavailable:
        raise ValidationError("Some products in the cart are no longer available.")
    checkout_info = fetch_checkout_info(checkout, lines, plugins_manager)
    due = checkout_amount_due(plugins_manager, checkout_info, lines, allow_replica=False)
    if due != payment.total:
        raise ValidationError(f"The cart total changed to {due} {payment.currency} after payment.")
    return plugins_manager, lines, checkout_info


def complete_checkout_for_payment(checkout: Checkout, prepared: tuple) -> Order:
    """Turn a paid checkout into its order, with what :func:`check_checkout_unchanged`
    returned; raises ``ValidationError`` when it cannot.

    Saleor refunds or voids the payment itself when completion fails validation
    (stock gone), through this plugin's ``refund_payment``/``void_payment``.
    """
    plugins_manager, lines, checkout_info = prepared
    order, _action_required, _data = complete_checkout(
        manager=plugins_manager,
        checkout_info=checkout_info,
        lines=lines,
        payment_data={},
        store_source=False,
        user=checkout.user or None,
        app=None,
    )
    return order
