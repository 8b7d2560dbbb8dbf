"""A webhook that Saleor did not sign is refused with 401 and changes nothing: here a
refund request for a real, paid transaction, POSTed straight to the App's refund webhook
as an attacker would, unsigned or signed with a key that is not Saleor's."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from . import harness
from .harness import amounts, transaction

harness.require_lab()


@pytest.fixture
def paid(app, saleor, storefront, shopper) -> harness.Payment:
    checkout = storefront.new_checkout()
    payment = harness.start_payment(storefront, checkout, "KLARNA")
    assert shopper.come_back(shopper.decide(payment.redirect_url, "approve"))["status"] == "success"
    return payment


def refund_request(saleor, app_id: str, payment: harness.Payment) -> bytes:
    """The body Saleor would send for a refund of the whole payment (the App's subscription's shape)."""
    total = str(payment.source.total)
    return json.dumps(
        {
            "__typename": "TransactionRefundRequested",
            "issuedAt": "2026-01-01T00:00:00+00:00",
            "version": saleor.version.text,
            "recipient": {"id": app_id},
            "action": {"actionType": "REFUND", "amount": total, "currency": "USD"},
            "transaction": {
                "id": payment.transaction_id,
                "token": "00000000-0000-0000-0000-000000000000",
                "pspReference": payment.reference,
                "authorizedAmount": {"amount": 0, "currency": "USD"},
                "chargedAmount": {"amount": total, "currency": "USD"},
                "events": [],
                "checkout": {"channel": {"slug": harness.CHANNEL}},
                "order": None,
            },
        }
    ).encode()


def signatures(saleor, body: bytes) -> dict[str, str | None]:
    """Signature headers Saleor never made for ``body``: none, junk, and a detached JWS
    (Saleor's format, Saleor's key id) signed with another RSA key."""
    with harness.loopback_session() as http:
        jwks = http.get(f"{saleor.lab.url}/.well-known/jwks.json", timeout=10).json()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.api_jws.encode(
        body,
        other_key,
        algorithm="RS256",
        headers={"kid": jwks["keys"][0]["kid"], "b64": False, "crit": ["b64"]},
        is_payload_detached=True,
    )
    return {"unsigned": None, "junk": "not-a-signature", "another key": forged}


def test_a_webhook_not_signed_by_saleor_is_refused_and_changes_nothing(app, deployment, saleor, paid, optty):
    (url,) = [
        webhook["targetUrl"]
        for webhook in harness.installed_apps(saleor.staff)[0]["webhooks"]
        if webhook["syncEvents"][0]["eventType"] == "TRANSACTION_REFUND_REQUESTED"
    ]
    body = refund_request(saleor, deployment.saleor_app["id"], paid)
    before = optty.stats()
    http = harness.loopback_session()
    for name, signature in signatures(saleor, body).items():
        headers = {
            "Content-Type": "application/json",
            "Saleor-Event": "transaction_refund_requested",
            "Saleor-Api-Url": saleor.api_url,
            "Saleor-Domain": f"127.0.0.1:{saleor.lab.port}",
        }
        if signature is not None:
            headers["Saleor-Signature"] = signature
        answer = http.post(url, data=body, headers=headers, timeout=30)
        assert answer.status_code == 401, f"{name}: {answer.status_code} {answer.text[:300]}"
        assert answer.json()["error"]["code"] == "BAD_SIGNATURE", name

    assert harness.emulator_counts(optty, before, ("refund", "get_order", "details")) == {
        "refund": 0, "get_order": 0, "details": 0
    }  # fmt: skip
    assert optty.order(paid.reference)["refunded_amount"] == 0
    unchanged = amounts(transaction(saleor.staff, paid.transaction_id))
    assert (unchanged["charged"], unchanged["refunded"]) == (paid.source.total, 0)
    assert app.query(f"Operation.objects.filter(attempt__reference={paid.reference!r}).count()") == 0
