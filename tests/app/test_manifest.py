"""The manifest at /api/manifest, as Saleor 3.20.119 and 3.23.28 read it."""

import pytest
import requests

from saleor_optty.__version__ import __version__
from saleor_optty.app.manifest import REQUIRED_SALEOR_VERSION
from saleor_optty.app.saleor.subscriptions import WEBHOOKS
from saleor_optty.consts import APP_ID

from . import saleor_rules


@pytest.fixture
def manifest(app_url):
    response = requests.get(f"{app_url}/api/manifest", headers={"Saleor-Schema-Version": "3.23"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["3.20.119", "3.23.28", "3.24.0-a.0"])
def test_saleor_would_install_from_the_manifest(manifest, version):
    assert saleor_rules.manifest_problems(version, manifest) == []


@pytest.mark.django_db
def test_the_manifest_names_the_app_its_urls_and_its_webhooks(manifest, app_url):
    assert manifest["id"] == APP_ID == "optty.payments.app"
    assert manifest["version"] == __version__
    assert manifest["permissions"] == ["HANDLE_PAYMENTS"]
    assert manifest["appUrl"] == f"{app_url}/configuration"
    assert manifest["tokenTargetUrl"] == f"{app_url}/api/register"
    assert manifest["author"].strip() and manifest["about"].strip()
    assert manifest["homepageUrl"].startswith("https://") and manifest["supportUrl"].startswith("https://")
    assert [(hook["syncEvents"], hook["targetUrl"], hook["query"], hook["isActive"]) for hook in manifest["webhooks"]] == [
        ([spec.event], f"{app_url}/{spec.path}", spec.query, True) for spec in WEBHOOKS
    ]
    assert {event for hook in manifest["webhooks"] for event in hook["syncEvents"]} == {
        "PAYMENT_GATEWAY_INITIALIZE_SESSION",
        "TRANSACTION_INITIALIZE_SESSION",
        "TRANSACTION_PROCESS_SESSION",
        "TRANSACTION_CHARGE_REQUESTED",
        "TRANSACTION_REFUND_REQUESTED",
        "TRANSACTION_CANCELATION_REQUESTED",
    }


@pytest.mark.parametrize(
    ("saleor_release", "satisfied"),
    [
        ("3.20.0", True),
        ("3.20.119", True),
        ("3.23.28", True),
        ("3.24.0-a.0", True),  # Saleor's main
        ("3.99.0", True),
        ("3.19.9", False),
        ("3.20.0-a.1", False),
        ("4.0.0", False),
        ("4.0.0-a.0", False),
    ],
)
def test_the_required_saleor_version_covers_3_20_to_every_3_x(saleor_release, satisfied):
    problems = saleor_rules._required_version_problems(saleor_release, REQUIRED_SALEOR_VERSION)
    assert (problems == []) is satisfied


@pytest.mark.django_db
def test_the_logo_is_a_png_saleor_accepts(manifest):
    response = requests.get(manifest["brand"]["logo"]["default"], timeout=5, allow_redirects=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    content = response.content
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR"
    width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    assert width == height >= 256
    assert len(content) < 10 * 1024 * 1024


def test_the_derived_rules_refuse_what_saleor_refuses():
    """The manifest checks themselves: each mistake Saleor refuses is caught."""
    good = {
        "id": "x.y",
        "version": "1.0",
        "name": "X",
        "tokenTargetUrl": "http://localhost:8000/api/register",
        "brand": {"logo": {"default": "http://localhost:8000/logo.png"}},
        "permissions": ["HANDLE_PAYMENTS"],
        "requiredSaleorVersion": ">=3.20 <4",
        "webhooks": [],
    }
    assert saleor_rules.manifest_problems("3.20.119", good) == []
    without_token_url = {key: value for key, value in good.items() if key != "tokenTargetUrl"}
    assert saleor_rules.manifest_problems("3.20.119", without_token_url)  # required before 3.23
    assert saleor_rules.manifest_problems("3.23.28", without_token_url) == []
    for mistake in (
        {"brand": {"logo": {"default": "http://localhost:8000/logo.svg"}}},
        {"brand": {"logo": {}}},
        {"permissions": ["HANDLE_PAYMENT"]},
        {"permissions": ["MANAGE_APPS"]},
        {"author": "  "},
        {"requiredSaleorVersion": ">=3.21"},
        {"requiredSaleorVersion": "three"},
        {"tokenTargetUrl": "/api/register"},
        {"id": "saleor.io.gift-card-payment-gateway"},
        {"webhooks": [{"name": "w", "targetUrl": "ftp://x/y", "query": "subscription { event { issuedAt } }"}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y", "query": "subscription { event { nope } }"}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y", "query": "{ shop { name } }"}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y", "query": "subscription { event { issuedAt } }", "syncEvents": ["TRANSACTION_CHARGE"]}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y", "query": "subscription { event { issuedAt } }", "syncEvents": ["TRANSACTION_CHARGE_REQUESTED"]}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y", "query": "subscription { event { issuedAt } }", "isActive": "yes"}]},
        {"webhooks": [{"name": "w", "targetUrl": "http://x/y"}]},
    ):
        assert saleor_rules.manifest_problems("3.20.119", {**good, **mistake}), mistake
