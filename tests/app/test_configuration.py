"""A channel's configuration as the Dashboard page and ``saleor-optty-app configure`` save
it (:mod:`saleor_optty.app.configuration.service`): the plugin's rules, Optty's verdict
on the credentials (the emulator, over HTTP), the storefront origins, secrets at rest."""

from decimal import Decimal

import pytest
from django.db import connection

from saleor_optty.app.configuration import service
from saleor_optty.app.models import ChannelConfiguration
from saleor_optty.shared import providers


@pytest.fixture
def saleor_version():
    return "3.23.28"  # a Saleor with app problems, which saving dismisses


@pytest.fixture
def installation(installed_app):
    return installed_app.installation


def emulator_values(optty, **overrides):
    return {
        "environment": "sandbox",
        "client_id": optty.client_id,
        "client_secret": optty.client_secret,
        "payment_secret": optty.payment_secret,
        "api_url": optty.api_url,
        "auth_url": optty.auth_url,
        "supported_currencies": "aud, nzd",
        "providers": "klarna,zip_au",
        "storefront_urls": ["https://Shop.Example.com/", "http://localhost:3000"],
        **overrides,
    }


def raw_column(configuration, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {ChannelConfiguration._meta.db_table} WHERE id = %s", [configuration.pk])
        return cursor.fetchone()[0]


def test_saves_what_optty_accepts_with_secrets_encrypted_at_rest(installation, optty, saleor):
    result = service.save(installation, "default-channel", emulator_values(optty))

    assert result.problems == {}
    stored = ChannelConfiguration.objects.get(installation=installation, channel_slug="default-channel")
    assert stored.client_secret == optty.client_secret
    assert stored.payment_secret == optty.payment_secret
    for column, plaintext in (("client_secret", optty.client_secret), ("payment_secret", optty.payment_secret)):
        assert plaintext not in raw_column(stored, column)
    # One spelling, the plugin's: what the page shows back is what counts.
    assert stored.supported_currencies == "AUD,NZD"
    assert stored.providers == "KLARNA,ZIP_AU"
    assert stored.storefront_origins == ("https://shop.example.com", "http://localhost:3000")
    assert optty.stats()["token_requests"] == 1
    # The channel's problems (if any) are dismissed in Saleor.
    [dismissal] = saleor.calls_to("appProblemDismiss")
    assert sorted(dismissal.variables["keys"]) == [
        "optty:configuration-missing:default-channel",
        "optty:credentials-refused:default-channel",
        "optty:optty-unreachable:default-channel",
    ]


def test_credentials_optty_refuses_are_a_problem_of_the_client_secret_and_nothing_is_saved(installation, optty):
    result = service.save(installation, "default-channel", emulator_values(optty, client_secret="wrong"))

    assert not result.saved
    assert list(result.problems) == ["client_secret"]
    assert result.problems["client_secret"].startswith("Optty refused the client id and secret for the sandbox environment")
    assert not ChannelConfiguration.objects.exists()


def test_an_unreachable_optty_is_said_on_the_environment(installation, optty):
    result = service.save(installation, "default-channel", emulator_values(optty, auth_url="http://127.0.0.1:9/token"))

    assert list(result.problems) == ["environment"]
    assert result.problems["environment"].startswith("Could not reach Optty to check the credentials: ")
    assert not ChannelConfiguration.objects.exists()


def test_every_field_problem_at_once_without_asking_optty(installation, optty):
    values = emulator_values(
        optty,
        client_id="",
        supported_currencies="dollars",
        order_reference_prefix="WAY-TOO-LONG-A-PREFIX",
        storefront_urls=["https://shop.example.com/checkout?step=2"],
    )

    result = service.save(installation, "default-channel", values)

    assert set(result.problems) == {"client_id", "supported_currencies", "order_reference_prefix", "storefront_urls"}
    # The plugin's own messages.
    assert result.problems["client_id"].startswith("Client ID is required")
    assert result.problems["supported_currencies"] == "Use three-letter ISO 4217 codes separated by commas."
    assert optty.stats()["token_requests"] == 0
    assert not ChannelConfiguration.objects.exists()


def test_an_update_keeps_the_secrets_left_empty_and_the_fields_not_given(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty))

    result = service.save(
        installation, "default-channel", {"client_secret": "", "payment_secret": "  ", "providers": "AFTERPAY_AU"}
    )

    assert result.saved, result.problems
    stored = service.load(installation, "default-channel")
    assert (stored.client_secret, stored.payment_secret) == (optty.client_secret, optty.payment_secret)
    assert stored.providers == "AFTERPAY_AU"
    assert stored.supported_currencies == "AUD,NZD"
    assert ChannelConfiguration.objects.count() == 1


def test_a_new_secret_replaces_the_stored_one_only_once_optty_accepts_it(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty))

    refused = service.save(installation, "default-channel", {"client_secret": "not-the-secret"})

    assert list(refused.problems) == ["client_secret"]
    assert service.load(installation, "default-channel").client_secret == optty.client_secret


