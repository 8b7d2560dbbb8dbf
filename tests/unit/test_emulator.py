"""The Optty sandbox emulator, exercised over real HTTP the way a client would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_optty.emulator import ApiError, OpttyEmulator
from saleor_optty.emulator.money import AmountError, MoneyError, control_dumps, dumps, loads, parse_amount

REPO = Path(__file__).resolve().parents[2]
PAYMENT_SECRET = "emulator-payment-secret"


# A callback receiver ---------------------------------------------------------------------


class Receiver:
    """A tiny merchant endpoint that records every callback attempt it answers."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int, dict]] = []  # (path, status answered, payload)
        self.fail_first = 0  # answer 500 to this many attempts first
        self.delay = 0.0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.active += 1
                    receiver.max_active = max(receiver.max_active, receiver.active)
                    failing = receiver.fail_first > 0
                    receiver.fail_first -= failing
                time.sleep(receiver.delay)
                status = 500 if failing else 200
                with receiver.lock:
                    receiver.active -= 1
                    receiver.attempts.append((self.path, status, payload))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def received(self, path: str | None = None) -> list[dict]:
        """Payloads acknowledged with 2xx, in arrival order."""
        with self.lock:
            return [
                payload
                for p, status, payload in self.attempts
                if status == 200 and (path is None or p == path)
            ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def emulator(receiver):
    with OpttyEmulator(
        webhook_url=receiver.url + "/merchant", callback_backoff=0.02, callback_timeout=2.0
    ) as optty:
        yield optty


def token_form(**overrides: str) -> dict[str, str]:
    form = {
        "client_id": "emulator-client",
        "client_secret": "emulator-secret",
        "grant_type": "client_credentials",
        "scope": "api-user",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def new_session(optty: OpttyEmulator) -> requests.Session:
    session = requests.Session()
    answer = session.post(optty.auth_url, data=token_form())
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


@pytest.fixture
def api(emulator):
    with new_session(emulator) as session:
        yield session


def post(session: requests.Session, url: str, body: object, **kwargs) -> requests.Response:
    """POST JSON written by the emulator's own Decimal encoder (requests cannot encode Decimal)."""
    return session.post(url, data=dumps(body), headers={"Content-Type": "application/json"}, **kwargs)


def order_body(**overrides) -> dict:
    """A valid AUD order: 2 x 50.00 + 10.00 shipping + 5.00 tax = 115.00."""
    body = {
        "orderReference": "order-1",
        "bnplProvider": "AFTERPAY_AU",
        "purchaseCountry": "AU",
        "purchaseCurrency": "AUD",
        "locale": "en_AU",
        "orderAmount": Decimal("115.00"),
        "shippingAmount": Decimal("10.00"),
        "taxAmount": Decimal("5.00"),
        "discountAmount": Decimal("0"),
        "orderItems": [
            {
                "name": "Striped shirt",
                "sku": "S-1",
                "quantity": 2,
                "unitPrice": Decimal("50.00"),
                "totalAmount": Decimal("100.00"),
            }
        ],
        "customer": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "phoneNumber": "+61400000000",
        },
        "billingAddress": {
            "streetAddress": "1 George St",
            "city": "Sydney",
            "postalCode": "2000",
            "country": "AU",
        },
        "dynamicRedirectUrl": "https://shop.example/return?cart=42",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def create(session: requests.Session, optty: OpttyEmulator, **overrides) -> dict:
    answer = post(session, f"{optty.api_url}/orders", order_body(**overrides))
    assert answer.status_code == 201, answer.text
    return loads(answer.text)


def get_status(session: requests.Session, optty: OpttyEmulator, reference: str) -> dict:
    answer = session.get(f"{optty.api_url}/orders/{quote(reference, safe='')}")
    assert answer.status_code == 200, answer.text
    return loads(answer.text)


def approved(api, emulator, **overrides) -> str:
    reference = overrides.get("orderReference", "order-1")
    create(api, emulator, **overrides)
    emulator.decide(reference, "approve")
    return reference


def op(api, emulator, reference: str, action: str, body: dict) -> requests.Response:
    return post(api, f"{emulator.api_url}/orders/{reference}/{action}", body)


def capture(api, emulator, capture_reference: str, amount, reference: str = "order-1") -> requests.Response:
    return op(api, emulator, reference, "capture", {"captureReference": capture_reference, "amount": amount})


def void(api, emulator, void_reference: str, amount, reference: str = "order-1") -> requests.Response:
    return op(api, emulator, reference, "void", {"voidReference": void_reference, "amount": amount})


def refund_body(
    amount, reference: str = "r-1", description: str | None = None, currency: str = "AUD"
) -> dict:
    body = {"refundReference": reference, "refundAmount": {"amount": amount, "currency": currency}}
    if description is not None:
        body["refundDescription"] = description
    return body


def shopper_decides(created: dict, decision: str) -> requests.Response:
    """The shopper's button on the hosted page; the redirect is returned, not followed."""
    return requests.post(
        created["redirectUrl"] + "/decision", data={"decision": decision}, allow_redirects=False
    )


def control_decision(optty: OpttyEmulator, reference: str, decision: str = "approve") -> requests.Response:
    return requests.post(f"{optty.url}/_emulator/orders/{reference}/decision", json={"decision": decision})


def expected_hash(status: str, reference: str) -> str:
    return hmac.new(PAYMENT_SECRET.encode(), f"{status}|{reference}".encode(), hashlib.sha512).hexdigest()


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# Token ----------------------------------------------------------------------------------


def test_token_issues_a_bearer_token_and_counts_requests(emulator):
    answer = requests.post(emulator.auth_url + "?expires_in=1", data=token_form(response_type="token"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 86400 and body["token_type"] == "Bearer" and body["scope"] == "api-user"
    assert len(body["access_token"]) >= 32
    assert emulator.stats()["token_requests"] == 1


def test_token_rejects_wrong_credentials_in_nest_shape(emulator):
    answer = requests.post(emulator.auth_url, data=token_form(client_secret="nope"))
    assert answer.status_code == 401
    assert answer.json() == {
        "statusCode": 401,
        "message": "Invalid client credentials",
        "error": "Unauthorized",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": None}, "client_id should not be empty"),
        ({"grant_type": None}, "grant_type should not be empty"),
        ({"grant_type": "password"}, "grant_type must be client_credentials"),
        ({"scope": "merchant"}, "scope must be api-user"),
    ],
)
def test_token_rejects_incomplete_forms(emulator, overrides, message):
    answer = requests.post(emulator.auth_url, data=token_form(**overrides))
    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400 and answer.json()["message"].startswith(message)


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_api_requires_a_valid_bearer_token(emulator, header):
    headers = {"Authorization": header} if header else {}
    answer = requests.get(f"{emulator.api_url}/options?amount=100&currency=AUD", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}


def test_revoked_tokens_are_rejected_until_a_new_one_is_fetched(emulator, api):
    url = f"{emulator.api_url}/options?amount=100&currency=AUD"
    assert api.get(url).status_code == 200
    assert requests.post(emulator.url + "/_emulator/tokens/revoke").json() == {"revoked": 1}
    assert api.get(url).status_code == 401
    with new_session(emulator) as fresh:
        assert fresh.get(url).status_code == 200


def test_tokens_expire_after_their_ttl():
    with OpttyEmulator(token_ttl=1) as optty, new_session(optty) as session:
        url = f"{optty.api_url}/options?amount=100&currency=AUD"
        assert session.get(url).status_code == 200
        time.sleep(1.1)
        assert session.get(url).status_code == 401


# Options --------------------------------------------------------------------------------


def test_options_are_filtered_by_currency_and_sorted_by_priority(emulator, api):
    answer = api.get(f"{emulator.api_url}/options", params={"amount": "100", "currency": "AUD"})
    assert answer.status_code == 200
    options = answer.json()
    assert [o["name"] for o in options] == ["AFTERPAY_AU", "ZIP_AU", "KLARNA", "LATITUDEPAY_AU", "HUMM_AU"]
    first = options[0]
    assert (first["minAmount"], first["maxAmount"], first["priority"]) == ("1.00", "2000.00", "1")
    assert first["requiredFields"] == ["firstName", "lastName", "email", "phoneNumber", "billingAddress"]
    assert first["instalment"] == {
        "rate": {"amount": 25, "currency": "AUD"},
        "termDuration": 4,
        "termUnit": "FORTNIGHT",
    }
    assert '"rate":{"amount":25.00,' in answer.text
    assert first["checkoutConfig"]["button"]["text"] and "image" not in first
    assert all(o["currency"] == "AUD" for o in options)


def test_options_apply_amount_limits_and_image_on_request(emulator, api):
    small = api.get(
        f"{emulator.api_url}/options", params={"amount": "10", "currency": "AUD", "isCapable": "true"}
    ).json()
    assert "LATITUDEPAY_AU" not in [o["name"] for o in small]  # minimum 20
    assert all(o["image"].startswith("data:image/svg+xml;base64,") for o in small)
    large = api.get(f"{emulator.api_url}/options", params={"amount": "2500", "currency": "AUD"}).json()
    assert [o["name"] for o in large] == ["ZIP_AU", "KLARNA", "HUMM_AU"]
    yen = api.get(f"{emulator.api_url}/options", params={"amount": "12000", "currency": "JPY"}).json()
    assert [(o["name"], o["minAmount"]) for o in yen] == [("PAIDY_JP", "100")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"currency": "AUD"}, "amount should not be empty"),
        ({"amount": "lots", "currency": "AUD"}, "amount must be a number"),
        ({"amount": "0.5", "currency": "AUD"}, "amount must not be less than 1"),
        ({"amount": "100"}, "currency should not be empty"),
    ],
)
def test_options_reject_bad_queries(emulator, api, params, message):
    answer = api.get(f"{emulator.api_url}/options", params=params)
    assert answer.status_code == 400
    assert answer.json() == {"statusCode": 400, "message": message}


