"""Figure 2: ``checkout.availablePaymentGateways``, warm, and with Optty unreachable."""

import socket
import time

from django.core.cache import cache

from saleor.plugins.models import PluginConfiguration
from saleor_optty.consts import GATEWAY_ID

from .measure import CpuClock, compare


#: Queries per sample: one takes a few ms, in which a single garbage collection or a
#: scheduler hiccup is a large share; a sample of several is steadier.
QUERIES_PER_SAMPLE = 5


def listing(storefront, *, active: bool) -> CpuClock:
    """The storefront's gateway query, with the Optty plugin active or inactive in the channel."""
    PluginConfiguration.objects.filter(identifier=GATEWAY_ID).update(active=active)
    clock = CpuClock()
    with clock.running():
        answers = [storefront.gateways()["availablePaymentGateways"] for _ in range(QUERIES_PER_SAMPLE)]
    for gateways in answers:
        assert (GATEWAY_ID in [gateway["id"] for gateway in gateways]) is active
    return clock


def test_listing_overhead(storefront, bench_plugins, record, repeats):
    # The warm-up rounds fill the options cache, which lasts 5 minutes.
    result = compare(
        lambda: listing(storefront, active=False),
        lambda: listing(storefront, active=True),
        repeats=repeats * 4,  # cheap enough to take more samples
    )
    record(
        "listing_overhead", result.ratio, result.detail("active", "inactive") + f", per {QUERIES_PER_SAMPLE} queries"
    )


def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seconds_to_list(storefront) -> float:
    started = time.perf_counter()
    assert storefront.optty_providers() == []  # listed, with no providers for now
    return time.perf_counter() - started


def test_listing_with_optty_unreachable(storefront, optty, optty_plugin, record):
    """Cold caches (no token, no options): the worst moment for Optty to be away."""
    unreachable = f"http://127.0.0.1:{closed_port()}"
    optty_plugin(api_url=unreachable, auth_url=unreachable + "/token")
    refused = seconds_to_list(storefront)
    remembered = seconds_to_list(storefront)  # the outage is remembered for 30 s

    optty_plugin()  # back to the emulator, which now accepts connections and never answers
    cache.clear()
    for endpoint in ("token", "options"):
        optty.hang_next(endpoint, seconds=3)
    hanging = seconds_to_list(storefront)

    record(
        "listing_unreachable",
        max(refused, hanging),
        f"connection refused {refused:.3f} s, then {remembered:.3f} s while the outage is remembered; "
        f"Optty not answering {hanging:.3f} s",
    )
