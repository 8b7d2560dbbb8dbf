"""Read-only views for support staff, for Saleor deployments that mount Django's admin."""

import json

from django.contrib import admin

from ..optty.redact import audit_payload
from .models import OpttyNotification, OpttyOperation, OpttyOrder


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OperationInline(admin.TabularInline):
    model = OpttyOperation
    extra = 0
    can_delete = False
    readonly_fields = (
        "created_at", "kind", "reference", "amount", "currency", "status", "sends", "optty_id", "record_id",
        "in_saleor", "source", "error", "settled_at",
    )  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OpttyOrder)
class OpttyOrderAdmin(ReadOnlyAdmin):
    list_display = (
        "reference", "created_at", "channel_slug", "provider", "amount", "currency", "state", "resolution", "returning",
    )  # fmt: skip
    list_filter = ("state", "provider", "channel_slug")
    search_fields = ("reference", "checkout_token", "optty_order_id", "provider_reference")
    inlines = [OperationInline]


@admin.register(OpttyNotification)
class OpttyNotificationAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event", "reference", "outcome")
    list_filter = ("event",)
    search_fields = ("reference",)
    fields = readonly_fields = ("received_at", "event", "reference", "outcome", "kept_payload")

    @admin.display(description="Payload")
    def kept_payload(self, notification: OpttyNotification) -> str:
        # Filtered again: records written before the allow-list hold personal data.
        return json.dumps(audit_payload(notification.payload), sort_keys=True)
