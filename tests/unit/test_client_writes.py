"""Money-moving writes are never sent twice blindly: real HTTP against the emulator.

The emulator runs with ``duplicate_references="process"`` here, so a capture, void or
refund the client sent again would show up as a second one instead of being absorbed
by a replay; every test also counts the requests that reached the emulator.
"""

import socket
import threading
import time
from decimal import Decimal

import pytest

from saleor_optty.emulator import OpttyEmulator
from saleor_optty.optty import (
    HttpPolicy,
    OpttyClient,
    OpttyError,
    OpttyOutcomeUnknownError,
    OpttyUnavailableError,
    OpttyValidationError,
)

from .conftest import order_request

WRITES = ("create_order", "capture", "void", "refund")
REFERENCE = "ORD-W"

#: Fails fast; a retried read timeout would take a multiple of the read timeout.
QUICK = HttpPolicy(connect_timeout=0.5, read_timeout=0.2, retries=2, backoff_factor=0)


def prepared_write(client, optty, write):
    """An order ready for ``write``, and the call that makes it (partial amounts, so a
    second capture, void or refund would be accepted and counted)."""
    if write == "create_order":
        return lambda: client.create_order(order_request(REFERENCE))
    client.create_order(order_request(REFERENCE, auto_capture=write == "refund"))
    optty.decide(REFERENCE, "approve")
    money = {"amount": Decimal("10.00"), "currency": "USD"}
    return {
        "capture": lambda: client.capture(REFERENCE, capture_reference="ORD-W-C1", **money),
        "void": lambda: client.void(REFERENCE, void_reference="ORD-W-V1", **money),
        "refund": lambda: client.refund(REFERENCE, refund_reference="ORD-W-R1", **money),
    }[write]


def movements(optty, write):
    """How many of ``write`` exist at the emulator."""
    if write == "create_order":
        return optty.orders().count(REFERENCE)
    return len(optty.order(REFERENCE)[{"capture": "captures", "void": "voids", "refund": "refunds"}[write]])


def requests_to(optty, write):
    return optty.stats()["requests"][write]


@pytest.fixture
def processing(optty):
    optty.set_behaviour(duplicate_references="process")
    return optty


@pytest.mark.parametrize("write", WRITES)
def test_a_write_refused_with_429_is_unavailable_and_not_sent_again(client, processing, write):
    call = prepared_write(client, processing, write)
    processing.fail_next(write, status=429)
    with pytest.raises(OpttyUnavailableError) as caught:
        call()
    assert caught.value.retryable and not caught.value.outcome_unknown
    assert requests_to(processing, write) == 1
    assert movements(processing, write) == 0


@pytest.mark.parametrize("write", WRITES)
def test_a_5xx_before_processing_is_not_sent_again(client, processing, write):
    call = prepared_write(client, processing, write)
    processing.fail_next(write, status=503)
    # The client cannot tell a 5xx before processing from one after it.
    with pytest.raises(OpttyOutcomeUnknownError) as caught:
        call()
    assert caught.value.status_code == 503
    assert requests_to(processing, write) == 1
    assert movements(processing, write) == 0


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("fault", ["fail", "drop"])
def test_a_write_made_but_unanswered_has_an_unknown_outcome_and_is_made_once(client, processing, write, fault):
    call = prepared_write(client, processing, write)
    if fault == "fail":
        processing.fail_next(write, status=502, when="after")
    else:
        processing.drop_next(write, when="after")
    with pytest.raises(OpttyOutcomeUnknownError, match="outcome is not known yet and is being checked with Optty"):
        call()
    assert requests_to(processing, write) == 1
    assert movements(processing, write) == 1


@pytest.mark.parametrize("write", WRITES)
def test_a_connection_dropped_after_sending_is_not_sent_again(client, processing, write):
    call = prepared_write(client, processing, write)
    processing.drop_next(write)  # read, then closed unanswered: to the client, it may have been made
    with pytest.raises(OpttyOutcomeUnknownError):
        call()
    assert requests_to(processing, write) == 1
    assert movements(processing, write) == 0