# Create order ---------------------------------------------------------------------------


def test_create_order_answers_201_with_exact_amounts(emulator, api):
    answer = post(api, f"{emulator.api_url}/orders/", order_body(surcharge=Decimal("2.5")))
    assert answer.status_code == 201
    created = loads(answer.text)
    assert '"orderAmount":115.00' in answer.text and '"surcharge":2.50' in answer.text
    assert created["redirectUrl"] == f"{emulator.url}/hosted/{created['orderToken']}"
    assert created["paymentStatus"] == "pending" and created["bnplProvider"] == "AFTERPAY_AU"
    assert created["orderReference"] == "order-1" and created["orderDate"].endswith("Z")
    status = get_status(api, emulator, "order-1")
    assert status["status"] == "PENDING" and status["captureStatus"] == "NOT_CAPTURED"
    assert status["amount"] == Decimal("115.00") and status["currency"] == "AUD"
    assert emulator.order("order-1")["request"]["customer"]["email"] == "ada@example.com"


def _mutate(path: str, value):
    """An order body with one field (dotted path, list indexes as digits) replaced or removed."""

    def build():
        body = order_body()
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is _REMOVE:
            del target[last]
        else:
            target[last] = value
        return body

    return build


_REMOVE = object()
SUM_RULE = (
    "orderAmount must equal the sum of orderItems totalAmount + shippingAmount + taxAmount - discountAmount: "
)

VALIDATION_CASES = [
    ("orderReference", _REMOVE, "orderReference should not be empty"),
    ("orderReference", 42, "orderReference must be a string"),
    ("bnplProvider", _REMOVE, "bnplProvider should not be empty"),
    ("bnplProvider", "NOPE_PAY", "bnplProvider NOPE_PAY is not enabled for this merchant"),
    ("bnplProvider", "CLEARPAY", "bnplProvider CLEARPAY does not support purchaseCurrency AUD"),
    ("purchaseCountry", "AUS", "purchaseCountry must be an ISO 3166-1 alpha-2 country code"),
    ("purchaseCurrency", "AU", "purchaseCurrency must be an ISO 4217 currency code"),
    ("locale", _REMOVE, "locale should not be empty"),
    ("orderAmount", _REMOVE, "orderAmount should not be empty"),
    ("orderAmount", "115.00", "orderAmount must be a number"),
    ("orderAmount", Decimal("115.001"), "orderAmount must have at most 2 decimal places for AUD"),
    ("shippingAmount", Decimal("-1.00"), "shippingAmount must not be less than 0"),
    ("taxAmount", True, "taxAmount must be a number"),
    ("customer", _REMOVE, "customer should not be empty"),
    ("customer.lastName", _REMOVE, "customer.lastName should not be empty"),
    ("customer.email", "not-an-email", "customer.email must be an email"),
    ("customer.phoneNumber", _REMOVE, "customer.phoneNumber is required by AFTERPAY_AU"),
    ("billingAddress", _REMOVE, "billingAddress should not be empty"),
    ("orderItems", [], "orderItems should not be empty"),
    ("orderItems.0.quantity", 0, "orderItems[0].quantity must be a positive integer"),
    ("orderItems.0.quantity", Decimal("1.5"), "orderItems[0].quantity must be a positive integer"),
    ("orderItems.0.quantity", "2", "orderItems[0].quantity must be a positive integer"),
    (
        "orderItems.0.unitPrice",
        Decimal("50.005"),
        "orderItems[0].unitPrice must have at most 2 decimal places",
    ),
    (
        "orderItems.0.totalAmount",
        Decimal("99.99"),
        "orderItems[0].totalAmount must equal quantity x unitPrice: expected 100.00 (2 x 50.00), got 99.99",
    ),
    (
        "orderAmount",
        Decimal("115.01"),
        SUM_RULE + "expected 115.00, got 115.01",
    ),
    (
        "discountAmount",
        Decimal("5.00"),
        SUM_RULE + "expected 110.00, got 115.00",
    ),
    ("dynamicRedirectUrl", "shop/return", "dynamicRedirectUrl must be a URL address"),
    ("autoCapture", "yes", "autoCapture must be a boolean value"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), VALIDATION_CASES, ids=[f"{c[0]}-{c[2][:30]}" for c in VALIDATION_CASES]
)
def test_create_order_validation(emulator, api, path, value, message):
    answer = post(api, f"{emulator.api_url}/orders", _mutate(path, value)())
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["statusCode"] == 400 and body["message"].startswith(message)
    assert emulator.orders() == []


