"""Carrying out outcomes that never arrived, and settling what was left open.

Run by ``manage.py optty_reconcile`` and the ``reconcile_optty_orders`` Celery task.
Each run takes the attempts that are due and, for each one on its own:

- settles operations whose answer was lost, and shows Saleor what Optty's record has
  that Saleor's lacks (refunds made in Optty's portal included);
- gives back money that must go back and has not yet;
- asks Optty for the outcome of an attempt that is not final (no return, no callback;
  or paid without an order) and hands it to :func:`saleor_optty.transitions.apply`,
  the same transition the return and the callbacks use;
- re-checks an order Optty once said it never stored, in case it turns up paid.

Attempts are looked at on a backoff schedule, not every run. One whose outcome is not
known stops being looked at after :data:`DEFAULT_MAX_AGE` (an abandoned cart); one that
holds money (paid without an order, money still to give back, an operation unsettled)
never does. One attempt failing never stops the others, and two runs never overlap.
"""

from __future__ import annotations

from datetime import timedelta

from ..shared import reconciliation
from ..shared.reconciliation import DEFAULT_MAX_AGE, DEFAULT_MIN_AGE, Reconciled
from . import saleor_compat as saleor
from . import transitions
from .models import OpttyNotification, OpttyOrder

__all__ = ["DEFAULT_MAX_AGE", "DEFAULT_MIN_AGE", "Reconciled", "due_attempts", "reconcile"]

#: The PostgreSQL advisory lock (or cache key) that keeps two runs from overlapping.
RUN_LOCK = "saleor_optty.reconcile"


def due_attempts(*, min_age: timedelta = DEFAULT_MIN_AGE, max_age: timedelta = DEFAULT_MAX_AGE):
    """The attempts to look at now, those waiting longest first."""
    return reconciliation.due_attempts(OpttyOrder, min_age=min_age, max_age=max_age)


def reconcile(attempts, *, read_record: bool = False) -> list[Reconciled] | None:
    """Reconcile each attempt; None when another run holds the lock (nothing was done).

    ``read_record`` reads Optty's record of every paid attempt, to find refunds made in
    Optty's portal that no callback reported; otherwise only of those known to need it.
    """
    return reconciliation.run(
        attempts,
        lambda attempt: _reconcile_one(attempt, read_record=read_record),
        audit_model=OpttyNotification,
        lock_name=RUN_LOCK,
    )


def _reconcile_one(attempt: OpttyOrder, *, read_record: bool) -> Reconciled:
    plugin = saleor.active_plugin(attempt.channel_slug)
    if plugin is None:
        return Reconciled(attempt.reference, "skipped", f"Optty is not active in channel {attempt.channel_slug}")
    return reconciliation.reconcile_attempt(transitions, plugin.client, attempt, read_record=read_record)
