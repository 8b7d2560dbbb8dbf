"""``OpttyEmulator``: the sandbox's lifecycle and its Python control API.

One lock guards all mutable state (ledger, tokens, fault plan, counters). It is never
held while sleeping, answering a socket or sending a callback: operations leave their
callbacks in the ledger's outbox and :meth:`OpttyEmulator._transact` hands them to the
callback dispatcher after releasing the lock.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import sys
import threading
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from .callbacks import CallbackDispatcher
from .faults import ENDPOINTS, CallbackSettings, FaultPlan, OutputSettings, Shot, cased, present
from .hosted import result_page
from .money import dumps
from .providers import Provider, coerce_providers
from .server import EmulatorHTTPServer
from .state import FollowUp, Ledger, Notification, Order, TokenStore

T = TypeVar("T")

CONTROL = "_emulator"  # the request counter for the control API and static assets

# How often the accept loop checks for stop(); it bounds how long stop() takes.
_POLL_INTERVAL = 0.02


def redirect_hash(secret: str, status: str, reference: str, encoding: str = "hex") -> str:
    """Optty's return-URL signature: HMAC-SHA512 of ``"{status}|{reference}"``."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{status}|{reference}".encode("utf-8"), hashlib.sha512
    ).digest()
    return base64.b64encode(digest).decode("ascii") if encoding == "base64" else digest.hex()


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended, keeping its own query and fragment."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit(parts._replace(query=query))