def test_create_order_checks_provider_amount_limits(emulator, api):
    items = [{"name": "Socks", "quantity": 1, "unitPrice": Decimal("15.00"), "totalAmount": Decimal("15.00")}]
    body = order_body(
        bnplProvider="LATITUDEPAY_AU",
        orderItems=items,
        shippingAmount=None,
        taxAmount=None,
        orderAmount=Decimal("15.00"),
    )
    answer = post(api, f"{emulator.api_url}/orders", body)
    assert answer.status_code == 400
    assert (
        answer.json()["message"]
        == "orderAmount 15.00 is outside the limits of LATITUDEPAY_AU (20 to 1500 AUD)"
    )


def test_create_order_accepts_a_discount_that_balances_the_sum(emulator, api):
    create(api, emulator, discountAmount=Decimal("5"), orderAmount=Decimal("110"))
    assert get_status(api, emulator, "order-1")["amount"] == Decimal("110.00")


def test_zero_decimal_currency_takes_whole_amounts_only(emulator, api):
    yen = {
        "bnplProvider": "PAIDY_JP",
        "purchaseCountry": "JP",
        "purchaseCurrency": "JPY",
        "locale": "ja_JP",
        "orderItems": [{"name": "Tea", "quantity": 3, "unitPrice": 4000, "totalAmount": 12000}],
        "shippingAmount": 500,
        "taxAmount": 0,
        "orderAmount": 12500,
    }
    answer = post(api, f"{emulator.api_url}/orders", order_body(**yen, orderReference="yen-1"))
    assert answer.status_code == 201 and '"orderAmount":12500,' in answer.text
    rejected = post(
        api,
        f"{emulator.api_url}/orders",
        order_body(**{**yen, "shippingAmount": Decimal("500.50"), "orderAmount": Decimal("12500.50")}),
    )
    assert rejected.status_code == 400
    assert rejected.json()["message"] == "orderAmount must be a whole number: JPY has no minor unit"


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        ("[1, 2]", "application/json", "Request body must be a JSON object"),
        ("{not json", "application/json", "Request body is not valid JSON"),
        ('{"a": 1}', "text/plain", "Content-Type must be application/json"),
    ],
)
def test_create_order_rejects_unreadable_bodies(emulator, api, data, content_type, message):
    answer = api.post(f"{emulator.api_url}/orders", data=data, headers={"Content-Type": content_type})
    assert answer.status_code == 400 and answer.json()["message"] == message


def test_repeating_an_order_replays_it_and_changing_it_is_refused(emulator, api):
    first = post(api, f"{emulator.api_url}/orders", order_body())
    again = post(
        api, f"{emulator.api_url}/orders", order_body(orderAmount=Decimal("115"), taxAmount=Decimal("5.0"))
    )
    assert again.status_code == 201 and again.json() == first.json()
    changed = post(api, f"{emulator.api_url}/orders", order_body(locale="en_GB"))
    assert changed.status_code == 400 and changed.json() == {
        "statusCode": 400,
        "message": "orderReference must be unique",
    }
    assert emulator.orders() == ["order-1"]


def test_references_with_slashes_work_when_encoded(emulator, api):
    create(api, emulator, orderReference="shop/1001")
    assert get_status(api, emulator, "shop/1001")["merchantReference"] == "shop/1001"


def test_unknown_orders_are_404(emulator, api):
    for answer in (
        api.get(f"{emulator.api_url}/orders/missing"),
        api.post(f"{emulator.api_url}/orders/missing/details"),
        post(api, f"{emulator.api_url}/orders/missing/capture", {"captureReference": "c", "amount": 1}),
    ):
        assert answer.status_code == 404 and answer.json() == {
            "statusCode": 404,
            "message": "Order not found",
        }
    assert requests.get(f"{emulator.url}/nowhere").json()["message"] == "Cannot GET /nowhere"


# Hosted page, redirect and status lifecycle ------------------------------------------------


def test_hosted_page_escapes_everything_and_has_stable_buttons(emulator, api):
    nasty = '<script>alert("x")</script>&'
    created = create(
        api,
        emulator,
        orderReference=nasty,
        orderItems=[
            {
                "name": "<b>Shirt</b>",
                "quantity": 2,
                "unitPrice": Decimal("50.00"),
                "totalAmount": Decimal("100.00"),
            }
        ],
    )
    page = requests.get(created["redirectUrl"])
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert (
        "<script>" not in page.text
        and "&lt;script&gt;" in page.text
        and "&lt;b&gt;Shirt&lt;/b&gt;" in page.text
    )
    for decision in ("approve", "decline", "cancel", "pending"):
        assert f'id="{decision}" name="decision" value="{decision}"' in page.text
    assert "115.00 AUD" in page.text and "AFTERPAY_AU" in page.text
    assert requests.get(f"{emulator.url}/hosted/unknown-token").status_code == 404


def test_approval_redirects_with_a_verifiable_hash(emulator, api):
    created = create(api, emulator)
    answer = shopper_decides(created, "approve")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example", "/return")
    query = parse_qs(location.query)
    assert query["cart"] == ["42"]
    assert query["status"] == ["SUCCESSFUL"] and query["reference"] == ["order-1"]
    assert query["hash"] == [expected_hash("SUCCESSFUL", "order-1")]
    status = get_status(api, emulator, "order-1")
    assert query["providerReference"] == [status["bnplOrderId"]]
    assert status["status"] == "SUCCESSFUL" and status["captureStatus"] == "CAPTURED"
    again = shopper_decides(created, "decline")
    assert again.status_code == 409 and "already SUCCESSFUL" in again.text


@pytest.mark.parametrize(
    ("decision", "status", "field", "value"),
    [
        ("decline", "DECLINED", "failureReason", "Declined by the provider"),
        ("cancel", "CANCELLED", "cancelledBy", "CUSTOMER"),
        ("pending", "PENDING", "failureReason", None),
    ],
)
def test_other_decisions_set_their_status(emulator, api, decision, status, field, value):
    created = create(api, emulator)
    answer = shopper_decides(created, decision)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["status"] == [status] and query["hash"] == [expected_hash(status, "order-1")]
    got = get_status(api, emulator, "order-1")
    assert got["status"] == status and got[field] == value and got["captureStatus"] == "NOT_CAPTURED"


