"""The gate every Saleor webhook passes (``@saleor_webhook``), over real HTTP.

Two test routes use the gate here, so that it is tested alone; the App's own webhook
routes are tested with their handlers.
"""

import logging
from decimal import Decimal

import pytest
from django.urls import path

from saleor_optty.app import urls as app_urls
from saleor_optty.app.models import Attempt, Installation, Notification, Operation
from saleor_optty.app.saleor.responses import action_response, session_response
from saleor_optty.app.saleor.subscriptions import WEBHOOKS
from saleor_optty.app.webhook import event_type_name, saleor_webhook, webhook_response

from . import saleor_rules
from .standin import stranger_key

CHARGE = "TRANSACTION_CHARGE_REQUESTED"
PROCESS = "TRANSACTION_PROCESS_SESSION"
RECEIVED = []


@saleor_webhook(CHARGE)
def charge_requested(request, webhook):
    RECEIVED.append(webhook)
    return webhook_response(action_response(webhook.version, None, psp_reference="OPT-1-C1"))


@saleor_webhook(PROCESS)
def process_session(request, webhook):
    RECEIVED.append(webhook)
    return webhook_response(session_response(webhook.version, "CHARGE_ACTION_REQUIRED", psp_reference="OPT-1", amount=Decimal("80.00")))


urlpatterns = [
    *app_urls.urlpatterns,
    path("test/charge", charge_requested),
    path("test/process", process_session),
]
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _nothing_received():
    RECEIVED.clear()


@pytest.fixture
def charge_url(installed_app):
    return f"{installed_app.url}/test/charge"


@pytest.fixture
def process_url(installed_app):
    return f"{installed_app.url}/test/process"


