"""The HTTP side: one server answering as both Optty's auth host and its API host.

Routing, bearer-token checks, fault injection and the wire format live here; the rules
live in :mod:`.state` and :mod:`.validation`. Connections are HTTP/1.1 keep-alive and
every answer carries a Content-Length, so a client's connection reuse shows up in the
``connections`` counter (one per accepted TCP connection).
"""

from __future__ import annotations

import hmac
import re
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import ApiError, bad_request
from .faults import Shot, present
from .hosted import approval_page, message_page
from .money import control_dumps, dumps, loads
from .providers import logo_svg
from .validation import require_object

if TYPE_CHECKING:
    from .emulator import OpttyEmulator

MAX_BODY = 1024 * 1024
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


@dataclass
class Request:
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Any
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        fields = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in fields.items()}

    def json(self) -> Any:
        """The JSON body with Decimal numbers; None when there is no body."""
        if not self.body.strip():
            return None
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise bad_request("Content-Type must be application/json")
        try:
            return loads(self.body)
        except ValueError:
            raise bad_request("Request body is not valid JSON") from None


@dataclass
class Reply:
    status: int
    kind: str  # "api" (Optty wire, output knobs apply), "control", "html", "svg", "redirect"
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


RouteHandler = Callable[["OpttyEmulator", Request], Reply]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: tuple[str, ...]
    handler: RouteHandler
    endpoint: str | None = None  # fault/counter key; None for the control API
    auth: bool = False

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.pattern, segments):
            if part.startswith("{"):
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


def api(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, "api", payload, headers or {})


def control(status: int, payload: Any) -> Reply:
    return Reply(status, "control", payload)


# Optty's API ---------------------------------------------------------------------------


def token(emulator: OpttyEmulator, request: Request) -> Reply:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if request.body and content_type != "application/x-www-form-urlencoded":
        raise bad_request("Content-Type must be application/x-www-form-urlencoded")
    form = request.form()
    for key in ("client_id", "client_secret", "grant_type", "scope"):
        if not form.get(key):
            raise bad_request(f"{key} should not be empty")
    if form["grant_type"] != "client_credentials":
        raise bad_request("grant_type must be client_credentials")
    if form["scope"] != "api-user":
        raise bad_request("scope must be api-user (the only scope the emulator issues)")
    # Compare both fields in full either way, so timing does not tell which one was wrong.
    id_ok = hmac.compare_digest(form["client_id"].encode(), emulator.client_id.encode())
    secret_ok = hmac.compare_digest(form["client_secret"].encode(), emulator.client_secret.encode())
    if not (id_ok and secret_ok):
        raise ApiError(401, "Invalid client credentials")
    access_token, ttl = emulator._issue_token()
    body = {"access_token": access_token, "expires_in": ttl, "token_type": "Bearer", "scope": "api-user"}
    return api(200, body, {"Cache-Control": "no-store"})


def options(emulator: OpttyEmulator, request: Request) -> Reply:
    amount_text = request.arg("amount")
    if not amount_text:
        raise bad_request("amount should not be empty")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise bad_request("amount must be a number") from None
    if not amount.is_finite():
        raise bad_request("amount must be a number")
    if amount < 1:
        raise bad_request("amount must not be less than 1")
    currency = request.arg("currency")
    if not currency:
        raise bad_request("currency should not be empty")
    if not _CURRENCY.match(currency):
        raise bad_request("currency must be an ISO 4217 currency code, e.g. AUD")
    currency = currency.upper()
    channel = request.arg("channel") or None
    with_image = (request.arg("isCapable") or "").lower() == "true"
    offered = emulator._transact(lambda ledger: ledger.options(currency, amount, channel))
    entries = [provider.option(currency, amount, emulator.url, with_image) for provider in offered]
    if entries and emulator._output().corrupt_option:
        entries[0]["minAmount"] = "see terms"
    return api(200, entries)


def create_order(emulator: OpttyEmulator, request: Request) -> Reply:
    body = request.json()
    return api(201, emulator._transact(lambda ledger: ledger.create_order(body, emulator.url)))


def get_order(emulator: OpttyEmulator, request: Request) -> Reply:
    reference = request.params["reference"]
    return api(200, emulator._transact(lambda ledger: ledger.order_status(reference)))


def order_details(emulator: OpttyEmulator, request: Request) -> Reply:
    # The body (if any) is ignored, as is ?merchantId= for parent accounts.
    reference = request.params["reference"]
    return api(200, emulator._transact(lambda ledger: ledger.order_details(reference)))


def capture(emulator: OpttyEmulator, request: Request) -> Reply:
    reference, body = request.params["reference"], request.json()
    return api(200, emulator._transact(lambda ledger: ledger.capture(reference, body)))


def void(emulator: OpttyEmulator, request: Request) -> Reply:
    reference, body = request.params["reference"], request.json()
    return api(200, emulator._transact(lambda ledger: ledger.void(reference, body)))


def refund(emulator: OpttyEmulator, request: Request) -> Reply:
    reference, body = request.params["reference"], request.json()
    return api(200, emulator._transact(lambda ledger: ledger.refund(reference, body)))