def test_a_pending_order_can_still_be_decided(emulator, api):
    create(api, emulator)
    assert emulator.decide("order-1", "pending")["status"] == "PENDING"
    assert emulator.decide("order-1", "approve")["status"] == "SUCCESSFUL"
    details = loads(api.get(f"{emulator.api_url}/orders/order-1/details").text)
    assert [entry["status"] for entry in details["transactionHistory"]] == [
        "INITIATED",
        "PENDING",
        "SUCCESSFUL",
    ]
    with pytest.raises(ApiError) as error:
        emulator.decide("order-1", "cancel")
    assert error.value.status == 409


def test_without_a_redirect_url_the_shopper_sees_a_result_page(emulator, api):
    created = create(api, emulator, dynamicRedirectUrl=None)
    answer = shopper_decides(created, "approve")
    assert answer.status_code == 200 and 'id="status">SUCCESSFUL<' in answer.text
    # The control path reports that there is no redirect.
    create(api, emulator, orderReference="order-2", dynamicRedirectUrl=None)
    assert control_decision(emulator, "order-2").json()["redirect"] is None


def test_control_decision_returns_the_browser_redirect(emulator, api):
    create(api, emulator)
    answer = control_decision(emulator, "order-1")
    result = answer.json()
    assert result["status"] == "SUCCESSFUL"
    assert result["redirect"].startswith(
        "https://shop.example/return?cart=42&status=SUCCESSFUL&reference=order-1&hash="
    )
    assert parse_qs(urlsplit(result["redirect"]).query)["hash"] == [expected_hash("SUCCESSFUL", "order-1")]
    assert control_decision(emulator, "order-1").status_code == 409
    assert control_decision(emulator, "nope").status_code == 404


def test_details_list_history_captures_and_refunds_in_the_documented_shape(emulator, api):
    create(api, emulator)
    emulator.decide("order-1", "approve")
    op(api, emulator, "order-1", "refund", refund_body(Decimal("15.00"), description="Size"))
    for answer in (
        api.post(f"{emulator.api_url}/orders/order-1/details"),
        api.get(f"{emulator.api_url}/orders/order-1/details?merchantId=x"),
    ):
        details = loads(answer.text)
        assert details["status"] == "SUCCESSFUL" and details["captureStatus"] == "CAPTURED"
        (captured,) = details["orderCaptures"]
        assert set(captured) == {"captureId", "amount", "status", "createdAt"}
        assert captured["amount"] == Decimal("115.00")
        (refunded,) = details["refunds"]
        assert set(refunded) == {
            "refundId", "amount", "currency", "status", "createdAt", "refundReason", "refundFailureReason"
        }
        assert (refunded["refundReason"], refunded["status"]) == ("Size", "SUCCESSFUL")
        assert "orderVoids" not in details
        assert [h["status"] for h in details["transactionHistory"]] == ["INITIATED", "SUCCESSFUL"]


def test_echo_references_adds_references_and_voids_to_the_details():
    with OpttyEmulator(echo_references=True) as optty, new_session(optty) as session:
        approved(session, optty, autoCapture=False)
        assert capture(session, optty, "c-1", Decimal("100.00"), reference="order-1").status_code == 200
        assert void(session, optty, "v-1", Decimal("15.00"), reference="order-1").status_code == 200
        op(session, optty, "order-1", "refund", refund_body(Decimal("5.00")))
        details = loads(session.post(f"{optty.api_url}/orders/order-1/details").text)
        assert details["orderCaptures"][0]["captureReference"] == "c-1"
        assert details["refunds"][0]["refundReference"] == "r-1"
        assert [(v["voidReference"], v["amount"]) for v in details["orderVoids"]] == [("v-1", Decimal("15.00"))]
        optty.reset()  # back to the start-up setting...
        assert optty.faults()["behaviour"]["echo_references"] is True
        # ...and off for one session, over the control API as in Python
        assert requests.post(f"{optty.url}/_emulator/reset", json={"echo_references": False}).status_code == 200
        approved(session, optty)
        details = loads(session.post(f"{optty.api_url}/orders/order-1/details").text)
        assert "captureReference" not in details["orderCaptures"][0] and "orderVoids" not in details


def test_forced_status_changes_settle_pending_orders(emulator, api):
    create(api, emulator)
    emulator.decide("order-1", "pending")
    answer = requests.post(f"{emulator.url}/_emulator/orders/order-1/status", json={"status": "SUCCESSFUL"})
    assert answer.status_code == 200 and answer.json()["status"] == "SUCCESSFUL"
    assert get_status(api, emulator, "order-1")["captureStatus"] == "CAPTURED"
    assert (
        requests.post(f"{emulator.url}/_emulator/orders/order-1/status", json={"status": "PAID"}).status_code
        == 400
    )


# Callbacks ------------------------------------------------------------------------------


def test_decisions_send_async_and_status_callbacks(emulator, api, receiver):
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/order-callback?secret=s3")
    emulator.decide("order-1", "approve")
    assert emulator.wait_for_callbacks()
    (callback,) = receiver.received("/order-callback?secret=s3")
    assert callback["event"] == "ORDER_ASYNC_CALLBACK"
    data = callback["data"]
    assert data["orderReference"] == data["merchantReference"] == "order-1"
    assert data["status"] == "SUCCESSFUL" and data["provider"] == "AFTERPAY_AU"
    assert data["amount"] == Decimal("115.00") and data["currency"] == "AUD" and data["transactionId"]
    (update,) = receiver.received("/merchant")
    assert update["event"] == "ORDER_STATUS_UPDATE" and update["data"] == data


def test_callbacks_are_retried_until_acknowledged(emulator, api, receiver):
    receiver.fail_first = 2
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    emulator.set_callback_options(duplicates=0)
    emulator.decide("order-1", "decline")
    assert emulator.wait_for_callbacks()
    attempts = [d for d in emulator.deliveries() if d["event"] == "ORDER_ASYNC_CALLBACK"][0]["attempts"]
    merchant = [d for d in emulator.deliveries() if d["event"] == "ORDER_STATUS_UPDATE"][0]["attempts"]
    codes = [a["status_code"] for a in attempts] + [a["status_code"] for a in merchant]
    assert codes.count(500) == 2 and codes.count(200) == 2
    assert emulator.stats()["callbacks"]["delivered"] == 2


def test_callbacks_give_up_after_max_attempts(emulator, api, receiver):
    emulator.set_callback_options(max_attempts=3)
    create(api, emulator, dynamicCallbackUrl="http://127.0.0.1:9/closed")
    emulator.decide("order-1", "approve")
    assert emulator.wait_for_callbacks()
    failed = [d for d in emulator.deliveries() if d["url"].endswith("/closed")][0]
    assert failed["state"] == "failed" and len(failed["attempts"]) == 3
    assert all(a["status_code"] is None and a["error"] for a in failed["attempts"])


