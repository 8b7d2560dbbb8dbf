"""The App's integration suite: the App as its own process, installed into a real Saleor.

Run by hand, once per Saleor lab, from the project's venv::

    SALEOR_LAB=/work/labs/s320 .venv/bin/python -m pytest tests/app_integration -q   # 3.20.119
    SALEOR_LAB=/work/labs/s323 .venv/bin/python -m pytest tests/app_integration -q   # 3.23.28
    SALEOR_LAB=/work/labs/smain .venv/bin/python -m pytest tests/app_integration -q  # main

A lab's ``server.sh`` serves its Saleor (with ``HTTP_IP_FILTER_ALLOW_LOOPBACK_IPS=True``,
so that Saleor calls the App on loopback, and no Celery broker, so that ``appInstall``
and staff actions' webhooks run inside the request); the suite starts it when nothing
answers on its port and stops it at the end. Its database is the lab's own, filled by
``populatedb``, and kept between runs: an App an earlier run installed is removed first.
Without ``SALEOR_LAB`` every module skips itself.

Per session: the Optty emulator in this process; the App served by
``saleor-optty-app serve`` from a temporary directory (its SQLite file), installed with
``appInstall`` from its manifest and configured with ``saleor-optty-app configure``.
The race tests also run a two-worker App on PostgreSQL
(``saleor_optty_appint_<version>``, a database of this suite's own, made afresh).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

from saleor_optty.emulator import OpttyEmulator

from . import harness
from .harness import AppServer, Lab, SaleorAPI, Shopper, Staff, Storefront, Version


@dataclass
class Saleor:
    """The lab's Saleor: its API (checked against its version's schema) and the staff user."""

    lab: Lab
    api: SaleorAPI
    staff: Staff
    version: Version

    @property
    def api_url(self) -> str:
        return self.lab.api_url


@pytest.fixture(scope="session")
def saleor():
    lab = Lab(harness.require_lab())
    lab.start_if_needed()
    try:
        api, staff, version = harness.connect(lab.api_url)
        yield Saleor(lab, api, staff, version)
    finally:
        lab.stop()


def pytest_report_header(config):
    lab = os.environ.get(harness.LAB_VARIABLE)
    return f"saleor-optty App integration: {'lab ' + lab if lab else 'no SALEOR_LAB, every test skipped'}"


@pytest.fixture(scope="session")
def optty_server():
    # Callbacks retried quickly, and given time: the App reports to Saleor before it answers.
    with OpttyEmulator(callback_backoff=0.2, callback_max_attempts=6, callback_timeout=30) as server:
        yield server


@pytest.fixture
def optty(optty_server):
    """The emulator with its start-up knobs. Orders are kept between tests, unless a
    test left callbacks waiting (held back for an hour, say): those are dropped with a
    ``reset`` rather than reach the App during a later test."""
    optty_server.clear_faults()
    yield optty_server
    if not optty_server.wait_for_callbacks(timeout=1):
        optty_server.reset()
    optty_server.clear_faults()


@dataclass
class Deployment:
    """Which App is installed in the lab's Saleor now, and how it is configured."""

    saleor: Saleor
    optty: OpttyEmulator
    installed: AppServer | None = None
    saleor_app: dict | None = None
    auto_capture: dict[int, bool] = field(default_factory=dict)

    def use(self, app: AppServer, *, auto_capture: bool) -> AppServer:
        if self.installed is not app:
            self.saleor_app = harness.install(self.saleor.staff, app)
            self.installed = app
        if self.auto_capture.get(id(app)) is not auto_capture:
            app.configure(self.saleor.api_url, self.optty, auto_capture=auto_capture)
            self.auto_capture[id(app)] = auto_capture
        return app

    def reinstall(self) -> None:
        """Deletes the App in Saleor and installs it again (Saleor gives it a new id and token)."""
        self.saleor_app = harness.install(self.saleor.staff, self.installed)


@pytest.fixture(scope="session")
def deployment(saleor, optty_server):
    deployment = Deployment(saleor, optty_server)
    yield deployment
    # Leave no App behind whose webhooks point at a port nobody serves.
    harness.uninstall(saleor.staff)


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory):
    """The App as a merchant first runs it: ``serve``'s defaults, a SQLite file."""
    app = AppServer(tmp_path_factory.mktemp("optty-app"))
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def postgres_app(tmp_path_factory, saleor):
    """The App as deployed to scale: two workers sharing PostgreSQL."""
    import psycopg

    name = "saleor_optty_appint_" + re.sub(r"\W+", "_", saleor.version.text).strip("_")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    app = AppServer(
        tmp_path_factory.mktemp("optty-app-pg"), database_url=f"postgres://postgres@127.0.0.1:5432/{name}", workers=2
    )
    app.start()
    yield app
    app.stop()


@pytest.fixture
def app(deployment, sqlite_app, optty):
    """The SQLite App, installed and configured with auto-capture on."""
    return deployment.use(sqlite_app, auto_capture=True)


@pytest.fixture
def app_without_auto_capture(deployment, sqlite_app, optty):
    return deployment.use(sqlite_app, auto_capture=False)


@pytest.fixture
def storefront(saleor) -> Storefront:
    return Storefront(saleor.api)


@pytest.fixture
def shopper() -> Shopper:
    return Shopper()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the end of each running App's log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call":
        for app in harness.RUNNING_APPS:
            report.sections.append((f"App log ({app.url})", app.log_tail(limit=6000)))
