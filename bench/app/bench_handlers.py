"""Figure A4: what each of Saleor's webhooks costs the App, per call, and what checking
a webhook's signature costs.

The App's CPU is that of its gunicorn processes (``cpu.py``) over one webhook, sent by
the Saleor stand-in and answered before the next is sent; the emulator answers at once
(zero latency). Both run in this process, so neither's work is in the figure; the
stand-in's signing and judging of each webhook are not either.
"""

from __future__ import annotations

import statistics
import time

from saleor_optty.app.models import Installation
from saleor_optty.app.saleor.jwks import verify_webhook_signature
from saleor_optty.optty import money

from .figures import SYNC_WEBHOOKS

#: Calls measured per webhook; one takes a few milliseconds.
CALLS = 30
SIGNATURE_CHECKS = 500


def app_cpu_of(app, send) -> float:
    """The App's CPU seconds while ``send()`` runs (one webhook and its answer)."""
    before = app.cpu.seconds()
    send()
    return app.cpu.seconds() - before


def record_per_call(record, key: str, seconds: list[float], how: str) -> None:
    record(key, round(statistics.median(seconds) * 1e3, 2), f"median of {len(seconds)} calls, {how}")


def test_signature_check(saleor, record):
    """Saleor's detached JWS over a transactionInitialize body, checked with the installation's stored JWKS."""
    installation = Installation(saleor_api_url=saleor.api_url, app_id="QXBwOjE=", jwks=saleor.jwks)
    body = money.dumps(saleor.event_payload("TRANSACTION_INITIALIZE_SESSION", transaction={"id": "T"})).encode()
    signature = saleor.sign(body)
    verify_webhook_signature(installation, body, signature)  # the parsed key is memoised per process
    started = time.thread_time()
    for _ in range(SIGNATURE_CHECKS):
        verify_webhook_signature(installation, body, signature)
    per_call = (time.thread_time() - started) / SIGNATURE_CHECKS
    record("app_verify_signature", round(per_call * 1e3, 3), f"RS256, {len(body)}-byte body, mean of {SIGNATURE_CHECKS} in this process")


def test_each_webhook(shop, optty, app, record):
    spent = {name: [] for name in SYNC_WEBHOOKS}
    spent["transaction_process_pending"] = []
    for _ in range(CALLS):
        spent["gateway_initialize"].append(app_cpu_of(app, lambda: shop.gateway_initialize("80.00")))
        payments = []
        spent["transaction_initialize"].append(app_cpu_of(app, lambda: payments.append(shop.pay())))
        paid = payments[0]
        paid.come_back("approve")
        spent["transaction_process"].append(app_cpu_of(app, paid.process))  # answered from the App's record
        spent["refund"].append(app_cpu_of(app, lambda: paid.staff("REFUND", "10.00")))
        pending = shop.pay()
        pending.come_back("pending")
        spent["transaction_process_pending"].append(app_cpu_of(app, pending.process))  # asks Optty
    shop.configure(auto_capture=False)
    try:
        for _ in range(CALLS):
            authorised = shop.pay()
            authorised.come_back("approve")
            spent["charge"].append(app_cpu_of(app, lambda: authorised.staff("CHARGE", "30.00")))
            spent["cancel"].append(app_cpu_of(app, lambda: authorised.staff("CANCEL", "50.00")))
    finally:
        shop.configure(auto_capture=True)

    how = "App CPU (its gunicorn processes), emulator at zero latency"
    for name in SYNC_WEBHOOKS:
        record_per_call(record, f"app_handler_{name}", spent[name], how)
    record_per_call(record, "app_handler_transaction_process_pending", spent["transaction_process_pending"], how)