def test_duplicates_knob_sends_every_callback_more_than_once(emulator, api, receiver):
    emulator.set_callback_options(duplicates=2)
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    emulator.decide("order-1", "approve")
    assert emulator.wait_for_callbacks()
    assert len(receiver.received("/cb")) == 3 and len(receiver.received("/merchant")) == 3


def test_delay_knob_holds_callbacks_back(emulator, api, receiver):
    emulator.set_callback_options(delay=0.4)
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    emulator.decide("order-1", "approve")
    time.sleep(0.15)
    assert receiver.received() == []
    assert emulator.wait_for_callbacks()
    assert len(receiver.received("/cb")) == 1


def test_pending_first_settles_later_with_a_second_callback(emulator, api, receiver):
    emulator.set_callback_options(pending_first=0.3)
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    result = emulator.decide("order-1", "approve")
    assert result["status"] == "PENDING" and "status=PENDING" in result["redirect"]
    assert get_status(api, emulator, "order-1")["status"] == "PENDING"
    assert emulator.wait_for_callbacks()
    assert [c["data"]["status"] for c in receiver.received("/cb")] == ["PENDING", "SUCCESSFUL"]
    assert get_status(api, emulator, "order-1")["status"] == "SUCCESSFUL"


def test_reverse_mode_delivers_newest_first(emulator, api, receiver):
    emulator.set_callback_options(pending_first=0.1, mode="reverse")
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    emulator.decide("order-1", "approve")
    wait_until(lambda: len(receiver.received("/cb")) == 2)
    assert [c["data"]["status"] for c in receiver.received("/cb")] == ["SUCCESSFUL", "PENDING"]


def test_reverse_mode_holds_until_released(emulator, api, receiver):
    emulator.set_callback_options(mode="reverse")
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    emulator.decide("order-1", "pending")
    assert emulator.wait_for_callbacks() and receiver.received() == []
    assert requests.post(f"{emulator.url}/_emulator/callbacks/release").json() == {"released": 2}
    wait_until(lambda: len(receiver.received()) == 2)


def test_concurrent_mode_sends_callbacks_in_parallel(emulator, api, receiver):
    receiver.delay = 0.3
    emulator.set_callback_options(mode="concurrent", duplicates=3)
    create(api, emulator, dynamicCallbackUrl=receiver.url + "/cb")
    started = time.monotonic()
    emulator.decide("order-1", "approve")
    assert emulator.wait_for_callbacks()
    assert len(receiver.received("/cb")) == 4 and receiver.max_active > 1
    assert time.monotonic() - started < 8 * 0.3  # 8 deliveries, not one after another


def test_refunds_send_refund_callbacks(emulator, api, receiver):
    create(api, emulator)
    emulator.decide("order-1", "approve")
    op(api, emulator, "order-1", "refund", refund_body(Decimal("10.00"), description="x"))
    portal = requests.post(f"{emulator.url}/_emulator/orders/order-1/refund", json={"amount": "5.00"})
    assert portal.status_code == 200 and portal.json()["refundedAmount"] == 5
    assert emulator.wait_for_callbacks()
    refunds = [c for c in receiver.received("/merchant") if c["event"] == "REFUND_CALLBACK"]
    assert [(r["data"]["amount"], r["data"]["status"]) for r in refunds] == [
        (Decimal("10.00"), "SUCCESSFUL"),
        (Decimal("5.00"), "SUCCESSFUL"),
    ]
    assert refunds[0]["data"]["refundReference"] == "r-1" and refunds[1]["data"][
        "refundReference"
    ].startswith("portal-")


# Capture, void, refund ------------------------------------------------------------------


def test_partial_captures_up_to_amount_plus_surcharge(emulator, api):
    approved(api, emulator, autoCapture=False, surcharge=Decimal("2.50"))
    assert get_status(api, emulator, "order-1")["captureStatus"] == "NOT_CAPTURED"
    first = op(
        api,
        emulator,
        "order-1",
        "capture",
        {
            "captureReference": "c-1",
            "amount": Decimal("40.00"),
            "shippingInfo": {"shippingCompany": "AusPost"},
        },
    )
    assert first.status_code == 200 and '"capturedAmount":40.00' in first.text
    assert first.json()["captureReference"] == "c-1" and first.json()["captureId"]
    assert get_status(api, emulator, "order-1")["captureStatus"] == "PARTIALLY_CAPTURED"
    over = capture(api, emulator, "c-2", Decimal("77.51"))
    assert (
        over.status_code == 400
        and over.json()["message"] == "Capture amount 77.51 exceeds the remaining authorised amount 77.50"
    )
    assert capture(api, emulator, "c-2", Decimal("77.50")).status_code == 200
    assert get_status(api, emulator, "order-1")["captureStatus"] == "CAPTURED"
    done = capture(api, emulator, "c-3", Decimal("1.00"))
    assert done.status_code == 400 and "nothing uncaptured is left" in done.json()["message"]


def test_capture_replay_and_reference_reuse(emulator, api):
    approved(api, emulator, autoCapture=False)
    body = {"captureReference": "c-1", "amount": Decimal("115.00"), "description": "all"}
    first = op(api, emulator, "order-1", "capture", body)
    again = op(api, emulator, "order-1", "capture", body)
    assert again.status_code == 200 and again.json() == first.json()
    changed = op(api, emulator, "order-1", "capture", {**body, "amount": Decimal("10.00")})
    assert changed.status_code == 400 and changed.json()["message"] == "captureReference must be unique"
    approved(api, emulator, orderReference="order-2", autoCapture=False)
    elsewhere = op(api, emulator, "order-2", "capture", body)
    assert elsewhere.status_code == 400 and elsewhere.json()["message"] == "captureReference must be unique"
    assert emulator.order("order-1")["captured_amount"] == Decimal("115.00")


def test_duplicate_references_reject_refuses_even_an_identical_retry(emulator, api):
    emulator.set_behaviour(duplicate_references="reject")
    approved(api, emulator, autoCapture=False)
    unique = {"statusCode": 400, "message": "orderReference must be unique"}
    again = post(api, f"{emulator.api_url}/orders", order_body())
    assert again.status_code == 400 and again.json() == unique
    for action, body in (
        ("capture", {"captureReference": "c-1", "amount": Decimal("50.00")}),
        ("void", {"voidReference": "v-1", "amount": Decimal("10.00")}),
        ("refund", refund_body(Decimal("5.00"))),
    ):
        assert op(api, emulator, "order-1", action, body).status_code == 200
        repeated = op(api, emulator, "order-1", action, body)
        name = next(key for key in body if key.endswith("Reference"))
        assert repeated.status_code == 400 and repeated.json()["message"] == f"{name} must be unique"
    state = emulator.order("order-1")
    assert [len(state[kind]) for kind in ("captures", "voids", "refunds")] == [1, 1, 1]


