"""Saleor's webhook bodies, read into the App's typed events.

The sample bodies (tests/app/saleor_payloads.py) are first held against the App's own
subscription queries, so that what is parsed here is exactly what Saleor sends for
them; then each event's reading, Saleor's version differences, and what a malformed
body gives: only ``MalformedPayload`` naming the field, never another exception.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from graphql import parse
from graphql.language import FieldNode, InlineFragmentNode, OperationDefinitionNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_optty.app.saleor.events import (
    GatewayInitializeSession,
    MalformedPayload,
    Money,
    TransactionActionRequest,
    TransactionInitializeSession,
    TransactionProcessSession,
    parse_body,
)
from saleor_optty.app.saleor.subscriptions import webhook_for

from . import saleor_payloads as saleor
from .saleor_payloads import edit, json_values, paths

CHECKOUT = saleor.checkout([saleor.checkout_line(2, "40.00", "40.00", "44.00")])
ORDER = saleor.order([saleor.order_line(2, "40.00", "40.00", "44.00")])

#: (event, parser, sample body) for every body the App receives.
SAMPLES = [
    ("PAYMENT_GATEWAY_INITIALIZE_SESSION", GatewayInitializeSession, saleor.gateway_initialize("Checkout")),
    ("PAYMENT_GATEWAY_INITIALIZE_SESSION", GatewayInitializeSession, saleor.gateway_initialize("Order", requested="5")),
    ("TRANSACTION_INITIALIZE_SESSION", TransactionInitializeSession, saleor.transaction_initialize(CHECKOUT, "55.00")),
    ("TRANSACTION_INITIALIZE_SESSION", TransactionInitializeSession, saleor.transaction_initialize(ORDER, "55.00")),
    ("TRANSACTION_PROCESS_SESSION", TransactionProcessSession, saleor.transaction_process()),
    ("TRANSACTION_CHARGE_REQUESTED", TransactionActionRequest, saleor.action_request("CHARGE", "42.00")),
    ("TRANSACTION_REFUND_REQUESTED", TransactionActionRequest, saleor.action_request("REFUND", "2.50", owner="order")),
    ("TRANSACTION_CANCELATION_REQUESTED", TransactionActionRequest, saleor.action_request("CANCEL", "42.00")),
    (
        "TRANSACTION_CANCELATION_REQUESTED",
        TransactionActionRequest,
        saleor.action_request("CANCEL", None, version="3.20.119", authorized="42.00", charged="0"),
    ),
]
SAMPLE_IDS = [f"{event}-{index}" for index, (event, _, _) in enumerate(SAMPLES)]


def selected(selection_set, type_name):
    """Response name -> sub-selections of a selection set, for an object of ``type_name``."""
    fields: dict[str, list] = {}
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            if selection.type_condition.name.value == type_name:
                for name, subs in selected(selection.selection_set, type_name).items():
                    fields.setdefault(name, []).extend(subs)
        elif isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            fields.setdefault(name, []).extend([selection.selection_set] if selection.selection_set else [])
    return fields


def assert_shaped_by(value, selection_sets, type_name, path="event"):
    """``value`` has exactly the keys the query selects, all the way down."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            assert_shaped_by(item, selection_sets, type_name, f"{path}[{index}]")
        return
    if value is None or not selection_sets:
        return
    type_name = value.get("__typename", type_name)
    fields: dict[str, list] = {}
    for selection_set in selection_sets:
        for name, subs in selected(selection_set, type_name).items():
            fields.setdefault(name, []).extend(subs)
    assert set(value) == set(fields), (path, sorted(set(value) ^ set(fields)))
    for name, subs in fields.items():
        assert_shaped_by(value[name], subs, None, f"{path}.{name}")


@pytest.mark.parametrize(("event", "parser", "body"), SAMPLES, ids=SAMPLE_IDS)
def test_every_sample_is_what_the_apps_query_asks_saleor_for(event, parser, body):
    (operation,) = parse(webhook_for(event).query).definitions
    assert isinstance(operation, OperationDefinitionNode)
    (event_field,) = operation.selection_set.selections
    type_name = "".join(word.capitalize() for word in event.split("_"))
    assert_shaped_by(body, [event_field.selection_set], type_name)


