"""TEMPORARY (not to be committed)."""
import gc, time
from .bench_checkout import floor_checkout, optty_checkout, dummy_checkout
from .measure import Attribution

def test_gc(storefront, optty, bench_plugins, monkeypatch):
    plugin_code = Attribution(monkeypatch)
    amount = storefront.total()
    stats = {"t": 0.0, "n": [0, 0, 0]}
    start = {}
    def cb(phase, info):
        if phase == "start":
            start["t"] = time.process_time()
        else:
            stats["t"] += time.process_time() - start["t"]; stats["n"][info["generation"]] += 1
    gc.callbacks.append(cb)
    sides = {"optty": lambda: optty_checkout(storefront, optty, amount, plugin_code), "floor": lambda: floor_checkout(storefront, amount), "dummy": lambda: dummy_checkout(storefront, amount)}
    for _ in range(3):
        for f in sides.values(): f()
    res = {k: [] for k in sides}
    for r in range(12):
        for name, f in sides.items():
            gc.collect()
            objs = len(gc.get_objects())
            stats["t"] = 0.0; stats["n"] = [0, 0, 0]
            clock = f()
            res[name].append((clock.seconds * 1000, stats["t"] * 1000, tuple(stats["n"]), len(gc.get_objects()) - objs))
    gc.callbacks.remove(cb)
    with open("/tmp/prof/gc.txt", "w") as out:
        for name, rows in res.items():
            for row in rows:
                out.write(f"{name} total {row[0]:.1f} ms gc {row[1]:.1f} ms collections {row[2]} objgrowth {row[3]}\n")