def test_duplicate_references_process_makes_every_retry_again(emulator, api):
    emulator.set_behaviour(duplicate_references="process")
    first = create(api, emulator, autoCapture=False)
    second = create(api, emulator, autoCapture=False)
    # The later order replaces the earlier one under the reference.
    assert first["orderId"] != second["orderId"] and emulator.orders() == ["order-1"]
    assert emulator.order("order-1")["order_id"] == second["orderId"]
    emulator.decide("order-1", "approve")
    for action, body in (
        ("capture", {"captureReference": "c-1", "amount": Decimal("50.00")}),
        ("void", {"voidReference": "v-1", "amount": Decimal("5.00")}),
        ("refund", refund_body(Decimal("5.00"))),
    ):
        answers = [op(api, emulator, "order-1", action, body) for _ in range(2)]
        assert [answer.status_code for answer in answers] == [200, 200]
        assert answers[0].json() != answers[1].json()
    state = emulator.order("order-1")
    assert [len(state[kind]) for kind in ("captures", "voids", "refunds")] == [2, 2, 2]
    assert (state["captured_amount"], state["refunded_amount"]) == (Decimal("100.00"), Decimal("10.00"))


def test_behaviour_knobs_are_checked_and_reset_to_their_start_up_values(emulator, api):
    with pytest.raises(ValueError, match="duplicate_references must be one of replay, reject, process"):
        OpttyEmulator(duplicate_references="sometimes")
    with pytest.raises(ValueError, match="echo_references must be true or false"):
        emulator.set_behaviour(echo_references="yes")
    create(api, emulator)
    with pytest.raises(ValueError, match="unknown behaviour keys: teleport"):
        emulator.reset(teleport=True)
    assert emulator.orders() == ["order-1"]  # a refused reset forgets nothing
    bad = requests.post(f"{emulator.url}/_emulator/reset", json={"duplicate_references": "never"})
    assert bad.status_code == 400 and emulator.orders() == ["order-1"]
    answer = requests.post(f"{emulator.url}/_emulator/faults", json={"behaviour": {"duplicate_references": "reject"}})
    assert answer.status_code == 200 and answer.json()["behaviour"] == {
        "echo_references": False,
        "duplicate_references": "reject",
    }
    assert post(api, f"{emulator.api_url}/orders", order_body()).status_code == 400
    emulator.reset(duplicate_references="process")
    assert emulator.faults()["behaviour"]["duplicate_references"] == "process"
    emulator.clear_faults()
    assert emulator.faults()["behaviour"] == {"echo_references": False, "duplicate_references": "replay"}
    with OpttyEmulator(duplicate_references="reject", echo_references=True) as optty:
        optty.set_behaviour(duplicate_references="process")
        optty.reset()
        assert optty.faults()["behaviour"] == {"echo_references": True, "duplicate_references": "reject"}


def test_capture_needs_an_authorised_uncaptured_order(emulator, api):
    create(api, emulator, autoCapture=False)
    pending = capture(api, emulator, "c-1", Decimal("1.00"))
    assert (
        pending.status_code == 400
        and pending.json()["message"] == "Order cannot be captured: its status is PENDING"
    )
    approved(api, emulator, orderReference="auto")
    auto = capture(api, emulator, "c-2", Decimal("1.00"), reference="auto")
    assert auto.status_code == 400 and "captured automatically" in auto.json()["message"]
    zero = capture(api, emulator, "c-3", 0)
    assert zero.status_code == 400 and zero.json()["message"] == "amount must be greater than 0"


def test_partial_capture_is_refused_where_the_provider_cannot(emulator, api):
    approved(api, emulator, bnplProvider="ZIP_AU", autoCapture=False)
    partial = capture(api, emulator, "c-1", Decimal("50.00"))
    assert partial.status_code == 400
    assert partial.json()["message"] == "ZIP_AU does not support partial capture: amount must be 115.00"
    assert capture(api, emulator, "c-1", Decimal("115.00")).status_code == 200


def test_partial_void_then_capture_the_rest(emulator, api):
    approved(api, emulator, autoCapture=False)
    voided = op(
        api,
        emulator,
        "order-1",
        "void",
        {"voidReference": "v-1", "amount": Decimal("15.00"), "description": "out of stock"},
    )
    assert voided.status_code == 200 and '"amount":15.00' in voided.text
    assert voided.json()["voidReference"] == "v-1"
    too_much = capture(api, emulator, "c-1", Decimal("100.01"))
    assert too_much.status_code == 400
    assert capture(api, emulator, "c-1", Decimal("100.00")).status_code == 200
    state = emulator.order("order-1")
    assert state["capture_status"] == "CAPTURED" and state["voids"][0]["amount"] == Decimal("15.00")
    nothing = void(api, emulator, "v-2", Decimal("1.00"))
    assert nothing.status_code == 400


def test_void_rules_for_providers_without_partial_void(emulator, api):
    approved(api, emulator, bnplProvider="ZIP_AU", autoCapture=False)
    partial = void(api, emulator, "v-1", Decimal("15.00"))
    assert partial.status_code == 400
    assert (
        partial.json()["message"]
        == "ZIP_AU does not support partial void: amount must be the full uncaptured amount 115.00"
    )
    over = void(api, emulator, "v-1", Decimal("115.01"))
    assert (
        over.status_code == 400
        and "exceeds the uncaptured authorised amount 115.00" in over.json()["message"]
    )
    body = {"voidReference": "v-1", "amount": Decimal("115.00")}
    first = op(api, emulator, "order-1", "void", body)
    assert first.status_code == 200 and op(api, emulator, "order-1", "void", body).json() == first.json()
    assert get_status(api, emulator, "order-1")["captureStatus"] == "VOIDED"
    after = capture(api, emulator, "c-1", Decimal("115.00"))
    assert (
        after.status_code == 400 and after.json()["message"] == "Order cannot be captured: it has been voided"
    )


def test_refunds_are_limited_to_captured_money(emulator, api):
    approved(api, emulator)
    body = refund_body(Decimal("100.00"), description="Returned")
    first = op(api, emulator, "order-1", "refund", body)
    assert first.status_code == 200
    refund = first.json()
    assert (
        refund["refundStatus"] == "SUCCESSFUL"
        and refund["bnplProvider"] == "AFTERPAY_AU"
        and refund["description"] == "Returned"
    )
    assert (
        '"refundedAmount":100.00' in first.text
        and refund["bnplRefundId"]
        and refund["refundDate"].endswith("Z")
    )
    assert op(api, emulator, "order-1", "refund", body).json() == refund  # replay
    reused = op(api, emulator, "order-1", "refund", {**body, "refundDescription": "again"})
    assert reused.status_code == 400 and reused.json()["message"] == "refundReference must be unique"
    over = op(api, emulator, "order-1", "refund", refund_body(Decimal("15.01"), "r-2", "Returned"))
    assert over.status_code == 400 and over.json() == {"statusCode": 400, "message": "Over refund limit"}
    currency = op(api, emulator, "order-1", "refund", refund_body(1, "r-3", "Returned", currency="USD"))
    assert (
        currency.status_code == 400
        and currency.json()["message"] == "refundAmount.currency must be AUD, the order currency"
    )
    assert op(api, emulator, "order-1", "refund", refund_body(15, "r-4", "Returned")).status_code == 200
    assert emulator.order("order-1")["refunded_amount"] == Decimal("115.00")
    assert get_status(api, emulator, "order-1")["status"] == "SUCCESSFUL"  # refunds do not change status


