"""The Optty API client.

One :class:`OpttyClient` holds two ``requests.Session`` objects (pooled connections),
one for reads and one for money-moving writes, which differ only in their retries, and
one token cache they share. Every method returns a typed object or raises an
:class:`~saleor_optty.optty.errors.OpttyError`.

Retries: reads (GETs, the token, customer sessions and the read-only details POST) are
retried on connection errors, read timeouts, 429 and 5xx. The four writes that move
money (create order, capture, void, refund) are retried only when no connection could
be opened, the one failure that proves Optty never saw the request. Optty does not
document whether it de-duplicates on their references, so sending one again after it
may have arrived could move the money twice: any such failure raises
:class:`~saleor_optty.optty.errors.OpttyOutcomeUnknownError` instead, and the caller
confirms the outcome with :meth:`OpttyClient.get_order_details`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from ..__version__ import __version__
from . import money
from .errors import (
    OpttyAuthenticationError,
    OpttyError,
    OpttyNotFoundError,
    OpttyOutcomeUnknownError,
    OpttyResponseError,
    OpttyUnavailableError,
    OpttyValidationError,
)
from .redact import redact_text
from .tokens import AccessToken, MemoryTokenStore, TokenCache, TokenStore
from .types import (
    CreatedOrder,
    CustomerSession,
    OperationResult,
    OrderDetails,
    OrderRequest,
    OrderStatus,
    PaymentOption,
)

logger = logging.getLogger(__name__)

#: Saleor gives a synchronous request 20 s; one Optty call must finish well inside it.
SALEOR_REQUEST_BUDGET_SECONDS = 20.0


@dataclass(frozen=True)
class Environment:
    name: str
    auth_url: str
    api_url: str


ENVIRONMENTS = {
    "sandbox": Environment("sandbox", "https://auth.qa.optty.com/token", "https://api.qa.optty.com"),
    "production": Environment("production", "https://auth.optty.com/token", "https://api.optty.com"),
}


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retries of one client; the worst case must fit Saleor's budget."""

    connect_timeout: float = 1.5
    read_timeout: float = 4.5
    retries: int = 2
    backoff_factor: float = 0.25

    def __post_init__(self) -> None:
        if self.worst_case_seconds >= SALEOR_REQUEST_BUDGET_SECONDS:
            raise ValueError(
                f"This policy can take {self.worst_case_seconds:.1f} s per call, "
                f"over Saleor's {SALEOR_REQUEST_BUDGET_SECONDS:.0f} s request budget."
            )

    @property
    def worst_case_seconds(self) -> float:
        """The slowest a read can be, and so any call: every attempt timing out, plus backoff."""
        return (self.retries + 1) * (self.connect_timeout + self.read_timeout) + self._backoff_seconds()

    @property
    def write_worst_case_seconds(self) -> float:
        """The slowest a money-moving write can be: only failed connects are repeated, so
        at most one attempt waits for an answer."""
        return (self.retries + 1) * self.connect_timeout + self.read_timeout + self._backoff_seconds()

    def _backoff_seconds(self) -> float:
        # urllib3 sleeps nothing before the first retry, then backoff_factor * 2 ** (errors - 1).
        return sum(self.backoff_factor * 2 ** (errors - 1) for errors in range(2, self.retries + 1))

    def retry(self, *, write: bool = False) -> Retry:
        """urllib3's retry rule for reads or, with ``write``, for money-moving writes.

        A write is sent again only after a failed connect, which proves it never left.
        urllib3 counts every later failure as a read error, a reused keep-alive
        connection that the server had closed included, and a 5xx may come from an
        Optty that made the movement: after either, the request may have been acted on.
        """
        return Retry(
            total=self.retries,
            connect=self.retries,
            read=False if write else self.retries,
            status=self.retries,
            other=0,
            backoff_factor=self.backoff_factor,
            status_forcelist=() if write else (429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
            # A long Retry-After would break the time budget; the status retry backs off.
            respect_retry_after_header=False,
        )


DEFAULT_POLICY = HttpPolicy()

#: For calls on a page the shopper is waiting for, where a stale or empty answer beats a slow one.
FAST_POLICY = HttpPolicy(connect_timeout=0.5, read_timeout=0.8, retries=0)


class OpttyClient:
    """Talks to Optty's API with one set of merchant credentials."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        environment: str = "sandbox",
        api_url: str | None = None,
        auth_url: str | None = None,
        token_store: TokenStore | None = None,
        policy: HttpPolicy = DEFAULT_POLICY,
    ):
        if environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}.")
        hosts = ENVIRONMENTS[environment]
        self.environment = environment
        self.api_url = (api_url or hosts.api_url).rstrip("/")
        self.auth_url = auth_url or hosts.auth_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._policy = policy
        self._reads = _session(policy.retry())
        self._writes = _session(policy.retry(write=True))
        self._tokens = TokenCache(
            self._request_token,
            token_store or MemoryTokenStore(),
            identity=f"{self.auth_url}|{client_id}|{client_secret}",
        )

    def __repr__(self) -> str:
        return f"<OpttyClient {self.environment} {self.api_url}>"

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    def __enter__(self) -> OpttyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- public API

    def check_credentials(self) -> None:
        """Fetch a fresh token; raises :class:`OpttyAuthenticationError` if refused."""
        self._request_token()

    def get_options(
        self, amount: Decimal, currency: str, *, channel: str | None = None
    ) -> list[PaymentOption]:
        """The providers Optty offers for this amount and currency, in display order."""
        params = {"amount": money.format_amount(amount, currency), "currency": currency}
        if channel:
            params["channel"] = channel
        data = self._call("GET", "/options", params=params)
        if not isinstance(data, list):
            raise OpttyResponseError("Optty's options response is not a list.")
        options = []
        for entry in data:
            # One unreadable provider must not hide the others from the shopper.
            try:
                options.append(PaymentOption.from_wire(entry))
            except OpttyResponseError:
                logger.warning("Skipped an unreadable Optty option (name %r).", _option_name(entry))
        # Priority 1 is shown first; an option without one (0) goes last.
        return sorted(options, key=lambda option: (option.priority <= 0, option.priority))

    def create_order(self, order: OrderRequest) -> CreatedOrder:
        """Create the Optty order the shopper is then redirected to approve."""
        return CreatedOrder.from_wire(self._call("POST", "/orders", json=order.to_wire(), operation="order"))

    def get_order(self, reference: str) -> OrderStatus:
        """The order's current state, as Optty's API reports it."""
        return OrderStatus.from_wire(self._call("GET", f"/orders/{_path(reference)}"))

    def get_order_details(self, reference: str) -> OrderDetails:
        """The order's state with its captures and refunds (Optty documents this as POST)."""
        return OrderDetails.from_wire(self._call("POST", f"/orders/{_path(reference)}/details"))

    def capture(
        self,
        reference: str,
        *,
        capture_reference: str,
        amount: Decimal,
        currency: str,
        description: str | None = None,
    ) -> OperationResult:
        """Take authorised money; partial captures only where the provider allows them."""
        return self._settle_authorisation(
            reference, "capture", capture_reference, amount, currency, description,
            id_key="captureId", amount_key="capturedAmount",
        )  # fmt: skip

    def void(
        self,
        reference: str,
        *,
        void_reference: str,
        amount: Decimal,
        currency: str,
        description: str | None = None,
    ) -> OperationResult:
        """Release authorised money that was not captured."""
        return self._settle_authorisation(
            reference, "void", void_reference, amount, currency, description,
            id_key="voidedId", amount_key="amount",
        )  # fmt: skip

    def _settle_authorisation(
        self, reference, action, operation_reference, amount, currency, description, *, id_key, amount_key
    ) -> OperationResult:
        # Capture and void differ only in their path and field names.
        reference_key = f"{action}Reference"
        body = {reference_key: operation_reference, "amount": money.format_amount(amount, currency)}
        if description:
            body["description"] = description
        data = self._call("POST", f"/orders/{_path(reference)}/{action}", json=body, operation=action)
        return _operation(data, reference_key, operation_reference, id_key=id_key, amount_key=amount_key)

    def refund(
        self,
        reference: str,
        *,
        refund_reference: str,
        amount: Decimal,
        currency: str,
        description: str = "",
    ) -> OperationResult:
        body = {
            "refundReference": refund_reference,
            "refundAmount": {
                "amount": money.format_amount(amount, currency),
                "currency": money.normalise_currency(currency),
            },
            "refundDescription": description,
        }
        data = self._call("POST", f"/orders/{_path(reference)}/refund", json=body, operation="refund")
        result = _operation(
            data, "refundReference", refund_reference, id_key="bnplRefundId", amount_key="refundedAmount"
        )
        status = str(_mapping(data).get("refundStatus") or "SUCCESSFUL").upper()
        if status not in ("SUCCESSFUL", "SUCCESS", "PENDING"):
            raise OpttyValidationError(f"Optty reported the refund as {status}.")
        return result

    def create_customer_session(self, customer_identifier: str = "anonymous") -> CustomerSession:
        """A customer-session token for Optty's widgets (``customerToken`` on orders)."""
        data = _mapping(
            self._call("POST", "/merchants/customer/sessions", json={"customerIdentifier": customer_identifier})
        )
        token = str(data.get("token") or "")
        if not token:
            raise OpttyResponseError("Optty's customer session response has no token.")
        return CustomerSession(token=token, ttl_seconds=int(data.get("ttl") or 0))

    # ------------------------------------------------------------------- plumbing

    def _request_token(self) -> AccessToken:
        form = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": "api-user",
        }
        response = self._send("POST", self.auth_url, data=form)
        if response.status_code in (400, 401, 403):
            raise OpttyAuthenticationError(
                "Optty refused the client id and secret for the "
                f"{self.environment} environment: {_error_message(response)}",
                status_code=response.status_code,
                code=_error_code(response),
            )
        data = _mapping(self._decode(response, "token"))
        token = str(data.get("access_token") or "")
        if not token:
            raise OpttyResponseError("Optty's token response has no access_token.")
        try:
            expires_in = int(data.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0
        return AccessToken(token, expires_in)

    def _call(self, method: str, path: str, *, params=None, json=None, operation: str | None = None) -> Any:
        """One API call; ``operation`` names the money-moving write it is, if it is one."""
        body = money.dumps(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):
            token = self._tokens.get()
            headers["Authorization"] = f"Bearer {token}"
            response = self._send(
                method, self.api_url + path, params=params, data=body, headers=headers, operation=operation
            )
            if response.status_code == 401 and attempt == 1:
                # The token may have been revoked or expired early: renew it once. Optty
                # refused the request, so even a write is safe to send again.
                self._tokens.discard(token)
                continue
            return self._decode(response, path, operation=operation)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, *, operation: str | None = None, **kwargs: Any) -> requests.Response:
        started = time.monotonic()
        try:
            response = (self._writes if operation else self._reads).request(
                method,
                url,
                timeout=(self._policy.connect_timeout, self._policy.read_timeout),
                **kwargs,
            )
        except requests.RequestException as exc:
            # Only a failed connect proves that a write never left.
            if operation and not isinstance(_cause(exc), ConnectTimeoutError):
                logger.warning(
                    "Optty %s %s got no answer (%s); the %s may have been made.",
                    method, _display(url), type(exc).__name__, operation,
                )  # fmt: skip
                raise OpttyOutcomeUnknownError(_unconfirmed(operation)) from None
            if _timed_out(exc):
                logger.warning("Optty %s %s timed out.", method, _display(url))
                raise OpttyUnavailableError("Optty did not answer in time.") from None
            logger.warning("Optty %s %s failed: %s", method, _display(url), type(exc).__name__)
            raise OpttyUnavailableError("Optty could not be reached.") from None
        logger.info(
            "Optty %s %s -> %s in %d ms",
            method,
            _display(url),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _decode(self, response: requests.Response, what: str, *, operation: str | None = None) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return money.loads(response.content)
            except ValueError:
                raise OpttyResponseError(f"Optty's answer to {what} is not JSON.", status_code=status) from None
        message = _error_message(response)
        logger.warning("Optty refused %s: HTTP %s %s", what, status, message)
        error_class: type[OpttyError]
        if status in (401, 403):
            error_class = OpttyAuthenticationError
            message = f"Optty refused the access token: {message}"
        elif status == 404:
            error_class = OpttyNotFoundError
        elif status >= 500 and operation:
            # Optty may have made the movement and then failed to answer.
            error_class = OpttyOutcomeUnknownError
            message = _unconfirmed(operation)
        elif status == 429 or status >= 500:
            error_class = OpttyUnavailableError
        elif 400 <= status < 500:
            error_class = OpttyValidationError
        else:
            error_class = OpttyResponseError
        raise error_class(message, status_code=status, code=_error_code(response))


def _operation(
    data: Any, reference_key: str, reference: str, *, id_key: str, amount_key: str
) -> OperationResult:
    data = _mapping(data)
    amount = data.get(amount_key)
    if isinstance(amount, Mapping):  # refundedAmount may come as {amount, currency}
        amount = amount.get("amount")
    try:
        parsed = money.parse_amount(amount)
    except money.MoneyError:
        raise OpttyResponseError(f"Optty's response has an unreadable {amount_key}.") from None
    return OperationResult(
        reference=str(data.get(reference_key) or reference),
        operation_id=str(data.get(id_key) or ""),
        amount=parsed,
        raw=data,
    )


def _session(retry: Retry) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": f"saleor-optty/{__version__}", "Accept": "application/json"})
    return session


def _unconfirmed(operation: str) -> str:
    return f"Optty did not confirm the {operation}; its outcome is not known yet and is being checked with Optty."


def _cause(exc: requests.RequestException) -> Any:
    # Once retries are spent, requests raises a ConnectionError wrapping urllib3's
    # MaxRetryError; its reason says what really happened. A failed connect always ends
    # this way, its reason a ConnectTimeoutError (NewConnectionError, a refusal, is one).
    return getattr(exc.args[0], "reason", None) if exc.args else None


def _timed_out(exc: requests.RequestException) -> bool:
    # NewConnectionError subclasses ConnectTimeoutError, but is a refusal.
    reason = _cause(exc)
    if isinstance(reason, NewConnectionError):
        return False
    return isinstance(exc, requests.Timeout) or isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))