def customer_session(emulator: OpttyEmulator, request: Request) -> Reply:
    # Optty documents the body, not the status code; 201 is NestJS's default for a POST.
    body = request.json()
    return api(201, emulator._transact(lambda ledger: ledger.customer_session(body, emulator.client_secret)))


# The shopper's side (no bearer token: this is the browser) -----------------------------


def hosted_page(emulator: OpttyEmulator, request: Request) -> Reply:
    order_token = request.params["token"]

    def render(ledger: Any) -> str | None:
        order = ledger.order_by_token(order_token)
        return approval_page(order) if order is not None else None

    page = emulator._transact(render)
    if page is None:
        return Reply(404, "html", message_page("Not found", "No order has this payment link."))
    return Reply(200, "html", page)


def hosted_decision(emulator: OpttyEmulator, request: Request) -> Reply:
    order_token = request.params["token"]
    decision = request.form().get("decision", "")

    def find(ledger: Any) -> Any:
        order = ledger.order_by_token(order_token)
        if order is None:
            raise ApiError(404, "No order has this payment link.")
        return order

    try:
        result, page = emulator._decide(find, decision)
    except ApiError as error:
        titles = {404: "Not found", 409: "Already decided"}
        return Reply(
            error.status, "html", message_page(titles.get(error.status, "Bad request"), error.message)
        )
    if result["redirect"]:
        return Reply(302, "redirect", result["redirect"])
    return Reply(200, "html", page)


def logo(emulator: OpttyEmulator, request: Request) -> Reply:
    name = request.params["file"].removesuffix(".svg")
    if name not in {provider.name for provider in emulator.providers}:
        raise ApiError(404, "Logo not found")
    return Reply(200, "svg", logo_svg(name))


# The control API (/_emulator/..., no auth: a sandbox) ------------------------------------


def _control_body(request: Request) -> dict[str, Any]:
    body = request.json()
    return {} if body is None else require_object(body)


def ctl_reset(emulator: OpttyEmulator, request: Request) -> Reply:
    try:
        emulator.reset(**_control_body(request))
    except ValueError as error:
        raise bad_request(str(error)) from None
    return control(200, {"reset": True})


def ctl_get_faults(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, emulator.faults())


def ctl_set_faults(emulator: OpttyEmulator, request: Request) -> Reply:
    try:
        return control(200, emulator.configure_faults(_control_body(request)))
    except ValueError as error:
        raise bad_request(str(error)) from None


def ctl_orders(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, {"orders": emulator.orders()})


def ctl_order(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, emulator.order(request.params["reference"]))


def ctl_decision(emulator: OpttyEmulator, request: Request) -> Reply:
    decision = _control_body(request).get("decision")
    if not isinstance(decision, str):
        raise bad_request("decision should not be empty")
    return control(200, emulator.decide(request.params["reference"], decision))


def ctl_refund(emulator: OpttyEmulator, request: Request) -> Reply:
    body = _control_body(request)
    if body.get("amount") is None:
        raise bad_request("amount should not be empty")
    return control(
        200, emulator.portal_refund(request.params["reference"], body["amount"], body.get("reason"))
    )


def ctl_status(emulator: OpttyEmulator, request: Request) -> Reply:
    body = _control_body(request)
    if not isinstance(body.get("status"), str):
        raise bad_request("status should not be empty")
    return control(200, emulator.set_status(request.params["reference"], body["status"], body.get("reason")))


def ctl_stats(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, emulator.stats())


def ctl_callbacks(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, {"deliveries": emulator.deliveries()})


def ctl_release(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, {"released": emulator.release_callbacks()})


def ctl_revoke(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, {"revoked": emulator.revoke_tokens()})


def ctl_providers(emulator: OpttyEmulator, request: Request) -> Reply:
    return control(200, {"providers": [provider.to_dict() for provider in emulator.providers]})


ROUTES = (
    Route(("POST",), ("token",), token, "token"),
    Route(("GET",), ("options",), options, "options", auth=True),
    Route(("POST",), ("orders",), create_order, "create_order", auth=True),
    Route(("GET",), ("orders", "{reference}"), get_order, "get_order", auth=True),
    Route(("GET", "POST"), ("orders", "{reference}", "details"), order_details, "details", auth=True),
    Route(("POST",), ("orders", "{reference}", "capture"), capture, "capture", auth=True),
    Route(("POST",), ("orders", "{reference}", "void"), void, "void", auth=True),
    Route(("POST",), ("orders", "{reference}", "refund"), refund, "refund", auth=True),
    Route(("POST",), ("merchants", "customer", "sessions"), customer_session, "customer_session", auth=True),
    Route(("GET",), ("hosted", "{token}"), hosted_page, "hosted"),
    Route(("POST",), ("hosted", "{token}", "decision"), hosted_decision, "hosted"),
    Route(("GET",), ("logos", "{file}"), logo),
    Route(("POST",), ("_emulator", "reset"), ctl_reset),
    Route(("GET",), ("_emulator", "faults"), ctl_get_faults),
    Route(("POST",), ("_emulator", "faults"), ctl_set_faults),
    Route(("GET",), ("_emulator", "orders"), ctl_orders),
    Route(("GET",), ("_emulator", "orders", "{reference}"), ctl_order),
    Route(("POST",), ("_emulator", "orders", "{reference}", "decision"), ctl_decision),
    Route(("POST",), ("_emulator", "orders", "{reference}", "refund"), ctl_refund),
    Route(("POST",), ("_emulator", "orders", "{reference}", "status"), ctl_status),
    Route(("GET",), ("_emulator", "stats"), ctl_stats),
    Route(("GET",), ("_emulator", "callbacks"), ctl_callbacks),
    Route(("POST",), ("_emulator", "callbacks", "release"), ctl_release),
    Route(("POST",), ("_emulator", "tokens", "revoke"), ctl_revoke),
    Route(("GET",), ("_emulator", "providers"), ctl_providers),
)


