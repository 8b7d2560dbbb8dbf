"""The Optty client against the emulator over real HTTP on loopback: no mocked requests."""

import logging
import socket
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from saleor_optty.optty import (
    FAST_POLICY,
    HttpPolicy,
    MemoryTokenStore,
    OpttyAuthenticationError,
    OpttyClient,
    OpttyNotFoundError,
    OpttyUnavailableError,
    OpttyValidationError,
    OrderDetails,
    PaymentStatus,
    SumRuleError,
)
from saleor_optty.optty.client import DEFAULT_POLICY, SALEOR_REQUEST_BUDGET_SECONDS

from .conftest import order_request


def requests_to(optty, endpoint):
    return optty.stats()["requests"][endpoint]


# ------------------------------------------------------------------ credentials


def test_credentials_are_checked_with_a_real_token_request(client, optty):
    client.check_credentials()
    assert optty.stats()["token_requests"] == 1


def test_wrong_credentials_raise_an_authentication_error(make_client):
    client = make_client(client_secret="wrong")
    with pytest.raises(OpttyAuthenticationError, match="refused the client id and secret") as caught:
        client.get_options(Decimal("100"), "USD")
    assert caught.value.status_code == 401
    assert "wrong" not in str(caught.value)


def test_one_token_serves_many_calls(client, optty):
    for _ in range(5):
        client.get_options(Decimal("100"), "AUD")
    assert optty.stats()["token_requests"] == 1


def test_a_revoked_token_is_renewed_once_and_the_call_succeeds(client, optty):
    client.get_options(Decimal("100"), "AUD")
    optty.revoke_tokens()
    assert client.get_options(Decimal("100"), "AUD")
    assert optty.stats()["token_requests"] == 2


def test_a_token_refused_twice_is_an_authentication_error(client, optty):
    client.check_credentials()
    optty.fail_next("options", count=2, status=401)
    with pytest.raises(OpttyAuthenticationError):
        client.get_options(Decimal("100"), "AUD")


def test_concurrent_first_calls_share_one_token_request(client, optty):
    barrier = threading.Barrier(8)
    errors = []

    def call():
        barrier.wait()
        try:
            client.get_options(Decimal("100"), "AUD")
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert optty.stats()["token_requests"] == 1


def test_clients_sharing_a_store_share_the_token(make_client, optty):
    store = MemoryTokenStore()
    make_client(token_store=store).check_credentials  # constructing does no I/O
    assert optty.stats()["token_requests"] == 0
    make_client(token_store=store).get_options(Decimal("100"), "AUD")
    make_client(token_store=store).get_options(Decimal("100"), "AUD")
    assert optty.stats()["token_requests"] == 1


# ---------------------------------------------------------------------- options


def test_options_are_typed_and_in_display_order(client):
    options = client.get_options(Decimal("100.00"), "AUD")
    names = [option.name for option in options]
    assert names[:3] == ["AFTERPAY_AU", "ZIP_AU", "KLARNA"]
    assert "CLEARPAY" not in names  # GBP only
    afterpay = options[0]
    assert afterpay.min_amount == Decimal("1") and isinstance(afterpay.max_amount, Decimal)
    assert afterpay.image_url.startswith("http")
    assert afterpay.display_name


def test_options_respect_amount_limits(client):
    names = {option.name for option in client.get_options(Decimal("10.00"), "AUD")}
    assert "LATITUDEPAY_AU" not in names  # its minimum is 20
    assert "ZIP_AU" in names


def test_one_unreadable_option_is_skipped_and_the_rest_kept(client, optty, caplog):
    every = [option.name for option in client.get_options(Decimal("100.00"), "AUD")]
    optty.set_output_options(corrupt_option=True)  # the first entry's minAmount cannot be read
    caplog.set_level(logging.WARNING, logger="saleor_optty")
    assert [option.name for option in client.get_options(Decimal("100.00"), "AUD")] == every[1:]
    (record,) = [r for r in caplog.records if "unreadable Optty option" in r.getMessage()]
    assert every[0] in record.getMessage() and "see terms" not in record.getMessage()


def test_options_refuse_amounts_with_too_many_decimals_before_sending(client, optty):
    with pytest.raises(ValueError):
        client.get_options(Decimal("10.005"), "AUD")
    assert requests_to(optty, "options") == 0


# ----------------------------------------------------------------------- orders


def test_order_lifecycle(client, optty):
    created = client.create_order(order_request("ORD-1"))
    assert created.reference == "ORD-1"
    assert created.redirect_url.startswith(optty.url)
    assert created.amount == Decimal("80.00")
    assert created.status is PaymentStatus.PENDING
    assert client.get_order("ORD-1").status is PaymentStatus.PENDING

    optty.decide("ORD-1", "approve")
    status = client.get_order("ORD-1")
    assert status.status is PaymentStatus.SUCCESSFUL
    assert (status.amount, status.currency, status.provider) == (Decimal("80.00"), "USD", "KLARNA")


