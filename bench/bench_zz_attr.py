"""TEMPORARY (not to be committed)."""
import gc, statistics, time, json
from saleor_optty.plugin import saleor_compat, transitions, webhooks, gateway
from saleor_optty.optty.client import OpttyClient
from saleor_optty.shared import callbacks
from .bench_checkout import floor_checkout, optty_checkout
from .measure import Attribution
from .redirect_gateway import MinimalRedirectGatewayPlugin
import saleor.checkout.complete_checkout as cc
import saleor.payment.gateway as sg
from saleor.graphql.checkout.mutations import checkout_complete as ccm

TARGETS = [
    (saleor_compat, "cart_from_checkout"), (saleor_compat, "check_checkout_unchanged"),
    (saleor_compat, "complete_checkout"), (saleor_compat, "record_transaction"), (saleor_compat, "successful_transaction"),
    (saleor_compat, "successful_transaction_for"), (saleor_compat, "lock_checkout"), (saleor_compat, "lock_payment"),
    (saleor_compat, "payment_return_url"), (OpttyClient, "create_order"), (OpttyClient, "get_order"),
    (gateway.OpttyGatewayPlugin, "process_payment"), (gateway.OpttyGatewayPlugin, "confirm_payment"),
    (gateway.OpttyGatewayPlugin, "webhook"), (MinimalRedirectGatewayPlugin, "process_payment"),
    (MinimalRedirectGatewayPlugin, "confirm_payment"), (MinimalRedirectGatewayPlugin, "webhook"),
    (callbacks, "audit"), (gateway, "build_order_request"), (transitions, "_save_state"),
    (sg, "process_payment"), (sg, "confirm"), (ccm, "CheckoutComplete"),
]

def test_attr(storefront, optty, bench_plugins, monkeypatch):
    attrs = {}
    for owner, name in TARGETS:
        if name == "CheckoutComplete":
            a = Attribution(monkeypatch); a.count(ccm.CheckoutComplete, "validate_checkout_addresses"); attrs["validate_checkout_addresses"] = a
            continue
        a = Attribution(monkeypatch); a.count(owner, name); attrs[f"{getattr(owner,'__name__',owner)}.{name}"] = a
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    sides = {"optty": lambda: optty_checkout(storefront, optty, amount, plugin_code), "floor": lambda: floor_checkout(storefront, amount)}
    for _ in range(3):
        for f in sides.values(): f()
    res = {s: {"total": [], **{k: [] for k in attrs}} for s in sides}
    for r in range(24):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for s in order:
            for a in attrs.values(): a.seconds = 0.0
            gc.collect()
            clock = sides[s]()
            res[s]["total"].append(clock.seconds)
            for part, v in clock.parts.items():
                res[s].setdefault(part, []).append(v)
            for k, a in attrs.items(): res[s][k].append(a.seconds)
    with open("/tmp/prof/attr.txt", "w") as out:
        keys = list(res["optty"])
        for k in keys:
            o = statistics.median(res["optty"][k]) * 1000; f = statistics.median(res["floor"].get(k, [0])) * 1000
            out.write(f"{k:60} optty {o:8.2f}  floor {f:8.2f}  diff {o-f:8.2f}\n")

def test_lang(storefront, optty, bench_plugins, monkeypatch):
    from django.utils import translation
    import django_countries
    seen = []
    orig_v = ccm.CheckoutComplete.validate_checkout_addresses
    def v(*a, **k):
        seen.append(("validate", translation.get_language(), len(django_countries.countries.countries) if hasattr(django_countries.countries, "countries") else None))
        t = time.process_time(); r = orig_v(*a, **k); seen[-1] += (round((time.process_time()-t)*1000,1),); return r
    monkeypatch.setattr(ccm.CheckoutComplete, "validate_checkout_addresses", v)
    orig_c = saleor_compat.complete_checkout
    def c(*a, **k):
        seen.append(("complete", translation.get_language()))
        t = time.process_time(); r = orig_c(*a, **k); seen[-1] += (round((time.process_time()-t)*1000,1),); return r
    monkeypatch.setattr(saleor_compat, "complete_checkout", c)
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    for r in range(6):
        seen.append("optty"); optty_checkout(storefront, optty, amount, plugin_code)
        seen.append("floor"); floor_checkout(storefront, amount)
    open("/tmp/prof/lang.txt", "w").write("\n".join(map(str, seen)))

