"""``POST /api/register``: where Saleor hands the App its token while installing it
(the manifest's ``tokenTargetUrl``).

Saleor (``send_app_token`` in ``saleor/app/installation_utils.py``, 3.20.119 and
3.23.28) POSTs ``{"auth_token": "..."}`` with ``Saleor-Api-Url``, ``Saleor-Domain`` and
``Saleor-Schema-Version``. Any 2xx answer installs the App; anything else fails the
install, and Saleor shows the installer ``error.message`` from the body
(``validate_app_install_response``). So every refusal says what to do.

The token is checked at once with ``{ app { id } }``, which also gives the App id that
webhooks and Dashboard tokens must name; then Saleor's JWKS is fetched; only then is
the :class:`~saleor_optty.app.models.Installation` stored (updated on a reinstall:
Saleor gives a reinstalled App a new id and token, and its old transactions keep
reaching the App by the manifest id).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .models import Installation
from .saleor.client import SaleorClient, SaleorError
from .saleor.jwks import JWKSError, fetch_jwks

logger = logging.getLogger(__name__)

class RegisterRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@csrf_exempt
def register(request: HttpRequest) -> JsonResponse:
    try:
        if request.method != "POST":
            raise RegisterRefused(405, "METHOD_NOT_ALLOWED", "Saleor sends the App's token with a POST request.")
        api_url = _allowed_api_url(request.headers.get("Saleor-Api-Url", "").strip())
        token = _auth_token(request.body)
        app_id, jwks = _check_with_saleor(api_url, token)
    except RegisterRefused as refusal:
        logger.warning("Refused to register with %r: %s", request.headers.get("Saleor-Api-Url", "")[:200], refusal.message)
        response = JsonResponse(
            {"success": False, "error": {"code": refusal.code, "message": refusal.message}}, status=refusal.status
        )
        if refusal.status == 405:
            response["Allow"] = "POST"
        return response

    installation, created = Installation.objects.update_or_create(
        saleor_api_url=api_url,
        defaults={
            "app_id": app_id,
            "token": token,
            "schema_version": request.headers.get("Saleor-Schema-Version", "").strip()[:16],
            "jwks": jwks,
            "jwks_fetched_at": timezone.now(),
        },
    )
    logger.info(
        "%s into Saleor %s as App %s (schema %s)",
        "Installed" if created else "Reinstalled",
        api_url,
        app_id,
        installation.schema_version or "unknown",
    )
    return JsonResponse({"success": True})


def _allowed_api_url(api_url: str) -> str:
    if not api_url:
        raise RegisterRefused(400, "MISSING_SALEOR_API_URL", "The request names no Saleor (Saleor-Api-Url header).")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegisterRefused(400, "INVALID_SALEOR_API_URL", f"Saleor-Api-Url {api_url!r} is not an http(s) URL.")
    allowed = [url.strip().rstrip("/") for url in settings.ALLOWED_SALEOR_URLS]
    if allowed and api_url.rstrip("/") not in allowed:
        raise RegisterRefused(
            403,
            "SALEOR_URL_PROHIBITED",
            f"This Optty App accepts installs only from the Saleor API URLs in its OPTTY_APP_ALLOWED_SALEOR_URLS "
            f"setting. To install it into this Saleor, add {api_url} to that comma-separated list where the App "
            "runs, restart the App, and install again.",
        )
    return api_url


def _auth_token(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    token = data.get("auth_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise RegisterRefused(400, "MISSING_AUTH_TOKEN", 'The body must be JSON {"auth_token": "<the App\'s token>"}.')
    return token.strip()


def _check_with_saleor(api_url: str, token: str) -> tuple[str, dict]:
    """The App's id (asking Saleor with the token) and Saleor's JWKS."""
    with SaleorClient(api_url, token) as client:
        try:
            app_id = client.app_id()
        except SaleorError as error:
            if error.retryable:
                raise RegisterRefused(
                    502,
                    "SALEOR_UNREACHABLE",
                    f"The Optty App could not reach Saleor at {api_url} to check its token ({error.message}). "
                    "Saleor's public URL must be reachable from where the App runs.",
                ) from None
            raise RegisterRefused(
                401,
                "UNKNOWN_APP_ID",
                f"Saleor at {api_url} did not accept the token it sent ({error.message}). "
                "Install the App again; if it persists, check that the App is active in Saleor.",
            ) from None
    try:
        jwks = fetch_jwks(api_url)
    except JWKSError as error:
        raise RegisterRefused(
            502,
            "JWKS_NOT_AVAILABLE",
            f"{error} The App needs Saleor's signing keys to verify its webhooks; "
            "check that Saleor serves /.well-known/jwks.json at its public URL.",
        ) from None
    return app_id, jwks
