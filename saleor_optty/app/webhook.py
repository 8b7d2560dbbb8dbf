"""The one gate every Saleor webhook passes before the App does anything with it.

``@saleor_webhook("TRANSACTION_INITIALIZE_SESSION")`` on a Django view checks, in this
order, and answers the first failure with ``{"error": {"code", "message"}}``:

1. the method is POST (405);
2. the body is within ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413);
3. ``Saleor-Api-Url`` names an installed Saleor (401);
4. ``Saleor-Event`` is this route's event, lower-cased as Saleor sends it (403);
5. ``Saleor-Signature`` is that Saleor's signature of the raw body (401);
6. the body is a JSON object, numbers read as Decimal (400);
7. the payload's ``__typename`` is this route's event type, so that a signed body
   replayed to another route is refused (403);
8. ``recipient.id`` is the App's id in that Saleor (403).

Only then is the view called, as ``view(request, webhook, ...)`` with a
:class:`VerifiedWebhook`. A refusal changes nothing, is logged without the body, and is
never a 500. Saleor treats any non-2xx answer as a failed delivery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ..optty import money
from .models import Installation, unique_or_none
from .saleor.jwks import SignatureError, verify_webhook_signature
from .saleor.responses import SaleorVersion

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class VerifiedWebhook:
    """A webhook proven to come from an installed Saleor, for this route and this App."""

    installation: Installation
    #: The subscription's ``event`` selection, as Saleor sent it (numbers as Decimal).
    payload: Mapping[str, Any]
    #: From the payload's ``version``; 3.20 when the subscription did not ask for it.
    version: SaleorVersion
    #: Saleor's event name, e.g. ``"TRANSACTION_INITIALIZE_SESSION"``.
    event: str


class WebhookRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": {"code": self.code, "message": self.message}}, status=self.status)
        if self.status == 405:
            response["Allow"] = "POST"
        return response


def event_type_name(event: str) -> str:
    """The GraphQL type of ``event``'s payload: ``TRANSACTION_INITIALIZE_SESSION`` ->
    ``TransactionInitializeSession`` (Saleor names them so)."""
    return "".join(part.capitalize() for part in event.split("_"))


def saleor_webhook(event: str) -> Callable[[View], View]:
    """Makes a view the endpoint of Saleor's ``event`` webhook (see the module's notes)."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                webhook = verify_webhook(request, event)
            except WebhookRefused as refusal:
                logger.warning(
                    "Refused a %s webhook from %r: %s %s: %s",
                    event,
                    request.headers.get("Saleor-Api-Url", "")[:200],
                    refusal.status,
                    refusal.code,
                    refusal.message,
                )
                return refusal.response()
            return view(request, webhook, *args, **kwargs)

        endpoint.saleor_event = event  # type: ignore[attr-defined]
        return endpoint

    return decorate


def verify_webhook(request: HttpRequest, event: str) -> VerifiedWebhook:
    """The checks of :func:`saleor_webhook`; raises :class:`WebhookRefused`."""
    if request.method != "POST":
        raise WebhookRefused(405, "METHOD_NOT_ALLOWED", "Saleor's webhooks are POST requests.")
    body = _body(request)

    api_url = request.headers.get("Saleor-Api-Url", "")
    if not api_url:
        raise WebhookRefused(401, "UNKNOWN_SALEOR", "The request names no Saleor (Saleor-Api-Url header).")
    installation = unique_or_none(Installation, saleor_api_url=api_url)
    if installation is None:
        raise WebhookRefused(401, "UNKNOWN_SALEOR", "This App is not installed in the Saleor named by Saleor-Api-Url.")

    if request.headers.get("Saleor-Event") != event.lower():
        raise WebhookRefused(403, "WRONG_EVENT", f"This endpoint receives only {event.lower()} events.")

    try:
        verify_webhook_signature(installation, body, request.headers.get("Saleor-Signature"))
    except SignatureError as error:
        raise WebhookRefused(401, "BAD_SIGNATURE", str(error)) from None

    payload = _json_object(body)
    type_name = event_type_name(event)
    if payload.get("__typename") != type_name:
        raise WebhookRefused(403, "WRONG_EVENT", f"This endpoint receives only {type_name} payloads.")
    recipient = payload.get("recipient")
    if not isinstance(recipient, Mapping) or recipient.get("id") != installation.app_id:
        raise WebhookRefused(403, "WRONG_RECIPIENT", "The webhook is addressed to another App.")
    return VerifiedWebhook(
        installation=installation,
        payload=payload,
        version=SaleorVersion.parse(payload.get("version")),
        event=event,
    )


def webhook_response(body: Mapping[str, Any], *, status: int = 200) -> HttpResponse:
    """A webhook's answer as JSON, Decimals written as exact numbers and floats refused
    (see :mod:`.saleor.responses` for the shape each Saleor version takes)."""
    return HttpResponse(money.dumps(body), status=status, content_type="application/json")


def _body(request: HttpRequest) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise WebhookRefused(400, "BAD_REQUEST", "Content-Length is not a number.") from None
    too_big = WebhookRefused(413, "PAYLOAD_TOO_LARGE", f"The body is larger than the {limit} bytes this App reads.")
    if limit is not None and declared > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if limit is not None and len(body) > limit:
        raise too_big
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # junk, bad UTF-8, NaN/Infinity, nesting too deep
        raise WebhookRefused(400, "MALFORMED_PAYLOAD", "The body is not a JSON object.") from None
    if not isinstance(payload, dict):
        raise WebhookRefused(400, "MALFORMED_PAYLOAD", "The body is not a JSON object.")
    return payload