def _option_name(entry: Any) -> str | None:
    """The provider name of an /options entry, the only part of it worth logging."""
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return str(name)[:60] if name else None


def _mapping(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise OpttyResponseError("Optty's response is not a JSON object.")
    return data


def _path(reference: str) -> str:
    if not reference:
        raise ValueError("An order reference is required.")
    return quote(reference, safe="")


def _display(url: str) -> str:
    """The URL without its query string, which may carry amounts and nothing else useful."""
    return url.split("?", 1)[0]


def _error_body(response: requests.Response) -> Mapping[str, Any]:
    try:
        data = money.loads(response.content)
    except ValueError:
        return {}
    return data if isinstance(data, Mapping) else {}


def _error_message(response: requests.Response) -> str:
    message = _error_body(response).get("message")
    if isinstance(message, list):  # NestJS validation errors come as a list
        message = "; ".join(str(part) for part in message)
    if not message:
        message = response.reason or f"HTTP {response.status_code}"
    return redact_text(str(message))[:300]


def _error_code(response: requests.Response) -> str | None:
    code = _error_body(response).get("error")
    return str(code) if code else None


__all__ = ["DEFAULT_POLICY", "ENVIRONMENTS", "FAST_POLICY", "Environment", "HttpPolicy", "OpttyClient"]
