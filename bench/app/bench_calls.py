"""Figure A1: calls to Optty per App checkout.

Every checkout is reached by all three ways its outcome comes to the App: the shopper's
return, Optty's callback and the storefront's ``transactionProcess``, each coming first
in turn. Whichever comes first asks Optty once (``GET /orders/{reference}``); the others
must answer from the App's record.
"""

from __future__ import annotations

from .flows import Callback
from tests.app_integration.harness import loopback_session

#: The orders in which the three arrive, taken in turn.
ARRIVALS = (("return", "callback", "process"), ("callback", "process", "return"), ("process", "return", "callback"))


def outcome_paths(shop, optty, http):
    """A new checkout paid and approved at the provider; each way its outcome reaches the
    App, each of which must say it is paid."""
    payment = shop.pay()
    redirect = payment.approve()["redirect"]
    return {
        "return": lambda: shop.follow_return(redirect)["status"] == "success",
        "callback": lambda: Callback.of(optty, payment.reference).send(http) == "success",
        "process": lambda: payment.process().body["result"] == "CHARGE_SUCCESS",
    }


def test_calls_to_optty_per_checkout(shop, quiet_optty, record, request):
    checkouts = request.config.getoption("--bench-checkouts")
    before = quiet_optty.stats()["requests"]
    with loopback_session() as http:
        for number in range(checkouts):
            paths = outcome_paths(shop, quiet_optty, http)
            for path in ARRIVALS[number % len(ARRIVALS)]:
                assert paths[path](), path
    after = quiet_optty.stats()["requests"]

    def made(endpoint):
        return after.get(endpoint, 0) - before.get(endpoint, 0)

    per_checkout = f"over {checkouts} checkouts, each reached by the return, a callback and transactionProcess"
    record("app_create_orders", made("create_order") / checkouts, per_checkout)
    record("app_status_checks", made("get_order") / checkouts, per_checkout + ", in turns first")
