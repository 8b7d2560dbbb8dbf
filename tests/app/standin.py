"""A Saleor stand-in for the App's tests: a real HTTP server on loopback that plays one
Saleor version ("3.20.119" or "3.23.28") the way the App meets Saleor.

- ``GET /.well-known/jwks.json``: its RSA key as Saleor publishes it (``kid`` = RFC 7638
  thumbprint, ``use: sig``, ``alg: RS256`` from 3.21 on); :meth:`SaleorStandIn.rotate_key`
  replaces it, as changing ``RSA_PRIVATE_KEY`` does.
- ``POST /graphql/``: checks the App's token, validates every document against the
  version's schema (tests/schema; a document that does not validate is recorded in
  :attr:`~SaleorStandIn.failures`, which the ``saleor`` fixture turns into a failed test)
  and answers ``{ app { id } }``, ``channels``, ``transactionEventReport`` (with Saleor's
  de-duplication and amounts), ``appProblemCreate``/``appProblemDismiss`` (3.22.36+ only)
  and whatever a test adds with :meth:`~SaleorStandIn.on`.
- :meth:`~SaleorStandIn.install`: what Saleor's ``appInstall`` does: fetch the manifest,
  check it (:mod:`tests.app.saleor_rules`), fetch the logo, POST the token.
- :meth:`~SaleorStandIn.send_webhook`: signs the exact body like Saleor, sends Saleor's
  headers, and judges the App's answer with the version's rules; a valid answer about a
  transaction the stand-in knows updates that transaction like Saleor would.
- :meth:`~SaleorStandIn.dashboard_token`: a token shaped like ``App.accessToken``.

Every GraphQL call, JWKS fetch and webhook is recorded for assertions.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import GraphQLError, GraphQLSchema, execute_sync, parse, validate
from graphql.language import OperationDefinitionNode
from jwt.algorithms import RSAAlgorithm

from saleor_optty.optty import money

from . import saleor_rules

#: Saleor's sync webhook timeout (WEBHOOK_SYNC_TIMEOUT) and install POST timeout.
SALEOR_TIMEOUT = (2, 18)
#: Fields of Saleor's Mutation that an App may probe for on an older Saleor; a document
#: refused only because it uses them is answered as Saleor does, and is not a failure.
PROBED_FIELDS = frozenset({"appProblemCreate", "appProblemDismiss", "AppProblemCreateInput", "AppProblemDismissInput"})
#: transactionEventReport types Saleor never de-duplicates.
NOT_DEDUPLICATED = frozenset({"AUTHORIZATION_ACTION_REQUIRED", "CHARGE_ACTION_REQUIRED", "INFO"})
#: transactionEventReport types whose amount may be left out (OPTIONAL_AMOUNT_EVENTS).
OPTIONAL_AMOUNT = frozenset({"AUTHORIZATION_FAILURE", "CHARGE_FAILURE", "REFUND_FAILURE", "CANCEL_FAILURE", "REFUND_REVERSE", "CHARGE_BACK", "INFO"})

KEY_POOL_SIZE = 3
_KEYS: list[rsa.RSAPrivateKey] = []
_KEYS_LOCK = threading.Lock()


def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The ``index``-th RSA key of this test run (made once: generating one takes a while)."""
    with _KEYS_LOCK:
        while len(_KEYS) <= index:
            _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEYS[index]


