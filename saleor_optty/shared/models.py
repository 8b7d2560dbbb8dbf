"""The fields every adapter keeps about an Optty order, its operations and its audit trail.

Abstract: the plugin and the App each have concrete models in their own Django app (and
database), with the identifiers of the Saleor API they serve: a legacy payment and
checkout for the plugin, a transaction and its source object for the App. The ledger
code in :mod:`.operations` works on either, through these fields and the ``attempt``
foreign key and ``operations`` related name that every concrete operation model has.
"""

from decimal import Decimal

from django.db import models

from ..core.ledger import OperationKind, OperationStatus
from ..optty.money import quantize


class OpttyOrderState(models.TextChoices):
    """The verified state of an Optty order, as last confirmed with Optty's API."""

    CREATED = "created", "Created, shopper not yet back"
    PENDING = "pending", "Pending at the provider"
    SUCCESSFUL = "successful", "Successful"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


#: States that end an attempt without money: a later SUCCESSFUL at Optty is still looked for.
FAILURE_STATES = (OpttyOrderState.DECLINED, OpttyOrderState.CANCELLED, OpttyOrderState.FAILED)


class AttemptBase(models.Model):
    """One attempt to pay through Optty: one ``orderReference``."""

    reference = models.CharField(max_length=64, unique=True)
    channel_slug = models.CharField(max_length=255, db_index=True)

    provider = models.CharField(max_length=64)
    optty_order_id = models.CharField(max_length=128, blank=True, default="")
    optty_order_token = models.CharField(max_length=128, blank=True, default="")
    provider_reference = models.CharField(max_length=255, blank=True, default="")
    redirect_url = models.URLField(max_length=2048, blank=True, default="")

    amount = models.DecimalField(max_digits=20, decimal_places=3)
    currency = models.CharField(max_length=3)
    auto_capture = models.BooleanField(default=True)
    #: The rounding reconciliation added to make Optty's sum rule hold (0 when none).
    rounding_adjustment = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal(0))

    state = models.CharField(
        max_length=16, choices=OpttyOrderState.choices, default=OpttyOrderState.CREATED, db_index=True
    )
    #: What became of the money when no order could be made (voided, refunded, ...).
    resolution = models.CharField(max_length=255, blank=True, default="")
    #: Why Optty's money must go back (kept once it is back, as the record of why).
    returning = models.CharField(max_length=255, blank=True, default="")
    #: How much must go back (what Optty holds, which a mismatch makes differ from ``amount``).
    return_amount = models.DecimalField(max_digits=20, decimal_places=3, null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: When the outcome was carried out completely: Saleor shows it (the plugin: an order
    #: made), the money given back, or a refusal recorded. Until then reconciliation keeps looking.
    finalised_at = models.DateTimeField(null=True, blank=True)
    #: Optty said money moved (a refund callback) and its record could not be read then.
    sync_due = models.BooleanField(default=False)
    #: When reconciliation is to look at this attempt next, and how often it has looked.
    next_check_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.reference} ({self.provider}, {self.amount} {self.currency}, {self.state})"

    @property
    def money(self) -> Decimal:
        """``amount`` at its currency's precision (the column keeps three places for all)."""
        return quantize(self.amount, self.currency)

    @property
    def is_returning(self) -> bool:
        """Money that must go back has not gone back yet."""
        return bool(self.returning) and self.finalised_at is None


class OpttyOperationKind(models.TextChoices):
    CAPTURE = OperationKind.CAPTURE.value, "Capture"
    REFUND = OperationKind.REFUND.value, "Refund"
    VOID = OperationKind.VOID.value, "Void"


class OpttyOperationStatus(models.TextChoices):
    """See :mod:`saleor_optty.core.ledger`: requested, then succeeded, failed or unknown."""

    REQUESTED = OperationStatus.REQUESTED.value, "Requested, not yet answered"
    SUCCEEDED = OperationStatus.SUCCEEDED.value, "Succeeded"
    FAILED = OperationStatus.FAILED.value, "Failed"
    UNKNOWN = OperationStatus.UNKNOWN.value, "Outcome unknown, being confirmed with Optty"


class OperationBase(models.Model):
    """The ledger: a capture, refund or void, written before it is sent to Optty, or
    reported by Optty (a refund made in its portal). Concrete models add ``attempt``, a
    foreign key to their attempt model with ``related_name="operations"``."""

    kind = models.CharField(max_length=16, choices=OpttyOperationKind.choices)
    #: Our unique reference for the operation (captureReference, voidReference, refundReference).
    reference = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=3)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=OpttyOperationStatus.choices, default=OpttyOperationStatus.REQUESTED, db_index=True
    )
    #: Optty's id in its answer to the operation (e.g. the provider's refund id).
    optty_id = models.CharField(max_length=128, blank=True, default="")
    #: The id of the entry in Optty's /details that accounts for this operation, once matched.
    record_id = models.CharField(max_length=128, blank=True, default="")
    #: Where the operation came from: "dashboard" (staff, through Saleor), "plugin" or
    #: "app" (money the adapter gives back on its own), or "optty" (found in Optty's
    #: record and made by nobody here: a refund in Optty's portal).
    source = models.CharField(max_length=16, default="dashboard")
    error = models.CharField(max_length=300, blank=True, default="")
    #: How many times it was sent: more than once only by a staff retry of an unsettled one.
    sends = models.PositiveSmallIntegerField(default=0)
    #: Whether Saleor already shows it; settled operations not yet shown are reported to
    #: Saleor by whoever settles them.
    in_saleor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.amount} {self.currency} ({self.status})"

    @property
    def money(self) -> Decimal:
        """``amount`` at its currency's precision (the column keeps three places for all)."""
        return quantize(self.amount, self.currency)

    @property
    def succeeded(self) -> bool:
        return self.status == OpttyOperationStatus.SUCCEEDED

    @property
    def settled(self) -> bool:
        return OperationStatus(self.status).is_settled


class NotificationBase(models.Model):
    """The audit trail: every return, callback and reconciliation handled."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: "return", "ORDER_ASYNC_CALLBACK", "ORDER_STATUS_UPDATE", "REFUND_CALLBACK", "reconcile", ...
    event = models.CharField(max_length=64)
    reference = models.CharField(max_length=64, blank=True, default="", db_index=True)
    outcome = models.CharField(max_length=255)
    #: The payload with secrets and personal data removed (:func:`saleor_optty.optty.redact.audit_payload`).
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.event} {self.reference}: {self.outcome}"
