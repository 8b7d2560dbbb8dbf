"""Random and malformed input at the return and callback endpoints: no 500, no state change."""

import json
import logging
from urllib.parse import quote, urlsplit

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from saleor.order.models import Order  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402
from saleor_optty.plugin import webhooks  # noqa: E402
from saleor_optty.shared import callbacks  # noqa: E402

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
#: Stand-ins for the order's reference and the genuine URL keys, known only once a test runs.
REFERENCE, CALLBACK_KEY, WEBHOOK_KEY = "<reference>", "<callback-key>", "<webhook-key>"

small_bodies = st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode())
# Built from small draws: Hypothesis cannot draw 64 KiB itself.
large_bodies = st.tuples(small_bodies, st.sampled_from([b" ", b"x", b"[", b"\x00"])).map(
    lambda drawn: drawn[0] + drawn[1] * (callbacks.MAX_BODY_BYTES + 1)
)
nested_bodies = st.tuples(
    st.integers(min_value=1, max_value=30_000),
    st.sampled_from([(b"[", b"]"), (b'{"data":', b"}"), (b'{"event":"REFUND_CALLBACK","data":', b"}")]),
).map(lambda drawn: drawn[1][0] * drawn[0] + b"{}" + drawn[1][1] * drawn[0])
# What Optty sends, naming the real order: through a genuine URL it reaches the re-check.
callback_like = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["ORDER_ASYNC_CALLBACK", "ORDER_STATUS_UPDATE", "REFUND_CALLBACK"]) | text,
        "data": st.fixed_dictionaries({"orderReference": st.just(REFERENCE), "status": text}, optional={"x": json_values}),
    }
).map(lambda value: json.dumps(value).encode())
bodies = small_bodies | large_bodies | nested_bodies | callback_like

segment = text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s)
segments = (
    st.sampled_from([REFERENCE, CALLBACK_KEY, WEBHOOK_KEY, "%00", "%FF", "%2F", "%C0%AF"])
    | segment
    | st.text(alphabet=st.characters(min_codepoint=128, blacklist_categories=("Cs",)), min_size=1, max_size=40)
    | segment.map(lambda s: quote(s, safe=""))
)
# Every shape the handlers route, genuine and forged.
routed_shapes = (
    st.sampled_from([("callback", REFERENCE, CALLBACK_KEY), ("webhooks", WEBHOOK_KEY), ("return",)])
    | st.tuples(st.just("callback"), segments, segments)
    | st.tuples(st.just("webhooks"), segments)
)
paths = (
    st.lists(segments, max_size=5)
    | routed_shapes.map(list)
    | st.tuples(routed_shapes, st.lists(segments, min_size=1, max_size=2)).map(lambda drawn: [*drawn[0], *drawn[1]])
)


@pytest.fixture
def started(storefront, optty, caplog):
    reference = storefront.start("KLARNA")
    payment = Payment.objects.get(checkout=storefront.checkout)
    base = optty.order(reference)["request"]["dynamicCallbackUrl"].split("/callback/")[0].split("127.0.0.1:9")[1]
    caplog.set_level(logging.ERROR)
    return storefront, reference, payment, base


def genuine(storefront, reference):
    """The stand-ins' values: the order's reference and the two URL keys Optty is given."""
    callback_url = storefront.optty.order(reference)["request"]["dynamicCallbackUrl"]
    webhook_url = webhooks.merchant_webhook_url(storefront.checkout.channel.slug)
    return {
        REFERENCE: reference,
        CALLBACK_KEY: callback_url.rsplit("/", 1)[1],
        WEBHOOK_KEY: urlsplit(webhook_url).path.rsplit("/", 1)[1],
    }


def assert_nothing_changed(storefront, payment, optty, caplog):
    assert not Order.objects.exists()
    assert Payment.objects.get(pk=payment.pk).charge_status == payment.charge_status
    assert optty.stats()["requests"]["refund"] == optty.stats()["requests"]["void"] == 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@FUZZ
@given(
    status=st.sampled_from(["SUCCESSFUL", "successful", "DECLINED", "PENDING", ""]) | text,
    use_real_reference=st.booleans(),
    reference=text,
    hash_=st.sampled_from(["", "00" * 64]) | text | st.binary(max_size=64).map(bytes.hex),
    extra=st.dictionaries(text, text, max_size=3),
)
def test_forged_returns(started, optty, caplog, status, use_real_reference, reference, hash_, extra):
    storefront, real_reference, payment, base = started
    params = {**extra, "status": status, "reference": real_reference if use_real_reference else reference, "hash": hash_}
    response = storefront.browser.get(f"{base}/return", data=params)
    assert response.status_code in (302, 400, 404)
    assert optty.stats()["requests"]["get_order"] == 0  # an unverified return never reaches Optty
    assert_nothing_changed(storefront, payment, optty, caplog)


@FUZZ
@given(path=paths, body=bodies, method=st.sampled_from(["post", "get", "put"]))
def test_malformed_callbacks(started, optty, caplog, path, body, method):
    storefront, reference, payment, base = started
    real = genuine(storefront, reference)
    url = base + "/" + "/".join(real.get(part, part) for part in path)
    body = body.replace(REFERENCE.encode(), reference.encode())
    if method == "get":
        response = storefront.browser.get(url)
    else:
        response = getattr(storefront.browser, method)(url, data=body, content_type="application/json")
    assert response.status_code in (200, 400, 403, 404, 405)  # 400: a return without a valid hash
    assert_nothing_changed(storefront, payment, optty, caplog)


@FUZZ
@given(body=bodies)
def test_any_body_on_a_genuine_callback_url_only_triggers_a_recheck(started, optty, caplog, body):
    storefront, reference, payment, _ = started
    response = storefront.callback(reference, body=body.replace(REFERENCE.encode(), reference.encode()))
    assert response.status_code == 200 and response.json() == {"status": "pending"}
    assert_nothing_changed(storefront, payment, optty, caplog)
