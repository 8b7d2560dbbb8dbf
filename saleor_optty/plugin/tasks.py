"""Celery tasks, found by Saleor's Celery app through Django's installed apps."""

from collections import Counter

from celery import shared_task

from . import reconcile
from .apps import RECONCILE_TASK
from .saleor_compat import allow_writer


# Named as before the plugin moved into its own package, so beat schedules keep working.
@shared_task(name=RECONCILE_TASK)
def reconcile_optty_orders() -> dict[str, int]:
    """Reconcile every Optty order that is due; safe to run any number of times, even at once."""
    # Saleor's tasks read from the replica unless told otherwise; this one locks and writes.
    with allow_writer():
        results = reconcile.reconcile(reconcile.due_attempts())
    if results is None:
        return {"already running": 1}
    return dict(Counter(result.status for result in results))
