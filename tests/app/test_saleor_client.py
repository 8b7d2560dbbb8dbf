"""The App's GraphQL client, against the Saleor stand-in."""

import logging
import time
from decimal import Decimal

import pytest
from graphql import parse, validate

from saleor_optty.app.saleor import client as client_module
from saleor_optty.app.saleor.client import DOCUMENTS, Channel, SaleorClient, SaleorError
from saleor_optty.app.saleor.responses import SaleorVersion

from . import saleor_rules


@pytest.fixture
def app(saleor):
    return saleor.create_app()


@pytest.fixture
def client(saleor, app):
    with SaleorClient(saleor.api_url, app.token, schema_version=saleor.schema_version) as client:
        yield client


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("version", sorted(saleor_rules.SCHEMA_FILES))
def test_every_document_validates_against_each_saleor_that_has_it(name, version):
    document, since = DOCUMENTS[name]
    errors = validate(saleor_rules.load_schema(version), parse(document))
    if SaleorVersion.parse(version) >= since:
        assert [error.message for error in errors] == []
    else:  # an older Saleor refuses it in a way the client recognises
        assert errors and all("'appProblem" in error.message or "'AppProblem" in error.message for error in errors)


def test_app_id(client, app):
    assert client.app_id() == app.id


def test_a_refused_token_is_a_permission_error_that_names_no_token(saleor, app, caplog):
    caplog.set_level(logging.DEBUG)
    saleor.accept_app_token = False
    client = SaleorClient(saleor.api_url, app.token)
    with pytest.raises(SaleorError) as refusal:
        client.app_id()
    assert refusal.value.code == "PermissionDenied"
    assert not refusal.value.retryable
    for text in (str(refusal.value), repr(refusal.value), repr(client), caplog.text):
        assert app.token not in text


def test_channels(client):
    assert client.channels() == [
        Channel(slug="default-channel", name="Channel-USD", currency_code="USD"),
        Channel(slug="channel-pln", name="Channel-PLN", currency_code="PLN"),
    ]


def test_a_report_moves_saleors_record_and_answers_where_the_money_sits(saleor, client):
    transaction = saleor.create_transaction(currency="USD")

    report = client.report_transaction_event(
        transaction_id=transaction.id,
        psp_reference="OPT-1",
        type="CHARGE_SUCCESS",
        amount=Decimal("1234567.89"),
        message="Paid with Klarna.",
        available_actions=["REFUND"],
        external_url="https://portal.optty.com/orders/OPT-1",
    )

    assert report.already_processed is False
    assert report.event_id == transaction.events[-1].id
    assert report.transaction["id"] == transaction.id
    assert report.transaction["chargedAmount"]["amount"] == Decimal("1234567.89")
    assert report.transaction["checkout"] == {"id": transaction.checkout_id} and report.transaction["order"] is None
    assert transaction.amounts["charged"] == Decimal("1234567.89")
    assert saleor.calls_to("transactionEventReport")[-1].variables["amount"] == "1234567.89"  # exact, no float


def test_the_same_report_again_is_already_processed(saleor, client):
    transaction = saleor.create_transaction()
    report = {"transaction_id": transaction.id, "psp_reference": "OPT-1", "type": "CHARGE_SUCCESS", "amount": Decimal("80.00")}

    first, second = client.report_transaction_event(**report), client.report_transaction_event(**report)

    assert (first.already_processed, second.already_processed) == (False, True)
    assert second.event_id == first.event_id
    assert transaction.amounts["charged"] == Decimal("80.00")


def test_the_same_report_with_another_amount_is_refused_with_saleors_code(saleor, client):
    transaction = saleor.create_transaction()
    client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_SUCCESS", amount=Decimal("80.00"))

    with pytest.raises(SaleorError) as refusal:
        client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_SUCCESS", amount=Decimal("8.00"))

    assert (refusal.value.code, refusal.value.field, refusal.value.retryable) == ("INCORRECT_DETAILS", "pspReference", False)
    assert transaction.amounts["charged"] == Decimal("80.00")


def test_an_amount_is_required_except_for_failures(saleor, client):
    transaction = saleor.create_transaction()
    with pytest.raises(SaleorError) as refusal:
        client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_SUCCESS", amount=None)
    assert refusal.value.code == "REQUIRED"

    client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_REQUEST", amount=Decimal(5))
    report = client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_FAILURE", amount=None)
    assert report.transaction["chargedAmount"]["amount"] == 0


def test_an_unknown_transaction_is_not_found(client):
    with pytest.raises(SaleorError) as refusal:
        client.report_transaction_event(transaction_id="VHJhbnNhY3Rpb25JdGVtOm5vbmU=", psp_reference="P", type="CHARGE_SUCCESS", amount=Decimal(1))
    assert refusal.value.code == "NOT_FOUND"


def test_a_deduplicated_report_is_repeated_after_a_gateway_error(saleor, client):
    transaction = saleor.create_transaction()
    saleor.fail_next_graphql(503, times=2)

    report = client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_SUCCESS", amount=Decimal("80.00"))

    assert report.already_processed is False
    assert transaction.amounts["charged"] == Decimal("80.00")


