"""The App's URLs. Saleor and the Dashboard find them through the manifest; Optty
through the return and callback URLs the App gives it."""

from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import path


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", health, name="health"),
]
if settings.ADMIN_ENABLED:
    urlpatterns.append(path("admin/", admin.site.urls))
