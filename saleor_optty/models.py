"""What the plugin remembers about each Optty order, operation and notification.

Saleor's identifiers (payment, checkout, order) are plain indexed fields rather than
foreign keys, so these migrations never depend on Saleor's migration history and an
audit record outlives a deleted checkout.
"""

from decimal import Decimal

from django.db import models


class OpttyOrderState(models.TextChoices):
    """The verified state of an Optty order, as last confirmed with Optty's API."""

    CREATED = "created", "Created, shopper not yet back"
    PENDING = "pending", "Pending at the provider"
    SUCCESSFUL = "successful", "Successful"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class OpttyOrder(models.Model):
    """One attempt to pay a checkout through Optty: one ``orderReference``."""

    reference = models.CharField(max_length=64, unique=True)
    channel_slug = models.CharField(max_length=255, db_index=True)
    checkout_token = models.CharField(max_length=36, db_index=True)
    #: Saleor's payment; the order it paid for is ``Payment.order``.
    payment_id = models.BigIntegerField(db_index=True)

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

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: When a final state was applied to Saleor.
    finalised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("state", "created_at"))]

    def __str__(self) -> str:
        return f"{self.reference} ({self.provider}, {self.amount} {self.currency}, {self.state})"


class OpttyOperationKind(models.TextChoices):
    CAPTURE = "capture", "Capture"
    REFUND = "refund", "Refund"
    VOID = "void", "Void"


class OpttyOperation(models.Model):
    """A capture, refund or void sent to Optty, or reported by it."""

    order = models.ForeignKey(OpttyOrder, related_name="operations", on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=OpttyOperationKind.choices)
    #: Our unique reference for the operation (captureReference, voidReference, refundReference).
    reference = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=3)
    currency = models.CharField(max_length=3)
    succeeded = models.BooleanField(default=False)
    optty_id = models.CharField(max_length=128, blank=True, default="")
    #: Where the operation came from: "dashboard", "optty" (portal/callback), "plugin".
    source = models.CharField(max_length=16, default="dashboard")
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.amount} {self.currency}"


class OpttyNotification(models.Model):
    """The audit trail: every return, callback and reconciliation the plugin handled."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: "return", "ORDER_ASYNC_CALLBACK", "ORDER_STATUS_UPDATE", "REFUND_CALLBACK", "reconcile", ...
    event = models.CharField(max_length=64)
    reference = models.CharField(max_length=64, blank=True, default="", db_index=True)
    outcome = models.CharField(max_length=255)
    #: The payload with secrets and personal data removed.
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("received_at",)

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.event} {self.reference}: {self.outcome}"
