"""What the audit trail keeps of Optty's payloads: allow-listed scalars, no personal data."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import modify_settings

from saleor_optty.plugin.models import OpttyNotification, OpttyOrder
from saleor_optty.optty.redact import MAX_AUDITED_LENGTH, audit_payload, redact_text

PERSONAL = [
    "Ada", "Lovelace", "ada@example.com", "+15555550100", "1 Analytical St", "Springfield",
    "12345", "1815-12-10", "123-45-6789", "X1234567", "4111", "tok_live_secret",
]  # fmt: skip

#: An ORDER_STATUS_UPDATE with Optty's "raw provider response" on: the provider's own
#: objects, in its own spelling, beside Optty's fields.
CALLBACK = {
    "event": "ORDER_STATUS_UPDATE",
    "createdAt": "2024-05-01T10:00:00Z",
    "customerEmail": "ada@example.com",
    "data": {
        "orderReference": "SALEOR-1A2B",
        "merchantReference": "SALEOR-1A2B",
        "status": "SUCCESSFUL",
        "transactionId": "TX-9",
        "provider": "KLARNA",
        "amount": Decimal("80.00"),
        "currency": "USD",
        "updatedAt": "2024-05-01T10:00:00Z",
        "first_name": "Ada",
        "lastName": "Lovelace",
        "phone_number": "+15555550100",
        "date_of_birth": "1815-12-10",
        "nationalId": "123-45-6789",
        "billing_address": {"street_address_1": "1 Analytical St", "city": "Springfield", "postal_code": "12345"},
        "rawProviderResponse": {
            "customer": {"given_name": "Ada", "family_name": "Lovelace", "dob": "1815-12-10", "passport": "X1234567"},
            "payment_method": {"card_last4": "4111", "token": "tok_live_secret"},
            "addresses": [{"street": "1 Analytical St", "zip": "12345"}],
        },
        "shippingLines": ["Ada Lovelace, 1 Analytical St, Springfield 12345"],
    },
}


def test_only_the_allow_listed_scalars_are_kept():
    assert audit_payload(CALLBACK) == {
        "event": "ORDER_STATUS_UPDATE",
        "createdAt": "2024-05-01T10:00:00Z",
        "data": {
            "orderReference": "SALEOR-1A2B",
            "merchantReference": "SALEOR-1A2B",
            "status": "SUCCESSFUL",
            "transactionId": "TX-9",
            "provider": "KLARNA",
            "amount": "80.00",
            "currency": "USD",
            "updatedAt": "2024-05-01T10:00:00Z",
        },
    }
    kept = json.dumps(audit_payload(CALLBACK))
    assert not [value for value in PERSONAL if value in kept]


def test_an_allowed_key_keeps_no_object_list_or_long_text():
    payload = {
        "status": {"name": "Ada"},
        "reference": ["ada@example.com"],
        "provider": "K" * 10_000,
        "amount": 5,
        "refundId": None,
        "event": True,
        "orderReference": "mail ada@example.com\x00",
    }
    assert audit_payload(payload) == {
        "provider": "K" * MAX_AUDITED_LENGTH,
        "amount": "5",
        "refundId": None,
        "event": True,
        "orderReference": "mail [redacted]",
    }


@pytest.mark.parametrize("payload", [None, "ada@example.com", ["event"], 5, {"data": ["orderReference"]}])
def test_what_is_not_an_object_keeps_nothing(payload):
    assert audit_payload(payload) == {}


def test_deep_nesting_is_not_walked():
    nested: dict = {"status": "PENDING"}
    for _ in range(100_000):  # far deeper than Python could recurse
        nested = {"data": nested, "event": "x"}
    assert audit_payload(nested) == {"event": "x", "data": {"event": "x"}}


def test_log_lines_are_still_masked():
    assert redact_text("Bearer abc.def for ada@example.com\x00") == "Bearer [redacted] for [redacted]"


@pytest.mark.django_db
@modify_settings(INSTALLED_APPS={"append": "django.contrib.admin"})  # its autodiscovery loads saleor_optty.plugin.admin
def test_history_and_admin_show_only_the_allow_list_even_for_old_records():
    OpttyOrder.objects.create(
        reference="SALEOR-1A2B", channel_slug="c", checkout_token="t", payment_id=1,
        provider="KLARNA", amount=Decimal("80.00"), currency="USD",
    )  # fmt: skip
    # As the deny-list stored it before: snake_case and nested provider data untouched.
    old = OpttyNotification.objects.create(
        event="ORDER_STATUS_UPDATE", reference="SALEOR-1A2B", outcome="success: ok", payload=json.loads(json.dumps(CALLBACK, default=str))
    )
    out = StringIO()
    call_command("optty_history", "SALEOR-1A2B", "--payloads", stdout=out)
    assert '"orderReference": "SALEOR-1A2B"' in out.getvalue()
    shown = admin.site.get_model_admin(OpttyNotification).kept_payload(old)
    assert '"status": "SUCCESSFUL"' in shown
    assert not [value for value in PERSONAL if value in out.getvalue() + shown]
