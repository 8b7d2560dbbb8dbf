"""Figure A8: every sync webhook answers within Saleor's 18 s read timeout, even when
Optty accepts the App's requests and never answers them.

For each webhook, each call it makes to Optty is made to hang in turn (the token, from an
emptied cache, and the webhook's own call), and the wall time until Saleor (the stand-in)
has the App's answer is taken; the figure is the slowest. The App's calls from a webhook
use ``saleor_optty.app.tenants.WEBHOOK_POLICY``.
"""

from __future__ import annotations

import time

import redis

from .figures import SALEOR_SYNC_TIMEOUT, SYNC_WEBHOOKS

#: Longer than any wait of the App's: every call that hangs times out in the App.
HANG_SECONDS = 2 * SALEOR_SYNC_TIMEOUT


def answered_in(optty, app, endpoint: str, send) -> float:
    """Seconds until ``send()`` (one webhook) has its answer, Optty hanging on ``endpoint``.

    The cache is emptied first, so that the App needs a token (and the provider list)."""
    redis.Redis.from_url(app.redis_url).flushdb()
    optty.hang_next(endpoint, seconds=HANG_SECONDS, count=10)
    started = time.monotonic()
    result = send()
    elapsed = time.monotonic() - started
    optty.clear_faults()  # the shots the App did not take
    assert 200 <= result.status < 300 and result.accepted, (result.status, result.body, result.problems)
    return elapsed


def test_sync_webhooks_answer_while_optty_hangs(shop, optty, app, saleor, record):
    def gateway_initialize():
        shop.gateway_initialize("80.00")
        return saleor.deliveries[-1]

    def transaction_initialize():
        shop.pay()
        return saleor.deliveries[-1]

    def pending_payment():
        payment = shop.pay()
        payment.come_back("pending")
        return payment

    def paid_payment():
        payment = shop.pay()
        payment.come_back("approve")
        return payment

    cases = {
        "gateway_initialize": [("token", gateway_initialize), ("options", gateway_initialize)],
        "transaction_initialize": [
            ("token", transaction_initialize), ("options", transaction_initialize), ("create_order", transaction_initialize),
        ],
        "transaction_process": [(endpoint, pending_payment().process) for endpoint in ("token", "get_order")],
        "refund": [(endpoint, _staff(paid_payment(), "REFUND", "10.00")) for endpoint in ("token", "refund")],
    }  # fmt: skip
    worst = {name: answered(optty, app, name, calls) for name, calls in cases.items()}
    shop.configure(auto_capture=False)
    try:
        authorised = [paid_payment() for _ in range(4)]
        worst["charge"] = answered(optty, app, "charge", [
            ("token", _staff(authorised[0], "CHARGE", "30.00")), ("capture", _staff(authorised[1], "CHARGE", "30.00")),
        ])  # fmt: skip
        worst["cancel"] = answered(optty, app, "cancel", [
            ("token", _staff(authorised[2], "CANCEL", "80.00")), ("void", _staff(authorised[3], "CANCEL", "80.00")),
        ])  # fmt: skip
    finally:
        shop.configure(auto_capture=True)

    for name in SYNC_WEBHOOKS:
        seconds, endpoints = worst[name]
        record(f"app_hang_{name}", round(seconds, 2), f"wall time; Optty hanging on: {endpoints}")


def answered(optty, app, name: str, calls) -> tuple[float, str]:
    """The slowest answer of webhook ``name`` over ``calls`` [(endpoint hanging, send)], and each time."""
    times = {endpoint: answered_in(optty, app, endpoint, send) for endpoint, send in calls}
    return max(times.values()), ", ".join(f"{endpoint} {seconds:.1f} s" for endpoint, seconds in times.items())


def _staff(payment, action: str, amount: str):
    return lambda: payment.staff(action, amount)
