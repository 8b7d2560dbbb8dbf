"""Configuring the plugin from the Dashboard: validation, masking and the callback URL."""

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from saleor.graphql.tests.utils import get_graphql_content  # noqa: E402
from saleor.plugins.models import PluginConfiguration  # noqa: E402
from saleor_optty.consts import GATEWAY_ID  # noqa: E402

from . import documents  # noqa: E402
from .fixtures import PLUGIN_PATH, PUBLIC_URL  # noqa: E402


@pytest.fixture
def dashboard(settings, staff_api_client, permission_manage_plugins, channel_USD, optty):
    settings.PLUGINS = [PLUGIN_PATH]
    settings.PUBLIC_URL = PUBLIC_URL
    staff_api_client.user.user_permissions.add(permission_manage_plugins)
    channel_id = documents.global_id("Channel", channel_USD.pk)

    def save(active=True, **values):
        variables = {
            "id": GATEWAY_ID,
            "channelId": channel_id,
            "input": {"active": active, "configuration": [{"name": k, "value": v} for k, v in values.items()]},
        }
        return get_graphql_content(staff_api_client.post_graphql(documents.PLUGIN_UPDATE, variables))["data"]["pluginUpdate"]

    def read():
        data = get_graphql_content(staff_api_client.post_graphql(documents.PLUGIN, {"id": GATEWAY_ID}))["data"]
        (configuration,) = [c for c in data["plugin"]["channelConfigurations"] if c["channel"]["slug"] == channel_USD.slug]
        return {field["name"]: field for field in configuration["configuration"]}

    save.read = read
    return save


def valid(optty):
    return {
        "api_url": optty.api_url,
        "auth_url": optty.auth_url,
        "client_id": optty.client_id,
        "client_secret": optty.client_secret,
        "payment_secret": optty.payment_secret,
        "supported_currencies": "USD",
    }


def test_an_active_configuration_needs_its_fields(dashboard):
    # Saleor's GraphQL layer camel-cases the field names of validation errors.
    errors = dashboard(active=True)["errors"]
    assert {error["field"]: error["message"] for error in errors} == {
        "clientId": "Client ID is required; find it in Optty's portal under View profile → View credentials.",
        "clientSecret": "Client secret is required; find it in Optty's portal under View profile → View credentials.",
        "paymentSecret": "Payment secret is required; find it in Optty's portal under View profile → View credentials.",
        "supportedCurrencies": "List at least one currency, e.g. AUD or AUD,NZD.",
    }
    assert not PluginConfiguration.objects.filter(identifier=GATEWAY_ID, active=True).exists()


def test_wrong_credentials_are_caught_when_saving(dashboard, optty):
    errors = dashboard(**{**valid(optty), "client_secret": "not-the-secret"})["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        (
            "clientSecret",
            "Optty refused the client id and secret for the sandbox environment: Invalid client credentials",
        )
    ]


def test_an_unknown_environment_is_refused(dashboard, optty):
    errors = dashboard(**{**valid(optty), "environment": "live"})["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [("environment", "Choose one of: sandbox, production.")]


def test_an_inactive_configuration_saves_without_checks(dashboard):
    assert dashboard(active=False, client_id="draft")["errors"] == []


def test_a_valid_configuration_saves_masks_secrets_and_shows_the_callback_url(dashboard, optty, channel_USD):
    saved = dashboard(**valid(optty))
    assert saved["errors"] == []
    fields = dashboard.read()
    assert fields["client_secret"]["value"] == optty.client_secret[-4:]
    assert fields["payment_secret"]["value"] == optty.payment_secret[-4:]
    assert fields["client_id"]["value"] == optty.client_id
    callback = fields["callback_url"]
    assert callback["type"] == "OUTPUT"
    assert callback["value"].startswith(f"{PUBLIC_URL}plugins/channel/{channel_USD.slug}/optty.payments/webhooks/")
    assert optty.stats()["token_requests"] >= 1  # the credentials were really checked


def test_optty_check_reports_each_problem_in_one_line(optty_plugin, optty, channel_USD, capsys):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("optty_check", "--channel", channel_USD.slug, "--amount", "150", stdout=out)
    text = out.getvalue()
    assert "AFTERPAY_US" in text and "KLARNA" in text
    assert "optty-check: all checks passed." in text or "warn" in text

    optty_plugin(client_secret="wrong")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("optty_check", "--channel", channel_USD.slug, stdout=out)
    assert exited.value.code == 1
    assert "FAIL" in out.getvalue() and "Invalid client credentials" in out.getvalue()
