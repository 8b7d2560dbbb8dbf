"""Bench only: the App's URLs, plus the baseline of the duplicate-callback figure.

``bare_callback`` is routed like an order's callback, through the same middleware, and
answers after one lookup by the attempts' unique (indexed) reference: the least any
callback handler of this App costs. Optty's callback for an order already final,
measured against it, is what the App's own handling of a duplicate costs.
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from saleor_optty.app.models import Attempt
from saleor_optty.app.urls import urlpatterns as app_urlpatterns

#: As deep as the callbacks' own path (optty_views.CALLBACK_PATH), with the same two parameters.
BARE_CALLBACK_PATH = "api/optty/bench-bare-callback"


@csrf_exempt
@require_POST
def bare_callback(request, reference: str, key: str):
    found = Attempt.objects.filter(reference=reference).values_list("pk", flat=True).first()
    return JsonResponse({"status": "known" if found else "unknown"})


urlpatterns = [
    *app_urlpatterns,
    path(f"{BARE_CALLBACK_PATH}/<str:reference>/<str:key>", bare_callback, name="bench-bare-callback"),
]
