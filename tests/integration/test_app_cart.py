"""The App's subscriptions and payload readers, against a real Saleor.

Saleor checks each subscription query as it installs the App, and builds each webhook's
body from it with its own payload generator. Here the same code runs on the App's
queries: the bodies are parsed as the App parses them, and the cart the App builds from
a checkout's ``sourceObject`` must be the plugin's cart for that checkout, with the same
Optty order.
"""

from dataclasses import replace
from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

import graphene  # noqa: E402
from django.utils import timezone  # noqa: E402
from saleor.channel import TransactionFlowStrategy  # noqa: E402
from saleor.checkout.complete_checkout import create_order_from_checkout  # noqa: E402
from saleor.checkout.fetch import fetch_checkout_info, fetch_checkout_lines  # noqa: E402
from saleor.graphql.tests.utils import get_graphql_content  # noqa: E402
from saleor.graphql.webhook.subscription_query import SubscriptionQuery  # noqa: E402
from saleor.payment import TransactionAction, TransactionEventType  # noqa: E402
from saleor.payment.interface import (  # noqa: E402
    PaymentGatewayData,
    TransactionActionData,
    TransactionProcessActionData,
    TransactionSessionData,
)
from saleor.payment.models import TransactionEvent  # noqa: E402
from saleor.tax import TaxCalculationStrategy  # noqa: E402
from saleor.tax.models import TaxClassCountryRate  # noqa: E402
from saleor.webhook.event_types import WebhookEventSyncType  # noqa: E402
from saleor.webhook.models import Webhook, WebhookEvent  # noqa: E402
from saleor.webhook.transport.synchronous.transport import (  # noqa: E402
    create_delivery_for_subscription_sync_event,
)

from saleor_optty.app.cart import cart_from_source  # noqa: E402
from saleor_optty.app.saleor.events import (  # noqa: E402
    GatewayInitializeSession,
    TransactionActionRequest,
    TransactionInitializeSession,
    TransactionProcessSession,
    parse_body,
)
from saleor_optty.app.saleor.subscriptions import WEBHOOKS, webhook_for  # noqa: E402
from saleor_optty.core.payload import build_order_request  # noqa: E402
from saleor_optty.plugin import saleor_compat  # noqa: E402

from . import documents  # noqa: E402
from .saleor_setup import SALEOR_VERSION  # noqa: E402

ORDER_SETTINGS = {
    "reference": "T-1",
    "provider": "KLARNA",
    "auto_capture": True,
    "redirect_url": "https://shop.example.com/return",
    "callback_url": "https://app.example.com/callback",
}


def test_saleor_accepts_every_subscription_at_install():
    """What ``appInstall`` runs on each manifest webhook's query (SubscriptionQuery, as
    saleor/app/manifest_validations.py calls it), and the one event each selects."""
    for spec in WEBHOOKS:
        subscription = SubscriptionQuery(spec.query)
        assert subscription.is_valid, (spec.event, subscription.error_msg)
        assert subscription.events == [spec.event.lower()]
        assert spec.event.lower() in WebhookEventSyncType.ALL


@pytest.fixture
def optty_app(app, permission_manage_payments):
    """An App holding HANDLE_PAYMENTS with the App's six webhooks, as its manifest installs them."""
    app.permissions.add(permission_manage_payments)
    for spec in WEBHOOKS:
        webhook = Webhook.objects.create(
            app=app, name=spec.name, target_url=f"https://app.example.com/{spec.path}", subscription_query=spec.query
        )
        WebhookEvent.objects.create(webhook=webhook, event_type=spec.event.lower())
    return app


@pytest.fixture
def deliver(optty_app):
    """The body Saleor sends for ``event`` about ``subject``, as the App reads it."""

    def body(event, subject):
        webhook = Webhook.objects.get(app=optty_app, events__event_type=event.lower())
        delivery = create_delivery_for_subscription_sync_event(
            event_type=event.lower(), subscribable_object=subject, webhook=webhook, with_save=False
        )
        payload = parse_body(delivery.payload.get_payload())
        assert "errors" not in payload, payload["errors"]
        return payload

    return body