@pytest.mark.parametrize(("event", "parser", "body"), SAMPLES, ids=SAMPLE_IDS)
def test_every_sample_parses_after_a_trip_through_json(event, parser, body):
    """As Saleor sends it: JSON numbers, read back as Decimal."""
    wire = json.dumps(body, default=float).encode()
    assert parser.from_payload(parse_body(wire)) == parser.from_payload(body)


def test_the_common_fields():
    event = TransactionProcessSession.from_payload(saleor.transaction_process())
    assert event.version == "3.23.28" and event.saleor_version == (3, 23)
    assert event.recipient_id == saleor.APP_ID
    assert event.issued_at == datetime(2026, 5, 4, 10, 0, 0, 123456, tzinfo=UTC)
    main = TransactionProcessSession.from_payload(saleor.transaction_process(version="3.24.0-a.0"))
    assert main.saleor_version == (3, 24)
    anonymous = saleor.transaction_process(recipient=None, issuedAt=None)
    assert TransactionProcessSession.from_payload(anonymous).recipient_id is None


def test_a_gateway_initialize_session_for_a_checkout_and_an_order():
    checkout = GatewayInitializeSession.from_payload(saleor.gateway_initialize("Checkout", total="42.10"))
    assert (checkout.source.type, checkout.source.id, checkout.channel_slug) == (
        "checkout",
        saleor.CHECKOUT_ID,
        saleor.CHANNEL,
    )
    assert checkout.total == Money(Decimal("42.10"), "AUD") and checkout.amount is None
    assert checkout.data == {"returnUrl": "https://shop.example.com/checkout"}
    order = GatewayInitializeSession.from_payload(saleor.gateway_initialize("Order", total="9.99", requested="5"))
    assert (order.source.type, order.total.amount, order.amount) == ("order", Decimal("9.99"), Decimal(5))


def test_a_transaction_initialize_session():
    body = saleor.transaction_initialize(CHECKOUT, "55.00", currency="aud")
    event = TransactionInitializeSession.from_payload(body)
    assert (event.transaction.id, event.transaction.token, event.transaction.psp_reference) == (
        saleor.TRANSACTION_ID,
        saleor.TRANSACTION_TOKEN,
        "",
    )
    assert (event.action.type, event.action.amount, event.action.currency) == ("CHARGE", Decimal("55.00"), "AUD")
    assert (event.source.type, event.channel_slug) == ("checkout", saleor.CHANNEL)
    assert event.source_object is body["sourceObject"]  # for the cart, as Saleor sent it
    assert event.data["provider"] == "KLARNA"
    assert (event.idempotency_key, event.merchant_reference, event.customer_ip_address) == (
        "attempt-1",
        saleor.TRANSACTION_ID,
        "203.0.113.7",
    )


def test_a_transaction_process_session():
    event = TransactionProcessSession.from_payload(saleor.transaction_process("12.34", kind="Order"))
    assert (event.action.type, event.action.amount) == ("AUTHORIZATION", Decimal("12.34"))
    assert (event.transaction.psp_reference, event.source.type, event.data) == ("T-0001", "order", None)


@pytest.mark.parametrize("action", ["CHARGE", "REFUND", "CANCEL"])
def test_an_action_request_on_saleor_3_23_carries_its_amount(action):
    event = TransactionActionRequest.from_payload(saleor.action_request(action, "7.50"))
    assert (event.action.type, event.action.amount, event.action.currency) == (action, Decimal("7.50"), "AUD")
    assert event.charged == Money(Decimal("42.00"), "AUD") and event.authorized.amount == 0
    assert event.channel_slug == saleor.CHANNEL
    (history,) = event.history
    assert (history.type, history.psp_reference, history.amount.amount) == ("CHARGE_SUCCESS", "T-0001", Decimal(42))
    assert history.created_at.tzinfo is not None


def test_a_cancel_on_saleor_3_20_has_no_amount_and_the_app_sees_what_is_authorised():
    body = saleor.action_request("CANCEL", None, version="3.20.119", authorized="42.00", charged="0")
    event = TransactionActionRequest.from_payload(body)
    assert event.action.amount is None and event.saleor_version == (3, 20)
    assert event.authorized == Money(Decimal("42.00"), "AUD")


@pytest.mark.parametrize("action", ["CHARGE", "REFUND"])
def test_a_charge_or_refund_without_an_amount_is_malformed(action):
    with pytest.raises(MalformedPayload, match=r"^action\.amount is missing\."):
        TransactionActionRequest.from_payload(saleor.action_request(action, None, version="3.20.119"))


