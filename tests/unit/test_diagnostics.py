"""optty-check: each check against the emulator, and the command line around them."""

import io
from decimal import Decimal

import pytest

from saleor_optty.diagnostics import (
    CALLBACK_URL,
    CREDENTIALS,
    PROVIDERS,
    Check,
    check_callback_url,
    check_credentials,
    check_payment_secret,
    check_providers,
    main,
    run_checks,
)

PLUGIN_CALLBACK = "https://shop.example.com/plugins/channel/default-channel/optty.payments/webhooks/1f2e3d4c"


def test_good_credentials_pass(client):
    check = check_credentials(client)
    assert check == Check(CREDENTIALS, True, "Optty's sandbox token endpoint accepted the client id and secret.")


def test_refused_credentials_say_where_to_find_the_right_ones(make_client):
    check = check_credentials(make_client(client_secret="wrong"))
    assert not check.ok
    assert check.message.startswith("Optty refused the client id and secret for the sandbox environment")
    assert "View profile → View credentials" in check.message
    assert "wrong" not in check.message


def test_unreachable_token_endpoint_names_it(optty):
    from saleor_optty.optty import OpttyClient

    with OpttyClient("id", "secret", auth_url="http://127.0.0.1:9/token", api_url=optty.api_url) as client:
        check = check_credentials(client)
    assert check == Check(CREDENTIALS, False, "Optty could not be reached. Token endpoint: http://127.0.0.1:9/token.")


def test_providers_are_listed_in_optty_order(client):
    check = check_providers(client, Decimal("150"), "AUD")
    assert check == Check(PROVIDERS, True, "Offered for 150 AUD: AFTERPAY_AU, ZIP_AU, KLARNA, LATITUDEPAY_AU, HUMM_AU.")


def test_no_provider_for_the_currency_fails(client):
    check = check_providers(client, Decimal("150"), "NZD")
    assert not check.ok
    assert check.message.startswith("Optty offers no provider for 150 NZD")


def test_the_allow_list_narrows_and_reports_what_optty_does_not_offer(client):
    check = check_providers(client, Decimal("150"), "AUD", allowed=["klarna", "CLEARPAY"])
    assert check.ok and check.warning
    assert check.message == "Offered for 150 AUD: KLARNA. Not offered: CLEARPAY."

    none = check_providers(client, Decimal("150"), "AUD", allowed=["CLEARPAY"])
    assert not none.ok
    assert none.message.startswith("None of the allowed providers (CLEARPAY) is offered for 150 AUD")


def test_an_amount_the_currency_cannot_carry_is_a_failed_check_not_a_crash(client):
    check = check_providers(client, Decimal("150.5"), "JPY")
    assert not check.ok and "more decimals than JPY allows" in check.message


def test_payment_secret_cannot_be_verified_in_advance():
    assert check_payment_secret("s3cret").warning
    assert "s3cret" not in check_payment_secret("s3cret").message
    missing = check_payment_secret(None)
    assert missing.ok and missing.warning and "refuses every shopper's return" in missing.message


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://localhost:8000/plugins/x", "localhost is a local name"),
        ("https://saleor.local/plugins/x", "saleor.local is a local name"),
        ("https://127.0.0.1/plugins/x", "127.0.0.1 is this machine (loopback)"),
        ("https://[::1]/plugins/x", "::1 is this machine (loopback)"),
        ("https://192.168.1.20/plugins/x", "192.168.1.20 is a private address"),
        ("https://100.64.0.1/plugins/x", "100.64.0.1 is a private address"),
        ("https://api/plugins/x", "api is not a public domain name"),
        ("http://shop.example.com/plugins/x", "it is not https"),
    ],
)
def test_unreachable_callback_urls_fail_in_production_and_warn_in_sandbox(url, problem):
    production = check_callback_url(url, "production")
    assert not production.ok
    assert f": {problem};" in production.message

    sandbox = check_callback_url(url, "sandbox")
    assert sandbox.ok and sandbox.warning
    assert problem in sandbox.message


def test_a_public_https_callback_url_passes_and_its_key_is_never_shown():
    check = check_callback_url(PLUGIN_CALLBACK, "production")
    assert check == Check(CALLBACK_URL, True, "https://shop.example.com looks publicly reachable.")
    assert "1f2e3d4c" not in check_callback_url(PLUGIN_CALLBACK.replace("https", "http"), "production").message


def test_a_public_url_that_is_not_the_plugins_callback_is_flagged():
    check = check_callback_url("https://shop.example.com/graphql/", "production")
    assert check.ok and check.warning and "not the plugin's callback path" in check.message


@pytest.mark.parametrize("url", ["shop.example.com/callback", "ftp://shop.example.com/x", "https://"])
def test_a_callback_url_that_is_not_a_url_fails(url):
    assert check_callback_url(url, "sandbox") == Check(
        CALLBACK_URL, False, "Not a URL: it must start with https:// and name a host."
    )


def test_run_checks_skips_providers_when_the_credentials_fail(make_client):
    checks = run_checks(make_client(client_secret="wrong"), amount=Decimal("100"), currency="AUD")
    assert [check.name for check in checks] == [CREDENTIALS, "payment secret", CALLBACK_URL]


def _cli(optty, *args):
    out = io.StringIO()
    argv = ["--client-id", optty.client_id, "--api-url", optty.api_url, "--auth-url", optty.auth_url, *args]
    return main(argv, out=out), out.getvalue()


def test_cli_passes_with_the_emulator_and_prints_no_secret(optty):
    code, output = _cli(
        optty,
        "--client-secret", optty.client_secret,
        "--payment-secret", optty.payment_secret,
        "--currency", "aud",
        "--callback-url", PLUGIN_CALLBACK,
    )  # fmt: skip
    assert code == 0, output
    assert output.splitlines()[-1] == "optty-check: all checks passed."
    assert optty.client_secret not in output and optty.payment_secret not in output


def test_cli_reads_the_client_secret_from_the_environment_and_fails_with_one_line_per_problem(optty, monkeypatch):
    monkeypatch.setenv("OPTTY_CLIENT_SECRET", optty.client_secret)
    code, output = _cli(optty, "--currency", "NZD", "--environment", "production", "--callback-url", "http://localhost/x")
    assert code == 1
    lines = output.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["ok", "FAIL", "warn", "FAIL"]
    assert lines[-1] == "optty-check: 2 problem(s) found."


def test_cli_without_a_client_secret_is_a_usage_error(optty, monkeypatch, capsys):
    monkeypatch.delenv("OPTTY_CLIENT_SECRET", raising=False)
    with pytest.raises(SystemExit) as exit_:
        _cli(optty, "--currency", "AUD")
    assert exit_.value.code == 2
    assert "give --client-secret or set OPTTY_CLIENT_SECRET" in capsys.readouterr().err


@pytest.mark.parametrize("amount", ["0.50", "ten", "NaN"])
def test_cli_refuses_amounts_optty_cannot_list(optty, amount):
    with pytest.raises(SystemExit) as exit_:
        _cli(optty, "--client-secret", "x", "--currency", "AUD", "--amount", amount)
    assert exit_.value.code == 2
