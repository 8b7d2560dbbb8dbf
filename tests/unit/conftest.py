"""Shared fixtures: one Optty emulator per test session, reset before each test."""

from decimal import Decimal

import pytest

from saleor_optty.emulator import OpttyEmulator
from saleor_optty.optty import Address, Customer, HttpPolicy, OpttyClient, OrderItem, OrderRequest

#: Short timeouts so fault tests finish fast; same retry shape as the default policy.
TEST_POLICY = HttpPolicy(connect_timeout=0.5, read_timeout=0.5, retries=2, backoff_factor=0.01)


@pytest.fixture(scope="session")
def optty_server():
    with OpttyEmulator(callback_backoff=0.05, callback_max_attempts=3, callback_timeout=1.0) as server:
        yield server


@pytest.fixture
def optty(optty_server):
    optty_server.reset()
    return optty_server


@pytest.fixture
def make_client(optty):
    clients = []

    def make(**kwargs):
        kwargs.setdefault("policy", TEST_POLICY)
        client = OpttyClient(
            kwargs.pop("client_id", optty.client_id),
            kwargs.pop("client_secret", optty.client_secret),
            api_url=optty.api_url,
            auth_url=optty.auth_url,
            **kwargs,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


def order_request(reference: str, *, provider="KLARNA", currency="USD", auto_capture=True, **overrides) -> OrderRequest:
    """A two-line order: 2 × 25.00 + 1 × 19.99 + shipping 5.00 + tax 7.50 − discount 2.49 = 80.00."""
    fields = dict(
        reference=reference,
        provider=provider,
        country="US",
        currency=currency,
        locale="en_US",
        amount=Decimal("80.00"),
        items=(
            OrderItem("Tee", 2, Decimal("25.00"), Decimal("50.00"), sku="TEE-1"),
            OrderItem("Cap", 1, Decimal("19.99"), Decimal("19.99")),
        ),
        customer=Customer("Ada", "Lovelace", "ada@example.com", "+15555550100"),
        billing_address=Address("Ada", "Lovelace", "1 Analytical St", "Springfield", "12345", "US"),
        shipping_amount=Decimal("5.00"),
        tax_amount=Decimal("7.50"),
        discount_amount=Decimal("2.49"),
        auto_capture=auto_capture,
        redirect_url="https://shop.example.com/return",
    )
    fields.update(overrides)
    return OrderRequest(**fields)
