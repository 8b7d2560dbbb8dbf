"""Figure 1, what an Optty checkout costs against Saleor's dummy gateway, and figure 4, calls to Optty."""

from saleor_optty import config, saleor_compat
from saleor_optty.plugin import OpttyGatewayPlugin

from .flows import (
    Callback,
    complete_to_redirect,
    complete_with_order,
    create_dummy_payment,
    create_optty_payment,
)
from .measure import Attribution, CpuClock, compare, median, rolled_back

#: The emulator's endpoints that are Optty's API (not its hosted page or control API).
OPTTY_API = ("token", "options", "create_order", "get_order", "details", "capture", "void", "refund", "customer_session")


def dummy_checkout(storefront, amount) -> CpuClock:
    clock = CpuClock()
    with rolled_back():
        with clock.running("paymentCreate"):
            create_dummy_payment(storefront, amount)
        with clock.running("checkoutComplete"):
            complete_with_order(storefront)
    return clock


def optty_checkout(storefront, optty, amount, plugin_code: Attribution) -> CpuClock:
    """checkoutPaymentCreate, checkoutComplete, then the shopper's return until the order exists."""
    clock = CpuClock()
    plugin_code.seconds = 0.0
    with rolled_back():
        with clock.running("paymentCreate"):
            create_optty_payment(storefront, amount)
        with clock.running("checkoutComplete"):
            reference = complete_to_redirect(storefront)
        redirect = optty.decide(reference, "approve")["redirect"]  # the shopper, at the provider
        with clock.running("return"):
            returned = storefront.follow(redirect)
        assert storefront.storefront_params(returned)["status"] == "success"
    clock.of_which["plugin code"] = plugin_code.seconds
    return clock


def test_checkout_overhead(storefront, optty, both_gateways, record, repeats, monkeypatch):
    # The plugin's own code: its payment and webhook entry points, less Saleor's
    # checkout completion that the return calls to create the order.
    plugin_code = Attribution(monkeypatch)
    plugin_code.count(OpttyGatewayPlugin, "process_payment")
    plugin_code.count(OpttyGatewayPlugin, "webhook")
    plugin_code.count(saleor_compat, "complete_checkout", sign=-1)
    amount = storefront.total()  # what the storefront shows; it also warms Optty's options cache
    result = compare(
        lambda: dummy_checkout(storefront, amount),
        lambda: optty_checkout(storefront, optty, amount, plugin_code),
        repeats=repeats,
    )
    record("checkout_overhead", result.ratio, result.detail("Optty", "dummy"))
    without = median(result.subject) - median(result.subject, "plugin code")
    record(
        "checkout_without_plugin_code",
        without / median(result.baseline),
        "Saleor's own work in the Optty checkout: two checkout completions (the redirect, then the order)",
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
            paths = outcome_paths(storefront, optty, complete_to_redirect(storefront))
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
