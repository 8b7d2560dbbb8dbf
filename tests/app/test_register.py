"""Installing the App: Saleor fetches the manifest and POSTs the token to /api/register."""

import json

import pytest
import requests
from django.db import connection

from saleor_optty.app.models import Installation

from .standin import InstallError, SaleorStandIn


@pytest.mark.django_db(transaction=True)
def test_install_stores_the_token_the_app_id_and_saleors_keys(saleor, app_url):
    app = saleor.install(app_url)

    installation = Installation.objects.get(saleor_api_url=saleor.api_url)
    assert installation.app_id == app.id
    assert installation.token == app.token
    assert installation.schema_version == saleor.schema_version
    assert installation.jwks == saleor.jwks
    assert installation.jwks_fetched_at is not None
    # Checked at once with Saleor, then the JWKS fetched: one call of each.
    assert [call.operation for call in saleor.calls] == ["app"]
    assert saleor.calls[0].authorized
    assert saleor.jwks_requests == 1
    # The token is stored encrypted, and shown in no repr.
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM optty_app_installation WHERE id = %s", [installation.pk])
        (stored,) = cursor.fetchone()
    assert app.token not in stored
    assert app.token not in repr(installation) and app.token not in str(installation)


@pytest.mark.django_db(transaction=True)
def test_a_reinstall_updates_the_installation(saleor, app_url):
    first = saleor.install(app_url)
    second = saleor.reinstall(app_url)

    assert second.id != first.id and second.token != first.token
    installation = Installation.objects.get()
    assert (installation.app_id, installation.token) == (second.id, second.token)


@pytest.mark.django_db(transaction=True)
def test_one_app_serves_several_saleors(app_url):
    with SaleorStandIn("3.20.119") as old, SaleorStandIn("3.23.28") as new:
        old_app, new_app = old.install(app_url), new.install(app_url)
        assert {(i.saleor_api_url, i.app_id, i.schema_version) for i in Installation.objects.all()} == {
            (old.api_url, old_app.id, "3.20"),
            (new.api_url, new_app.id, "3.23"),
        }


@pytest.mark.django_db(transaction=True)
def test_a_saleor_outside_the_allow_list_is_told_what_to_set(saleor, app_url, settings):
    settings.ALLOWED_SALEOR_URLS = ["https://shop.example.com/graphql/"]

    with pytest.raises(InstallError) as refusal:
        saleor.install(app_url)

    assert "OPTTY_APP_ALLOWED_SALEOR_URLS" in str(refusal.value)
    assert saleor.api_url in str(refusal.value)
    assert not Installation.objects.exists()
    assert saleor.calls == [] and saleor.jwks_requests == 0  # refused before anything else


@pytest.mark.django_db(transaction=True)
def test_a_saleor_on_the_allow_list_installs(saleor, app_url, settings):
    settings.ALLOWED_SALEOR_URLS = ["https://shop.example.com/graphql/", saleor.api_url.rstrip("/")]
    saleor.install(app_url)
    assert Installation.objects.filter(saleor_api_url=saleor.api_url).exists()


@pytest.mark.django_db(transaction=True)
def test_a_token_saleor_refuses_fails_the_install(saleor, app_url):
    saleor.accept_app_token = False

    with pytest.raises(InstallError) as refusal:
        saleor.install(app_url)

    assert "did not accept the token" in str(refusal.value)
    assert not Installation.objects.exists()
    assert saleor.calls[-1].operation == "app" and not saleor.calls[-1].authorized


@pytest.mark.django_db(transaction=True)
def test_a_saleor_without_its_keys_fails_the_install(saleor, app_url):
    saleor.jwks_answer = (404, {}, b"not found")

    with pytest.raises(InstallError) as refusal:
        saleor.install(app_url)

    assert "/.well-known/jwks.json" in str(refusal.value)
    assert not Installation.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {"auth_token": "t"}, 400, "MISSING_SALEOR_API_URL"),
        ({"Saleor-Api-Url": "ftp://saleor/graphql/"}, {"auth_token": "t"}, 400, "INVALID_SALEOR_API_URL"),
        ({"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"}, {}, 400, "MISSING_AUTH_TOKEN"),
        ({"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"}, "not json", 400, "MISSING_AUTH_TOKEN"),
        ({"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"}, {"auth_token": "t"}, 502, "SALEOR_UNREACHABLE"),
    ],
)
def test_every_refusal_is_a_non_2xx_with_a_message(app_url, headers, body, status, code):
    data = body if isinstance(body, str) else json.dumps(body)
    response = requests.post(f"{app_url}/api/register", data=data, headers=headers, timeout=10)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert not Installation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_register_takes_only_post(app_url):
    response = requests.get(f"{app_url}/api/register", timeout=5)
    assert response.status_code == 405
    assert response.json()["error"]["message"]