class OpttyEmulator:
    """A running Optty sandbox: ``start()`` serves on a daemon thread, ``stop()`` ends it.

    ``with OpttyEmulator() as optty:`` starts and stops it around a block. ``.url`` is
    the base URL; ``.auth_url`` (``url + "/token"``) and ``.api_url`` (``url``) are what a
    client is configured with. ``port=0`` picks a free port.

    Keyword-only settings: ``latency`` (seconds added to every API call),
    ``public_url`` (base URL written into redirectUrl when clients reach the emulator
    under another name), ``callback_backoff`` / ``callback_max_attempts`` /
    ``callback_timeout`` (the callback retry schedule), ``echo_references`` /
    ``duplicate_references`` (the behaviour knobs, see :class:`.faults.BehaviourSettings`);
    ``reset()`` and ``clear_faults()`` return to these. ``verbose`` writes request and
    callback log lines on stderr. ``providers`` replaces the default catalogue with
    :class:`Provider` objects or providers-file dicts.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "emulator-client",
        client_secret: str = "emulator-secret",
        payment_secret: str = "emulator-payment-secret",
        webhook_url: str | None = None,
        token_ttl: int = 86400,
        providers: Iterable[Provider | dict[str, Any]] | None = None,
        *,
        latency: float = 0.0,
        public_url: str | None = None,
        callback_backoff: float = 1.0,
        callback_max_attempts: int = 8,
        callback_timeout: float = 5.0,
        echo_references: bool = False,
        duplicate_references: str = "replay",
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.client_id = client_id
        self.client_secret = client_secret
        self.payment_secret = payment_secret
        self.webhook_url = webhook_url
        self.verbose = verbose
        self._requested_port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._providers = coerce_providers(providers)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._tokens = TokenStore(token_ttl)
        self._ledger = Ledger(self._providers, client_id, webhook_url)
        self._faults = FaultPlan(
            latency,
            CallbackSettings(
                backoff=callback_backoff, max_attempts=callback_max_attempts, timeout=callback_timeout
            ),
            {"echo_references": echo_references, "duplicate_references": duplicate_references},
        )
        self._stats = self._zero_stats()
        self._dispatcher = CallbackDispatcher(log=self._log if verbose else None)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> OpttyEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = EmulatorHTTPServer((self.host, self._requested_port), self)
        self._dispatcher.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name="optty-emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open keep-alive connections, and join every thread."""
        if self._server is None:
            return
        self._server.shutdown()
        # Cut connections before waking sleeping handlers, so a hung request ends
        # unanswered instead of racing to answer.
        self._server.close_connections()
        self._stopping.set()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._dispatcher.stop()
        self._server = None
        self._thread = None

    def __enter__(self) -> OpttyEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        if self._public_url:
            return self._public_url
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def auth_url(self) -> str:
        return self.url + "/token"

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def merchant_id(self) -> str:
        return self._ledger.merchant_id

    @property
    def providers(self) -> tuple[Provider, ...]:
        return self._providers

    # Control API (the same operations as /_emulator/...) --------------------------------

    def decide(self, reference: str, decision: str) -> dict[str, Any]:
        """What the shopper does on the hosted page: approve, decline, cancel or pending.

        Returns ``{"status", "reference", "hash", "providerReference", "redirect"}``;
        ``redirect`` is the full URL the browser is sent to (None without a
        dynamicRedirectUrl). Raises :class:`~.errors.ApiError` (404 unknown order,
        409 already final, 400 unknown decision).
        """
        result, _ = self._decide(lambda ledger: ledger.order(reference), decision)
        return result

    def set_status(self, reference: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """Force a status (e.g. a PENDING order settling later) and send its callbacks."""

        def force(ledger: Ledger) -> dict[str, Any]:
            ledger.force_status(reference, status, reason)
            return copy.deepcopy(ledger.order_status(reference))

        return self._transact(force)

    def portal_refund(self, reference: str, amount: Any, reason: str | None = None) -> dict[str, Any]:
        """A refund made in Optty's portal (not through the API); sends REFUND_CALLBACK.

        ``amount`` may be text ("5.00") or a Decimal. Returns the refund as the API would.
        """
        return self._transact(lambda ledger: copy.deepcopy(ledger.portal_refund(reference, amount, reason)))

    def order(self, reference: str) -> dict[str, Any]:
        """Full internal state of one order, including the stored create request (a copy)."""
        return self._transact(lambda ledger: copy.deepcopy(ledger.snapshot(reference)))

    def orders(self) -> list[str]:
        return self._transact(lambda ledger: ledger.references())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            stats = {
                key: dict(value) if isinstance(value, dict) else value for key, value in self._stats.items()
            }
        stats["callbacks"] = self._dispatcher.counts()
        return stats

    def deliveries(self) -> list[dict[str, Any]]:
        """Every callback with its attempts (time, status code or error) and final state."""
        return self._dispatcher.describe()

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until no callback (or timed job) is queued or in flight."""
        return self._dispatcher.wait_idle(timeout)

    def release_callbacks(self) -> int:
        """Send callbacks held by the ``reverse`` mode now, newest first."""
        return self._dispatcher.release()

    def revoke_tokens(self) -> int:
        """Invalidate every issued access token (to test a client's 401 refresh)."""
        with self._lock:
            return self._tokens.revoke_all()

    def reset(self, **behaviour: Any) -> None:
        """Forget orders, faults, counters and callbacks, then apply ``behaviour`` knobs
        (``echo_references``, ``duplicate_references``) until the next reset. Issued tokens
        stay valid, so a client's cached token survives between tests; use
        :meth:`revoke_tokens` for that."""
        with self._lock:
            # Checked completely before anything is forgotten.
            self._faults.configure({"clear": True, "behaviour": behaviour})
            self._ledger = Ledger(self._providers, self.client_id, self.webhook_url)
            self._stats = self._zero_stats()
        self._dispatcher.reset()

    def redirect_hash(self, status: str, reference: str) -> str:
        """The ``hash`` the emulator puts on a return URL, in the current encoding."""
        with self._lock:
            encoding = self._faults.output.hash_encoding
        return redirect_hash(self.payment_secret, status, reference, encoding)

    # Fault knobs -------------------------------------------------------------------------

    def configure_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply a fault spec (the ``POST /_emulator/faults`` body); returns the new plan."""
        with self._lock:
            self._faults.configure(spec)
            return self._faults.describe()

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return self._faults.describe()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_latency(self, endpoint: str, seconds: float) -> None:
        """Add ``seconds`` to every call of ``endpoint`` (``"*"`` for all endpoints)."""
        self.configure_faults({"latency": {endpoint: seconds}})

    def fail_next(
        self,
        endpoint: str,
        count: int = 1,
        status: int = 503,
        when: str = "before",
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` calls with ``status``; ``when="after"`` processes them first."""
        shot: dict[str, Any] = {"action": "fail", "count": count, "status": status, "when": when}
        if retry_after is not None:
            shot["retry_after"] = retry_after
        self.configure_faults({"next": {endpoint: [shot]}})

    def drop_next(self, endpoint: str, count: int = 1, when: str = "before") -> None:
        """Close the connection without answering the next ``count`` calls."""
        self.configure_faults({"next": {endpoint: [{"action": "drop", "count": count, "when": when}]}})

    def hang_next(self, endpoint: str, seconds: float, count: int = 1) -> None:
        """Sit on the next ``count`` calls for ``seconds``, then process and answer them."""
        self.configure_faults({"next": {endpoint: [{"action": "hang", "count": count, "seconds": seconds}]}})

    def set_callback_options(self, **changes: Any) -> None:
        """duplicates, delay, mode (sequential|concurrent|reverse), pending_first,
        backoff, max_attempts, timeout."""
        self.configure_faults({"callbacks": changes})

    def set_output_options(self, **changes: Any) -> None:
        """status_case (documented|upper|lower|mixed), amounts_as_strings,
        hash_encoding (hex|base64), message_as_list, corrupt_option."""
        self.configure_faults({"output": changes})

    def set_behaviour(self, **changes: Any) -> None:
        """echo_references, duplicate_references (replay|reject|process)."""
        self.configure_faults({"behaviour": changes})

    # Used by the HTTP layer ------------------------------------------------------------------

    def _transact(self, operation: Callable[[Ledger], T]) -> T:
        """Run ``operation`` under the state lock, then send the callbacks it produced."""
        with self._lock:
            self._ledger.behaviour = self._faults.behaviour
            try:
                result = operation(self._ledger)
            finally:
                outbox = self._ledger.take_outbox()
                output, callbacks = self._faults.output, self._faults.callbacks
        self._dispatch(outbox, output, callbacks)
        return result

    def _decide(self, find: Callable[[Ledger], Order], decision: str) -> tuple[dict[str, Any], str | None]:
        """The shared path of the hosted page and ``/_emulator/orders/{ref}/decision``.

        Returns the decision result and, when there is nowhere to redirect, the result page.
        """

        def run(ledger: Ledger) -> tuple[dict[str, Any], str | None]:
            order = find(ledger)
            ledger.decide(order, decision, pending_first=self._faults.callbacks.pending_first)
            result = self._redirect(order, self._faults.output)
            page = None if result["redirect"] else result_page(order, result["status"])
            return result, page

        return self._transact(run)

    def _redirect(self, order: Order, output: OutputSettings) -> dict[str, Any]:
        # The hash covers the status text exactly as sent, so a client must verify the raw
        # parameter before normalising its case.
        status = cased(order.status, output.status_case)
        signature = redirect_hash(self.payment_secret, status, order.reference, output.hash_encoding)
        params = [
            ("status", status),
            ("reference", order.reference),
            ("hash", signature),
            ("providerReference", order.bnpl_order_id),
        ]
        return {
            "status": status,
            "reference": order.reference,
            "hash": signature,
            "providerReference": order.bnpl_order_id,
            "redirect": _with_query(order.redirect_url, params) if order.redirect_url else None,
        }

    def _dispatch(
        self, outbox: list[Notification | FollowUp], output: OutputSettings, callbacks: CallbackSettings
    ) -> None:
        for item in outbox:
            if isinstance(item, FollowUp):
                self._dispatcher.schedule(item.delay, functools.partial(self._settle, item.reference))
                continue
            envelope = {"event": item.event, "data": present(item.data, output)}
            body = dumps(envelope, amounts_as_strings=output.amounts_as_strings).encode("utf-8")
            self._dispatcher.send(
                item.event, item.url, item.order_reference, item.status, body, callbacks, item.final
            )

    def _settle(self, reference: str) -> None:
        self._transact(lambda ledger: ledger.settle(reference))

    def _begin(self, endpoint: str) -> tuple[float, Shot | None]:
        """Count a request to an Optty endpoint and take its planned latency and shot."""
        with self._lock:
            self._stats["requests"][endpoint] += 1
            if endpoint == "token":
                self._stats["token_requests"] += 1
            latency, shot = self._faults.take(endpoint)
            if shot is not None:
                self._stats["faults_injected"] += 1
            return latency, shot

    def _count_control_request(self) -> None:
        with self._lock:
            self._stats["requests"][CONTROL] += 1

    def _count_connection(self) -> None:
        with self._lock:
            self._stats["connections"] += 1

    def _issue_token(self) -> tuple[str, int]:
        with self._lock:
            self._stats["tokens_issued"] += 1
            return self._tokens.issue(), self._tokens.ttl

    def _token_valid(self, token: str) -> bool:
        with self._lock:
            return self._tokens.is_valid(token)

    def _output(self) -> OutputSettings:
        with self._lock:
            return self._faults.output

    def _sleep(self, seconds: float) -> None:
        """Sleep that stop() interrupts, so a hang never delays shutdown."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _log(self, message: str) -> None:
        print(f"[optty-emulator] {message}", file=sys.stderr, flush=True)

    @staticmethod
    def _zero_stats() -> dict[str, Any]:
        return {
            "requests": {endpoint: 0 for endpoint in (*ENDPOINTS, CONTROL)},
            "token_requests": 0,
            "tokens_issued": 0,
            "connections": 0,
            "faults_injected": 0,
        }


__all__ = ["OpttyEmulator", "redirect_hash"]
