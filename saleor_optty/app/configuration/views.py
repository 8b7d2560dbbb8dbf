"""The configuration page Saleor's Dashboard shows in its iframe (the manifest's
``appUrl``), and the JSON API the page's script calls with the Dashboard's token.

The page itself holds nothing: it is the same for everyone, and it shows a channel's
configuration only once the Dashboard has handed it a token (AppBridge) that the API
verifies against the installing Saleor: RS256 over Saleor's JWKS, not expired, naming
this App, for a user holding MANAGE_APPS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ...core.config import FIELD_TEXT
from ..models import ChannelConfiguration, Installation
from ..saleor.client import SaleorClient, SaleorError
from ..saleor.dashboard import DashboardTokenError, verify_dashboard_token
from . import service

REQUIRED_PERMISSIONS = ("MANAGE_APPS",)

#: The page runs only its own script and calls only its own API. Framing is open to any
#: site on purpose: the page is inert without a token that only the Dashboard of a Saleor
#: that installed the App can give (and the App verifies), it uses no cookies, so a
#: site framing it can neither read nor change anything; and the Dashboard's origin is
#: not known in advance (self-hosted Dashboards live anywhere).
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors *"
)


@xframe_options_exempt  # the Dashboard shows it in an iframe; PAGE_POLICY says who may
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "optty_app/configuration.html",
        {"fields": service.FIELDS, "callback_field": FIELD_TEXT["callback_url"]},
    )
    response["Content-Security-Policy"] = PAGE_POLICY
    return response


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def dashboard_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs ``view(request, installation, ...)`` for a request carrying a Dashboard token
    that the installing Saleor signed for a user holding MANAGE_APPS; 401 or 403 otherwise."""

    # Exempt from CSRF checks: these views read no cookie and no session; each request is
    # authorised by the token in its `authorization-bearer` header, which a cross-site
    # form cannot send.
    @csrf_exempt
    @wraps(view)
    def authorised(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = request.headers.get("authorization-bearer", "")
        saleor_api_url = request.headers.get("saleor-api-url", "")
        if not token or not saleor_api_url:
            return _error(401, "Open this page from Saleor's Dashboard: Apps → Optty.")
        installation = Installation.objects.filter(saleor_api_url=saleor_api_url).first()
        if installation is None:
            return _error(401, "This Saleor has not installed the App; install it from its manifest first.")
        try:
            verify_dashboard_token(token, installation, required_permissions=REQUIRED_PERMISSIONS)
        except DashboardTokenError as error:
            return _error(error.status, error.message)
        return view(request, installation, *args, **kwargs)

    return authorised


@require_GET
@dashboard_api
def channels(request: HttpRequest, installation: Installation) -> HttpResponse:
    """Saleor's channels, each marked configured or not."""
    listed = _saleor_channels(installation)
    if isinstance(listed, HttpResponse):
        return listed
    configured = set(installation.configurations.values_list("channel_slug", flat=True))
    return JsonResponse(
        {"channels": [{**channel, "configured": channel["slug"] in configured} for channel in listed.values()]}
    )


@require_http_methods(["GET", "POST"])
@dashboard_api
def channel(request: HttpRequest, installation: Installation, channel_slug: str) -> HttpResponse:
    """GET: the channel's configuration, secrets masked; POST (JSON, the fields to change):
    checked and saved, or 400 with the problems per field."""
    listed = _saleor_channels(installation)
    if isinstance(listed, HttpResponse):
        return listed
    if channel_slug not in listed:
        return _error(404, f"Saleor has no channel {channel_slug!r}.")
    if request.method == "GET":
        configuration = service.load(installation, channel_slug)
        if configuration is None:
            # A new channel's defaults, starting from the channel's own currency.
            configuration = ChannelConfiguration(
                installation=installation,
                channel_slug=channel_slug,
                supported_currencies=listed[channel_slug]["currency"],
            )
            return _configuration(configuration, configured=False)
        return _configuration(configuration, configured=True)
    try:
        values = json.loads(request.body)
    except ValueError:
        return _error(400, "Send the settings as a JSON object.")
    if not isinstance(values, dict):
        return _error(400, "Send the settings as a JSON object.")
    result = service.save(installation, channel_slug, values)
    if not result.saved:
        return JsonResponse({"saved": False, "problems": result.problems}, status=400)
    return _configuration(result.configuration, configured=True, saved=True)


def _configuration(configuration: ChannelConfiguration, *, configured: bool, saved: bool = False) -> JsonResponse:
    return JsonResponse(
        {
            "channel": configuration.channel_slug,
            "configured": configured,
            "saved": saved,
            "values": service.shown(configuration),
            "callbackUrl": service.callback_url(configuration) if configured else None,
        }
    )


def _saleor_channels(installation: Installation) -> dict[str, dict] | JsonResponse:
    """Saleor's channels by slug, or a 502 saying Saleor could not list them."""
    try:
        with SaleorClient.for_installation(installation) as saleor:
            listed = saleor.channels()
    except SaleorError as error:
        return _error(502, f"Could not list Saleor's channels: {error.message}")
    return {
        channel.slug: {"slug": channel.slug, "name": channel.name, "currency": channel.currency_code}
        for channel in listed
    }
