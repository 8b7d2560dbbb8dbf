"""Fixtures of the App's suite: a Saleor stand-in per test, and the App served by
pytest-django's ``live_server`` and installed into it through ``/api/register``.

``saleor`` and ``installed_app`` run once per Saleor version the stand-in plays
(3.20.119 and 3.23.28); a test pins one with
``@pytest.mark.parametrize("saleor_version", ["3.23.28"])``. A test fails when the App
did anything the played Saleor would refuse (an invalid GraphQL document, an answer
outside the version's rules, a manifest Saleor would not install).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from saleor_optty.app.models import Installation

from ..unit.conftest import optty, optty_server  # noqa: F401 - one Optty emulator for the App's suite too
from .standin import SaleorStandIn, global_id

SALEOR_VERSIONS = ("3.20.119", "3.23.28")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Django's cache holds rate limits (JWKS refetches) and tokens: none leaks between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(params=SALEOR_VERSIONS)
def saleor_version(request) -> str:
    return request.param


@pytest.fixture
def saleor(saleor_version):
    with SaleorStandIn(saleor_version) as standin:
        yield standin
        standin.assert_no_failures()


@pytest.fixture
def installation(saleor, db) -> Installation:
    """The stand-in's Installation made directly (no install round trip), its JWKS
    fetched, for tests of what the App does with an installation."""
    return Installation.objects.create(
        saleor_api_url=saleor.api_url,
        app_id=global_id("App", 1),
        token="app-token-for-tests",
        schema_version=saleor.schema_version,
        jwks=saleor.jwks,
        jwks_fetched_at=timezone.now(),
    )


@dataclass
class InstalledApp:
    saleor: SaleorStandIn
    #: The App's public URL (the live server).
    url: str

    @property
    def installation(self) -> Installation:
        return Installation.objects.get(saleor_api_url=self.saleor.api_url)


@pytest.fixture(scope="session")
def _live_server(live_server):
    """pytest-django's live_server, allowed to share the test's in-memory SQLite
    connection with its request threads (as Django's LiveServerTestCase allows; a thread
    closes it after each request, possibly after the test, so it stays allowed)."""
    for conn in connections.all():
        if conn.vendor == "sqlite" and conn.is_in_memory_db():
            conn.inc_thread_sharing()
    return live_server


@pytest.fixture
def app_url(_live_server, settings) -> str:
    """The App served over loopback, with ``APP_URL`` (its manifest's URLs) set to it."""
    settings.APP_URL = _live_server.url
    settings.ALLOWED_SALEOR_URLS = []
    return _live_server.url


@pytest.fixture
def installed_app(saleor, app_url, transactional_db) -> InstalledApp:
    """The App installed into the stand-in the way Saleor installs it."""
    saleor.install(app_url)
    return InstalledApp(saleor=saleor, url=app_url)
