"""What the plugin remembers about each Optty order, operation and notification.

The fields are :mod:`saleor_optty.shared.models`'s, shared with the App. Saleor's
identifiers (payment, checkout, order) are plain indexed fields rather than foreign
keys, so these migrations never depend on Saleor's migration history and an audit
record outlives a deleted checkout.
"""

from django.db import models

from ..shared.models import (
    AttemptBase,
    NotificationBase,
    OperationBase,
    OpttyOperationKind,
    OpttyOperationStatus,
    OpttyOrderState,
)

__all__ = [
    "OpttyNotification",
    "OpttyOperation",
    "OpttyOperationKind",
    "OpttyOperationStatus",
    "OpttyOrder",
    "OpttyOrderState",
]


class OpttyOrder(AttemptBase):
    """One attempt to pay a checkout through Optty: one ``orderReference``."""

    checkout_token = models.CharField(max_length=36, db_index=True)
    #: Saleor's payment; the order it paid for is ``Payment.order``.
    payment_id = models.BigIntegerField(db_index=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=("state", "created_at")),
            models.Index(fields=("finalised_at", "next_check_at")),
        ]


class OpttyOperation(OperationBase):
    attempt = models.ForeignKey(OpttyOrder, related_name="operations", on_delete=models.CASCADE)

    class Meta:
        ordering = ("created_at",)


class OpttyNotification(NotificationBase):
    class Meta:
        ordering = ("received_at",)
