"""Every figure the benchmarks report, with its budget (None: reported only).

The budgets are issue 5's, except two re-based since (BENCHMARKS.md says why): figure 1
is measured against the minimal redirect gateway rather than the dummy gateway, and
figure 3a is a CPU ratio against a bare plugin webhook rather than a rate.

The bench modules record values under these keys; ``run.py`` prints them in this order
and judges each against its budget. A figure with a budget that was never recorded (its
benchmark failed) counts as missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Budget:
    text: str
    holds: Callable[[float], bool]


def at_most(limit: float, unit: str = "") -> Budget:
    return Budget(f"≤ {limit:g}{unit}", lambda value: value <= limit)


def below(limit: float, unit: str = "") -> Budget:
    return Budget(f"< {limit:g}{unit}", lambda value: value < limit)


def exactly(expected: float) -> Budget:
    return Budget(f"= {expected:g}", lambda value: value == expected)


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    unit: str
    budget: Budget | None


FIGURES = [
    Figure("checkout_over_floor", "1  checkout, Optty / minimal redirect gateway, CPU", "×", at_most(1.10, "×")),
    Figure("checkout_overhead", "1    Optty / dummy gateway, CPU", "×", None),
    Figure("checkout_redirect_floor", "1    minimal redirect gateway / dummy gateway, CPU", "×", None),
    Figure("listing_overhead", "2  availablePaymentGateways, active+warm / inactive, CPU", "×", at_most(1.05, "×")),
    Figure("listing_unreachable", "2  availablePaymentGateways, Optty unreachable, wall", " s", below(1.0, " s")),
    Figure("duplicate_callback_overhead", "3a callback finding its order final / bare webhook, CPU", "×", at_most(1.3, "×")),
    Figure("duplicate_callback_rate", "3a   callbacks finding their order final, sustained", "/s", None),
    Figure("duplicate_callback_p50", "3a   latency p50", " ms", None),
    Figure("duplicate_callback_p99", "3a   latency p99", " ms", None),
    Figure("order_callback_overhead", "3b callback making the order / dummy checkoutComplete, CPU", "×", at_most(1.2, "×")),
    Figure("burst_orders", "3c orders after 32 concurrent duplicate callbacks", "", exactly(1)),
    Figure("create_orders_per_checkout", "4  create-order calls per checkout", "", exactly(1)),
    Figure("status_checks_per_checkout", "4  status checks per checkout (return, callback, confirm)", "", exactly(1)),
    Figure("token_requests", "4  token requests in the run's checkouts (cold cache)", "", at_most(1)),
    Figure("connections_per_100_calls", "4  new TCP connections per 100 calls to Optty", "", None),
    Figure("plugin_construction", "5  constructing OpttyGatewayPlugin / bare BasePlugin, CPU", "×", at_most(1.5, "×")),
]

BY_KEY = {figure.key: figure for figure in FIGURES}


def report(figures: list[Figure], measured: dict[str, dict]) -> bool:
    """Print every figure beside its budget, then ``bench: N/M within budget``; whether all hold.

    ``measured`` maps a figure's key to ``{"value", "detail"}``; a budgeted figure that was
    never recorded (its benchmark failed or was skipped) is MISSING and counts as missed.
    """
    budgeted = [figure for figure in figures if figure.budget is not None]
    within = 0
    for figure in figures:
        found = measured.get(figure.key)
        if found is None:
            print(f"{'MISSING' if figure.budget else '-':8} {figure.title:<62} {'not measured':>12}")
            continue
        value = found["value"]
        if figure.budget is None:
            verdict, budget = "info", ""
        else:
            verdict, budget = ("ok" if figure.budget.holds(value) else "MISSED"), f"budget {figure.budget.text}"
            within += verdict == "ok"
        print(f"{verdict:8} {figure.title:<62} {_shown(value, figure.unit):>12}  {budget:<16} {found['detail']}")
    print(f"bench: {within}/{len(budgeted)} within budget")
    return within == len(budgeted)


def _shown(value: float, unit: str) -> str:
    if unit == "×":  # three decimals, so that a ratio just over its budget never prints as equal to it
        return f"{value:.3f}{unit}"
    return f"{value:.2f}{unit}" if isinstance(value, float) else f"{value}{unit}"
