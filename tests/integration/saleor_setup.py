"""What Saleor's repository-root conftest does, redone for the installed Saleor version.

Shared by the conftests of the integration suite and of the benchmarks (``bench/``),
which both run Saleor's fixtures from outside Saleor's tree: both database aliases on
every test case, Saleor's replica wrapper, and its fixture modules, whose layout
changed in 3.21. Import it only where Saleor is installed.
"""

import django.test
import pytest
import saleor
from django.conf import settings

SALEOR_VERSION = tuple(int(part) for part in saleor.__version__.split(".")[:2])


def prepare_saleor_tests() -> list[str]:
    """Set up Django's test cases as Saleor does; returns the fixture modules to load as pytest plugins."""
    if settings.SETTINGS_MODULE != "saleor.tests.settings":
        raise pytest.UsageError("Run with --ds=saleor.tests.settings.")

    from saleor.tests.utils import prepare_test_db_connections

    databases = {settings.DATABASE_CONNECTION_DEFAULT_NAME, settings.DATABASE_CONNECTION_REPLICA_NAME}
    django.test.TransactionTestCase.databases = databases
    django.test.TestCase.databases = databases
    prepare_test_db_connections()

    if SALEOR_VERSION >= (3, 21):
        # From 3.21 every app ships its own fixtures package.
        return [
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
    # 3.20 keeps most fixtures in saleor.tests.fixtures.
    return [
        "saleor.tests.fixtures",
        "saleor.discount.tests.test_utils.fixtures",
        "saleor.plugins.tests.fixtures",
        "saleor.graphql.tests.fixtures",
        "saleor.graphql.channel.tests.fixtures",
        "saleor.tax.tests.fixtures",
    ]