def test_uncaptured_money_cannot_be_refunded(emulator, api):
    approved(api, emulator, autoCapture=False)
    capture(api, emulator, "c-1", Decimal("20.00"))
    body = refund_body(Decimal("20.01"))
    assert op(api, emulator, "order-1", "refund", body).json()["message"] == "Over refund limit"
    emulator.portal_refund("order-1", "20.00")
    body["refundAmount"]["amount"] = Decimal("0.01")
    assert op(api, emulator, "order-1", "refund", body).json()["message"] == "Over refund limit"


def test_customer_session_token(emulator, api):
    answer = post(
        api, f"{emulator.api_url}/merchants/customer/sessions", {"customerIdentifier": "ada@example.com"}
    )
    assert answer.status_code == 201
    session = answer.json()
    assert session["ttl"] == 604800
    header, claims, signature = session["token"].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["customerIdentifier"] == hashlib.sha512(b"ada@example.com").hexdigest()
    assert decoded["merchantId"] == emulator.merchant_id and decoded["exp"] - decoded["iat"] == 604800
    missing = post(api, f"{emulator.api_url}/merchants/customer/sessions", {})
    assert (
        missing.status_code == 400 and missing.json()["message"] == "customerIdentifier should not be empty"
    )


# Fault knobs ----------------------------------------------------------------------------


def test_latency_knob(emulator, api):
    emulator.set_latency("options", 0.3)
    started = time.monotonic()
    assert api.get(f"{emulator.api_url}/options?amount=100&currency=AUD").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get(f"{emulator.api_url}/orders/none")
    assert time.monotonic() - started < 0.3


def test_fail_before_leaves_no_trace(emulator, api):
    emulator.fail_next("create_order", count=2, status=502)
    for _ in range(2):
        answer = post(api, f"{emulator.api_url}/orders", order_body())
        assert answer.status_code == 502 and answer.json()["statusCode"] == 502
        assert emulator.orders() == []
    create(api, emulator)
    assert emulator.stats()["faults_injected"] == 2


def test_fail_after_changes_state_and_the_retry_is_safe(emulator, api):
    emulator.fail_next("create_order", status=500, when="after")
    assert post(api, f"{emulator.api_url}/orders", order_body()).status_code == 500
    assert emulator.orders() == ["order-1"]
    first_id = emulator.order("order-1")["order_id"]
    assert create(api, emulator)["orderId"] == first_id


def test_rate_limit_with_retry_after(emulator, api):
    emulator.fail_next("get_order", status=429, retry_after=3)
    answer = api.get(f"{emulator.api_url}/orders/none")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert api.get(f"{emulator.api_url}/orders/none").status_code == 404


