"""TEMPORARY profiling helper (not to be committed)."""
import cProfile, pstats, io, os, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from .bench_checkout import floor_checkout, optty_checkout, dummy_checkout
from .flows import complete_to_redirect, create_optty_payment, create_payment
from .measure import Attribution, rolled_back
from .redirect_gateway import MinimalRedirectGatewayPlugin

N = int(os.environ.get("PROF_N", "20"))

def _queries(storefront, optty, amount, side):
    out = {}
    with rolled_back():
        with CaptureQueriesContext(connection) as q1:
            if side == "optty":
                create_optty_payment(storefront, amount)
            else:
                create_payment(storefront, MinimalRedirectGatewayPlugin.PLUGIN_ID, amount)
        with CaptureQueriesContext(connection) as q2:
            confirmation = complete_to_redirect(storefront)
        redirect = optty.decide(confirmation["reference"], "approve")["redirect"] if side == "optty" else confirmation["redirectUrl"]
        with CaptureQueriesContext(connection) as q3:
            storefront.follow(redirect)
    return q1, q2, q3

def test_profile(storefront, optty, bench_plugins, monkeypatch):
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    for side in ("optty", "floor"):
        qs = _queries(storefront, optty, amount, side)
        with open(f"/tmp/prof/queries_{side}.txt", "w") as f:
            for name, q in zip(("create", "complete", "return"), qs):
                f.write(f"=== {name}: {len(q.captured_queries)} queries\n")
                for item in q.captured_queries:
                    f.write(item["sql"][:400] + "\n")
    for _ in range(3):
        optty_checkout(storefront, optty, amount, plugin_code); floor_checkout(storefront, amount)
    profs = {"optty": cProfile.Profile(time.process_time), "floor": cProfile.Profile(time.process_time)}
    fns = {"optty": lambda: optty_checkout(storefront, optty, amount, plugin_code), "floor": lambda: floor_checkout(storefront, amount)}
    import gc
    for i in range(N):
        order = ("optty", "floor") if i % 2 == 0 else ("floor", "optty")
        for side in order:
            gc.collect()
            profs[side].enable()
            fns[side]()
            profs[side].disable()
    for side, prof in profs.items():
        prof.dump_stats(f"/tmp/prof/{side}.prof")
