"""The Saleor integration suite: Saleor's own fixtures, GraphQL API and database.

It runs only where Saleor is importable (Saleor 3.x is not on PyPI, so it is set up
by hand, see README "Testing"); elsewhere each test module skips itself. Run it
from the repository root with::

    pytest tests/integration --ds=saleor.tests.settings --reuse-db

What Saleor's own repository-root conftest does is redone here for the installed
version: both database aliases on every test case, Saleor's replica wrapper, and its
fixture modules, whose layout changed in 3.21.
"""

import importlib.util

import pytest

SALEOR_AVAILABLE = importlib.util.find_spec("saleor") is not None

if SALEOR_AVAILABLE:
    import django.test
    import saleor
    from django.conf import settings

    if settings.SETTINGS_MODULE != "saleor.tests.settings":
        raise pytest.UsageError("Run the integration suite with --ds=saleor.tests.settings.")

    from saleor.tests.utils import prepare_test_db_connections

    SALEOR_VERSION = tuple(int(part) for part in saleor.__version__.split(".")[:2])
    _databases = {settings.DATABASE_CONNECTION_DEFAULT_NAME, settings.DATABASE_CONNECTION_REPLICA_NAME}
    django.test.TransactionTestCase.databases = _databases
    django.test.TestCase.databases = _databases
    prepare_test_db_connections()

    if SALEOR_VERSION >= (3, 21):
        # From 3.21 every app ships its own fixtures package.
        pytest_plugins = [
            "saleor.tests.fixtures",
            "saleor.app.tests.fixtures",
            "saleor.plugins.tests.fixtures",
            "saleor.graphql.tests.fixtures",
            "saleor.webhook.tests.fixtures",
            "saleor.tax.tests.fixtures",
            "saleor.channel.tests.fixtures",
            "saleor.page.tests.fixtures",
            "saleor.menu.tests.fixtures",
            "saleor.warehouse.tests.fixtures",
            "saleor.thumbnail.tests.fixtures",
            "saleor.order.tests.fixtures",
            "saleor.product.tests.fixtures",
            "saleor.site.tests.fixtures",
            "saleor.shipping.tests.fixtures",
            "saleor.permission.tests.fixtures",
            "saleor.giftcard.tests.fixtures",
            "saleor.discount.tests.fixtures",
            "saleor.checkout.tests.fixtures",
            "saleor.attribute.tests.fixtures",
            "saleor.account.tests.fixtures",
            "saleor.graphql.account.tests.fixtures",
            "saleor.payment.tests.fixtures",
            "saleor.webhook.tests.circuit_breaker.fixtures",
        ]
    else:
        # 3.20 keeps most fixtures in saleor.tests.fixtures.
        pytest_plugins = [
            "saleor.tests.fixtures",
            "saleor.discount.tests.test_utils.fixtures",
            "saleor.plugins.tests.fixtures",
            "saleor.graphql.tests.fixtures",
            "saleor.graphql.channel.tests.fixtures",
            "saleor.tax.tests.fixtures",
        ]
    pytest_plugins.append("tests.integration.fixtures")


def pytest_report_header(config):
    if not SALEOR_AVAILABLE:
        return "saleor-optty integration: Saleor not installed, every test here is skipped"
    return f"saleor-optty integration: Saleor {saleor.__version__}"