def test_the_order_sent_is_exactly_what_was_built(client, optty):
    client.create_order(order_request("ORD-2"))
    sent = optty.order("ORD-2")["request"]
    assert sent["orderAmount"] == Decimal("80.00")
    assert sent["orderItems"][1] == {"name": "Cap", "quantity": 1, "unitPrice": Decimal("19.99"), "totalAmount": Decimal("19.99")}
    assert sent["discountAmount"] == Decimal("2.49")


def test_a_broken_sum_is_refused_before_anything_is_sent(client, optty):
    with pytest.raises(SumRuleError, match="80.01"):
        client.create_order(order_request("ORD-3", amount=Decimal("80.01")))
    assert requests_to(optty, "create_order") == 0


def test_optty_validation_errors_carry_optty_message(client):
    with pytest.raises(OpttyValidationError, match="(?i)provider") as caught:
        client.create_order(order_request("ORD-4", provider="NOT_A_PROVIDER"))
    assert caught.value.status_code == 400


def test_unknown_orders_are_not_found(client):
    with pytest.raises(OpttyNotFoundError):
        client.get_order("NOPE")


def test_references_are_path_escaped(client, optty):
    with pytest.raises(OpttyNotFoundError):
        client.get_order("../options")
    assert requests_to(optty, "options") == 0


def test_liberal_parsing_of_lower_case_statuses_and_string_amounts(client, optty):
    client.create_order(order_request("ORD-5"))
    optty.decide("ORD-5", "decline")
    optty.set_output_options(status_case="lower", amounts_as_strings=True)
    status = client.get_order("ORD-5")
    assert status.status is PaymentStatus.DECLINED
    assert status.amount == Decimal("80.00")


# ------------------------------------------------------ capture, void, refund


def test_capture_then_partial_refunds_then_over_refund(client, optty):
    client.create_order(order_request("ORD-6", auto_capture=False))
    optty.decide("ORD-6", "approve")
    captured = client.capture("ORD-6", capture_reference="ORD-6-C1", amount=Decimal("80.00"), currency="USD")
    assert captured.amount == Decimal("80.00") and captured.operation_id

    first = client.refund("ORD-6", refund_reference="ORD-6-R1", amount=Decimal("10.00"), currency="USD")
    second = client.refund("ORD-6", refund_reference="ORD-6-R2", amount=Decimal("20.50"), currency="USD")
    assert (first.amount, second.amount) == (Decimal("10.00"), Decimal("20.50"))
    with pytest.raises(OpttyValidationError, match="Over refund limit"):
        client.refund("ORD-6", refund_reference="ORD-6-R3", amount=Decimal("49.51"), currency="USD")

    details = client.get_order_details("ORD-6")
    assert [c.amount for c in details.captures] == [Decimal("80.00")]
    assert sorted(r.amount for r in details.refunds) == [Decimal("10.00"), Decimal("20.50")]


def test_details_in_optty_documented_shape_have_no_references_or_voids(client, optty):
    client.create_order(order_request("ORD-14", auto_capture=False))
    optty.decide("ORD-14", "approve")
    client.capture("ORD-14", capture_reference="ORD-14-C1", amount=Decimal("70.00"), currency="USD")
    client.void("ORD-14", void_reference="ORD-14-V1", amount=Decimal("10.00"), currency="USD")
    client.refund("ORD-14", refund_reference="ORD-14-R1", amount=Decimal("5.00"), currency="USD", description="damaged")
    details = client.get_order_details("ORD-14")
    (capture,) = details.captures
    (refund,) = details.refunds
    assert (capture.reference, refund.reference, details.voids) == ("", "", ())
    assert (refund.reason, refund.failure_reason, refund.status) == ("damaged", "", "SUCCESSFUL")
    for moment in (capture.created_at, refund.created_at):
        assert moment.tzinfo is not None and abs(time.time() - moment.timestamp()) < 60

    optty.set_behaviour(echo_references=True)
    details = client.get_order_details("ORD-14")
    assert (details.captures[0].reference, details.refunds[0].reference) == ("ORD-14-C1", "ORD-14-R1")
    (void,) = details.voids
    assert (void.reference, void.amount, void.status) == ("ORD-14-V1", Decimal("10.00"), "SUCCESSFUL")
    assert void.void_id and void.created_at == datetime.fromisoformat(optty.order("ORD-14")["voids"][0]["created_at"])


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2021-10-07T14:30:36.166Z", datetime(2021, 10, 7, 14, 30, 36, 166000, tzinfo=timezone.utc)),
        ("2021-10-07T16:30:36+02:00", datetime(2021, 10, 7, 14, 30, 36, tzinfo=timezone.utc)),
        ("2021-10-07T14:30:36", datetime(2021, 10, 7, 14, 30, 36, tzinfo=timezone.utc)),
        (None, None),
        ("", None),
        ("yesterday", None),
        (1633617036, None),
    ],
)
def test_created_at_is_read_liberally(created_at, expected):
    entry = {"amount": "5.00", "status": "successful", "refundFailureReason": "Provider timeout"}
    if created_at is not None:
        entry["createdAt"] = created_at
    wire = {"status": "SUCCESSFUL", "amount": "80.00", "currency": "USD", "refunds": [entry], "orderCaptures": [entry]}
    details = OrderDetails.from_wire(wire)
    assert details.refunds[0].created_at == expected and details.captures[0].created_at == expected
    assert (details.refunds[0].reason, details.refunds[0].failure_reason) == ("", "Provider timeout")