@pytest.fixture(params=[True, False], ids=["gross-prices", "net-prices"])
def taxed_checkout(request, api_client, checkout_with_items_and_shipping, product_with_image, voucher_percentage):
    """Four products (one of them three times, one with an image) at 23 % flat-rate tax,
    a shipping method, and a 10 % voucher that Saleor spreads over the lines."""
    checkout = checkout_with_items_and_shipping
    line = checkout.lines.first()
    line.quantity = 3
    line.save(update_fields=["quantity"])
    tax_configuration = checkout.channel.tax_configuration
    tax_configuration.charge_taxes = True
    tax_configuration.tax_calculation_strategy = TaxCalculationStrategy.FLAT_RATES
    tax_configuration.prices_entered_with_tax = request.param
    tax_configuration.save()
    tax_configuration.country_exceptions.all().delete()
    TaxClassCountryRate.objects.update_or_create(
        country=checkout.shipping_address.country.code, tax_class=None, defaults={"rate": Decimal(23)}
    )
    checkout.email = "ada@example.com"
    checkout.price_expiration = timezone.now()  # recalculate with the new taxes
    checkout.save(update_fields=["email", "price_expiration"])
    added = api_client.post_graphql(
        documents.ADD_PROMO_CODE,
        {"id": documents.global_id("Checkout", checkout.pk), "promoCode": voucher_percentage.codes.first().code},
    )
    assert get_graphql_content(added)["data"]["checkoutAddPromoCode"]["errors"] == []
    checkout.refresh_from_db()
    return checkout


def amount_due(checkout):
    """Recalculate the checkout as Saleor does before a payment; returns what is due."""
    manager = saleor_compat.manager()
    lines, _ = fetch_checkout_lines(checkout)
    checkout_info = fetch_checkout_info(checkout, lines, manager)
    return saleor_compat.checkout_amount_due(manager, checkout_info, lines, allow_replica=False)


def session(transaction, source, amount, *, action_type=TransactionFlowStrategy.CHARGE):
    return TransactionSessionData(
        transaction=transaction,
        source_object=source,
        action=TransactionProcessActionData(action_type=action_type, amount=amount, currency=source.currency),
        payment_gateway_data=PaymentGatewayData(app_identifier="saleor.app.test", data={"provider": "KLARNA"}),
        customer_ip_address="203.0.113.7",
        idempotency_key="attempt-1",
    )


def assert_same_cart(app_cart, plugin_cart):
    """Equal, except that a checkout line's undiscounted net may differ below a cent:
    the plugin divides by the stored tax rate, GraphQL gives the line's prices only."""
    assert len(app_cart.lines) == len(plugin_cart.lines)
    for app_line, plugin_line in zip(app_cart.lines, plugin_cart.lines):
        assert abs(app_line.undiscounted_total_net - plugin_line.undiscounted_total_net) < Decimal("0.01")
    lines = tuple(
        replace(app_line, undiscounted_total_net=plugin_line.undiscounted_total_net)
        for app_line, plugin_line in zip(app_cart.lines, plugin_cart.lines)
    )
    assert replace(app_cart, lines=lines) == plugin_cart


def test_the_app_builds_the_plugins_cart_for_a_checkout(taxed_checkout, optty_app, deliver, transaction_item_generator):
    checkout = taxed_checkout
    due = amount_due(checkout)
    transaction = transaction_item_generator(checkout_id=checkout.pk, app=optty_app, psp_reference="")

    event = TransactionInitializeSession.from_payload(
        deliver("TRANSACTION_INITIALIZE_SESSION", session(transaction, checkout, due))
    )
    assert event.recipient_id == graphene.Node.to_global_id("App", optty_app.pk)
    assert event.source.type == "checkout" and event.channel_slug == checkout.channel.slug
    assert event.transaction.token == str(transaction.token)
    assert event.action.amount == due and event.idempotency_key == "attempt-1"
    assert event.data == {"provider": "KLARNA"}

    app_cart = cart_from_source(event.source_object, amount=event.action.amount, currency=event.action.currency)
    plugin_cart = saleor_compat.cart_from_checkout(checkout.pk, customer_email=None)
    assert len(plugin_cart.lines) == 4 and any(line.image_url for line in plugin_cart.lines)
    assert plugin_cart.total_gross > plugin_cart.total_net  # taxed
    assert all(line.undiscounted_total_net > line.total_net for line in plugin_cart.lines)  # the voucher
    assert_same_cart(app_cart, plugin_cart)
    assert build_order_request(app_cart, **ORDER_SETTINGS) == build_order_request(plugin_cart, **ORDER_SETTINGS)


