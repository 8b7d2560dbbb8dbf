"""The App's benchmarks: the App served as it is deployed to scale (``served.py``), the
Saleor stand-in of the App's test suite and the Optty emulator in this process, and, for
the figures that need it, a real Saleor (``saleor_lab.py``).

``bench/app/run.py`` runs pytest on this directory only (``--confcutdir``): the plugin's
bench conftest one level up needs Saleor installed, and this one needs no Saleor.
"""

from __future__ import annotations

import pytest

from saleor_optty.emulator import OpttyEmulator
from tests.app.standin import SaleorStandIn

from .figures import BY_KEY
from .flows import RemoteShop
from .served import ServedApp

pytest_plugins = ["bench.recording"]

#: The Saleor version the stand-in plays.
SALEOR_VERSION = "3.23.28"


def pytest_addoption(parser):
    group = parser.getgroup("saleor-optty App benchmarks")
    group.addoption(
        "--bench-database-url",
        default="postgres://postgres@127.0.0.1:5432/saleor_optty_bench_app",
        help="the served App's PostgreSQL database, emptied at the start (its name must start with saleor_optty_bench)",
    )
    group.addoption(
        "--bench-redis-url", default="redis://127.0.0.1:6379/13", help="the Redis database the App's workers share, emptied at the start"
    )
    group.addoption("--bench-webhooks", type=int, default=1000, help="webhooks counted for the JWKS figure")


@pytest.fixture(scope="session")
def figures_by_key():
    return BY_KEY


@pytest.fixture(scope="session")
def optty():
    with OpttyEmulator(callback_backoff=0.05, callback_max_attempts=3, callback_timeout=10) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def saleor():
    with SaleorStandIn(SALEOR_VERSION) as standin:
        yield standin
        standin.assert_no_failures()


@pytest.fixture(scope="session")
def app(tmp_path_factory, request):
    served = ServedApp(
        tmp_path_factory.mktemp("optty-app"),
        database_url=request.config.getoption("--bench-database-url"),
        redis_url=request.config.getoption("--bench-redis-url"),
    )
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="session")
def shop(saleor, optty, app):
    """The App installed into the stand-in (``appInstall``'s steps) and configured for
    its channel with the emulator's credentials."""
    saleor.install(app.url)
    return RemoteShop(saleor, optty, app)


@pytest.fixture
def quiet_optty(optty):
    """The emulator with its own callbacks held back: the bench delivers callbacks itself."""
    optty.set_callback_options(delay=3600)
    yield optty
    optty.reset()  # drops the held callbacks; issued tokens stay valid
    optty.clear_faults()
