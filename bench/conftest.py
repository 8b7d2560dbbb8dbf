"""The benchmarks run as pytest tests on Saleor's own fixtures, like the integration suite.

``bench/run.py`` invokes pytest on this directory, so this conftest is an initial one
and may declare ``pytest_plugins``; the fixture modules come from the same definition
the integration suite uses.
"""

import json

import pytest

from tests.integration.saleor_setup import prepare_saleor_tests

from .emulator import RemoteEmulator

pytest_plugins = [*prepare_saleor_tests(), "tests.integration.fixtures"]


def pytest_addoption(parser):
    parser.addoption("--bench-results", help="JSON file the measured figures are written to")


@pytest.fixture(scope="session")
def optty_emulator():
    """Replaces the integration suite's in-process emulator (see bench/emulator.py)."""
    emulator = RemoteEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def record(request):
    """``record(figure, value, detail)``: keep one measured figure for bench/run.py."""
    path = request.config.getoption("--bench-results")
    figures = {}

    def record(figure: str, value: float, detail: str = "") -> None:
        figures[figure] = {"value": value, "detail": detail}
        if path:
            with open(path, "w") as results:
                json.dump(figures, results, indent=2)

    return record