def test_a_partial_payment_leaves_the_rest_to_gift_cards_and_other_transactions(
    checkout_with_item_and_shipping, gift_card, optty_app, deliver, transaction_item_generator
):
    checkout = checkout_with_item_and_shipping
    checkout.gift_cards.add(gift_card)
    due = amount_due(checkout)  # the total less the gift card's 10.00
    transaction = transaction_item_generator(checkout_id=checkout.pk, app=optty_app, psp_reference="")
    event = TransactionInitializeSession.from_payload(
        deliver("TRANSACTION_INITIALIZE_SESSION", session(transaction, checkout, due))
    )

    app_cart = cart_from_source(event.source_object, amount=due, currency="USD")
    plugin_cart = saleor_compat.cart_from_checkout(checkout.pk, customer_email=None)
    assert app_cart.gift_card_amount == Decimal(10)
    assert_same_cart(app_cart, plugin_cart)
    assert build_order_request(app_cart, **ORDER_SETTINGS).request.amount == due


def test_an_order_becomes_an_optty_order_for_its_total(taxed_checkout, optty_app, deliver, transaction_item_generator):
    checkout = taxed_checkout
    amount_due(checkout)
    manager = saleor_compat.manager()
    lines, _ = fetch_checkout_lines(checkout)
    checkout_cart = saleor_compat.cart_from_checkout(checkout.pk, customer_email=None)
    order = create_order_from_checkout(fetch_checkout_info(checkout, lines, manager), manager, user=None, app=None)
    transaction = transaction_item_generator(order_id=order.pk, app=optty_app, psp_reference="")

    event = TransactionInitializeSession.from_payload(
        deliver("TRANSACTION_INITIALIZE_SESSION", session(transaction, order, order.total_gross_amount))
    )
    assert event.source.type == "order" and event.channel_slug == order.channel.slug

    cart = cart_from_source(event.source_object, amount=event.action.amount, currency=event.action.currency)
    built = build_order_request(cart, **ORDER_SETTINGS).request
    assert built.amount == order.total_gross_amount
    assert built.customer.email == order.user_email
    assert [item.name for item in built.items] == [
        item.name for item in build_order_request(checkout_cart, **ORDER_SETTINGS).request.items
    ]
    # The order keeps the checkout's prices: Optty is told the same amounts either way.
    assert (built.tax_amount, built.shipping_amount) == (
        checkout_cart.total_gross - checkout_cart.total_net,
        checkout_cart.shipping_net,
    )


def test_every_webhook_body_parses(checkout_with_item_and_shipping, optty_app, deliver, transaction_item_generator):
    checkout = checkout_with_item_and_shipping
    due = amount_due(checkout)
    transaction = transaction_item_generator(
        checkout_id=checkout.pk, app=optty_app, psp_reference="OPTTY-1", authorized_value=due
    )

    gateway = GatewayInitializeSession.from_payload(
        deliver("PAYMENT_GATEWAY_INITIALIZE_SESSION", (checkout, {"returnUrl": "https://shop.example.com"}, due))
    )
    assert (gateway.source.type, gateway.total.amount, gateway.amount) == ("checkout", due, due)
    assert gateway.data == {"returnUrl": "https://shop.example.com"}

    process = TransactionProcessSession.from_payload(
        deliver(
            "TRANSACTION_PROCESS_SESSION",
            session(transaction, checkout, due, action_type=TransactionFlowStrategy.AUTHORIZATION),
        )
    )
    assert (process.transaction.psp_reference, process.action.type) == ("OPTTY-1", "AUTHORIZATION")
    assert process.channel_slug == checkout.channel.slug

    # Saleor 3.20 asks to cancel without an amount ("Null when action type is VOID").
    cancel_value = None if SALEOR_VERSION < (3, 21) else due
    for event_type, action, request_type, value in [
        ("TRANSACTION_CHARGE_REQUESTED", TransactionAction.CHARGE, TransactionEventType.CHARGE_REQUEST, due),
        ("TRANSACTION_REFUND_REQUESTED", TransactionAction.REFUND, TransactionEventType.REFUND_REQUEST, Decimal("1.5")),
        (
            "TRANSACTION_CANCELATION_REQUESTED",
            TransactionAction.CANCEL,
            TransactionEventType.CANCEL_REQUEST,
            cancel_value,
        ),
    ]:
        request_event = TransactionEvent.objects.create(
            transaction=transaction, type=request_type, amount_value=value or 0, currency="USD"
        )
        action_data = TransactionActionData(
            action_type=action,
            transaction=transaction,
            event=request_event,
            transaction_app_owner=optty_app,
            action_value=value,
        )
        request = TransactionActionRequest.from_payload(deliver(event_type, action_data))
        assert (request.action.type, request.action.amount) == (action.upper(), value)
        assert (request.authorized.amount, request.charged.amount) == (due, 0)
        assert request.channel_slug == checkout.channel.slug
        assert request_type.upper() in {entry.type for entry in request.history}
    assert webhook_for("transaction_cancelation_requested").event == "TRANSACTION_CANCELATION_REQUESTED"
