"""Applying outcomes that never arrived: the shopper closed the tab and no callback came.

Run by ``manage.py optty_reconcile`` and the ``reconcile_optty_orders`` Celery task.
Both ask Optty for each order left unfinalised longer than a threshold and hand the
answer to :func:`saleor_optty.transitions.apply`, the same transition the return and
the callbacks use. A finalised attempt is never touched again, so running twice
changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from . import saleor_compat as saleor
from . import transitions
from .models import OpttyNotification, OpttyOrder
from .optty import OpttyError, OpttyNotFoundError

logger = logging.getLogger(__name__)

#: Long enough for the shopper's return and Optty's callbacks to have come first.
DEFAULT_MIN_AGE = timedelta(minutes=15)
#: Optty gives up on unfinished orders well before this; older attempts are abandoned carts.
DEFAULT_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class Reconciled:
    reference: str
    status: str
    message: str


def stale_attempts(min_age: timedelta = DEFAULT_MIN_AGE, max_age: timedelta = DEFAULT_MAX_AGE):
    now = timezone.now()
    return OpttyOrder.objects.filter(
        finalised_at__isnull=True, created_at__lte=now - min_age, created_at__gte=now - max_age
    ).order_by("created_at")


def reconcile(attempts) -> list[Reconciled]:
    results = [_reconcile_one(attempt) for attempt in attempts]
    for result in results:
        OpttyNotification.objects.create(
            event="reconcile", reference=result.reference, outcome=f"{result.status}: {result.message}"[:255]
        )
    return results


def _reconcile_one(attempt: OpttyOrder) -> Reconciled:
    plugin = saleor.active_plugin(attempt.channel_slug)
    if plugin is None:
        return Reconciled(attempt.reference, "skipped", f"Optty is not active in channel {attempt.channel_slug}")
    try:
        outcome = transitions.check_and_apply(plugin.client, attempt.reference, source="reconcile")
    except OpttyNotFoundError:
        # The create call failed before Optty stored anything: nothing can ever be paid.
        message = transitions.record_unknown_to_optty(attempt)
        return Reconciled(attempt.reference, "error", message)
    except OpttyError as error:
        logger.warning("Could not reconcile Optty order %s: %s", attempt.reference, error)
        return Reconciled(attempt.reference, "retry", error.message)
    return Reconciled(attempt.reference, outcome.status, outcome.message)