def test_hang_provokes_a_read_timeout_and_processes_late(emulator, api):
    emulator.hang_next("create_order", seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(api, f"{emulator.api_url}/orders", order_body(), timeout=0.2)
    wait_until(lambda: emulator.orders() == ["order-1"])
    assert create(api, emulator)["orderId"] == emulator.order("order-1")["order_id"]


def test_drop_before_and_after(emulator, api):
    approved(api, emulator, autoCapture=False)
    body = {"captureReference": "c-1", "amount": Decimal("115.00")}
    emulator.drop_next("capture")
    with pytest.raises(requests.exceptions.ConnectionError):
        op(api, emulator, "order-1", "capture", body)
    assert emulator.order("order-1")["captures"] == []
    emulator.drop_next("capture", when="after")
    with pytest.raises(requests.exceptions.ConnectionError):
        op(api, emulator, "order-1", "capture", body)
    captured = emulator.order("order-1")["captures"]
    assert len(captured) == 1
    retry = op(api, emulator, "order-1", "capture", body)
    assert retry.status_code == 200 and retry.json()["captureId"] == captured[0]["id"]


def test_output_knobs_for_a_liberal_parser(emulator, api):
    create(api, emulator)
    emulator.set_output_options(status_case="lower", amounts_as_strings=True, message_as_list=True)
    answer = api.get(f"{emulator.api_url}/orders/order-1")
    assert '"amount":"115.00"' in answer.text and answer.json()["status"] == "pending"
    assert answer.json()["captureStatus"] == "not_captured"
    bad = post(api, f"{emulator.api_url}/orders", order_body(orderReference="x", locale=None))
    assert bad.json() == {
        "statusCode": 400,
        "message": ["locale should not be empty"],
        "error": "Bad Request",
    }
    emulator.set_output_options(status_case="mixed", hash_encoding="base64")
    result = emulator.decide("order-1", "approve")
    digest = hmac.new(PAYMENT_SECRET.encode(), b"Successful|order-1", hashlib.sha512).digest()
    assert result["status"] == "Successful" and result["hash"] == base64.b64encode(digest).decode()
    assert parse_qs(urlsplit(result["redirect"]).query)["hash"] == [result["hash"]]
    assert emulator.redirect_hash("Successful", "order-1") == result["hash"]


def test_corrupt_option_knob_breaks_the_first_options_entry_only(emulator, api):
    clean = api.get(f"{emulator.api_url}/options?amount=100&currency=AUD").json()
    emulator.set_output_options(corrupt_option=True)
    corrupt = api.get(f"{emulator.api_url}/options?amount=100&currency=AUD").json()
    assert corrupt[0]["minAmount"] == "see terms" and corrupt[1:] == clean[1:]
    assert {key: value for key, value in corrupt[0].items() if key != "minAmount"} == {
        key: value for key, value in clean[0].items() if key != "minAmount"
    }


def test_faults_over_http(emulator, api):
    spec = {
        "latency": {"*": 0},
        "next": {
            "options": [
                {"action": "fail", "status": 503},
                {"action": "fail", "status": 429, "retry_after": 1},
            ]
        },
        "output": {"amounts_as_strings": True},
    }
    answer = requests.post(f"{emulator.url}/_emulator/faults", json=spec)
    assert answer.status_code == 200 and len(answer.json()["next"]["options"]) == 2
    assert [api.get(f"{emulator.api_url}/options?amount=5&currency=AUD").status_code for _ in range(3)] == [
        503,
        429,
        200,
    ]
    bad = requests.post(f"{emulator.url}/_emulator/faults", json={"next": {"teleport": [{"action": "fail"}]}})
    assert bad.status_code == 400 and "unknown next keys: teleport" in bad.json()["message"]
    bad = requests.post(f"{emulator.url}/_emulator/faults", json={"callbacks": {"mode": "sideways"}})
    assert bad.status_code == 400
    cleared = requests.post(f"{emulator.url}/_emulator/faults", json={"clear": True}).json()
    assert cleared["next"] == {} and cleared["output"]["amounts_as_strings"] is False


# Control API, counters, lifecycle ---------------------------------------------------------


def test_control_api_state_stats_and_reset(emulator, api):
    create(api, emulator)
    state = requests.get(f"{emulator.url}/_emulator/orders/order-1").json()
    assert state["request"]["orderItems"][0]["name"] == "Striped shirt" and state["status"] == "PENDING"
    assert requests.get(f"{emulator.url}/_emulator/orders").json() == {"orders": ["order-1"]}
    stats = requests.get(f"{emulator.url}/_emulator/stats").json()
    assert stats["requests"]["create_order"] == 1 and stats["token_requests"] == 1
    providers = requests.get(f"{emulator.url}/_emulator/providers").json()["providers"]
    assert {p["name"]: p["supports_partial_capture"] for p in providers}["ZIP_AU"] is False
    assert requests.post(f"{emulator.url}/_emulator/reset").json() == {"reset": True}
    assert emulator.orders() == [] and emulator.stats()["requests"]["create_order"] == 0
    assert api.get(f"{emulator.api_url}/orders/order-1").status_code == 404  # token survived the reset
    assert requests.get(f"{emulator.url}/_emulator/orders/order-1").status_code == 404


def test_callback_log_logos_and_chunked_bodies(emulator, api, receiver):
    chunked = api.post(
        f"{emulator.api_url}/orders",
        data=(part.encode() for part in (dumps(order_body())[:40], dumps(order_body())[40:])),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 201
    emulator.decide("order-1", "approve")
    assert emulator.wait_for_callbacks()
    (delivery,) = requests.get(f"{emulator.url}/_emulator/callbacks").json()["deliveries"]
    assert delivery["event"] == "ORDER_STATUS_UPDATE" and delivery["state"] == "delivered"
    assert (
        delivery["attempts"][0]["status_code"] == 200
        and delivery["payload"]["data"]["status"] == "SUCCESSFUL"
    )
    logo = requests.get(api.get(f"{emulator.api_url}/options?amount=100&currency=AUD").json()[0]["imageUrl"])
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/svg+xml"


def test_forced_error_and_hosted_faults(emulator, api):
    created = create(api, emulator)
    emulator.fail_next("hosted", status=502)
    assert requests.get(created["redirectUrl"]).status_code == 502
    assert requests.get(created["redirectUrl"]).status_code == 200
    emulator.set_status("order-1", "error", reason="Provider timed out")
    status = get_status(api, emulator, "order-1")
    assert (status["status"], status["failureReason"]) == ("ERROR", "Provider timed out")
    assert '"surcharge":0.00' in api.get(f"{emulator.api_url}/orders/order-1").text


def test_the_emulator_is_quiet_unless_verbose(capfd, emulator, api):
    create(api, emulator)
    emulator.drop_next("get_order")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get(f"{emulator.api_url}/orders/order-1")
    api.get(f"{emulator.api_url}/orders/missing")
    emulator.decide("order-1", "approve")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_connection_counter_shows_keep_alive_reuse(emulator, api):
    for _ in range(5):  # on the connection the session opened for its token
        assert api.get(f"{emulator.api_url}/orders/none").status_code == 404
    assert emulator.stats()["connections"] == 1
    for _ in range(3):
        requests.get(f"{emulator.api_url}/orders/none", headers=api.headers)
    assert emulator.stats()["connections"] == 4


def test_custom_and_disabled_providers():
    providers = [
        {
            "name": "ZIP_AU",
            "currencies": ["AUD"],
            "minAmount": "1",
            "maxAmount": "500",
            "priority": 2,
            "enabled": False,
        },
        {
            "name": "KLARNA",
            "currencies": ["AUD"],
            "minAmount": "1",
            "maxAmount": "500",
            "priority": 1,
            "supportsPartialCapture": False,
        },
    ]
    with OpttyEmulator(providers=providers) as optty, new_session(optty) as session:
        options = session.get(f"{optty.api_url}/options?amount=100&currency=AUD").json()
        assert [o["name"] for o in options] == ["KLARNA"]
        answer = post(session, f"{optty.api_url}/orders", order_body(bnplProvider="ZIP_AU"))
        assert answer.json()["message"] == "bnplProvider ZIP_AU is not enabled for this merchant"


def test_stop_is_prompt_with_open_connections_and_hanging_requests():
    optty = OpttyEmulator().start()
    session, idle = new_session(optty), new_session(optty)  # idle: an open keep-alive connection
    optty.hang_next("options", seconds=30)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(session.get(f"{optty.api_url}/options").status_code)
        except requests.RequestException as error:
            outcome.append(type(error))

    hanging = threading.Thread(target=call, daemon=True)
    hanging.start()
    wait_until(lambda: optty.stats()["requests"]["options"] == 1)
    started = time.monotonic()
    optty.stop()
    assert time.monotonic() - started < 2
    hanging.join(2)
    assert outcome == [requests.exceptions.ConnectionError]
    session.close()
    idle.close()


def test_command_line_server_runs_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "saleor_optty.emulator", "--port", "0", "--client-secret", "cli-secret",
            "--echo-references", "--duplicate-references", "reject",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Optty emulator listening on http://127.0.0.1:")
        url = first.split()[-1]
        answer = requests.post(url + "/token", data=token_form(client_secret="cli-secret"))
        assert answer.status_code == 200
        behaviour = requests.get(url + "/_emulator/faults").json()["behaviour"]
        assert behaviour == {"echo_references": True, "duplicate_references": "reject"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


# Money ----------------------------------------------------------------------------------


def test_answers_refuse_floats_but_control_durations_are_written():
    with pytest.raises(MoneyError):
        dumps({"a": 1.5})
    durations = {"delay": 0.25, "latency": {"*": 1.0}, "seconds": [0, 1e-05], "amount": Decimal("1E+2")}
    assert control_dumps(durations) == '{"delay":0.25,"latency":{"*":1.0},"seconds":[0,0.00001],"amount":100}'


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**12), currency=st.sampled_from(["AUD", "JPY", "KWD"]))
def test_amounts_round_trip_exactly(cents, currency):
    places = 0 if currency == "JPY" else 2
    amount = Decimal(cents).scaleb(-places)
    if amount > Decimal("999999999999"):
        with pytest.raises(AmountError):
            parse_amount(amount, "amount", currency)
        return
    parsed = parse_amount(loads(dumps({"v": amount}))["v"], "amount", currency)
    assert parsed == amount and dumps(parsed) == format(amount.quantize(Decimal(1).scaleb(-places)), "f")