def test_void_of_an_uncaptured_authorisation(client, optty):
    client.create_order(order_request("ORD-7", auto_capture=False))
    optty.decide("ORD-7", "approve")
    voided = client.void("ORD-7", void_reference="ORD-7-V1", amount=Decimal("80.00"), currency="USD")
    assert voided.amount == Decimal("80.00")
    with pytest.raises(OpttyValidationError):
        client.capture("ORD-7", capture_reference="ORD-7-C1", amount=Decimal("1.00"), currency="USD")


def test_customer_session(client):
    session = client.create_customer_session("ada@example.com")
    assert session.token.count(".") == 2
    assert session.ttl_seconds == 604800


# ------------------------------------------------------------ faults and retries


def test_reads_are_retried_through_5xx(client, optty):
    client.create_order(order_request("ORD-8"))
    optty.fail_next("get_order", count=2, status=503)
    assert client.get_order("ORD-8").status is PaymentStatus.PENDING
    assert requests_to(optty, "get_order") == 3


def test_persistent_5xx_becomes_unavailable(client, optty):
    client.create_order(order_request("ORD-9"))
    optty.fail_next("get_order", count=3, status=500)
    with pytest.raises(OpttyUnavailableError) as caught:
        client.get_order("ORD-9")
    assert caught.value.retryable and caught.value.status_code == 500


def test_429_is_retried_without_honouring_a_long_retry_after(client, optty):
    optty.fail_next("options", count=1, status=429, retry_after=60)
    started = time.monotonic()
    assert client.get_options(Decimal("100"), "AUD")
    assert time.monotonic() - started < 5


# Writes and their unknown outcomes: test_client_writes.py


def test_read_timeouts_are_retried_then_reported(make_client, optty):
    client = make_client(policy=HttpPolicy(connect_timeout=0.5, read_timeout=0.2, retries=1, backoff_factor=0))
    client.check_credentials()
    optty.hang_next("options", seconds=1.0, count=2)
    started = time.monotonic()
    with pytest.raises(OpttyUnavailableError, match="did not answer in time"):
        client.get_options(Decimal("100"), "AUD")
    assert time.monotonic() - started < 1.5


def test_dropped_connections_are_retried(client, optty):
    client.check_credentials()
    optty.drop_next("options", count=1)
    assert client.get_options(Decimal("100"), "AUD")


def test_nothing_listening_is_unavailable_not_a_requests_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OpttyClient("id", "secret", api_url=f"http://127.0.0.1:{port}", auth_url=f"http://127.0.0.1:{port}/token", policy=FAST_POLICY)
    with pytest.raises(OpttyUnavailableError, match="could not be reached"):
        client.get_order("X")


# ---------------------------------------------------------------- connections


def test_connections_are_reused(client, optty):
    client.check_credentials()
    before = optty.stats()["connections"]
    for _ in range(20):
        client.get_options(Decimal("100"), "AUD")
    assert optty.stats()["connections"] - before <= 1


# ---------------------------------------------------------------------- policy


def test_default_policy_fits_saleors_request_budget():
    assert DEFAULT_POLICY.worst_case_seconds < SALEOR_REQUEST_BUDGET_SECONDS
    assert FAST_POLICY.worst_case_seconds < 1.5
    with pytest.raises(ValueError, match="budget"):
        HttpPolicy(connect_timeout=5, read_timeout=5, retries=2)


def test_environment_hosts_and_overrides():
    assert OpttyClient("a", "b").api_url == "https://api.qa.optty.com"
    production = OpttyClient("a", "b", environment="production")
    assert (production.api_url, production.auth_url) == ("https://api.optty.com", "https://auth.optty.com/token")
    custom = OpttyClient("a", "b", api_url="https://api.staging.optty.com/", auth_url="https://auth.staging.optty.com/token")
    assert custom.api_url == "https://api.staging.optty.com"
    with pytest.raises(ValueError):
        OpttyClient("a", "b", environment="live")


# --------------------------------------------------------------------- logging


def test_logs_carry_no_secrets_tokens_or_personal_data(make_client, optty, caplog):
    caplog.set_level(logging.DEBUG, logger="saleor_optty")
    client = make_client()
    client.create_order(order_request("ORD-12"))
    optty.decide("ORD-12", "approve")
    client.get_order("ORD-12")
    with pytest.raises(OpttyValidationError):
        client.create_order(order_request("ORD-13", provider="NOPE"))
    with pytest.raises(OpttyAuthenticationError):
        make_client(client_secret="hunter2-secret").check_credentials()
    text = caplog.text
    assert "POST" in text and "/orders" in text  # the calls are logged...
    for secret in ("ada@example.com", "Lovelace", "Analytical", optty.client_secret, "hunter2-secret", "Bearer "):
        assert secret not in text  # ...without what must not be
