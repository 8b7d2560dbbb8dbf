"""The Optty sandbox emulator: a real HTTP server that behaves like Optty's API.

Run it with ``optty-emulator`` or ``python -m saleor_optty.emulator --port 8765``, or
in-process::

    with OpttyEmulator(webhook_url="http://127.0.0.1:9000/hook") as optty:
        client = OpttyClient(auth_url=optty.auth_url, api_url=optty.api_url, ...)
        ...
        optty.decide("order-1", "approve")

Standard library only; money is ``Decimal`` end to end (see :mod:`.money`). Points
marked [C] are confirmed by Optty's public docs (docs.optty.com) or its WooCommerce
plugin; [I] marks the emulator's own choices where those sources are silent.

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
    Status fields; details add transactionHistory[{transactionId, status, createdAt}],
    refunds[{refundId, amount, currency, status, createdAt, refundReason,
    refundFailureReason}] and orderCaptures[{captureId, amount, status, createdAt}], as
    documented [C]. Only with ``echo_references`` (see the behaviour knobs) do they also
    carry refundReference and captureReference, plus ``orderVoids`` [{voidedId,
    voidReference, amount, status, createdAt}]: Optty documents none of these [I].
``POST /orders/{ref}/capture | /void | /refund``, ``POST /merchants/customer/sessions``
    As documented. Refunds over what was captured get 400 "Over refund limit" [C].
    Customer sessions answer 201 [I: Optty documents only the body].
Errors are ``{"statusCode", "message"}`` with a message naming the field.

Assumptions where Optty's docs are silent [I]
---------------------------------------------
- Repeated references (the ``duplicate_references`` knob; Optty documents them as unique
  but not what a retry gets): by default ("replay") repeating an orderReference,
  captureReference, voidReference or refundReference with an identical body returns
  the original answer again, and the same reference with a different body is 400
  "<name> must be unique"; "reject" answers that 400 even to an identical retry;
  "process" de-duplicates nothing, so every retry is a new capture, void or refund and
  a repeated orderReference creates a new order that replaces the old one under that
  reference (the old order's hosted page still works; the API no longer shows it).
- Status is PENDING from creation until the shopper decides (transactionHistory starts
  with INITIATED). Final statuses: SUCCESSFUL, DECLINED, CANCELLED, ERROR. Refunds and
  voids never change ``status``.
- captureStatus: NOT_CAPTURED (nothing captured), PARTIALLY_CAPTURED, CAPTURED (captures
  plus voids cover the authorised amount), VOIDED (everything voided, nothing
  captured). authorised = orderAmount + surcharge; autoCapture (default true) captures
  it all on approval. Capture and void need a SUCCESSFUL order with an uncaptured
  amount; providers flagged without partial capture/void need the whole remainder.
- orderItems must be non-empty and each provider's requiredFields are enforced.
  Amounts have at most 2 decimals [C], none for zero-decimal currencies (JPY, KRW...)
  and 2 for three-decimal ones (KWD...). Amounts sent as JSON strings are rejected.
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

Control API (``/_emulator/``, no auth; each has an ``OpttyEmulator`` method)
--------------------------------------------------------------------------
- ``POST reset`` / ``reset()``: forget orders, faults, counters and callbacks; issued
  tokens stay valid so a client's cached token survives between tests. An optional
  body of behaviour knobs, ``{"duplicate_references": "reject"}`` /
  ``reset(duplicate_references="reject")``, applies them until the next reset.
- ``GET|POST faults`` / ``faults()``, ``configure_faults(spec)``: see the knobs below.
- ``POST orders/{ref}/decision {"decision": "approve"}`` / ``decide(ref, decision)``:
  the hosted page's code path without a browser; returns ``{status, reference, hash,
  providerReference, redirect}``, ``redirect`` being the full URL the browser would
  be sent to (null without dynamicRedirectUrl).
- ``POST orders/{ref}/refund {"amount": "5.00", "reason": ...}`` /
  ``portal_refund(ref, amount, reason=None)``: a refund made in Optty's portal.
- ``POST orders/{ref}/status {"status": "SUCCESSFUL", "reason": ...}`` /
  ``set_status(ref, status, reason=None)``: force any status, with its callbacks.
- ``GET orders``, ``GET orders/{ref}`` / ``orders()``, ``order(ref)``: references, and
  one order's full state including the stored create request.
- ``GET stats`` / ``stats()``: ``requests`` per endpoint key (``_emulator`` for this
  API), ``token_requests``, ``tokens_issued``, ``connections`` (TCP connections
  accepted), ``faults_injected``, ``callbacks`` {total, delivered, failed, pending,
  held, attempts}.
- ``GET callbacks`` / ``deliveries()``: every callback with its attempts;
  ``wait_for_callbacks(timeout)`` waits until none is queued or in flight.
- ``POST callbacks/release`` / ``release_callbacks()``: send held callbacks now.
- ``POST tokens/revoke`` / ``revoke_tokens()``: invalidate every issued token.
- ``GET providers`` / ``providers``: the catalogue with its capability flags.

Fault knobs (``POST /_emulator/faults`` body; see :mod:`.faults`)
------------------------------------------------------------------
Endpoint keys: token, options, create_order, get_order, details, capture, void, refund,
customer_session, hosted.

``"clear": true``
    back to the start-up settings first (``clear_faults()``).
``"latency": {"options": 0.5, "*": 0.1}``
    seconds added to every call (``set_latency(endpoint, seconds)``).
``"next": {"capture": [{"action": "fail", "status": 503, "when": "after", "count": 2}]}``
    one-off shots used up by the next calls in order: ``fail`` (any 4xx/5xx, optional
    ``retry_after`` seconds; ``fail_next``), ``drop`` (close the connection without an
    answer; ``drop_next``), ``hang`` (wait ``seconds``, then answer late; ``hang_next``).
    ``"when": "after"`` fails or drops only after the request changed state, to test
    safe retries.
``"callbacks": {...}`` (``set_callback_options(**knobs)``)
    ``duplicates`` (extra copies), ``delay``, ``mode`` (sequential | concurrent |
    reverse), ``pending_first`` (approval goes PENDING, then SUCCESSFUL that many
    seconds later, each with its callback), ``backoff``, ``max_attempts``, ``timeout``.
``"output": {...}`` (``set_output_options(**knobs)``)
    ``status_case`` (documented | upper | lower | mixed), ``amounts_as_strings``,
    ``hash_encoding`` (hex | base64), ``message_as_list`` (400 messages as a list),
    ``corrupt_option`` (the first /options entry gets an unreadable minAmount).
``"behaviour": {...}`` (``set_behaviour(**knobs)``; also ``OpttyEmulator(...)`` and
``--echo-references`` / ``--duplicate-references`` at start-up, which ``clear`` and
``reset`` return to)
    ``echo_references`` (false: order details in Optty's documented shape; true: with
    refundReference, captureReference and orderVoids), ``duplicate_references``
    (replay | reject | process; see the assumptions above).
"""

from .emulator import OpttyEmulator, redirect_hash
from .errors import ApiError
from .providers import DEFAULT_PROVIDERS, Provider

__all__ = ["DEFAULT_PROVIDERS", "ApiError", "OpttyEmulator", "Provider", "redirect_hash"]
