"""``GET /api/manifest``: what Saleor reads to install the App.

Saleor checks it when installing (``saleor/app/manifest_validations.py`` at 3.20.119;
plus the pydantic ``saleor/app/manifest_schema.py`` at 3.23.28): ``id``, ``version``,
``name`` and (before 3.23) ``tokenTargetUrl`` are required; URLs must be absolute;
``requiredSaleorVersion`` is an npm-style range read with the "natural" prerelease
policy (so ``3.24.0-a.0`` on Saleor's main satisfies ``>=3.20 <4``); the brand logo must
be a PNG URL, which Saleor then fetches and checks (``image/png``, square, at least
256 pixels); webhooks need ``name``, ``targetUrl`` and a valid subscription ``query``.

Every URL is built from ``settings.APP_URL`` (``OPTTY_APP_URL``), the App's public URL.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..__version__ import __version__
from ..consts import APP_ID, APP_NAME
from .saleor.subscriptions import WEBHOOKS

#: Saleor 3.20 and every later 3.x: the response rules of both are followed (see
#: :mod:`.saleor.responses`).
REQUIRED_SALEOR_VERSION = ">=3.20 <4"
#: HANDLE_PAYMENTS is all the App needs: the payment webhooks and ``transactionEventReport``
#: require it; ``{ app { id } }``, ``channels`` and ``appProblemCreate`` need only an App token.
PERMISSIONS = ("HANDLE_PAYMENTS",)
HOMEPAGE_URL = "https://github.com/saleor-optty/saleor-optty"
SUPPORT_URL = f"{HOMEPAGE_URL}/issues"
AUTHOR = "saleor-optty contributors"
ABOUT = (
    "Buy now, pay later through Optty: one integration for Klarna, Afterpay, Zip and more, "
    "on Saleor's Transactions API."
)
LOGO_FILE = Path(__file__).parent / "static" / "optty_app" / "logo.png"


def build_manifest(app_url: str) -> dict:
    """The manifest of the App served at ``app_url`` (its public URL, no trailing slash)."""
    app_url = app_url.rstrip("/")
    return {
        "id": APP_ID,
        "version": __version__,
        "name": APP_NAME,
        "about": ABOUT,
        "permissions": list(PERMISSIONS),
        "appUrl": app_url + reverse("configuration"),
        "tokenTargetUrl": app_url + reverse("register"),
        "requiredSaleorVersion": REQUIRED_SALEOR_VERSION,
        "author": AUTHOR,
        "brand": {"logo": {"default": app_url + reverse("brand-logo")}},
        "homepageUrl": HOMEPAGE_URL,
        "supportUrl": SUPPORT_URL,
        "webhooks": [
            {
                "name": spec.name,
                "targetUrl": f"{app_url}/{spec.path.lstrip('/')}",
                "query": spec.query,
                "syncEvents": [spec.event],
                "isActive": True,
            }
            for spec in WEBHOOKS
        ],
    }


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    return JsonResponse(build_manifest(settings.APP_URL))


@require_GET
def brand_logo(request: HttpRequest) -> FileResponse:
    """The logo the manifest names. Saleor takes only ``image/png``, a square of at
    least 256 pixels; it fetches it once after install."""
    response = FileResponse(LOGO_FILE.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response
