"""Installing the App from its manifest into a real Saleor, and what Saleor then shows."""

from decimal import Decimal

from graphql import parse, validate

from saleor_optty.consts import APP_ID, APP_NAME

from . import harness

harness.require_lab()


def test_every_document_of_the_suite_validates_against_this_saleor(saleor):
    for name, (document, since) in harness.DOCUMENTS.items():
        if saleor.version.at_least(*since):
            errors = validate(saleor.api.schema, parse(document))
            assert not errors, f"{name} is not valid for Saleor {saleor.version}: {[e.message for e in errors]}"


def test_the_manifest_installs_an_active_payment_app_with_its_six_webhooks(app, deployment, saleor):
    (installed,) = harness.installed_apps(saleor.staff)
    assert installed["id"] == deployment.saleor_app["id"]
    assert installed["name"] == APP_NAME
    assert installed["isActive"] is True
    assert [permission["code"] for permission in installed["permissions"]] == ["HANDLE_PAYMENTS"]
    webhooks = installed["webhooks"]
    assert len(webhooks) == 6
    assert {event["eventType"] for webhook in webhooks for event in webhook["syncEvents"]} == harness.APP_EVENTS
    assert all(webhook["isActive"] and webhook["targetUrl"].startswith(app.url + "/") for webhook in webhooks)


def test_the_app_stored_its_token_and_the_token_works(app, deployment, saleor):
    """Register kept the token Saleor sent; with it, Saleor names the App Saleor lists."""
    stored = app.query(
        f"[i.app_id for i in Installation.objects.filter(saleor_api_url={saleor.api_url!r})]"
    )
    assert stored == [deployment.saleor_app["id"]]
    asked = app.query(
        "__import__('saleor_optty.app.saleor.client', fromlist=['SaleorClient']).SaleorClient.for_installation("
        f"Installation.objects.get(saleor_api_url={saleor.api_url!r})).app_id()"
    )
    assert asked == deployment.saleor_app["id"]


def test_the_storefront_is_offered_the_app_with_optty_providers_for_the_amount(app, storefront, optty):
    checkout = storefront.new_checkout()
    gateways = storefront.checkout(checkout.id)["availablePaymentGateways"]
    assert [gateway["name"] for gateway in gateways if gateway["id"] == APP_ID] == [APP_NAME]

    def offered(amount: Decimal) -> list[str]:
        return sorted(p.name for p in optty.providers if p.offers(checkout.currency, amount))

    config = storefront.gateway_initialize(checkout.id)
    assert config["errors"] == []
    names = sorted(provider["name"] for provider in config["data"]["providers"])
    assert names == offered(checkout.total) and names  # KLARNA and AFTERPAY_US for a USD cart

    # The amount the storefront asks about, not the cart's: above Afterpay's 2000 limit.
    config = storefront.gateway_initialize(checkout.id, amount=Decimal("2500.00"))
    names = sorted(provider["name"] for provider in config["data"]["providers"])
    assert names == offered(Decimal("2500.00")) and "AFTERPAY_US" not in names