def test_channels_are_configured_apart(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty))
    service.save(installation, "channel-pln", emulator_values(optty, supported_currencies="PLN", auto_capture=False))

    assert service.load(installation, "default-channel").auto_capture is True
    assert service.load(installation, "channel-pln").auto_capture is False
    assert service.load(installation, "channel-pln").supported_currencies == "PLN"


def test_a_saved_allow_list_counts_from_the_next_request_though_optty_s_answer_is_cached(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty, providers="", supported_currencies="AUD"))
    offered = providers.offered(service.load(installation, "default-channel").optty, Decimal("100.00"), "AUD")
    assert {"AFTERPAY_AU", "ZIP_AU"} <= {option["name"] for option in offered}
    options_asked = optty.stats()["requests"]["options"]

    service.save(installation, "default-channel", {"providers": "ZIP_AU"})
    offered = providers.offered(service.load(installation, "default-channel").optty, Decimal("100.00"), "AUD")

    assert [option["name"] for option in offered] == ["ZIP_AU"]
    assert optty.stats()["requests"]["options"] == options_asked  # Optty's answer came from the cache


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"auto_capture": "maybe"}, "auto_capture", "Choose on or off."),
        ({"client_id": 42}, "client_id", "Enter text."),
        ({"storefront_urls": {"a": 1}}, "storefront_urls", "Enter the origins as text, one per line."),
        ({"colour": "blue"}, "colour", "Not a setting of this App."),
        ({"optty_channel": "x" * 256}, "optty_channel", "Use at most 255 characters."),
    ],
)
def test_input_of_the_wrong_shape_is_a_problem_of_its_field(installation, optty, values, field, message):
    result = service.save(installation, "default-channel", emulator_values(optty, **values))

    assert result.problems[field] == message
    assert not ChannelConfiguration.objects.exists()


@pytest.mark.parametrize("slug", ["", "   ", "x" * 256])
def test_the_channel_must_be_named(installation, optty, slug):
    result = service.save(installation, slug, emulator_values(optty))

    assert list(result.problems) == ["channel"]


#: (origin, environment, None when allowed or a part of the problem's message)
STOREFRONT_ORIGINS = [
    ("https://shop.example.com", "production", None),
    ("https://shop.example.com:8443/", "production", None),
    ("http://localhost:3000", "production", None),
    ("http://127.0.0.1:8000", "production", None),
    ("http://[::1]:3000", "production", None),
    ("http://shop.example.com", "sandbox", None),
    ("http://shop.example.com", "production", "production storefronts must use https://"),
    ("https://shop.example.com/checkout", "sandbox", "enter only the origin (https://shop.example.com)"),
    ("https://shop.example.com?next=/", "sandbox", "enter only the origin"),
    ("https://shop.example.com#top", "sandbox", "enter only the origin"),
    ("https://user:pass@shop.example.com", "sandbox", "enter only the origin"),
    ("shop.example.com", "sandbox", "enter an origin such as https://shop.example.com"),
    ("ftp://shop.example.com", "sandbox", "enter an origin such as"),
    ("https://shop.example.com:99999", "sandbox", "enter an origin such as"),
]


def test_storefront_origins(installation, optty):
    for origin, environment, expected in STOREFRONT_ORIGINS:
        values = emulator_values(optty, environment=environment, storefront_urls=[origin])

        problems = service.save(installation, "default-channel", values).problems

        if expected is None:
            assert "storefront_urls" not in problems, origin
        else:
            assert expected in problems["storefront_urls"], origin
            assert problems["storefront_urls"].startswith(origin.rstrip("/")), origin


def test_at_least_one_storefront_origin_is_needed(installation, optty):
    result = service.save(installation, "default-channel", emulator_values(optty, storefront_urls=[]))

    assert result.problems["storefront_urls"].startswith("List at least one storefront origin")


def test_a_return_url_must_be_on_an_allowed_origin(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty))
    configuration = service.load(installation, "default-channel")

    for return_url, allowed in [
        ("https://shop.example.com/checkout/done?order=1", True),
        ("https://SHOP.example.com:443/x", True),
        ("http://localhost:3000/cart", True),
        ("https://shop.example.com.evil.example/", False),
        ("http://shop.example.com/", False),
        ("https://evil.example/?https://shop.example.com", False),
        ("//shop.example.com/", False),
        ("javascript:alert(1)", False),
        ("", False),
        (None, False),
    ]:
        assert service.return_url_allowed(configuration, return_url) is allowed, return_url


@pytest.mark.parametrize(
    "secret, shown",
    [("", ""), ("a", "a"), ("abcd", "d"), ("abcde", "bcde"), ("s3cr3t-value-1234", "1234")],
)
def test_secrets_are_shown_as_saleor_shows_a_plugin_s_secret_fields(secret, shown):
    assert service.mask(secret) == shown


def test_the_page_s_values_never_hold_a_whole_secret(installation, optty):
    service.save(installation, "default-channel", emulator_values(optty))

    values = service.shown(service.load(installation, "default-channel"))

    assert values["client_secret"] == optty.client_secret[-4:]
    assert values["payment_secret"] == optty.payment_secret[-4:]
    assert optty.client_secret not in repr(values) and optty.payment_secret not in repr(values)
    assert values["storefront_urls"] == ["https://shop.example.com", "http://localhost:3000"]
