"""What the App stores: the Saleor instances that installed it, each channel's Optty
configuration, and, per payment, the attempt, its ledger and its audit trail.

The attempt, operation and notification fields are the plugin's
(:mod:`saleor_optty.shared.models`), so the ledger code is one; what differs is how an
attempt names Saleor's side: a transaction and the checkout or order it pays for.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from ..core.config import DEFAULT_REFERENCE_PREFIX, OpttyConfiguration
from ..shared.models import AttemptBase, NotificationBase, OperationBase
from .crypto import EncryptedTextField


class Installation(models.Model):
    """One Saleor instance that installed the App (an entry of app-sdk's "APL")."""

    #: Saleor's GraphQL endpoint, exactly as Saleor sends it in ``Saleor-Api-Url``.
    saleor_api_url = models.URLField(max_length=500, unique=True)
    #: The App's id in that Saleor (``{ app { id } }``): webhooks and Dashboard tokens must name it.
    app_id = models.CharField(max_length=255)
    #: The App's token for that Saleor; it never expires, and Saleor keeps only a hash of it.
    token = EncryptedTextField()
    #: ``Saleor-Schema-Version`` at registration (e.g. "3.20"); webhooks carry their own version.
    schema_version = models.CharField(max_length=16, blank=True, default="")
    #: Saleor's JWKS as last fetched, and when.
    jwks = models.JSONField(default=dict, blank=True)
    jwks_fetched_at = models.DateTimeField(null=True, blank=True)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("saleor_api_url",)

    def __str__(self) -> str:
        return self.saleor_api_url

    def __repr__(self) -> str:  # the token stays out of tracebacks and error trackers
        return f"<Installation {self.saleor_api_url} app={self.app_id}>"


class ChannelConfiguration(models.Model):
    """Optty's settings for one channel of one installation: the plugin's fields, plus
    the storefront origins a shopper may be sent back to."""

    ENVIRONMENTS = (("sandbox", "Sandbox"), ("production", "Production"))

    installation = models.ForeignKey(Installation, related_name="configurations", on_delete=models.CASCADE)
    channel_slug = models.CharField(max_length=255)
    environment = models.CharField(max_length=16, choices=ENVIRONMENTS, default="sandbox")
    client_id = models.CharField(max_length=255, blank=True, default="")
    client_secret = EncryptedTextField(blank=True, default="")
    payment_secret = EncryptedTextField(blank=True, default="")
    api_url = models.URLField(max_length=500, blank=True, default="")
    auth_url = models.URLField(max_length=500, blank=True, default="")
    optty_channel = models.CharField(max_length=255, blank=True, default="")
    #: Comma-separated allow-list of provider names; empty offers every provider Optty offers.
    providers = models.CharField(max_length=1000, blank=True, default="")
    auto_capture = models.BooleanField(default=True)
    supported_currencies = models.CharField(max_length=255, blank=True, default="")
    order_reference_prefix = models.CharField(max_length=16, blank=True, default=DEFAULT_REFERENCE_PREFIX)
    #: One origin per line (``https://shop.example.com``): where ``returnUrl`` may point.
    storefront_urls = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("installation", "channel_slug")
        constraints = [
            models.UniqueConstraint(fields=("installation", "channel_slug"), name="optty_app_one_config_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.installation.saleor_api_url} {self.channel_slug}"

    def __repr__(self) -> str:
        return f"<ChannelConfiguration {self.channel_slug} {self.environment} client_id={self.client_id}>"

    @property
    def optty(self) -> OpttyConfiguration:
        """The settings as the Optty side reads them (the plugin's type)."""
        return OpttyConfiguration.from_values(
            {
                "environment": self.environment,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "payment_secret": self.payment_secret,
                "api_url": self.api_url,
                "auth_url": self.auth_url,
                "optty_channel": self.optty_channel,
                "providers": self.providers,
                "auto_capture": self.auto_capture,
                "supported_currencies": self.supported_currencies,
                "order_reference_prefix": self.order_reference_prefix,
            }
        )

    @property
    def storefront_origins(self) -> tuple[str, ...]:
        return tuple(line.strip().rstrip("/") for line in self.storefront_urls.splitlines() if line.strip())


class SourceType(models.TextChoices):
    CHECKOUT = "checkout", "Checkout"
    ORDER = "order", "Order"


class ActionType(models.TextChoices):
    """What Saleor asked for; the App answers by its own auto-capture setting (see README)."""

    CHARGE = "CHARGE", "Charge"
    AUTHORIZATION = "AUTHORIZATION", "Authorization"


class Attempt(AttemptBase):
    """One Optty order made for one Saleor transaction."""

    installation = models.ForeignKey(Installation, related_name="attempts", on_delete=models.PROTECT)
    #: Saleor's ``TransactionItem`` (global id); Saleor re-sends the initialize webhook for
    #: the same transaction on every retry with one idempotency key, so it keys the attempt.
    transaction_id = models.CharField(max_length=255)
    #: The checkout or order being paid (global id).
    source_type = models.CharField(max_length=16, choices=SourceType.choices)
    source_id = models.CharField(max_length=255, db_index=True)
    action_type = models.CharField(max_length=16, choices=ActionType.choices)
    #: Where the shopper goes after the provider (an origin the channel allows).
    return_url = models.URLField(max_length=2048)
    #: The event type whose report Saleor has confirmed (``transactionEventReport``):
    #: "" until then. Anything else Saleor heard (a webhook's answer) may have been lost.
    reported = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("installation", "transaction_id"), name="optty_app_one_attempt_per_transaction")
        ]
        indexes = [
            models.Index(fields=("state", "created_at")),
            models.Index(fields=("finalised_at", "next_check_at")),
        ]


class Operation(OperationBase):
    attempt = models.ForeignKey(Attempt, related_name="operations", on_delete=models.CASCADE)
    #: Saleor's ``*_REQUEST`` event this operation answers (staff actions): a retried
    #: webhook for the same request finds it instead of moving money again.
    saleor_request_id = models.CharField(max_length=255, blank=True, default="", db_index=True)

    class Meta:
        ordering = ("created_at",)


class Notification(NotificationBase):
    class Meta:
        ordering = ("received_at",)


ModelT = TypeVar("ModelT", bound=models.Model)


def unique_or_none(model: type[ModelT], **lookup) -> ModelT | None:
    """The row a lookup on a unique key finds, or None.

    ``.filter(...).first()`` would order by primary key, and building that ORDER BY is
    about a third of such a query's CPU; every webhook makes two or three of these.
    """
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        return None
