"""Bad input at the callback endpoints: a clear answer, never a 500, and a bounded audit trail."""

import json
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from freezegun import freeze_time  # noqa: E402

from saleor.order.models import Order  # noqa: E402
from saleor_optty.shared import callbacks  # noqa: E402
from saleor_optty.plugin.models import OpttyNotification  # noqa: E402


@pytest.fixture
def started(storefront):
    reference = storefront.start("KLARNA")
    url = urlsplit(storefront.optty.order(reference)["request"]["dynamicCallbackUrl"]).path
    return storefront, reference, url


def post(storefront, path, body=b"{}"):
    return storefront.browser.post(path, data=body, content_type="application/json")


def refusals():
    return list(OpttyNotification.objects.filter(event="unauthenticated").values_list("outcome", flat=True))


@pytest.mark.parametrize("key", ["é" * 40, "ключ", "0" * 39 + "ß", "%C3%A9"])
def test_a_non_ascii_key_is_refused_like_any_wrong_key(started, key):
    storefront, reference, url = started
    base = url.rsplit("/callback/", 1)[0]
    assert post(storefront, f"{base}/callback/{reference}/{key}").status_code == 403
    assert post(storefront, f"{base}/webhooks/{key}").status_code == 403
    assert post(storefront, f"{base}/callback/ü/{key}").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,  # deeper than the parser goes: RecursionError
        b'{"data":' * 7_000 + b"{}" + b"}" * 7_000,
        b"[" * 500 + b"]" * 500,  # parsed, but never walked
        json.dumps({"event": "ORDER_ASYNC_CALLBACK"}).encode() + b" " * callbacks.MAX_BODY_BYTES,
    ],
    ids=["too-deep", "nested-objects", "nested-within-limits", "over-64-KiB"],
)
def test_a_body_that_is_too_deep_or_too_large_is_a_malformed_trigger(started, body):
    storefront, reference, url = started
    response = post(storefront, url, body)
    assert response.status_code == 200 and response.json() == {"status": "pending"}
    notification = OpttyNotification.objects.filter(reference=reference).latest("received_at")
    assert notification.event in ("malformed", "ORDER_ASYNC_CALLBACK")
    assert len(json.dumps(notification.payload)) < 200


def test_refusals_write_one_counted_record_per_channel_and_minute(started, caplog):
    storefront, reference, url = started
    wrong = url[:-4] + "0000"
    caplog.set_level(logging.WARNING, logger="saleor_optty.plugin.webhooks")
    with freeze_time(datetime(2024, 5, 1, 10, 0, tzinfo=UTC)) as clock:
        for _ in range(5):
            assert post(storefront, wrong).status_code == 403
        assert refusals() == ["rejected: wrong URL key (1 since the last record)"]
        clock.tick(callbacks.REFUSALS_RECORD_SECONDS + 1)
        assert post(storefront, wrong).status_code == 403
    assert refusals() == [
        "rejected: wrong URL key (1 since the last record)",
        "rejected: wrong URL key (5 since the last record)",
    ]
    assert OpttyNotification.objects.filter(event="unauthenticated", reference=reference).count() == 2
    channel = storefront.checkout.channel.slug
    assert [record.getMessage() for record in caplog.records if "wrong URL key" in record.getMessage()] == [
        f"Refused 1 Optty request(s) with a wrong URL key in channel {channel}",
        f"Refused 5 Optty request(s) with a wrong URL key in channel {channel}",
    ]
    assert not Order.objects.exists()


def test_the_audit_trail_keeps_no_personal_data_from_a_callback(started):
    storefront, reference, url = started
    body = {
        "event": "ORDER_ASYNC_CALLBACK",
        "data": {
            "orderReference": reference,
            "status": "SUCCESSFUL",
            "amount": 80.0,
            "currency": "USD",
            "first_name": "Ada",
            "customer": {"dateOfBirth": "1815-12-10", "nationalId": "123-45-6789"},
            "rawProviderResponse": {"billing_address": {"street": "1 Analytical St", "postcode": "12345"}},
            "lines": [{"name": "Ada Lovelace"}],
        },
    }
    assert post(storefront, url, json.dumps(body)).json() == {"status": "pending"}
    kept = OpttyNotification.objects.filter(reference=reference).latest("received_at").payload
    assert kept == {
        "event": "ORDER_ASYNC_CALLBACK",
        "data": {"orderReference": reference, "status": "SUCCESSFUL", "amount": "80.0", "currency": "USD"},
    }
