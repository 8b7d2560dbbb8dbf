import cProfile, pstats, io, time
from bench.bench_checkout import *
from bench.measure import CpuClock, rolled_back

WANT = ["process_payment", "cart_from_checkout", "load_checkout", "build_order_request", "create_order", "_provider_problem", "offered",
        "complete_checkout_for_payment", "checkout_amount_due", "complete_checkout", "fetch_checkout_lines", "fetch_checkout_info", "get_plugins_manager",
        "apply", "_apply_success", "record_transaction", "_audit", "payment_return_url", "lock_checkout_of_payment", "handle_return", "get_order", "_image_url",
        "_with_callback_url", "__init__", "perform_mutation", "mutate", "execute_graphql_request", "plugin_url", "callback_url", "confirm_payment", "complete_checkout_with_payment",
        "complete_checkout_pre_payment_part", "complete_checkout_post_payment_part", "fetch_checkout_data", "_process_payment", "process_payment", "confirm", "successful_transaction_for"]

def show(pr, title):
    st = pstats.Stats(pr)
    total = sum(v[3] for k, v in st.stats.items() if k[2] == "get_response") or 1
    print("=====", title)
    rows = []
    for (f, l, n), (cc, nc, tt, ct, callers) in st.stats.items():
        if n in WANT and ("saleor_optty" in f or "checkout" in f or "manager" in f or "gateway" in f or "graphql" in f):
            rows.append((ct, nc, f"{f.split('/')[-2]}/{f.split('/')[-1]}:{l} {n}"))
    for ct, nc, name in sorted(rows, reverse=True)[:40]:
        print(f"{ct*1000:8.1f} ms {nc:4d}  {name}")

def test_prof(storefront, optty, settings):
    settings.PLUGINS = ["saleor.payment.gateways.dummy.plugin.DeprecatedDummyGatewayPlugin", *settings.PLUGINS]
    amount = storefront.total()
    for i in range(3):
        optty_checkout(storefront, optty, amount); dummy_checkout(storefront, amount)
    with rolled_back():
        storefront.create_payment("KLARNA", amount=amount)
        pr = cProfile.Profile(); pr.enable(); completed = storefront.complete(); pr.disable(); show(pr, "optty complete")
        reference = completed["confirmationData"]["reference"]
        redirect = optty.decide(reference, "approve")["redirect"]
        pr = cProfile.Profile(); pr.enable(); storefront.follow(redirect); pr.disable(); show(pr, "optty return")
    with rolled_back():
        storefront.query(documents.PAYMENT_CREATE, id=storefront.checkout_id, input={"gateway": DUMMY_GATEWAY, "token": "dummy", "amount": amount})
        pr = cProfile.Profile(); pr.enable(); storefront.complete(); pr.disable(); show(pr, "dummy complete")
