"""Figures A2 and A3: what two App workers sharing Redis ask of Saleor and of Optty.

Saleor's JWKS is kept on the installation's row, fetched when Saleor installs the App,
and fetched again only for a key the App does not know (rate-limited across the workers
through the cache); Optty's token is kept in the cache, so one token serves every worker
for its lifetime (24 hours, renewed 10 minutes early).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis

#: Client threads sending at once: gunicorn hands their connections to both workers.
SENDERS = 4
CHECKOUTS = 40


def spread(jobs: int, job) -> list:
    """``job(number)`` for every number below ``jobs``, from SENDERS threads at once."""
    with ThreadPoolExecutor(SENDERS) as pool:
        return list(pool.map(job, range(jobs)))


def worker_cpu_change(app, before: dict[int, float]) -> dict[int, float]:
    now = app.cpu.per_process()
    return {pid: now[pid] - before[pid] for pid in app.worker_pids()}


def served_by_every_worker(change: dict[int, float]) -> str:
    # A worker that served none of the requests would have spent next to no CPU meanwhile.
    assert all(seconds > 0.05 for seconds in change.values()), f"a worker served nothing: {change}"
    return " / ".join(f"{seconds * 1e3:.0f} ms" for seconds in change.values())


def test_token_requests_across_two_workers(shop, optty, app, record):
    """From an empty cache, checkouts on both workers at once: one token for all of them."""
    redis.Redis.from_url(app.redis_url).flushdb()  # no token, no provider list: as at a cold start
    tokens_before = optty.stats()["token_requests"]
    cpu_before = app.cpu.per_process()

    answers = spread(CHECKOUTS, lambda _: shop.pay().answer["result"])

    assert answers == ["CHARGE_ACTION_REQUIRED"] * CHECKOUTS
    workers = served_by_every_worker(worker_cpu_change(app, cpu_before))
    tokens = optty.stats()["token_requests"] - tokens_before
    record(
        "app_token_requests",
        tokens,
        f"{CHECKOUTS} transactionInitialize from {SENDERS} threads at once over {len(app.worker_pids())} gunicorn "
        f"workers (their CPU meanwhile: {workers}), from an emptied Redis",
    )


def test_jwks_fetches_per_thousand_webhooks(shop, saleor, app, record, request):
    webhooks = request.config.getoption("--bench-webhooks")
    fetched_before = saleor.jwks_requests
    cpu_before = app.cpu.per_process()

    answers = spread(webhooks, lambda _: bool(shop.gateway_initialize("80.00")["data"]["providers"]))

    assert all(answers)
    workers = served_by_every_worker(worker_cpu_change(app, cpu_before))
    fetched = saleor.jwks_requests - fetched_before
    record(
        "app_jwks_fetches",
        round(fetched * 1000 / webhooks, 2),
        f"{fetched} fetch(es) over {webhooks} signed PAYMENT_GATEWAY_INITIALIZE_SESSION webhooks on "
        f"{len(app.worker_pids())} workers (their CPU: {workers}); the App fetched it once, when Saleor installed it",
    )
