"""The benchmarks are pytest tests on Saleor's own fixtures, set up as the integration suite is.

``bench/run.py`` invokes pytest on this directory, which makes this an initial conftest
that may declare ``pytest_plugins``; Saleor's fixture modules come from the definition
the integration suite's conftest uses, and the suite's own fixtures (``storefront``,
``optty_plugin``...) are loaded as they are. Only the emulator differs: it runs in its
own process here, see ``emulator.py``.
"""

import json

import pytest

from tests.integration.saleor_setup import prepare_saleor_tests

from .bare_webhook import BareWebhookPlugin
from .emulator import RemoteEmulator
from .figures import BY_KEY
from .flows import dummy_plugin_path
from .redirect_gateway import MinimalRedirectGatewayPlugin

pytest_plugins = [*prepare_saleor_tests(), "tests.integration.fixtures"]


def pytest_addoption(parser):
    group = parser.getgroup("saleor-optty benchmarks")
    group.addoption("--bench-results", help="JSON file the measured figures are written to")
    group.addoption("--bench-repeats", type=int, default=15, help="measured repetitions per CPU comparison")
    group.addoption("--bench-checkouts", type=int, default=50, help="checkouts counted for figure 4")


@pytest.fixture(scope="session")
def optty_emulator():
    """Replaces the integration suite's in-process emulator with one in its own process."""
    emulator = RemoteEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def record(request):
    """``record(key, value, detail)``: keep one figure (a key of figures.FIGURES) for run.py."""
    path = request.config.getoption("--bench-results")
    figures = {}

    def record(key: str, value: float, detail: str = "") -> None:
        if key not in BY_KEY:
            raise KeyError(f"{key!r} is not a figure in bench/figures.py")
        figures[key] = {"value": value, "detail": detail}
        if path:  # rewritten each time, so a later failure keeps what was measured
            with open(path, "w") as results:
                json.dump(figures, results, indent=2)

    return record


@pytest.fixture
def repeats(request):
    return request.config.getoption("--bench-repeats")


@pytest.fixture
def bench_plugins(settings, optty_plugin):
    """Saleor's dummy gateway, the bench's own plugins and Optty, all active in channel_USD.

    The bench's plugins are the minimal redirect gateway and the bare webhook. The same
    Saleor for every side of a comparison: only the payment, or the webhook, differs.
    """
    bench_only = [f"{cls.__module__}.{cls.__qualname__}" for cls in (MinimalRedirectGatewayPlugin, BareWebhookPlugin)]
    settings.PLUGINS = [dummy_plugin_path(), *bench_only, *settings.PLUGINS]  # optty_plugin put Optty's there
    return optty_plugin
