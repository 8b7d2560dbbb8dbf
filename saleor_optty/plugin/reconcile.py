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

import logging
from dataclasses import dataclass
from datetime import timedelta
from zlib import crc32

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import transitions
from ..shared import operations
from . import saleor_compat as saleor
from ..core.ledger import REQUESTED_GRACE
from .models import OpttyNotification, OpttyOperationStatus, OpttyOrder, OpttyOrderState
from ..optty import OpttyError, OpttyNotFoundError

logger = logging.getLogger(__name__)

#: Long enough for the shopper's return and Optty's callbacks to have come first.
DEFAULT_MIN_AGE = timedelta(minutes=15)
#: Optty gives up on unfinished orders well before this; older unpaid attempts are abandoned carts.
DEFAULT_MAX_AGE = timedelta(days=7)
#: The wait after the n-th look is FIRST_RETRY × 2ⁿ, up to a cap.
FIRST_RETRY = timedelta(minutes=5)
#: Attempts that hold money are looked at at least this often, forever.
MONEY_RETRY_CAP = timedelta(hours=1)
UNPAID_RETRY_CAP = timedelta(hours=6)
_RUN_LOCK = crc32(b"saleor_optty.reconcile")


@dataclass(frozen=True)
class Reconciled:
    reference: str
    status: str
    message: str


def due_attempts(*, min_age: timedelta = DEFAULT_MIN_AGE, max_age: timedelta = DEFAULT_MAX_AGE):
    """The attempts to look at now, those waiting longest first."""
    now = timezone.now()
    unsettled = Q(operations__status=OpttyOperationStatus.UNKNOWN) | Q(
        operations__status=OpttyOperationStatus.REQUESTED, operations__created_at__lte=now - REQUESTED_GRACE
    )
    holds_money = (
        Q(state=OpttyOrderState.SUCCESSFUL, finalised_at__isnull=True)
        | unsettled
        | Q(operations__status=OpttyOperationStatus.SUCCEEDED, operations__in_saleor=False)
        | Q(sync_due=True)
    )
    outcome_unknown = Q(finalised_at__isnull=True, created_at__gte=now - max_age)
    never_stored = Q(state=OpttyOrderState.FAILED, resolution=transitions.UNKNOWN_TO_OPTTY, created_at__gte=now - max_age)
    due_now = Q(next_check_at__lte=now) | Q(next_check_at__isnull=True, created_at__lte=now - min_age)
    ids = OpttyOrder.objects.filter((holds_money | outcome_unknown | never_stored) & due_now).values("pk")
    return OpttyOrder.objects.filter(pk__in=ids).order_by("next_check_at", "created_at")


def reconcile(attempts, *, read_record: bool = False) -> list[Reconciled] | None:
    """Reconcile each attempt; None when another run holds the lock (nothing was done).

    ``read_record`` reads Optty's record of every paid attempt, to find refunds made in
    Optty's portal that no callback reported; otherwise only of those known to need it.
    """
    with _single_run() as running:
        if not running:
            logger.info("Optty reconciliation is already running elsewhere; this run does nothing.")
            return None
        results = []
        for attempt in attempts:
            result = _reconcile_isolated(attempt, read_record=read_record)
            results.append(result)
            OpttyNotification.objects.create(
                event="reconcile", reference=result.reference, outcome=f"{result.status}: {result.message}"[:255]
            )
        return results


def _reconcile_isolated(attempt: OpttyOrder, *, read_record: bool) -> Reconciled:
    try:
        result = _reconcile_one(attempt, read_record=read_record)
    except Exception as error:  # noqa: BLE001 - one attempt must not stop the others
        logger.exception("Reconciling Optty order %s failed.", attempt.reference)
        result = Reconciled(attempt.reference, "error", f"{type(error).__name__}: {str(error)[:200]}")
    _schedule_next_check(attempt)
    return result


def _reconcile_one(attempt: OpttyOrder, *, read_record: bool) -> Reconciled:
    plugin = saleor.active_plugin(attempt.channel_slug)
    if plugin is None:
        return Reconciled(attempt.reference, "skipped", f"Optty is not active in channel {attempt.channel_slug}")
    client = plugin.client
    try:
        if attempt.state == OpttyOrderState.SUCCESSFUL and (read_record or _record_needed(attempt)):
            settled = transitions.sync_with_optty(client, attempt)
            if settled.settled or settled.foreign_refunds:
                logger.info(
                    "Optty order %s: %d operation(s) settled, %d refund(s) from Optty recorded.",
                    attempt.reference, len(settled.settled), len(settled.foreign_refunds),
                )  # fmt: skip
        attempt.refresh_from_db()
        if attempt.is_returning:
            outcome = transitions.give_back(client, attempt)
            if outcome is None:
                return Reconciled(attempt.reference, "retry", f"still returning: {attempt.returning}")
        else:
            outcome = transitions.check_and_apply(client, attempt, source="reconcile", recheck_failure=True)
    except OpttyNotFoundError:
        # The create call failed before Optty stored anything: nothing can be paid (re-checked later).
        return Reconciled(attempt.reference, "error", transitions.record_unknown_to_optty(attempt))
    except OpttyError as error:
        logger.warning("Could not reconcile Optty order %s: %s", attempt.reference, error)
        return Reconciled(attempt.reference, "retry", error.message)
    return Reconciled(attempt.reference, outcome.status, outcome.message)


def _record_needed(attempt: OpttyOrder) -> bool:
    """Whether only Optty's record can settle something: a lost answer, a refund Optty
    reported that could not be read, or a settled operation Saleor does not show yet."""
    return attempt.sync_due or attempt.operations.filter(
        Q(status__in=operations.UNSETTLED) | Q(status=OpttyOperationStatus.SUCCEEDED, in_saleor=False)
    ).exists()


def _schedule_next_check(attempt: OpttyOrder) -> None:
    attempt.refresh_from_db()
    holds_money = attempt.state == OpttyOrderState.SUCCESSFUL or attempt.operations.filter(
        status__in=operations.UNSETTLED
    ).exists()
    cap = MONEY_RETRY_CAP if holds_money else UNPAID_RETRY_CAP
    wait = min(FIRST_RETRY * 2 ** min(attempt.checks, 16), cap)
    OpttyOrder.objects.filter(pk=attempt.pk).update(next_check_at=timezone.now() + wait, checks=attempt.checks + 1)


class _single_run:
    """At most one reconciliation at a time, across processes and hosts.

    PostgreSQL's session advisory lock is released even if the process dies; other
    databases fall back to a cache key, which a dead process leaves for its timeout.
    """

    def __enter__(self) -> bool:
        self._postgres = connection.vendor == "postgresql"
        if self._postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [_RUN_LOCK])
                self._held = bool(cursor.fetchone()[0])
        else:
            self._held = cache.add("saleor_optty:reconcile-running", True, timeout=3600)
        return self._held

    def __exit__(self, *exc_info) -> None:
        if not self._held:
            return
        if self._postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_RUN_LOCK])
        else:
            cache.delete("saleor_optty:reconcile-running")