def test_an_action_request_finds_its_channel_on_the_order_or_not_at_all():
    assert TransactionActionRequest.from_payload(saleor.action_request("REFUND", "1", owner="order")).channel_slug == (
        "order-channel"
    )
    assert TransactionActionRequest.from_payload(saleor.action_request("REFUND", "1", owner=None)).channel_slug is None


def test_the_body_is_read_with_exact_decimals():
    body = parse_body(b'{"amount": 0.1, "count": 3, "big": 12345678901234567.89}')
    assert body == {"amount": Decimal("0.1"), "count": 3, "big": Decimal("12345678901234567.89")}
    # A caller that parsed with floats still gets the amount Saleor wrote.
    floats = json.loads(json.dumps(saleor.transaction_process("0.30"), default=float))
    assert TransactionProcessSession.from_payload(floats).action.amount == Decimal("0.3")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b"[]", "not a JSON object"),
        (b"3", "not a JSON object"),
    ],
    ids=["empty", "cut-short", "not-utf8", "too-deep", "a-list", "a-number"],
)
def test_a_body_that_is_not_a_json_object_is_malformed(body, message):
    with pytest.raises(MalformedPayload, match=message):
        parse_body(body)


INITIALIZE = saleor.transaction_initialize(CHECKOUT, "55.00")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("transaction", "id"), ..., "transaction.id is missing."),
        (("transaction", "token"), "", "transaction.token is empty."),
        (("transaction",), "T-1", "transaction must be an object, not a string."),
        (("action", "amount"), "lots", "action.amount is not a number."),
        (("action", "amount"), True, "action.amount must be a number, not a boolean."),
        (("action", "amount"), "NaN", "action.amount is not a number."),
        (("action", "currency"), "dollars", "action.currency is not a currency code."),
        (("action", "actionType"), "REFUND", "action.actionType is 'REFUND', not one of CHARGE, AUTHORIZATION."),
        (
            ("sourceObject", "__typename"),
            "Payment",
            "sourceObject.__typename is 'Payment', not one of Checkout, Order.",
        ),
        (("sourceObject", "channel"), None, "sourceObject.channel is missing."),
        (("idempotencyKey",), 7, "idempotencyKey must be a string, not a number."),
        (("version",), "latest", "version is 'latest', not a Saleor version."),
        (("recipient",), [], "recipient must be an object, not a list."),
        (("issuedAt",), "yesterday", "issuedAt is not an ISO 8601 date and time."),
    ],
)
def test_a_malformed_body_names_the_field(path, value, message):
    with pytest.raises(MalformedPayload) as raised:
        TransactionInitializeSession.from_payload(edit(INITIALIZE, path, value))
    assert str(raised.value) == message


def test_a_history_entry_is_read_field_by_field():
    body = saleor.action_request("REFUND", "1")
    with pytest.raises(MalformedPayload, match=r"^transaction\.events\[0\]\.createdAt is missing\.$"):
        TransactionActionRequest.from_payload(edit(body, ("transaction", "events", 0, "createdAt"), ...))


def test_what_saleor_reported_is_added_to_the_message():
    body = edit(saleor.transaction_process(), ("sourceObject",), None)
    body["errors"] = [{"message": "You need one of the following permissions: MANAGE_ORDERS", "path": ["event"]}]
    with pytest.raises(MalformedPayload) as raised:
        TransactionProcessSession.from_payload(body)
    assert str(raised.value) == (
        "sourceObject is missing. Saleor reported: You need one of the following permissions: MANAGE_ORDERS"
    )


def parses_or_is_malformed(parser, body):
    try:
        parsed = parser.from_payload(body)
    except MalformedPayload as error:
        assert str(error)
    else:
        assert isinstance(parsed, parser)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(junk=json_values)
@pytest.mark.parametrize("parser", sorted({parser for _, parser, _ in SAMPLES}, key=lambda cls: cls.__name__))
def test_junk_is_only_ever_malformed(parser, junk):
    parses_or_is_malformed(parser, junk)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize(("event", "parser", "body"), SAMPLES, ids=SAMPLE_IDS)
def test_a_damaged_sample_is_valid_or_malformed(event, parser, body, data):
    path = data.draw(st.sampled_from(list(paths(body))))
    damaged = edit(body, path, data.draw(st.just(...) | json_values))
    parses_or_is_malformed(parser, damaged)