def find_route(method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if method in route.methods:
            params = route.match(segments)
            if params is not None:
                return route, params
    return None


# The server ----------------------------------------------------------------------------


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Counts accepted connections and can cut idle keep-alive ones when stopping."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: OpttyEmulator) -> None:
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.emulator._count_connection()
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (or a connection cut by stop()) is not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or self.emulator._stopping.is_set():
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpttyEmulator/1.0"
    # Headers and body go out in separate writes; with Nagle on, the body would wait for
    # the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries no secrets: credentials travel in the token form body.
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _handle(self, method: str) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except ApiError as error:
            # The rest of the body is still on the wire, so this connection is done.
            self.close_connection = True
            self._send(api(error.status, error.body()))
            return
        # Split before unquoting so an encoded "/" stays inside its path segment.
        segments = [unquote(part) for part in url.path.split("/") if part]
        found = find_route(method, segments)
        if found is None:
            self._send(
                api(404, {"statusCode": 404, "message": f"Cannot {method} {url.path}", "error": "Not Found"})
            )
            return
        route, params = found
        request = Request(params, parse_qs(url.query, keep_blank_values=True), self.headers, body)

        if route.endpoint is None:
            emulator._count_control_request()
            self._send(self._call(route, request))
            return

        latency, shot = emulator._begin(route.endpoint)
        emulator._sleep(latency + (shot.seconds if shot is not None and shot.action == "hang" else 0.0))
        if shot is not None and shot.strikes("before"):
            self._misbehave(shot)
            return
        reply = self._call(route, request)
        if shot is not None and shot.strikes("after"):
            self._misbehave(shot)
            return
        self._send(reply)

    def _call(self, route: Route, request: Request) -> Reply:
        emulator = self.server.emulator
        try:
            if route.auth and not emulator._token_valid(_bearer(request)):
                raise ApiError(401, "Unauthorized")
            return route.handler(emulator, request)
        except ApiError as error:
            return (
                api(error.status, error.body())
                if route.endpoint is not None
                else control(error.status, error.body())
            )
        except Exception:  # an emulator bug: answer like a server would, and show it
            traceback.print_exc(file=sys.stderr)
            return api(500, {"statusCode": 500, "message": "Internal server error"})

    def _misbehave(self, shot: Shot) -> None:
        if shot.action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            phrase = HTTPStatus(shot.status).phrase
        except ValueError:
            phrase = "Error"
        headers = {"Retry-After": str(shot.retry_after)} if shot.retry_after is not None else {}
        self._send(
            api(shot.status, {"statusCode": shot.status, "message": f"{phrase} (emulated fault)"}, headers)
        )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise bad_request("Content-Length is not a number") from None
        if length < 0:
            raise bad_request("Content-Length is negative")
        if length > MAX_BODY:
            raise ApiError(413, "Request body is too large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise bad_request("Malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # skip trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ApiError(413, "Request body is too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        try:
            content_type, body = self._encode(reply)
        except Exception:  # an emulator bug: still answer, so the client is not left hanging
            traceback.print_exc(file=sys.stderr)
            reply = api(500, None)
            content_type, body = (
                "application/json; charset=utf-8",
                b'{"statusCode":500,"message":"Internal server error"}',
            )
        self.send_response(reply.status)
        if reply.kind == "redirect":
            self.send_header("Location", reply.payload)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _encode(self, reply: Reply) -> tuple[str, bytes]:
        if reply.kind == "html":
            return "text/html; charset=utf-8", reply.payload.encode("utf-8")
        if reply.kind == "svg":
            return "image/svg+xml", reply.payload
        if reply.kind == "redirect":
            return "text/plain; charset=utf-8", b""
        if reply.kind == "control":
            return "application/json; charset=utf-8", control_dumps(reply.payload).encode("utf-8")
        output = self.server.emulator._output()
        payload = present(reply.payload, output)
        if output.message_as_list and reply.status == 400 and isinstance(payload, dict):
            payload = {**payload, "message": [payload["message"]], "error": "Bad Request"}
        return "application/json; charset=utf-8", dumps(
            payload, amounts_as_strings=output.amounts_as_strings
        ).encode("utf-8")


def _bearer(request: Request) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""
