"""The Optty sandbox emulator: a real HTTP server that behaves like Optty's API.

Run it with ``optty-emulator`` or ``python -m saleor_optty.emulator --port 8765``, or
in-process::

    with OpttyEmulator(webhook_url="http://127.0.0.1:9000/hook") as optty:
        client = OpttyClient(auth_url=optty.auth_url, api_url=optty.api_url, ...)
        ...
        optty.decide("order-1", "approve")

Standard library only; money is ``Decimal`` end to end (see :mod:`.money`). Statuses
marked [C] are confirmed by Optty's docs, [I] are the emulator's assumptions where the
docs are silent (see ``/work/shared/reference/optty-api.md`` for the sources).

Optty's API (one server plays both the auth host and the API host)
------------------------------------------------------------------
``POST /token``
    Form fields client_id, client_secret, grant_type=client_credentials, scope=api-user;
    extra fields (response_type) and a query string (?expires_in=1) are ignored. 200
    ``{access_token, expires_in, token_type: "Bearer", scope}``; 401 bad credentials,
    400 missing field / wrong grant_type or scope. Tokens are opaque random strings [I].
    Every other API call needs ``Authorization: Bearer <valid token>`` or gets 401
    ``{"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}``.
``GET /options?amount=&currency=&channel=&isCapable=``
    Providers offering the currency, amount (min <= amount <= max) and channel, by
    priority. minAmount, maxAmount and priority are strings as in Optty's example [C].
``POST /orders`` (also ``/orders/``)
    Create-order rules are in :mod:`.validation`. 201 with orderId, orderToken,
    redirectUrl (this server's ``/hosted/{orderToken}``), paymentStatus "pending".
``GET /orders/{orderReference}``, ``POST|GET /orders/{orderReference}/details``
    Status fields; details add transactionHistory, refunds, orderCaptures and
    ``orderVoids`` [I: an emulator extension].
``POST /orders/{ref}/capture | /void | /refund``, ``POST /merchants/customer/sessions``
    As documented. Refunds over what was captured get 400 "Over refund limit" [C].
    Customer sessions answer 201 [I: Optty documents only the body].
Errors are ``{"statusCode", "message"}`` with a message naming the field.

Assumptions where Optty's docs are silent [I]
---------------------------------------------
- Idempotent replay: repeating an orderReference, captureReference, voidReference or
  refundReference with an identical body returns the original answer again; the same
  reference with a different body is 400 "<name> must be unique".
- Status is PENDING from creation until the shopper decides (transactionHistory starts
  with INITIATED). Final statuses: SUCCESSFUL, DECLINED, CANCELLED, ERROR. Refunds and
  voids never change ``status``.
- captureStatus: NOT_CAPTURED (nothing captured), PARTIALLY_CAPTURED, CAPTURED (captures
  plus voids cover the authorised amount), VOIDED (everything voided, nothing
  captured). authorised = orderAmount + surcharge; autoCapture (default true) captures
  it all on approval. Capture and void need a SUCCESSFUL order with an uncaptured
  amount; providers flagged without partial capture/void need the whole remainder.
- orderItems must be non-empty and each provider's requiredFields are enforced.
  Amounts have at most 2 decimals, and none for zero-decimal currencies (JPY, KRW...).
- Return redirect: ``status``, ``reference``, ``hash``, ``providerReference`` appended
  to dynamicRedirectUrl (its own query kept). hash = HMAC-SHA512(payment secret,
  ``"{status}|{reference}"``) as lower-case hex (base64 via a knob), over the status
  text exactly as sent. Without dynamicRedirectUrl the shopper sees a result page.
- Callbacks: ``{"event": "ORDER_ASYNC_CALLBACK", "data": {orderReference,
  merchantReference, status, transactionId, provider, amount, currency, updatedAt}}``
  to the order's dynamicCallbackUrl on every status change (PENDING included); the
  same data as ORDER_STATUS_UPDATE to the merchant webhook; REFUND_CALLBACK (data:
  refund ids, amount, currency, status) to the merchant webhook after every refund.
  No signature [C: none documented]. Retried until a 2xx, see :mod:`.callbacks`.

The shopper's side
------------------
``GET /hosted/{orderToken}`` shows the order and four buttons (ids ``approve``,
``decline``, ``cancel``, ``pending``) posting ``decision=...`` to
``/hosted/{orderToken}/decision``, which answers 302 to the return URL (or a result
page); deciding an order that is already final is a 409 page.

Control API (``/_emulator/``, no auth) and the matching ``OpttyEmulator`` methods
--------------------------------------------------------------------------------
==============================================  ==========================================
``POST /_emulator/reset``                       ``reset()`` (issued tokens stay valid)
``GET|POST /_emulator/faults``                  ``faults()`` / ``configure_faults(spec)``
``POST /_emulator/orders/{ref}/decision``       ``decide(ref, "approve")`` -> {status,
  ``{"decision": "approve"}``                     reference, hash, providerReference,
                                                  redirect}
``POST /_emulator/orders/{ref}/refund``         ``portal_refund(ref, "5.00", reason=None)``
  ``{"amount": "5.00", "reason": "..."}``
``POST /_emulator/orders/{ref}/status``         ``set_status(ref, "SUCCESSFUL", reason=None)``
  ``{"status": "SUCCESSFUL", "reason": "..."}``
``GET /_emulator/orders``, ``/orders/{ref}``    ``orders()``, ``order(ref)`` (full state)
``GET /_emulator/stats``                        ``stats()``: requests per endpoint,
                                                  token_requests, tokens_issued,
                                                  connections, faults_injected, callbacks
``GET /_emulator/callbacks``                    ``deliveries()``; ``wait_for_callbacks()``
``POST /_emulator/callbacks/release``           ``release_callbacks()``
``POST /_emulator/tokens/revoke``               ``revoke_tokens()``
``GET /_emulator/providers``                    ``providers`` (with capability flags)
==============================================  ==========================================

Fault knobs (``POST /_emulator/faults`` body; see :mod:`.faults`)
------------------------------------------------------------------
Endpoint keys: token, options, create_order, get_order, details, capture, void, refund,
customer_session, hosted.

``{"clear": true}``
    back to the start-up settings first.
``"latency": {"options": 0.5, "*": 0.1}``
    seconds added to every call (``set_latency``).
``"next": {"capture": [{"action": "fail", "status": 503, "when": "after", "retry_after": 2, "count": 2}]}``
    one-off shots used up by the next calls in order: ``fail`` (any 4xx/5xx, optional
    Retry-After; ``fail_next``), ``drop`` (close without answering; ``drop_next``),
    ``hang`` (``seconds``, then answer late; ``hang_next``). ``when: "after"`` applies
    fail/drop after the request changed state, to test safe retries.
``"callbacks": {...}`` (``set_callback_options``)
    ``duplicates`` (extra copies), ``delay``, ``mode`` (sequential | concurrent |
    reverse), ``pending_first`` (approval goes PENDING, then SUCCESSFUL after that many
    seconds, each with its callback), ``backoff``, ``max_attempts``, ``timeout``.
``"output": {...}`` (``set_output_options``)
    ``status_case`` (documented | upper | lower | mixed), ``amounts_as_strings``,
    ``hash_encoding`` (hex | base64), ``message_as_list`` (400 messages as a list).
"""

from .emulator import OpttyEmulator, redirect_hash
from .errors import ApiError
from .providers import DEFAULT_PROVIDERS, Provider

__all__ = ["DEFAULT_PROVIDERS", "ApiError", "OpttyEmulator", "Provider", "redirect_hash"]
