"""Carrying out outcomes that never arrived, and settling what was left open, for the App.

Run by ``saleor-optty-app reconcile`` (cron) and the Celery beat task
(:mod:`saleor_optty.app.tasks`). Which attempts are due, the backoff, isolation and
one run at a time are :mod:`saleor_optty.shared.reconciliation`'s, as for the plugin;
each attempt is carried out through :mod:`saleor_optty.app.transitions`: outcomes Optty
has and Saleor lacks are reported, money no order accounts for goes back, operations
whose answer was lost are settled from Optty's record, reports Saleor did not take are
sent again.
"""

from __future__ import annotations

from datetime import timedelta

from ..shared import reconciliation
from ..shared.reconciliation import DEFAULT_MAX_AGE, DEFAULT_MIN_AGE, Reconciled
from . import transitions
from .models import Attempt, Notification
from .tenants import attempt_configuration, optty_client

#: The PostgreSQL advisory lock (or cache key) that keeps two runs from overlapping.
RUN_LOCK = "saleor_optty.app.reconcile"


def due_attempts(*, min_age: timedelta = DEFAULT_MIN_AGE, max_age: timedelta = DEFAULT_MAX_AGE):
    return reconciliation.due_attempts(Attempt, min_age=min_age, max_age=max_age).select_related("installation")


def reconcile(attempts, *, read_record: bool = False) -> list[Reconciled] | None:
    """Reconcile each attempt; None when another run holds the lock (nothing was done)."""
    return reconciliation.run(
        attempts,
        lambda attempt: _reconcile_one(attempt, read_record=read_record),
        audit_model=Notification,
        lock_name=RUN_LOCK,
    )


def reconcile_due() -> list[Reconciled] | None:
    """One run over every attempt that is due now."""
    return reconcile(due_attempts())


def _reconcile_one(attempt: Attempt, *, read_record: bool) -> Reconciled:
    configuration = attempt_configuration(attempt)
    if configuration is None:
        return Reconciled(attempt.reference, "skipped", f"channel {attempt.channel_slug} has no Optty configuration")
    return reconciliation.reconcile_attempt(transitions, optty_client(configuration), attempt, read_record=read_record)