def charge_payload(saleor, **overrides):
    """What Saleor sends for a charge request, with the event fields the gate checks."""
    payload = {
        "__typename": event_type_name(CHARGE),
        "issuedAt": "2026-01-02T03:04:05+00:00",
        "version": saleor.version,
        "recipient": {"id": saleor.app.id},
        "action": {"actionType": "CHARGE", "amount": Decimal("80.00"), "currency": "USD"},
        "transaction": {"id": "VHJhbnNhY3Rpb25JdGVtOjE=", "pspReference": "OPT-1"},
        "note": "ada@example.com",  # personal data: must not reach the logs
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def state():
    """What a refused webhook must leave as it was."""
    installation = Installation.objects.values("saleor_api_url", "app_id", "schema_version").get()
    return installation, Attempt.objects.count(), Operation.objects.count(), Notification.objects.count()


def test_saleors_webhook_reaches_the_view_verified(installed_app, charge_url):
    saleor = installed_app.saleor
    result = saleor.send_webhook(CHARGE, charge_payload(saleor), url=charge_url)

    assert result.accepted, (result.status, result.body, result.problems)
    assert result.body == {"pspReference": "OPT-1-C1"}
    (webhook,) = RECEIVED
    assert webhook.installation.saleor_api_url == saleor.api_url
    assert webhook.installation.app_id == saleor.app.id
    assert webhook.event == CHARGE
    assert str(webhook.version) == saleor.version
    assert webhook.payload["action"]["amount"] == Decimal("80.00")  # numbers as Decimal


def test_a_payload_without_version_is_read_as_3_20(installed_app, process_url):
    saleor = installed_app.saleor
    payload = charge_payload(saleor, __typename=event_type_name(PROCESS), version=None)
    result = saleor.send_webhook(PROCESS, payload, url=process_url)
    assert result.status == 200
    assert str(RECEIVED[0].version) == "3.20.0"
    assert "amount" in result.body  # the 3.20 shape, which every version accepts


REFUSALS = {
    "unsigned": ({"sign": False}, 401, "BAD_SIGNATURE"),
    "badly signed": ({"signature": "eyJhbGciOiJSUzI1NiJ9..c2lnbmF0dXJl"}, 401, "BAD_SIGNATURE"),
    "unknown tenant": ({"api_url": "http://127.0.0.1:9/graphql/"}, 401, "UNKNOWN_SALEOR"),
    "no tenant": ({"api_url": ""}, 401, "UNKNOWN_SALEOR"),
    "wrong event header": ({"event_header": "transaction_refund_requested"}, 403, "WRONG_EVENT"),
    "upper-case event header": ({"event_header": CHARGE}, 403, "WRONG_EVENT"),
    "no event header": ({"event_header": ""}, 403, "WRONG_EVENT"),
    "GET": ({"method": "GET"}, 405, "METHOD_NOT_ALLOWED"),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_refusals_answer_an_error_and_change_nothing(installed_app, charge_url, caplog, refusal):
    saleor = installed_app.saleor
    options, status, code = REFUSALS[refusal]
    before = state()
    caplog.set_level(logging.DEBUG)

    result = saleor.send_webhook(CHARGE, charge_payload(saleor), url=charge_url, **options)

    assert (result.status, result.error_code) == (status, code)
    assert result.body["error"]["message"]
    assert RECEIVED == []
    assert state() == before
    assert "ada@example.com" not in caplog.text


def test_a_signature_by_another_key_is_refused(installed_app, charge_url):
    saleor = installed_app.saleor
    body = saleor_body(charge_payload(saleor))
    for forgery in (saleor.sign(body, key=stranger_key()), saleor.sign(body, key=stranger_key(), kid=saleor.kid)):
        result = saleor.send_webhook(CHARGE, body, url=charge_url, signature=forgery)
        assert (result.status, result.error_code) == (401, "BAD_SIGNATURE")
    assert RECEIVED == []
    assert saleor.jwks_requests == 2  # install, then one refetch for both forgeries


def test_a_body_changed_after_signing_is_refused(installed_app, charge_url):
    saleor = installed_app.saleor
    signed = saleor_body(charge_payload(saleor))
    changed = signed.replace(b'"amount":80.00', b'"amount":8000.00')
    assert changed != signed
    result = saleor.send_webhook(CHARGE, changed, url=charge_url, signature=saleor.sign(signed))
    assert (result.status, result.error_code) == (401, "BAD_SIGNATURE")
    assert RECEIVED == []


def test_a_signed_body_replayed_to_another_route_is_refused(installed_app, process_url):
    saleor = installed_app.saleor
    body = saleor_body(charge_payload(saleor))
    signature = saleor.sign(body)

    as_sent = saleor.send_webhook(PROCESS, body, url=process_url, signature=signature, event_header="transaction_charge_requested")
    relabelled = saleor.send_webhook(PROCESS, body, url=process_url, signature=signature)

    assert (as_sent.status, as_sent.error_code) == (403, "WRONG_EVENT")
    assert (relabelled.status, relabelled.error_code) == (403, "WRONG_EVENT")
    assert RECEIVED == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"recipient": {"id": "QXBwOjk5OQ=="}}, "WRONG_RECIPIENT"),
        ({"recipient": "QXBwOjE="}, "WRONG_RECIPIENT"),
        ({"recipient": None}, "WRONG_RECIPIENT"),
        ({"__typename": None}, "WRONG_EVENT"),
        ({"__typename": "TransactionRefundRequested"}, "WRONG_EVENT"),
    ],
    ids=["other-app", "recipient-not-object", "no-recipient", "no-typename", "other-typename"],
)
def test_a_validly_signed_payload_for_someone_else_is_refused(installed_app, charge_url, overrides, code):
    saleor = installed_app.saleor
    before = state()
    result = saleor.send_webhook(CHARGE, charge_payload(saleor, **overrides), url=charge_url)
    assert (result.status, result.error_code) == (403, code)
    assert RECEIVED == [] and state() == before


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"amount": NaN}', b'{"amount": Infinity}', b"[1, 2]", b'"text"', b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000],
    ids=["junk", "nan", "infinity", "array", "string", "not-utf8", "deep"],
)
def test_a_signed_body_that_is_not_a_json_object_is_a_400(installed_app, charge_url, settings, body):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    saleor = installed_app.saleor
    result = saleor.send_webhook(CHARGE, body, url=charge_url)
    assert (result.status, result.error_code) == (400, "MALFORMED_PAYLOAD")
    assert RECEIVED == []


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_body_over_the_limit_is_a_413_before_anything_else(installed_app, charge_url, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    saleor = installed_app.saleor
    result = saleor.send_webhook(CHARGE, charge_payload(saleor, note="x" * 3000), url=charge_url, sign=False)
    assert (result.status, result.error_code) == (413, "PAYLOAD_TOO_LARGE")
    assert RECEIVED == [] and saleor.jwks_requests == 1  # only the install's


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_rotated_saleor_key_is_picked_up(installed_app, charge_url):
    saleor = installed_app.saleor
    saleor.rotate_key()
    result = saleor.send_webhook(CHARGE, charge_payload(saleor), url=charge_url)
    assert result.status == 200 and len(RECEIVED) == 1
    assert saleor.jwks_requests == 2


def test_a_payload_shaped_by_the_installed_subscription_passes(installed_app, process_url):
    saleor = installed_app.saleor
    payload = saleor.event_payload(
        PROCESS,
        transaction={"id": "VHJhbnNhY3Rpb25JdGVtOjE=", "token": "t", "pspReference": "OPT-1"},
        action={"amount": Decimal("80.00"), "currency": "USD", "actionType": "CHARGE"},
        data=None,
        sourceObject={"__typename": "Checkout", "id": "Q2hlY2tvdXQ6MQ==", "channel": {"slug": "default-channel"}},
    )
    assert {"__typename", "version", "recipient", "issuedAt"} <= set(payload)
    result = saleor.send_webhook(PROCESS, payload, url=process_url)
    assert result.accepted and len(RECEIVED) == 1


def test_the_stand_in_records_what_saleor_makes_of_an_answer(installed_app, charge_url):
    saleor = installed_app.saleor
    transaction = saleor.create_transaction()
    payload = charge_payload(saleor, transaction={"id": transaction.id, "pspReference": "OPT-1"})

    result = saleor.send_webhook(CHARGE, payload, url=charge_url)

    assert result.accepted
    # The asynchronous answer: Saleor's charge request now carries the App's pspReference
    # and stays pending until the App reports the outcome.
    assert [(e.type, e.psp_reference, e.amount) for e in transaction.events] == [("CHARGE_REQUEST", "OPT-1-C1", Decimal("80.00"))]
    assert transaction.amounts["chargePending"] == Decimal("80.00")


@pytest.mark.parametrize("spec", WEBHOOKS, ids=lambda spec: spec.event)
def test_each_event_has_a_payload_type_in_every_schema(spec):
    for version in saleor_rules.SCHEMA_FILES:
        schema = saleor_rules.load_schema(version)
        payload_type = schema.get_type(event_type_name(spec.event))
        assert payload_type is not None, (version, spec.event)
        assert "Event" in {interface.name for interface in payload_type.interfaces}


@pytest.mark.parametrize("spec", WEBHOOKS, ids=lambda spec: spec.event)
def test_each_subscription_selects_what_the_gate_checks(spec):
    """The gate refuses a payload without ``__typename`` or ``recipient.id``."""
    selected = saleor_rules.event_level_fields(spec.query)
    assert {"__typename", "recipient", "version"} <= selected


def saleor_body(payload):
    from saleor_optty.optty import money

    return money.dumps(payload).encode()
