"""Figure 1, what an Optty checkout costs Saleor, and figure 4, calls to Optty.

Figure 1 interleaves three checkouts of the same cart: Optty's, the minimal redirect
gateway's (the budget's baseline: the least any redirect payment costs Saleor) and the
dummy gateway's (for information: what the redirect flow itself costs).
"""

from saleor_optty.core import config
from saleor_optty.plugin import saleor_compat
from saleor_optty.plugin.gateway import OpttyGatewayPlugin

from .flows import (
    DUMMY_GATEWAY,
    Callback,
    complete_to_redirect,
    complete_with_order,
    create_optty_payment,
    create_payment,
)
from .measure import Attribution, Comparison, CpuClock, rolled_back, sample_interleaved
from .redirect_gateway import MinimalRedirectGatewayPlugin

#: The emulator's endpoints that are Optty's API (not its hosted page or control API).
OPTTY_API = ("token", "options", "create_order", "get_order", "details", "capture", "void", "refund", "customer_session")


def dummy_checkout(storefront, amount) -> CpuClock:
    clock = CpuClock()
    with rolled_back():
        with clock.running("paymentCreate"):
            create_payment(storefront, DUMMY_GATEWAY, amount)
        with clock.running("checkoutComplete"):
            complete_with_order(storefront)
    return clock


def redirect_checkout(storefront, pay, shopper_returns_to) -> CpuClock:
    """checkoutPaymentCreate, checkoutComplete (confirmationNeeded), then the shopper's return until the order exists.

    ``shopper_returns_to(confirmation_data)`` is the URL the shopper comes back to; what
    happens at the provider in between is not timed.
    """
    clock = CpuClock()
    with rolled_back():
        with clock.running("paymentCreate"):
            pay()
        with clock.running("checkoutComplete"):
            confirmation = complete_to_redirect(storefront)
        redirect = shopper_returns_to(confirmation)
        with clock.running("return"):
            returned = storefront.follow(redirect)
        assert storefront.storefront_params(returned)["status"] == "success"
    return clock


def floor_checkout(storefront, amount) -> CpuClock:
    """The minimal redirect gateway's checkout: the same three requests as Optty's, with nothing of Optty's."""
    return redirect_checkout(
        storefront,
        lambda: create_payment(storefront, MinimalRedirectGatewayPlugin.PLUGIN_ID, amount),
        lambda confirmation: confirmation["redirectUrl"],
    )


def optty_checkout(storefront, optty, amount, plugin_code: Attribution) -> CpuClock:
    plugin_code.seconds = 0.0
    clock = redirect_checkout(
        storefront,
        lambda: create_optty_payment(storefront, amount),
        lambda confirmation: optty.decide(confirmation["reference"], "approve")["redirect"],  # the shopper approves
    )
    clock.of_which["plugin code"] = plugin_code.seconds
    return clock


def test_checkout_overhead(storefront, optty, bench_plugins, record, repeats, monkeypatch):
    # The plugin's own code: its payment and webhook entry points, less Saleor's
    # checkout completion that the return calls to create the order.
    plugin_code = Attribution(monkeypatch)
    plugin_code.count(OpttyGatewayPlugin, "process_payment")
    plugin_code.count(OpttyGatewayPlugin, "webhook")
    plugin_code.count(saleor_compat, "complete_checkout", sign=-1)
    amount = storefront.total()  # what the storefront shows; it also warms Optty's options cache
    clocks = sample_interleaved(
        {
            "dummy": lambda: dummy_checkout(storefront, amount),
            "redirect": lambda: floor_checkout(storefront, amount),
            "Optty": lambda: optty_checkout(storefront, optty, amount, plugin_code),
        },
        # Three sides of ~300 ms whose means differ by a few percent: twice the usual samples.
        repeats=repeats * 2,
    )
    optty_over_floor = Comparison(clocks["redirect"], clocks["Optty"])  # the budgeted one
    optty_over_dummy = Comparison(clocks["dummy"], clocks["Optty"])
    floor = Comparison(clocks["dummy"], clocks["redirect"])
    record("checkout_over_floor", optty_over_floor.ratio, optty_over_floor.detail("Optty", "redirect"))
    record("checkout_overhead", optty_over_dummy.ratio, optty_over_dummy.detail("Optty", "dummy"))
    record(
        "checkout_redirect_floor",
        floor.ratio,
        "Saleor's own cost of any redirect payment (two checkout completions): " + floor.detail("redirect", "dummy"),
    )


def close_shared_clients() -> None:
    """Start as a new process would: no pooled connection to Optty (the optty fixture emptied the token cache)."""
    for client in config._clients.values():
        client.close()
    config._clients.clear()


def outcome_paths(storefront, optty, reference: str) -> dict:
    """Each way the outcome of an approved payment reaches Saleor; each must end with the order."""
    redirect = optty.decide(reference, "approve")["redirect"]
    return {
        "return": lambda: storefront.storefront_params(storefront.follow(redirect))["status"] == "success",
        "callback": lambda: Callback.of(optty, reference).send(storefront.browser) == "success",
        "confirm": lambda: bool(complete_with_order(storefront)),  # checkoutComplete again
    }


#: The orders in which they arrive, taken in turn: whichever comes first asks Optty once.
ARRIVALS = (("return", "callback", "confirm"), ("callback", "return", "confirm"), ("confirm", "callback", "return"))


def test_calls_to_optty_per_checkout(storefront, optty, optty_plugin, record, request):
    checkouts = request.config.getoption("--bench-checkouts")
    close_shared_clients()
    before = optty.stats()
    amount = storefront.total()
    for number in range(checkouts):
        with rolled_back():
            create_optty_payment(storefront, amount)
            paths = outcome_paths(storefront, optty, complete_to_redirect(storefront)["reference"])
            for path in ARRIVALS[number % len(ARRIVALS)]:
                assert paths[path](), path
    after = optty.stats()

    def made(endpoint):
        return after["requests"][endpoint] - before["requests"][endpoint]

    calls = sum(made(endpoint) for endpoint in OPTTY_API)
    connections = after["connections"] - before["connections"]
    per_checkout = f"over {checkouts} checkouts, each reached by the return, a callback and checkoutComplete"
    record("create_orders_per_checkout", made("create_order") / checkouts, per_checkout)
    record("status_checks_per_checkout", made("get_order") / checkouts, per_checkout + ", in turns first")
    record("token_requests", made("token"), f"over {checkouts} checkouts and 1 gateway listing, from an empty cache")
    record(
        "connections_per_100_calls",
        100 * connections / calls,
        f"{connections} connections for {calls} calls ({', '.join(f'{e} {made(e)}' for e in OPTTY_API if made(e))}), "
        "from no open connection",
    )