def test_a_report_saleor_does_not_deduplicate_is_sent_once(saleor, client):
    transaction = saleor.create_transaction()
    saleor.fail_next_graphql(503)

    with pytest.raises(SaleorError) as failure:
        client.report_transaction_event(transaction_id=transaction.id, psp_reference="OPT-1", type="CHARGE_ACTION_REQUIRED", amount=Decimal("80.00"))

    assert (failure.value.code, failure.value.retryable, failure.value.status_code) == ("SALEOR_UNAVAILABLE", True, 503)
    assert transaction.events == []


def test_a_saleor_that_keeps_failing_gives_a_retryable_error(saleor, client):
    saleor.fail_next_graphql(502, times=3)
    with pytest.raises(SaleorError) as failure:
        client.channels()
    assert failure.value.retryable and failure.value.code == "SALEOR_UNAVAILABLE"
    assert saleor._graphql_faults == []  # the first try and two retries


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_an_unreachable_saleor_is_retryable(app, caplog):
    caplog.set_level(logging.DEBUG)
    client = SaleorClient("http://127.0.0.1:9/graphql/", app.token)
    with pytest.raises(SaleorError) as failure:
        client.app_id()
    assert (failure.value.code, failure.value.retryable) == ("UNREACHABLE", True)
    assert app.token not in str(failure.value) + caplog.text


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_slow_saleor_times_out(saleor, client, monkeypatch):
    monkeypatch.setattr(client_module, "READ_TIMEOUT", 0.3)
    saleor.graphql_delay = 1.5
    started = time.monotonic()
    with pytest.raises(SaleorError) as failure:
        client.channels()
    assert (failure.value.code, failure.value.retryable) == ("TIMEOUT", True)
    assert time.monotonic() - started < 1.2  # a read timeout is not retried


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_graphql_error_carries_saleors_code(saleor, client):
    with pytest.raises(SaleorError) as refusal:
        client.execute("query { shop { nope } }")
    assert (refusal.value.code, refusal.value.status_code) == ("GraphQLError", 400)
    assert "nope" in refusal.value.message
    saleor.failures.clear()  # the stand-in flags the invalid document, as intended here


def test_execute_runs_any_document(saleor, client):
    saleor.on("shop", lambda info: {"name": "Stand-in shop"})
    assert client.execute("query { shop { name } }", idempotent=True) == {"shop": {"name": "Stand-in shop"}}


def test_app_problems_are_reported_where_saleor_has_them(saleor, client):
    created = client.create_app_problem("Optty refused the credentials of channel default-channel.", "optty:credentials-refused:default-channel", critical_threshold=1)
    dismissed = client.dismiss_app_problems(["optty:credentials-refused:default-channel"])

    if saleor.version == "3.23.28":
        assert (created, dismissed) == (True, True)
        assert [(p["key"], p["criticalThreshold"], p["dismissed"]) for p in saleor.app_problems] == [
            ("optty:credentials-refused:default-channel", 1, True)
        ]
    else:  # 3.20 has none, and the installation's schema version says so: nothing is sent
        assert (created, dismissed) == (False, False)
        assert saleor.calls == []


@pytest.mark.parametrize("saleor_version", ["3.20.119"])
def test_without_a_known_version_an_old_saleor_is_probed_harmlessly(saleor, app):
    client = SaleorClient(saleor.api_url, app.token)
    assert client.create_app_problem("Something to fix.", "optty:test") is False
    assert [(call.operation, call.valid) for call in saleor.calls] == [("appProblemCreate", False)]


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_problem_report_never_raises_for_saleors_sake(saleor, client):
    saleor.fail_next_graphql(500)
    assert client.create_app_problem("Something to fix.", "optty:test") is False
    saleor.accept_app_token = False
    assert client.create_app_problem("Something to fix.", "optty:test") is False
    assert SaleorClient("http://127.0.0.1:9/graphql/", "t").create_app_problem("Something to fix.", "optty:test") is False


def test_saleors_record_follows_authorize_charge_refund_and_cancel(saleor, client):
    transaction = saleor.create_transaction()

    def report(type, psp, amount):
        return client.report_transaction_event(transaction_id=transaction.id, psp_reference=psp, type=type, amount=Decimal(amount))

    report("AUTHORIZATION_SUCCESS", "OPT-1", "100.00")
    report("CHARGE_REQUEST", "OPT-1-C1", "60.00")
    assert (transaction.amounts["authorized"], transaction.amounts["chargePending"]) == (Decimal("40.00"), Decimal("60.00"))
    report("CHARGE_SUCCESS", "OPT-1-C1", "60.00")
    report("REFUND_SUCCESS", "OPT-1-R1", "20.00")
    final = report("CANCEL_SUCCESS", "OPT-1-V1", "40.00").transaction

    assert {name: transaction.amounts[name] for name in ("authorized", "charged", "refunded", "canceled", "chargePending")} == {
        "authorized": Decimal(0),
        "charged": Decimal("40.00"),
        "refunded": Decimal("20.00"),
        "canceled": Decimal("40.00"),
        "chargePending": Decimal(0),
    }
    assert (final["chargedAmount"]["amount"], final["refundedAmount"]["amount"], final["authorizedAmount"]["amount"]) == (40, 20, 0)
