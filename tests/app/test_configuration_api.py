"""The configuration page's JSON API over HTTP (the App on pytest-django's live server,
installed into the Saleor stand-in), authorised by the Dashboard's token; and the page's
own headers, which let the Dashboard frame it."""

import pytest
import requests

from saleor_optty.app.configuration import service
from saleor_optty.app.models import ChannelConfiguration
from saleor_optty.app.optty_views import merchant_webhook_url


@pytest.fixture
def saleor_version():
    return "3.23.28"


@pytest.fixture
def api(installed_app):
    saleor = installed_app.saleor

    def call(method, path="", *, token=None, saleor_api_url=None, **kwargs):
        headers = {
            "authorization-bearer": saleor.dashboard_token() if token is None else token,
            "saleor-api-url": saleor.api_url if saleor_api_url is None else saleor_api_url,
        }
        return requests.request(method, f"{installed_app.url}/api/configuration{path}", headers=headers, timeout=10, **kwargs)

    return call


def emulator_values(optty, **overrides):
    return {
        "client_id": optty.client_id,
        "client_secret": optty.client_secret,
        "payment_secret": optty.payment_secret,
        "api_url": optty.api_url,
        "auth_url": optty.auth_url,
        "supported_currencies": "USD",
        "storefront_urls": ["https://shop.example.com"],
        **overrides,
    }


def test_the_channels_of_the_saleor_each_marked_configured_or_not(api, installed_app, optty):
    service.save(installed_app.installation, "channel-pln", emulator_values(optty, supported_currencies="PLN"))

    response = api("GET")

    assert response.status_code == 200
    assert response.json() == {
        "channels": [
            {"slug": "default-channel", "name": "Channel-USD", "currency": "USD", "configured": False},
            {"slug": "channel-pln", "name": "Channel-PLN", "currency": "PLN", "configured": True},
        ]
    }


def test_a_new_channel_starts_from_the_defaults_and_its_currency(api):
    response = api("GET", "/channel-pln")

    assert response.status_code == 200
    body = response.json()
    assert (body["configured"], body["callbackUrl"]) == (False, None)
    assert body["values"]["supported_currencies"] == "PLN"
    assert (body["values"]["environment"], body["values"]["auto_capture"]) == ("sandbox", True)


def test_save_then_read_back_with_the_secrets_masked(api, optty):
    saved = api("POST", "/default-channel", json=emulator_values(optty))

    assert saved.status_code == 200, saved.text
    configuration = ChannelConfiguration.objects.get()
    read = api("GET", "/default-channel").json()
    for body in (saved.json(), read):
        assert body["configured"] is True
        assert body["callbackUrl"] == merchant_webhook_url(configuration)
        assert body["values"]["client_secret"] == optty.client_secret[-4:]
        assert body["values"]["payment_secret"] == optty.payment_secret[-4:]
    assert optty.client_secret not in saved.text + str(read)
    assert optty.payment_secret not in saved.text + str(read)


def test_problems_come_back_per_field_with_400(api, optty):
    response = api("POST", "/default-channel", json=emulator_values(optty, client_secret="wrong"))

    assert response.status_code == 400
    body = response.json()
    assert body["saved"] is False
    assert list(body["problems"]) == ["client_secret"]
    assert not ChannelConfiguration.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(api, body):
    response = api("POST", "/default-channel", data=body)

    assert response.status_code == 400
    assert response.json() == {"error": "Send the settings as a JSON object."}


def test_a_channel_saleor_does_not_have(api, optty):
    response = api("POST", "/no-such-channel", json=emulator_values(optty))

    assert response.status_code == 404
    assert response.json() == {"error": "Saleor has no channel 'no-such-channel'."}
    assert not ChannelConfiguration.objects.exists()


def test_saleor_unable_to_list_its_channels_is_a_502(api, saleor):
    saleor.fail_next_graphql(503, times=3)

    response = api("GET")

    assert response.status_code == 502
    assert response.json()["error"].startswith("Could not list Saleor's channels: ")


@pytest.mark.parametrize(
    "headers, status, message",
    [
        ({"token": ""}, 401, "Open this page from Saleor's Dashboard"),
        ({"saleor_api_url": ""}, 401, "Open this page from Saleor's Dashboard"),
        ({"saleor_api_url": "https://other.example.com/graphql/"}, 401, "This Saleor has not installed the App"),
        ({"token": "not-a-jwt"}, 401, "The Dashboard token"),
        ({"token_kwargs": {"expired": True}}, 401, "The Dashboard token has expired"),
        ({"token_kwargs": {"app_id": "QXBwOjk5"}}, 401, "The Dashboard token was made for another App."),
        ({"token_kwargs": {"permissions": ("HANDLE_PAYMENTS",)}}, 403, "needs the MANAGE_APPS permission"),
    ],
)
def test_only_the_dashboard_of_the_installing_saleor_for_a_user_with_manage_apps(
    api, saleor, optty, headers, status, message
):
    headers = dict(headers)
    if "token_kwargs" in headers:
        headers["token"] = saleor.dashboard_token(**headers.pop("token_kwargs"))

    for method, path, body in (("GET", "", None), ("GET", "/default-channel", None), ("POST", "/default-channel", {})):
        response = api(method, path, json=body, **headers)

        assert response.status_code == status, (method, path)
        assert message in response.json()["error"]
    assert not ChannelConfiguration.objects.exists()


def test_the_page_may_be_framed_by_the_dashboard_and_runs_only_its_own_script(installed_app):
    response = requests.get(f"{installed_app.url}/configuration?saleorApiUrl=x", timeout=10)

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == "*"
    assert policy["script-src"] == "'self'"
    assert policy["form-action"] == "'none'"  # a form sent without the script never carries secrets off
    script = requests.get(f"{installed_app.url}/configuration/static/configuration.js", timeout=10)
    assert script.status_code == 200
    assert "authorization-bearer" in script.text
