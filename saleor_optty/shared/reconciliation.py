"""When and how often attempts are looked at again, for both adapters.

Each adapter reconciles one attempt its own way (the plugin through Saleor's payment
and checkout code, the App through ``transactionEventReport``); this module decides
which attempts are due, isolates each one, schedules the next look on a backoff, and
keeps two runs from overlapping.

An attempt whose outcome is not known stops being looked at after
:data:`DEFAULT_MAX_AGE` (an abandoned cart); one that holds money (paid and not yet
final, money still to give back, an operation unsettled, a settled one Saleor does not
show yet, Optty's record to read again) never does. One attempt failing never stops
the others, and waits longer before its next look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from zlib import crc32

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..core.ledger import REQUESTED_GRACE
from ..optty import OpttyClient, OpttyError, OpttyNotFoundError
from .models import AttemptBase, NotificationBase, OpttyOperationStatus, OpttyOrderState
from .operations import UNSETTLED

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
#: The resolution of an attempt Optty said it never stored (a 404): re-checked until it ages out.
UNKNOWN_TO_OPTTY = "Optty has no such order"


@dataclass(frozen=True)
class Reconciled:
    reference: str
    status: str
    message: str


def due_attempts(
    model: type[AttemptBase], *, min_age: timedelta = DEFAULT_MIN_AGE, max_age: timedelta = DEFAULT_MAX_AGE
) -> QuerySet:
    """The attempts of ``model`` to look at now, those waiting longest first."""
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
    never_stored = Q(state=OpttyOrderState.FAILED, resolution=UNKNOWN_TO_OPTTY, created_at__gte=now - max_age)
    due_now = Q(next_check_at__lte=now) | Q(next_check_at__isnull=True, created_at__lte=now - min_age)
    ids = model.objects.filter((holds_money | outcome_unknown | never_stored) & due_now).values("pk")
    return model.objects.filter(pk__in=ids).order_by("next_check_at", "created_at")


def record_needed(attempt: AttemptBase) -> bool:
    """Whether only Optty's record (``/details``) can settle something: a lost answer, a
    refund Optty reported that could not be read, or a settled operation Saleor does not
    show yet."""
    return attempt.sync_due or attempt.operations.filter(
        Q(status__in=UNSETTLED) | Q(status=OpttyOperationStatus.SUCCEEDED, in_saleor=False)
    ).exists()


def reconcile_attempt(transitions, client: OpttyClient, attempt: AttemptBase, *, read_record: bool = False) -> Reconciled:
    """Look at one attempt again, through the adapter's ``transitions`` (see
    :class:`saleor_optty.shared.callbacks.Transitions`, plus ``record_unknown_to_optty``).

    Settles what only Optty's record can settle (``read_record`` reads it for every paid
    attempt, to find refunds made in Optty's portal that no callback reported), gives back
    money still to go back, and otherwise asks Optty for the outcome and carries it out,
    a refusal or an order Optty never stored included.
    """
    try:
        if attempt.state == OpttyOrderState.SUCCESSFUL and (read_record or record_needed(attempt)):
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


def run(
    attempts: Iterable[AttemptBase],
    reconcile_one: Callable[[AttemptBase], Reconciled],
    *,
    audit_model: type[NotificationBase],
    lock_name: str,
) -> list[Reconciled] | None:
    """Reconcile each attempt with ``reconcile_one``; None when another run holds the lock
    (nothing was done)."""
    with _single_run(lock_name) as running:
        if not running:
            logger.info("Optty reconciliation is already running elsewhere; this run does nothing.")
            return None
        results = []
        for attempt in attempts:
            result = _isolated(attempt, reconcile_one)
            results.append(result)
            audit_model.objects.create(
                event="reconcile", reference=result.reference, outcome=f"{result.status}: {result.message}"[:255]
            )
        return results


def _isolated(attempt: AttemptBase, reconcile_one: Callable[[AttemptBase], Reconciled]) -> Reconciled:
    try:
        result = reconcile_one(attempt)
    except Exception as error:  # noqa: BLE001 - one attempt must not stop the others
        logger.exception("Reconciling Optty order %s failed.", attempt.reference)
        result = Reconciled(attempt.reference, "error", f"{type(error).__name__}: {str(error)[:200]}")
    _schedule_next_check(attempt)
    return result


def _schedule_next_check(attempt: AttemptBase) -> None:
    attempt.refresh_from_db()
    holds_money = attempt.state == OpttyOrderState.SUCCESSFUL or attempt.operations.filter(status__in=UNSETTLED).exists()
    cap = MONEY_RETRY_CAP if holds_money else UNPAID_RETRY_CAP
    wait = min(FIRST_RETRY * 2 ** min(attempt.checks, 16), cap)
    type(attempt).objects.filter(pk=attempt.pk).update(next_check_at=timezone.now() + wait, checks=attempt.checks + 1)


class _single_run:
    """At most one reconciliation of a kind at a time, across processes and hosts.

    PostgreSQL's session advisory lock is released even if the process dies; other
    databases fall back to a cache key, which a dead process leaves for its timeout.
    """

    def __init__(self, name: str):
        self._name = name

    def __enter__(self) -> bool:
        self._postgres = connection.vendor == "postgresql"
        if self._postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [crc32(self._name.encode())])
                self._held = bool(cursor.fetchone()[0])
        else:
            self._held = cache.add(f"{self._name}:running", True, timeout=3600)
        return self._held

    def __exit__(self, *exc_info) -> None:
        if not self._held:
            return
        if self._postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [crc32(self._name.encode())])
        else:
            cache.delete(f"{self._name}:running")
