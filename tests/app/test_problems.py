"""Problems the merchant must fix, reported to the Saleor stand-in (``appProblemCreate``):
once per period, only when Optty has been unreachable for a while, dismissed when the
configuration is saved, and never an exception into the payment path."""

import logging
import time

import pytest
from django.db import connection

from saleor_optty.app import problems
from saleor_optty.app.configuration import service
from saleor_optty.app.models import ChannelConfiguration, Installation
from saleor_optty.optty import OpttyUnavailableError


@pytest.fixture
def saleor_version():
    return "3.23.28"  # app problems arrived in 3.22.36


@pytest.fixture
def configuration(installed_app):
    return ChannelConfiguration.objects.create(
        installation=installed_app.installation,
        channel_slug="default-channel",
        client_id="client",
        client_secret="client-secret-1234",
        payment_secret="payment-secret-5678",
        supported_currencies="USD",
        storefront_urls="https://shop.example.com",
    )


def reported(saleor):
    return [(problem["key"], problem["criticalThreshold"], problem["dismissed"]) for problem in saleor.app_problems]


def test_refused_credentials_are_reported_once_per_period_as_critical(configuration, saleor):
    message = "Optty refused the client id and secret for the sandbox environment: invalid_client"

    problems.report_optty_refused_credentials(configuration, message)
    problems.report_optty_refused_credentials(configuration, message)

    assert reported(saleor) == [("optty:credentials-refused:default-channel", 1, False)]
    text = saleor.app_problems[0]["message"]
    assert "'default-channel'" in text and message in text
    assert configuration.client_secret not in text


def test_a_missing_configuration_is_reported_per_channel(installed_app, saleor):
    installation = installed_app.installation

    problems.report_missing_configuration(installation, "default-channel")
    problems.report_missing_configuration(installation, "default-channel")
    problems.report_missing_configuration(installation, "channel-pln")

    assert reported(saleor) == [
        ("optty:configuration-missing:default-channel", 1, False),
        ("optty:configuration-missing:channel-pln", 1, False),
    ]
    assert "Open the Optty app, choose this channel and save its configuration." in saleor.app_problems[0]["message"]


def test_optty_unreachable_only_once_failures_have_lasted(configuration, saleor, monkeypatch):
    monkeypatch.setattr(problems, "UNREACHABLE_MIN_SECONDS", 0.3)
    error = OpttyUnavailableError("Optty could not be reached: connection refused.")

    for _ in range(problems.UNREACHABLE_MIN_FAILURES):  # a burst: one blip, however busy the shop
        problems.report_optty_unreachable(configuration, error)
    assert reported(saleor) == []

    time.sleep(0.35)
    problems.report_optty_unreachable(configuration, error)
    problems.report_optty_unreachable(configuration, error)

    assert reported(saleor) == [("optty:optty-unreachable:default-channel", 3, False)]
    message = saleor.app_problems[0]["message"]
    assert f"{problems.UNREACHABLE_MIN_FAILURES + 1} failures" in message
    assert "the latest: Optty could not be reached: connection refused." in message


def test_failures_far_apart_are_not_an_outage(configuration, saleor, monkeypatch):
    monkeypatch.setattr(problems, "UNREACHABLE_MIN_FAILURES", 4)
    monkeypatch.setattr(problems, "UNREACHABLE_MIN_SECONDS", 0.3)
    monkeypatch.setattr(problems, "UNREACHABLE_GAP_SECONDS", 0.4)
    error = OpttyUnavailableError("Optty could not be reached.")

    for pause in (0, 0, 0.5, 0, 0.2):  # five failures over 0.7 s, but a quiet 0.5 s in the middle
        time.sleep(pause)
        problems.report_optty_unreachable(configuration, error)

    assert reported(saleor) == []


def test_saving_the_configuration_dismisses_the_channel_s_problems(configuration, saleor, optty):
    problems.report_optty_refused_credentials(configuration, "Optty refused the client id and secret.")
    problems.report_missing_configuration(configuration.installation, "channel-pln")

    saved = service.save(
        configuration.installation,
        "default-channel",
        {
            "client_id": optty.client_id,
            "client_secret": optty.client_secret,
            "payment_secret": optty.payment_secret,
            "api_url": optty.api_url,
            "auth_url": optty.auth_url,
        },
    )

    assert saved.saved, saved.problems
    assert reported(saleor) == [
        ("optty:credentials-refused:default-channel", 1, True),
        ("optty:configuration-missing:channel-pln", 1, False),
    ]
    # Forgotten here too: the next refusal is reported at once, not after the period.
    problems.report_optty_refused_credentials(saved.configuration, "Optty refused the client id and secret.")
    assert reported(saleor)[-1] == ("optty:credentials-refused:default-channel", 1, False)


def test_a_long_channel_slug_still_makes_a_key_saleor_accepts(installed_app, saleor):
    slug = "c" * 200

    problems.report_missing_configuration(installed_app.installation, slug)

    [(key, _, _)] = reported(saleor)
    assert key.startswith("optty:configuration-missing:") and 3 <= len(key) <= 128


@pytest.mark.parametrize("saleor_version", ["3.20.119"])
def test_an_older_saleor_is_not_asked(configuration, saleor):
    problems.report_optty_refused_credentials(configuration, "Optty refused the client id and secret.")

    assert saleor.calls_to("appProblemCreate") == []


def test_a_saleor_that_fails_does_not_fail_the_payment(configuration, saleor):
    saleor.fail_next_graphql(503, times=3)

    problems.report_optty_refused_credentials(configuration, "Optty refused the client id and secret.")

    assert reported(saleor) == []


def test_nothing_raises_into_the_payment_path(configuration, caplog):
    # The App's token cannot be decrypted (the secret key changed, say).
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Installation._meta.db_table} SET token = 'not-a-fernet-token'")
    configuration = ChannelConfiguration.objects.get(pk=configuration.pk)

    with caplog.at_level(logging.WARNING, logger="saleor_optty.app.problems"):
        problems.report_optty_refused_credentials(configuration, "Optty refused the client id and secret.")
        problems.report_optty_unreachable(configuration, RuntimeError("boom"))
        problems.configuration_saved(configuration)

    assert "Could not tell Saleor about a problem (report_optty_refused_credentials): SecretKeyError" in caplog.text
