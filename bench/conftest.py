"""The benchmarks are pytest tests on Saleor's own fixtures, set up as the integration suite is.

``bench/run.py`` invokes pytest on this directory, which makes this an initial conftest
that may declare ``pytest_plugins``; Saleor's fixture modules come from the definition
the integration suite's conftest uses, and the suite's own fixtures (``storefront``,
``optty_plugin``...) are loaded as they are. Only the emulator differs: it runs in its
own process here, see ``emulator.py``.
"""

import pytest

from tests.integration.saleor_setup import prepare_saleor_tests

from .bare_webhook import BareWebhookPlugin
from .emulator import RemoteEmulator
from .figures import BY_KEY
from .flows import dummy_plugin_path
from .redirect_gateway import MinimalRedirectGatewayPlugin

pytest_plugins = [*prepare_saleor_tests(), "tests.integration.fixtures", "bench.recording"]


@pytest.fixture(scope="session")
def optty_emulator():
    """Replaces the integration suite's in-process emulator with one in its own process."""
    emulator = RemoteEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def figures_by_key():
    return BY_KEY


@pytest.fixture
def bench_plugins(settings, optty_plugin):
    """Saleor's dummy gateway, the bench's own plugins and Optty, all active in channel_USD.

    The bench's plugins are the minimal redirect gateway and the bare webhook. The same
    Saleor for every side of a comparison: only the payment, or the webhook, differs.
    """
    bench_only = [f"{cls.__module__}.{cls.__qualname__}" for cls in (MinimalRedirectGatewayPlugin, BareWebhookPlugin)]
    settings.PLUGINS = [dummy_plugin_path(), *bench_only, *settings.PLUGINS]  # optty_plugin put Optty's there
    return optty_plugin