@lru_cache(maxsize=1)
def stranger_key() -> rsa.RSAPrivateKey:
    """A key no stand-in ever publishes: what a forger signs with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def thumbprint(key: rsa.RSAPrivateKey) -> str:
    """RFC 7638 thumbprint of the public key: what Saleor uses as ``kid``."""
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def global_id(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


class InstallError(Exception):
    """Saleor failed the install; ``message`` is what Saleor shows the installer."""


@dataclass
class StandInApp:
    id: str
    token: str
    identifier: str
    permissions: list[str]
    #: Saleor event name -> {"targetUrl", "query"} from the manifest.
    webhooks: dict[str, dict[str, str]]
    removed: bool = False


@dataclass
class GraphQLCall:
    operation: str
    query: str
    variables: dict[str, Any]
    authorized: bool
    valid: bool
    status: int
    response: dict[str, Any]


@dataclass
class WebhookResult:
    event: str
    url: str
    status: int
    #: The answer read as JSON with Decimal numbers (None when not JSON).
    body: Any
    #: Why Saleor would refuse the answer (for 2xx answers; empty when it accepts).
    problems: list[str]
    response: requests.Response = field(repr=False)

    @property
    def accepted(self) -> bool:
        """Saleor took the answer: a 2xx with a body its rules accept."""
        return 200 <= self.status < 300 and not self.problems

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


@dataclass
class TransactionEvent:
    id: str
    type: str
    psp_reference: str | None
    amount: Decimal
    message: str
    created_at: dt.datetime
    #: Saleor's include_in_calculations: the failure recorded for a refused report is not.
    counted: bool = True


@dataclass
class StandInTransaction:
    """A TransactionItem as Saleor keeps it, with its amounts computed from its events the
    way ``recalculate_transaction_amounts`` does (per pspReference: a success counts
    unless a newer failure of it arrived; a request is pending until either)."""

    id: str
    currency: str
    app_identifier: str
    checkout_id: str | None = None
    order_id: str | None = None
    psp_reference: str = ""
    events: list[TransactionEvent] = field(default_factory=list)

    def add_event(
        self, type: str, psp_reference: str | None, amount: Decimal, message: str = "", *, counted: bool = True
    ) -> TransactionEvent:
        event = TransactionEvent(
            id=global_id("TransactionEvent", secrets.token_hex(6)),
            type=type,
            psp_reference=psp_reference,
            amount=Decimal(amount),
            message=message[:512],
            created_at=dt.datetime.now(dt.UTC) + dt.timedelta(microseconds=len(self.events)),
            counted=counted,
        )
        self.events.append(event)
        if not self.psp_reference and psp_reference and type.endswith(("_REQUEST", "_SUCCESS")):
            self.psp_reference = psp_reference
        return event

    def find(self, type: str, psp_reference: str | None) -> TransactionEvent | None:
        return next((e for e in self.events if e.type == type and e.psp_reference == psp_reference), None)

    @property
    def amounts(self) -> dict[str, Decimal]:
        """``recalculate_transaction_amounts`` (saleor/payment/transaction_item_calculations.py):
        per (kind, pspReference) the latest request/success/failure count; events without
        a pspReference add up as they are; authorized amounts never go below 0."""
        totals = dict.fromkeys(
            ("authorized", "charged", "refunded", "canceled", "authorizePending", "chargePending", "refundPending", "cancelPending"),
            Decimal(0),
        )
        events = sorted((e for e in self.events if e.counted), key=lambda e: e.created_at)
        authorizations = [e for e in events if e.type in _AUTHORIZATION_EVENTS]
        adjustments = [i for i, e in enumerate(authorizations) if e.type == "AUTHORIZATION_ADJUSTMENT"]
        if adjustments:  # an adjustment replaces every authorization before it
            authorizations = authorizations[adjustments[-1] :]
        groups: dict[tuple[str, str], dict[str, TransactionEvent]] = {}
        for event in authorizations + [e for e in events if e.type not in _AUTHORIZATION_EVENTS]:
            kind, _, outcome = event.type.partition("_")
            if event.psp_reference:
                groups.setdefault((kind, event.psp_reference), {})[outcome] = event
            else:
                for name, sign in _WITHOUT_PSP_REFERENCE.get(event.type, ()):
                    totals[name] = event.amount if sign == "=" else totals[name] + sign * event.amount
        for kind, (total, taken_from) in _KINDS.items():
            for (group_kind, _), group in groups.items():
                if group_kind != kind:
                    continue
                if "ADJUSTMENT" in group:
                    totals["authorized"] = group["ADJUSTMENT"].amount
                if kind == "CHARGE" and "BACK" in group:
                    totals["charged"] -= group["BACK"].amount
                if kind == "REFUND" and "REVERSE" in group:
                    totals["charged"] += group["REVERSE"].amount
                    totals["refunded"] -= group["REVERSE"].amount
                request, success, failure = group.get("REQUEST"), group.get("SUCCESS"), group.get("FAILURE")
                if request and not success and not failure:
                    totals[f"{kind.lower().replace('authorization', 'authorize')}Pending"] += request.amount
                    if taken_from:
                        totals[taken_from] -= request.amount
                if success and (not failure or success.created_at > failure.created_at):
                    totals[total] += success.amount
                    if taken_from:
                        totals[taken_from] -= success.amount
        totals["authorized"] = max(totals["authorized"], Decimal(0))
        totals["authorizePending"] = max(totals["authorizePending"], Decimal(0))
        return totals

    def as_graphql(self) -> dict[str, Any]:
        amounts = self.amounts

        def money_of(value: Decimal) -> dict[str, Any]:
            return {"amount": value, "currency": self.currency}

        return {
            "id": self.id,
            "pspReference": self.psp_reference,
            "authorizedAmount": money_of(amounts["authorized"]),
            "chargedAmount": money_of(amounts["charged"]),
            "refundedAmount": money_of(amounts["refunded"]),
            "canceledAmount": money_of(amounts["canceled"]),
            "authorizePendingAmount": money_of(amounts["authorizePending"]),
            "chargePendingAmount": money_of(amounts["chargePending"]),
            "refundPendingAmount": money_of(amounts["refundPending"]),
            "cancelPendingAmount": money_of(amounts["cancelPending"]),
            "checkout": {"id": self.checkout_id} if self.checkout_id else None,
            "order": {"id": self.order_id} if self.order_id else None,
            "events": [_event_as_graphql(event, self.currency) for event in self.events],
        }


_AUTHORIZATION_EVENTS = frozenset({"AUTHORIZATION_SUCCESS", "AUTHORIZATION_FAILURE", "AUTHORIZATION_ADJUSTMENT", "AUTHORIZATION_REQUEST"})
#: Each kind of event: the amount its success adds to, and the one it takes from.
_KINDS = {"AUTHORIZATION": ("authorized", None), "CHARGE": ("charged", "authorized"), "REFUND": ("refunded", "charged"), "CANCEL": ("canceled", "authorized")}
_WITHOUT_PSP_REFERENCE = {
    "AUTHORIZATION_SUCCESS": (("authorized", 1),),
    "AUTHORIZATION_ADJUSTMENT": (("authorized", "="),),
    "CHARGE_SUCCESS": (("charged", 1),),
    "CHARGE_BACK": (("charged", -1),),
    "REFUND_SUCCESS": (("refunded", 1),),
    "REFUND_REVERSE": (("charged", 1),),
    "CANCEL_SUCCESS": (("canceled", 1),),
}


def _event_as_graphql(event: TransactionEvent, currency: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "pspReference": event.psp_reference or "",
        "amount": {"amount": event.amount, "currency": currency},
        "message": event.message,
        "createdAt": event.created_at.isoformat(),
        "externalUrl": "",
    }


def _graphql_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"exception": {"code": code}})


class SaleorStandIn:
    """One Saleor, one version, on ``127.0.0.1`` (see the module's notes)."""

    def __init__(self, version: str = "3.23.28"):
        self.version = version
        self.release = saleor_rules.version_tuple(version)
        #: ``Saleor-Schema-Version`` (major.minor), as Saleor sends it at install.
        self.schema_version = f"{self.release[0]}.{self.release[1]}"
        self.schema = _schema(version)
        # Keys come from a small pool (making one takes a while): stand-ins alive together
        # and a key and its rotation always differ.
        self._key_index = next(_KEY_COUNTER) % KEY_POOL_SIZE
        self.key = rsa_key(self._key_index)
        self.lock = threading.RLock()
        self.app: StandInApp | None = None
        self._app_ids = itertools.count(1)
        self.accept_app_token = True
        self.channels = [
            {"id": global_id("Channel", 1), "slug": "default-channel", "name": "Channel-USD", "currencyCode": "USD", "isActive": True},
            {"id": global_id("Channel", 2), "slug": "channel-pln", "name": "Channel-PLN", "currencyCode": "PLN", "isActive": True},
        ]
        self.transactions: dict[str, StandInTransaction] = {}
        self.app_problems: list[dict[str, Any]] = []
        self.resolvers: dict[str, Callable[..., Any]] = {}
        # Records.
        self.calls: list[GraphQLCall] = []
        self.jwks_requests = 0
        self.deliveries: list[WebhookResult] = []
        #: Everything Saleor would have refused from the App; the fixture fails the test on it.
        self.failures: list[str] = []
        # Fault knobs.
        self.jwks_answer: tuple[int, dict[str, str], bytes] | None = None
        self.jwks_delay = 0.0
        self.graphql_delay = 0.0
        self._graphql_faults: list[tuple[int, bytes]] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"saleor-{version}", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.domain = f"{host}:{port}"
        self.url = f"http://{self.domain}"
        self.api_url = f"{self.url}/graphql/"

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SaleorStandIn:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SaleorStandIn {self.version} {self.api_url}>"

    def assert_no_failures(self) -> None:
        assert not self.failures, "Saleor would have refused what the App did:\n- " + "\n- ".join(self.failures)

    # ---------------------------------------------------------------- keys

    @property
    def kid(self) -> str:
        return thumbprint(self.key)

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"use": "sig", "kid": self.kid})
        if self.release >= (3, 21):  # 3.20 publishes no "alg"
            jwk["alg"] = "RS256"
        return {"keys": [jwk]}

    def rotate_key(self) -> None:
        """Saleor's RSA_PRIVATE_KEY replaced: a new key and kid, the old one gone."""
        with self.lock:
            self._key_index = (self._key_index + 1) % KEY_POOL_SIZE
            self.key = rsa_key(self._key_index)

    def sign(self, body: bytes, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> str:
        """``Saleor-Signature`` for ``body``: PyJWT's detached JWS, as ``JWTManager.jws_encode``."""
        key = key or self.key
        return jwt.api_jws.encode(
            body,
            key,
            algorithm="RS256",
            headers={"kid": kid or thumbprint(key), "crit": ["b64"]},
            is_payload_detached=True,
        )

    def dashboard_token(
        self,
        *,
        permissions: tuple[str, ...] = ("MANAGE_APPS", "HANDLE_PAYMENTS"),
        app_id: str | None = None,
        expired: bool = False,
        email: str = "staff@example.com",
        issuer: str | None = None,
        audience: str | None = None,
        token_type: str = "thirdparty",
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
    ) -> str:
        """A token shaped like ``App.accessToken`` (``create_access_token_for_app``)."""
        now = dt.datetime.now(dt.UTC) - (dt.timedelta(minutes=10) if expired else dt.timedelta(0))
        app_permissions = set(self.app.permissions) if self.app else {"HANDLE_PAYMENTS"}
        claims: dict[str, Any] = {
            "iat": now,
            "owner": "saleor",
            "iss": issuer or self.api_url,
            "exp": now + dt.timedelta(minutes=5),
            "token": secrets.token_urlsafe(8),
            "email": email,
            "type": token_type,
            "user_id": global_id("User", 7),
            "is_staff": True,
            "app": app_id or (self.app.id if self.app else global_id("App", 1)),
            "permissions": sorted(app_permissions & set(permissions)),
            "user_permissions": list(permissions),
        }
        if audience:
            claims["aud"] = audience
        key = key or self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or thumbprint(key)})

    # ---------------------------------------------------------------- install

    def install(self, manifest_url: str) -> StandInApp:
        """Install the App from ``manifest_url`` (or the App's base URL) as ``appInstall``
        does; raises :class:`InstallError` with what Saleor would show the installer."""
        if not manifest_url.endswith("/api/manifest"):
            manifest_url = manifest_url.rstrip("/") + "/api/manifest"
        if self.app and not self.app.removed:
            raise InstallError("App with the same identifier is already installed")
        response = requests.get(
            manifest_url, headers={"Saleor-Schema-Version": self.schema_version}, timeout=SALEOR_TIMEOUT, allow_redirects=False
        )
        response.raise_for_status()
        manifest = response.json()
        problems = saleor_rules.manifest_problems(self.version, manifest, schema=self.schema)
        if problems:
            self.failures.extend(f"manifest: {problem}" for problem in problems)
            raise InstallError("; ".join(problems))
        self._check_logo(manifest.get("brand"))
        number = next(self._app_ids)
        app = StandInApp(
            id=global_id("App", number),
            token=secrets.token_urlsafe(22),
            identifier=manifest["id"],
            permissions=list(manifest.get("permissions", [])),
            webhooks={
                event: {"targetUrl": webhook["targetUrl"], "query": webhook["query"]}
                for webhook in manifest.get("webhooks", [])
                for event in webhook.get("syncEvents", []) + webhook.get("asyncEvents", [])
            },
        )
        with self.lock:
            self.app = app
        token_response = requests.post(
            manifest["tokenTargetUrl"],
            data=json.dumps({"auth_token": app.token}),
            headers={
                "Content-Type": "application/json",
                "X-Saleor-Domain": self.domain,
                "Saleor-Domain": self.domain,
                "Saleor-Api-Url": self.api_url,
                "Saleor-Schema-Version": self.schema_version,
                "User-Agent": f"Saleor/{self.schema_version}",
            },
            timeout=SALEOR_TIMEOUT,
            allow_redirects=False,
        )
        if not 200 <= token_response.status_code < 300:
            with self.lock:
                self.app = None  # Saleor deletes the App when the token hand-off fails
            try:
                message = str(token_response.json()["error"]["message"])
            except Exception:
                message = f"App internal error ({token_response.status_code})"
            raise InstallError(message)
        return app

    def create_app(self, *, identifier: str = "optty.payments.app", permissions: tuple[str, ...] = ("HANDLE_PAYMENTS",)) -> StandInApp:
        """An installed App and its token, without the install round trip (for tests of
        the App's calls to Saleor)."""
        app = StandInApp(
            id=global_id("App", next(self._app_ids)),
            token=secrets.token_urlsafe(22),
            identifier=identifier,
            permissions=list(permissions),
            webhooks={},
        )
        with self.lock:
            self.app = app
        return app

    def uninstall(self) -> None:
        """``appDelete``: the App is removed (softly) and its token stops working."""
        with self.lock:
            if self.app:
                self.app.removed = True

    def reinstall(self, manifest_url: str) -> StandInApp:
        self.uninstall()
        return self.install(manifest_url)

    def _check_logo(self, brand: Any) -> None:
        # Saleor fetches the logo after install (fetch_icon_image, validate_icon_image).
        if not brand:
            return
        response = requests.get(brand["logo"]["default"], timeout=SALEOR_TIMEOUT, allow_redirects=False)
        content = response.content
        if response.status_code != 200 or response.headers.get("content-type") != "image/png":
            self.failures.append(f"logo: HTTP {response.status_code}, {response.headers.get('content-type')}")
        elif content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
            self.failures.append("logo: not a PNG")
        else:
            width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
            if width != height or width < 256:
                self.failures.append(f"logo: {width}x{height}, Saleor wants a square of at least 256 pixels")

    # ---------------------------------------------------------------- webhooks

    def event_payload(self, event: str, *, recipient_id: str | None = None, version: str | None = None, **fields: Any) -> dict[str, Any]:
        """The body Saleor sends for ``event``: the event-level fields the installed
        subscription selects (``__typename``, ``version``, ``issuedAt``, ``recipient``),
        then ``fields`` as given."""
        envelope = {
            "__typename": "".join(part.capitalize() for part in event.split("_")),
            "issuedAt": dt.datetime.now(dt.UTC).isoformat(),
            "version": version or self.version,
            "recipient": {"id": recipient_id or (self.app.id if self.app else global_id("App", 1))},
        }
        webhook = self.app.webhooks.get(event) if self.app else None
        if webhook:
            selected = saleor_rules.event_level_fields(webhook["query"])
            envelope = {name: value for name, value in envelope.items() if name in selected}
        return {**envelope, **fields}

    def send_webhook(
        self,
        event: str,
        payload: Mapping[str, Any] | bytes,
        *,
        url: str | None = None,
        sign: bool = True,
        event_header: str | None = None,
        signature: str | None = None,
        api_url: str | None = None,
        method: str = "POST",
    ) -> WebhookResult:
        """Sends ``event`` with ``payload`` as Saleor does and judges the answer."""
        body = payload if isinstance(payload, bytes) else money.dumps(payload).encode()
        if url is None:
            assert self.app and event in self.app.webhooks, f"the App subscribed to no {event}"
            url = self.app.webhooks[event]["targetUrl"]
        headers = {"Content-Type": "application/json"}
        event_name = event_header if event_header is not None else event.lower()
        headers.update({"Saleor-Event": event_name, "X-Saleor-Event": event_name})
        headers.update({"Saleor-Domain": self.domain, "X-Saleor-Domain": self.domain})
        headers["Saleor-Api-Url"] = api_url if api_url is not None else self.api_url
        if signature is None and sign:
            signature = self.sign(body)
        if signature is not None:
            headers.update({"Saleor-Signature": signature, "X-Saleor-Signature": signature})
        response = requests.request(method, url, data=body, headers=headers, timeout=SALEOR_TIMEOUT, allow_redirects=False)
        try:
            parsed = money.loads(response.content)
        except ValueError:
            parsed = None
        problems: list[str] = []
        if 200 <= response.status_code < 300:
            try:
                as_saleor = saleor_rules.as_saleor_reads(response.content)
            except ValueError:
                problems = ["the answer is not JSON"]
            else:
                problems = saleor_rules.response_problems(self.version, event, as_saleor)
                if event == saleor_rules.GATEWAY_EVENT and not (isinstance(as_saleor, dict) and "data" in as_saleor):
                    # Saleor takes it, and the storefront silently gets null: the App's contract says {"data": ...}.
                    problems.append("the answer carries no `data` for the storefront")
            if problems:
                self.failures.extend(f"{event} answer {response.content[:300]!r}: {problem}" for problem in problems)
            elif isinstance(payload, Mapping):
                self._apply_answer(event, payload, parsed)
        result = WebhookResult(event, url, response.status_code, parsed, problems, response)
        self.deliveries.append(result)
        return result

    def _apply_answer(self, event: str, payload: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        """What Saleor records from an accepted answer about a transaction it knows
        (``create_transaction_event_for_transaction_session`` and
        ``create_transaction_event_from_request_and_webhook_response``, simplified)."""
        transaction = self.transactions.get(((payload.get("transaction") or {}).get("id")) or "")
        if transaction is None or event == saleor_rules.GATEWAY_EVENT:
            return
        requested = Decimal(str((payload.get("action") or {}).get("amount") or 0))
        with self.lock:
            request = None
            if event in saleor_rules.ACTION_EVENTS:
                # Saleor made the request event before sending the webhook (a test that
                # plays transactionRequestAction adds it first); the answer gives it its psp.
                request_type = f"{saleor_rules.ACTION_EVENTS[event]}_REQUEST"
                unanswered = [e for e in transaction.events if e.type == request_type and not e.psp_reference]
                if unanswered:
                    request = unanswered[-1]
                    request.psp_reference = answer.get("pspReference")
                else:
                    request = transaction.add_event(request_type, answer.get("pspReference"), requested)
            result = answer.get("result")
            if not result:
                return
            amount = Decimal(str(answer["amount"])) if answer.get("amount") is not None else Decimal(0)
            if not amount and self.release >= (3, 21):
                amount = requested  # `amount or request_event_amount`
            psp = answer.get("pspReference") or (request.psp_reference if request else None)
            existing = transaction.find(result, psp) if result not in NOT_DEDUPLICATED else None
            if existing and existing.amount != amount:
                transaction.add_event(_failure_of(result), psp, amount, "already exists with different amount", counted=False)
            elif not existing:
                transaction.add_event(result, psp, amount, str(answer.get("message") or ""))

    # ---------------------------------------------------------------- GraphQL API

    def on(self, field_name: str, resolver: Callable[..., Any]) -> None:
        """Answer the Query or Mutation field ``field_name`` with ``resolver(info, **args)``."""
        self.resolvers[field_name] = resolver

    def fail_next_graphql(self, status: int, times: int = 1, body: bytes = b"") -> None:
        """The next ``times`` GraphQL requests get ``status`` without being run."""
        self._graphql_faults.extend([(status, body)] * times)

    def clear_graphql_faults(self) -> None:
        """Saleor is back: the GraphQL faults not used up yet are dropped."""
        self._graphql_faults.clear()

    def create_transaction(
        self, *, currency: str = "USD", checkout_id: str | None = None, order_id: str | None = None, identifier: str | None = None
    ) -> StandInTransaction:
        """A TransactionItem owned by the App (as ``transactionInitialize`` makes them)."""
        if not checkout_id and not order_id:
            checkout_id = global_id("Checkout", secrets.token_hex(8))
        transaction = StandInTransaction(
            id=global_id("TransactionItem", secrets.token_hex(8)),
            currency=currency,
            app_identifier=identifier or (self.app.identifier if self.app else "optty.payments.app"),
            checkout_id=checkout_id,
            order_id=order_id,
        )
        self.transactions[transaction.id] = transaction
        return transaction

    def calls_to(self, operation_field: str) -> list[GraphQLCall]:
        return [call for call in self.calls if call.operation == operation_field]

    def _current_app(self, headers: Mapping[str, str]) -> StandInApp | None:
        authorization = headers.get("Authorization", "")
        app = self.app
        if app is None or app.removed or not self.accept_app_token or authorization != f"Bearer {app.token}":
            return None
        return app

    def handle_graphql(self, headers: Mapping[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        if self.graphql_delay:
            time.sleep(self.graphql_delay)
        with self.lock:
            if self._graphql_faults:
                status, body = self._graphql_faults.pop(0)
                return status, {"_raw": body}
            try:
                request = json.loads(raw)
                query, variables = request["query"], request.get("variables") or {}
                document = parse(query)
            except Exception as error:
                self.failures.append(f"GraphQL request not readable: {error}")
                return 400, {"errors": [{"message": str(error), "extensions": {"exception": {"code": "GraphQLError"}}}]}
            operation = _operation_field(document)
            app = self._current_app(headers)
            errors = validate(self.schema, document)
            if errors:
                probe_only = all(any(f"'{name}" in error.message for name in PROBED_FIELDS) for error in errors)
                if not probe_only:
                    self.failures.extend(f"invalid document for Saleor {self.version}: {error.message}" for error in errors)
                answer = {"errors": [{"message": e.message, "extensions": {"exception": {"code": "GraphQLError"}}} for e in errors]}
                self.calls.append(GraphQLCall(operation, query, variables, app is not None, False, 400, answer))
                return 400, answer
            result = execute_sync(self.schema, document, root_value=_Root(self, app), variable_values=variables)
            status = 200
            answer: dict[str, Any] = {}
            if result.errors:
                answer["errors"] = [_formatted(error) for error in result.errors]
            if result.data is None and result.errors:
                status = 400  # bad variables: Saleor's "invalid" request
                self.failures.extend(f"GraphQL request refused: {error.message}" for error in result.errors)
            else:
                answer["data"] = result.data
            self.calls.append(GraphQLCall(operation, query, variables, app is not None, True, status, answer))
            return status, answer

    # resolvers -------------------------------------------------------------

    def _require_app(self, app: StandInApp | None, permission: str | None = None) -> StandInApp:
        if app is None:
            raise _graphql_error(
                "To access this path, you need one of the following permissions: AUTHENTICATED_STAFF_USER, AUTHENTICATED_APP",
                "PermissionDenied",
            )
        if permission and permission not in app.permissions:
            raise _graphql_error(f"To access this path, you need one of the following permissions: {permission}", "PermissionDenied")
        return app

    def resolve_transaction_event_report(self, app: StandInApp | None, args: dict[str, Any]) -> dict[str, Any]:
        app = self._require_app(app, "HANDLE_PAYMENTS")
        transaction = self.transactions.get(args.get("id") or "")

        def failed(field: str, message: str, code: str) -> dict[str, Any]:
            return {"alreadyProcessed": None, "transaction": None, "transactionEvent": None, "errors": [{"field": field, "message": message, "code": code}]}

        if transaction is None:
            return failed("id", "Couldn't resolve to a node", "NOT_FOUND")
        if transaction.app_identifier != app.identifier:
            raise _graphql_error("To access this path, you need one of the following permissions: OWNER, HANDLE_PAYMENTS", "PermissionDenied")
        type, psp = args["type"], args["pspReference"]
        amount = args.get("amount")
        if amount is None:
            if type not in OPTIONAL_AMOUNT:
                return failed("amount", f"The `amount` field is required for {type.lower()} event.", "REQUIRED")
            earlier = [e for e in transaction.events if e.psp_reference == psp]
            if not earlier:
                return failed("amount", "Unable to calculate the amount of the event.", "REQUIRED")
            amount = earlier[-1].amount
        amount = amount.quantize(Decimal(10) ** -_currency_places(transaction.currency))
        existing = transaction.find(type, psp) if type not in NOT_DEDUPLICATED else None
        if existing and existing.amount != amount:
            transaction.add_event(_failure_of(type), psp, amount, "already exists with different amount", counted=False)
            return failed(
                "pspReference",
                "The transaction with provided `pspReference` and `type` already exists with different amount.",
                "INCORRECT_DETAILS",
            )
        if existing:
            event, already = existing, True
        elif type == "AUTHORIZATION_SUCCESS" and any(e.type == type for e in transaction.events):
            return failed("type", "Event with `AUTHORIZATION_SUCCESS` already reported for the transaction.", "ALREADY_EXISTS")
        else:
            event, already = transaction.add_event(type, psp, amount, args.get("message") or ""), False
        return {
            "alreadyProcessed": already,
            "transaction": transaction.as_graphql(),
            "transactionEvent": _event_as_graphql(event, transaction.currency),
            "errors": [],
        }

    def resolve_app_problem_create(self, app: StandInApp | None, problem: dict[str, Any]) -> dict[str, Any]:
        self._require_app(app)
        message, key = problem["message"], problem["key"]
        if len(message) < 3 or not 3 <= len(key) <= 128:
            return {"appProblem": None, "errors": [{"field": "key" if len(message) >= 3 else "message", "message": "Too short or long.", "code": "INVALID"}]}
        record = {
            "id": global_id("AppProblem", len(self.app_problems) + 1),
            "key": key,
            "message": message if len(message) <= 2048 else message[:2045] + "...",
            "criticalThreshold": problem.get("criticalThreshold"),
            "aggregationPeriod": problem.get("aggregationPeriod"),
            "dismissed": False,
            "count": 1,
            "isCritical": problem.get("criticalThreshold") == 1,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            "updatedAt": dt.datetime.now(dt.UTC).isoformat(),
        }
        self.app_problems.append(record)
        return {"appProblem": record, "errors": []}

    def resolve_app_problem_dismiss(self, app: StandInApp | None, dismissal: dict[str, Any]) -> dict[str, Any]:
        self._require_app(app)
        keys = set((dismissal.get("byApp") or {}).get("keys") or [])
        for problem in self.app_problems:
            if problem["key"] in keys:
                problem["dismissed"] = True
        return {"errors": []}


_KEY_COUNTER = itertools.count()


class _Root(dict):
    """Query and Mutation root: each field a callable ``(info, **args)``, run with the
    App the request's token belongs to (None: an anonymous request)."""

    def __init__(self, standin: SaleorStandIn, app: StandInApp | None):
        super().__init__(
            app=lambda info, id=None: {"id": standin._require_app(app).id},
            channels=lambda info: standin._require_app(app) and standin.channels,
            transactionEventReport=lambda info, **args: standin.resolve_transaction_event_report(app, args),
            # Only reached on versions whose schema has them (3.22.36+).
            appProblemCreate=lambda info, input: standin.resolve_app_problem_create(app, input),
            appProblemDismiss=lambda info, input: standin.resolve_app_problem_dismiss(app, input),
        )
        self.update(standin.resolvers)


def _operation_field(document) -> str:
    operation = next((node for node in document.definitions if isinstance(node, OperationDefinitionNode)), None)
    if operation is None or not operation.selection_set.selections:
        return ""
    return operation.selection_set.selections[0].name.value


def _formatted(error: GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    formatted.setdefault("extensions", {"exception": {"code": "GraphQLError"}})
    return formatted


def _failure_of(event_type: str) -> str:
    kind = event_type.split("_")[0]
    return f"{kind}_FAILURE" if kind in ("AUTHORIZATION", "CHARGE", "REFUND", "CANCEL") else event_type


def _currency_places(currency: str) -> int:
    try:
        return money.currency_exponent(currency)
    except money.MoneyError:
        return 2


def _parse_positive_decimal(value: Any) -> Decimal:
    # Saleor's PositiveDecimal: Decimal(str(value)), finite, 0 or more.
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None
    if not parsed.is_finite() or parsed < 0:
        raise ValueError(f"{value!r} is not a non-negative decimal")
    return parsed


def _schema(version: str) -> GraphQLSchema:
    schema = saleor_rules.load_schema(version)
    positive_decimal = schema.type_map["PositiveDecimal"]
    positive_decimal.parse_value = positive_decimal.coerce_input_value = _parse_positive_decimal  # type: ignore[union-attr]
    return schema


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) is not the stand-in's failure.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _handler(standin: SaleorStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/.well-known/jwks.json":
                return self._send(404, b'{"error": "not found"}')
            with standin.lock:
                standin.jwks_requests += 1
                answer = standin.jwks_answer
                document = standin.jwks
            if standin.jwks_delay:
                time.sleep(standin.jwks_delay)
            if answer is not None:
                status, headers, body = answer
                return self._send(status, body, headers)
            self._send(200, json.dumps(document).encode())

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path != "/graphql/":
                return self._send(404, b'{"error": "not found"}')
            status, answer = standin.handle_graphql(self.headers, raw)
            body = answer["_raw"] if "_raw" in answer else json.dumps(answer, default=_json_default).encode()
            self._send(status, body)

        def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # graphene's Float, as Saleor answers
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