from .measure import sample_interleaved, Comparison
from .bench_checkout import dummy_checkout

def test_sides(storefront, optty, bench_plugins, monkeypatch):
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    out = []
    for label, names in (("three", ("dummy", "redirect", "Optty")), ("two", ("redirect", "Optty")), ("three-b", ("dummy", "redirect", "Optty")), ("two-b", ("redirect", "Optty"))):
        fns = {"dummy": lambda: dummy_checkout(storefront, amount), "redirect": lambda: floor_checkout(storefront, amount),
               "Optty": lambda: optty_checkout(storefront, optty, amount, plugin_code)}
        clocks = sample_interleaved({n: fns[n] for n in names}, repeats=20)
        c = Comparison(clocks["redirect"], clocks["Optty"])
        out.append(f"{label}: {c.ratio:.3f} {c.detail('Optty', 'redirect')}")
        open("/tmp/prof/sides.txt", "w").write("\n".join(out))

def test_confirm_profile(storefront, optty, bench_plugins, monkeypatch):
    import cProfile, pstats, io
    profs = {"optty": cProfile.Profile(time.process_time), "floor": cProfile.Profile(time.process_time)}
    current = {"side": None}
    orig = sg.confirm
    def confirm(*a, **k):
        p = profs[current["side"]]; p.enable()
        try: return orig(*a, **k)
        finally: p.disable()
    # complete_checkout imports gateway functions by module attribute?
    import saleor.checkout.complete_checkout as ccmod
    monkeypatch.setattr(sg, "confirm", confirm)
    if hasattr(ccmod, "gateway"):
        pass
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    for r in range(30):
        for s, fn in (("optty", lambda: optty_checkout(storefront, optty, amount, plugin_code)), ("floor", lambda: floor_checkout(storefront, amount)))[:: 1 if r % 2 else -1]:
            current["side"] = s; fn()
    out = ""
    for s, p in profs.items():
        st = io.StringIO(); pstats.Stats(p, stream=st).sort_stats("cumulative").print_stats(40); out += f"##### {s}\n" + st.getvalue()
    open("/tmp/prof/confirm.txt", "w").write(out)

def test_plugin_profile(storefront, optty, bench_plugins, monkeypatch):
    import cProfile, pstats, io
    prof = cProfile.Profile(time.process_time)
    excl = {"depth": 0}
    def wrap(owner, name, enable):
        orig = getattr(owner, name)
        def w(*a, **k):
            if enable: prof.enable()
            else: prof.disable()
            try: return orig(*a, **k)
            finally:
                if enable: prof.disable()
                else: prof.enable()
        monkeypatch.setattr(owner, name, w)
    wrap(gateway.OpttyGatewayPlugin, "process_payment", True)
    wrap(gateway.OpttyGatewayPlugin, "webhook", True)
    wrap(saleor_compat, "complete_checkout", False)
    wrap(saleor_compat, "check_checkout_unchanged", False)
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    for r in range(40):
        optty_checkout(storefront, optty, amount, plugin_code)
    st = io.StringIO(); pstats.Stats(prof, stream=st).sort_stats("cumulative").print_stats(90)
    open("/tmp/prof/plugin.txt", "w").write(st.getvalue())

def test_complete_profile(storefront, optty, bench_plugins, monkeypatch):
    import cProfile
    profs = {"optty": cProfile.Profile(time.process_time), "floor": cProfile.Profile(time.process_time)}
    current = {"side": None}
    orig = saleor_compat.complete_checkout
    def cc_(*a, **k):
        p = profs[current["side"]]; p.enable()
        try: return orig(*a, **k)
        finally: p.disable()
    monkeypatch.setattr(saleor_compat, "complete_checkout", cc_)
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    for r in range(40):
        for s, fn in (("optty", lambda: optty_checkout(storefront, optty, amount, plugin_code)), ("floor", lambda: floor_checkout(storefront, amount)))[:: 1 if r % 2 else -1]:
            current["side"] = s; fn()
    for s, p in profs.items():
        p.dump_stats(f"/tmp/prof/{s}.prof")
