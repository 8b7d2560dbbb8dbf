"""Random and malformed input at the return and callback endpoints: no 500, no state change."""

import json
import logging

import pytest

pytest.importorskip("saleor", reason="Saleor is not installed; see README, 'Testing against Saleor'.")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from saleor.order.models import Order  # noqa: E402
from saleor.payment.models import Payment  # noqa: E402

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def started(storefront, optty, caplog):
    reference = storefront.start("KLARNA")
    payment = Payment.objects.get(checkout=storefront.checkout)
    base = optty.order(reference)["request"]["dynamicCallbackUrl"].split("/callback/")[0].split("127.0.0.1:9")[1]
    caplog.set_level(logging.ERROR)
    return storefront, reference, payment, base


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
@given(
    path=st.lists(text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s), max_size=4),
    body=st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()),
    method=st.sampled_from(["post", "get", "put"]),
)
def test_malformed_callbacks(started, optty, caplog, path, body, method):
    storefront, _, payment, base = started
    url = base + "/" + "/".join(path)
    if method == "get":
        response = storefront.browser.get(url)
    else:
        response = getattr(storefront.browser, method)(url, data=body, content_type="application/json")
    assert response.status_code in (200, 403, 404, 405)
    assert_nothing_changed(storefront, payment, optty, caplog)


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()))
def test_any_body_on_a_genuine_callback_url_only_triggers_a_recheck(started, optty, caplog, body):
    storefront, reference, payment, _ = started
    response = storefront.callback(reference, body=body)
    assert response.status_code == 200 and response.json() == {"status": "pending"}
    assert_nothing_changed(storefront, payment, optty, caplog)
