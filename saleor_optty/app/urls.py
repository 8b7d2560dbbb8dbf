"""The App's URLs. Saleor and the Dashboard find them through the manifest; Optty
through the return and callback URLs the App gives it."""

from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import path
from django.views.static import serve

from . import manifest, optty_views, register
from .configuration import views as configuration_views
from .handlers import gateway_initialize, staff_actions, transaction_initialize, transaction_process
from .saleor.subscriptions import webhook_for


def health(request):
    return JsonResponse({"status": "ok"})


#: Saleor's webhooks, at the paths the manifest gives them.
SALEOR_WEBHOOKS = (
    gateway_initialize.gateway_initialize,
    transaction_initialize.transaction_initialize,
    transaction_process.transaction_process,
    staff_actions.charge_requested,
    staff_actions.refund_requested,
    staff_actions.cancelation_requested,
)


urlpatterns = [
    path("healthz", health, name="health"),
    # Installing into Saleor: the manifest, and where Saleor sends the App's token.
    path("api/manifest", manifest.manifest, name="manifest"),
    path("api/register", register.register, name="register"),
    path("brand/logo.png", manifest.brand_logo, name="brand-logo"),
    *(path(webhook_for(view.saleor_event).path, view) for view in SALEOR_WEBHOOKS),
    # Optty: the shopper's return, each order's callback, the merchant's webhook.
    path(optty_views.RETURN_PATH, optty_views.optty_return, name="optty-return"),
    path(f"{optty_views.CALLBACK_PATH}/<str:reference>/<str:key>", optty_views.order_callback, name="optty-callback"),
    path(f"{optty_views.WEBHOOKS_PATH}/<str:channel_slug>/<str:key>", optty_views.merchant_webhook, name="optty-webhooks"),
    # The Dashboard's iframe (the manifest's appUrl) and the API its script calls.
    path("configuration", configuration_views.page, name="configuration"),
    path("api/configuration", configuration_views.channels, name="configuration-api"),
    path("api/configuration/<str:channel_slug>", configuration_views.channel, name="configuration-channel-api"),
    # The page's script and style: two small files, served by Django so that the App
    # needs no static file server (nor collectstatic).
    path(
        "configuration/static/<path:path>",
        serve,
        {"document_root": Path(__file__).parent / "static" / "optty_app"},
        name="configuration-static",
    ),
]
if settings.ADMIN_ENABLED:
    urlpatterns.append(path("admin/", admin.site.urls))
