"""The App's Celery tasks (see :mod:`saleor_optty.app.celery`)."""

from __future__ import annotations

from collections import Counter

from .celery import app


def reconcile_once() -> Counter[str] | None:
    """Reconcile every attempt that is due, once: how many ended in each status, or None
    when another run holds the lock (nothing was done)."""
    from .reconcile import reconcile_due  # needs Django's apps, loaded by the time a task runs

    results = reconcile_due()
    return None if results is None else Counter(result.status for result in results)


@app.task(name="saleor_optty.app.tasks.reconcile", ignore_result=True)
def reconcile() -> dict[str, int] | None:
    counts = reconcile_once()
    return None if counts is None else dict(counts)