@pytest.mark.parametrize("write", WRITES)
def test_a_write_answered_after_the_read_timeout_is_sent_once(make_client, processing, write):
    client = make_client(policy=QUICK)
    call = prepared_write(client, processing, write)
    processing.hang_next(write, seconds=0.5, count=3)
    started = time.monotonic()
    with pytest.raises(OpttyOutcomeUnknownError) as caught:
        call()
    assert time.monotonic() - started < QUICK.write_worst_case_seconds
    assert caught.value.status_code is None and not caught.value.retryable
    assert requests_to(processing, write) == 1
    # The emulator makes it late; wait for that before the next test resets it.
    deadline = time.monotonic() + 5
    while movements(processing, write) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert movements(processing, write) == 1


def test_a_write_after_a_401_is_sent_again_with_a_new_token(client, processing):
    capture = prepared_write(client, processing, "capture")
    processing.revoke_tokens()  # Optty refuses the request, so it cannot have been made
    assert capture().amount == Decimal("10.00")
    assert requests_to(processing, "capture") == 2 and movements(processing, "capture") == 1


def test_a_4xx_on_a_write_stays_a_validation_error(client, processing):
    capture = prepared_write(client, processing, "capture")
    processing.fail_next("capture", status=400)
    with pytest.raises(OpttyValidationError) as caught:
        capture()
    assert not caught.value.outcome_unknown and requests_to(processing, "capture") == 1


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("get_order", lambda client: client.get_order(REFERENCE)),
        ("details", lambda client: client.get_order_details(REFERENCE)),
        ("customer_session", lambda client: client.create_customer_session()),
    ],
)
def test_reads_are_still_retried_through_5xx_and_lost_answers(client, optty, endpoint, call):
    client.create_order(order_request(REFERENCE))
    optty.fail_next(endpoint, status=503)
    optty.fail_next(endpoint, status=502, when="after")
    call(client)
    assert requests_to(optty, endpoint) == 3


def test_reads_that_fail_for_good_stay_unavailable(make_client, optty):
    client = make_client(policy=QUICK)
    client.create_order(order_request(REFERENCE))
    optty.fail_next("details", status=500, count=3)
    with pytest.raises(OpttyUnavailableError):
        client.get_order_details(REFERENCE)
    optty.hang_next("get_order", seconds=0.3, count=3)
    with pytest.raises(OpttyUnavailableError, match="did not answer in time"):
        client.get_order(REFERENCE)
    assert requests_to(optty, "get_order") == 3


def test_the_token_request_is_still_retried(client, optty):
    optty.fail_next("token", status=503, count=2)
    client.check_credentials()
    assert optty.stats()["token_requests"] == 3


def test_a_write_is_sent_again_only_while_no_connection_can_be_opened():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = OpttyEmulator(port=port)
    # Three connection attempts at about 0 s, 0 s and 0.8 s.
    policy = HttpPolicy(connect_timeout=0.5, read_timeout=0.5, retries=2, backoff_factor=0.4)
    with server:
        client = OpttyClient(
            server.client_id, server.client_secret, api_url=server.api_url, auth_url=server.auth_url, policy=policy
        )
        client.create_order(order_request(REFERENCE, auto_capture=False))
        server.decide(REFERENCE, "approve")
    with client:
        # Nothing listens: refused every time, so certainly never made.
        with pytest.raises(OpttyUnavailableError, match="could not be reached") as caught:
            client.capture(REFERENCE, capture_reference="C-1", amount=Decimal("80.00"), currency="USD")
        assert not caught.value.outcome_unknown
        restart = threading.Timer(0.2, server.start)
        restart.start()
        try:
            result = client.capture(REFERENCE, capture_reference="C-1", amount=Decimal("80.00"), currency="USD")
        finally:
            restart.join()
            server.stop()
    assert result.amount == Decimal("80.00")
    assert server.stats()["requests"]["capture"] == 1 and len(server.order(REFERENCE)["captures"]) == 1


def test_outcome_unknown_is_an_optty_error_but_not_safe_to_send_again():
    error = OpttyOutcomeUnknownError("Optty did not confirm the refund.")
    assert isinstance(error, OpttyError) and not isinstance(error, OpttyUnavailableError)
    assert error.outcome_unknown and not error.retryable
    assert not OpttyUnavailableError("down").outcome_unknown and not OpttyError("x").outcome_unknown


def test_a_writes_worst_case_waits_for_one_answer_only():
    policy = HttpPolicy(connect_timeout=1.0, read_timeout=4.0, retries=2, backoff_factor=0.25)
    assert policy.worst_case_seconds == pytest.approx(3 * 5.0 + 0.5)
    assert policy.write_worst_case_seconds == pytest.approx(3 * 1.0 + 4.0 + 0.5)
