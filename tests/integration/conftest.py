"""The Saleor integration suite: Saleor's own fixtures, GraphQL API and database.

It runs only where Saleor is importable (Saleor 3.x is not on PyPI, so it is set up
by hand, see README "Testing"); elsewhere each test module skips itself. Run it
from the repository root with::

    pytest tests/integration --ds=saleor.tests.settings --reuse-db

What Saleor's own repository-root conftest does is redone for the installed version
by :mod:`.saleor_setup`, which the benchmarks' conftest shares.
"""

import importlib.util

SALEOR_AVAILABLE = importlib.util.find_spec("saleor") is not None

if SALEOR_AVAILABLE:
    import saleor

    from .saleor_setup import prepare_saleor_tests

    pytest_plugins = [*prepare_saleor_tests(), "tests.integration.fixtures"]


def pytest_report_header(config):
    if not SALEOR_AVAILABLE:
        return "saleor-optty integration: Saleor not installed, every test here is skipped"
    return f"saleor-optty integration: Saleor {saleor.__version__}"
