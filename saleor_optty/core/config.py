"""The plugin's configuration, read from Saleor's ``{name, value}`` list into one typed object.

Also where clients are kept: Saleor builds plugin instances on every request, so the
Optty client (its connection pool and token cache) lives here, one per set of
credentials and per process, not on the plugin.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from ..optty import ENVIRONMENTS, HttpPolicy, OpttyAuthenticationError, OpttyClient, OpttyError, TokenStore
from ..optty.client import DEFAULT_POLICY

DEFAULT_REFERENCE_PREFIX = "SALEOR-"
#: Optty does not document a limit; every reference this plugin makes stays well inside 50.
MAX_REFERENCE_PREFIX_LENGTH = 16


@dataclass(frozen=True)
class FieldText:
    label: str
    help_text: str


#: What each setting is called and how it is explained: one text for the plugin's form in
#: Saleor's Dashboard, the App's configuration page and ``saleor-optty-app configure``.
FIELD_TEXT: dict[str, FieldText] = {
    "environment": FieldText("Environment", "sandbox (Optty's QA hosts) or production."),
    "api_url": FieldText("API URL override", "Leave empty to use the environment's API host."),
    "auth_url": FieldText("Token URL override", "Leave empty to use the environment's token endpoint."),
    "client_id": FieldText("Client ID", "From Optty's portal: View profile → View credentials."),
    "client_secret": FieldText("Client secret", "From Optty's portal: View profile → View credentials."),
    "payment_secret": FieldText(
        "Payment secret", "Optty's payment (hash) secret; it signs the shopper's return from the provider."
    ),
    "optty_channel": FieldText(
        "Optty channel alias", "Optional: an Optty channel alias, when your Optty account has several."
    ),
    "providers": FieldText(
        "Providers", "Comma-separated allow-list, e.g. KLARNA,AFTERPAY_AU. Empty offers all that Optty offers."
    ),
    "auto_capture": FieldText("Capture automatically", "Off: payments are authorised and captured from the Dashboard."),
    "supported_currencies": FieldText("Supported currencies", "Comma-separated ISO codes, e.g. AUD,NZD."),
    "order_reference_prefix": FieldText(
        "Order reference prefix",
        "Starts every Optty order reference, so your orders are easy to find in Optty's portal.",
    ),
    "callback_url": FieldText(
        "Callback URL", "Paste this into Optty's portal: Admin settings → Webhook/Callback Settings."
    ),
}


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def _split(value: Any, *, upper: bool) -> tuple[str, ...]:
    items = (part.strip() for part in str(value or "").split(","))
    return tuple(dict.fromkeys(item.upper() if upper else item for item in items if item))


@dataclass(frozen=True)
class OpttyConfiguration:
    environment: str
    client_id: str
    # Out of repr (and so of str, traceback locals and error trackers), like every secret.
    client_secret: str = field(repr=False)
    payment_secret: str = field(repr=False)
    api_url: str
    auth_url: str
    optty_channel: str
    providers: tuple[str, ...]
    auto_capture: bool
    supported_currencies: tuple[str, ...]
    order_reference_prefix: str

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> OpttyConfiguration:
        def text(name: str) -> str:
            return str(values.get(name) or "").strip()

        return cls(
            environment=text("environment").lower() or "sandbox",
            client_id=text("client_id"),
            client_secret=text("client_secret"),
            payment_secret=text("payment_secret"),
            api_url=text("api_url"),
            auth_url=text("auth_url"),
            optty_channel=text("optty_channel"),
            providers=_split(values.get("providers"), upper=True),
            auto_capture=_as_bool(values.get("auto_capture", True)),
            supported_currencies=_split(values.get("supported_currencies"), upper=True),
            order_reference_prefix=text("order_reference_prefix"),
        )

    @classmethod
    def from_plugin_configuration(cls, configuration: Iterable[Mapping[str, Any]]) -> OpttyConfiguration:
        return cls.from_values({item["name"]: item["value"] for item in configuration})

    def problems(self) -> dict[str, str]:
        """Field name -> what is wrong with it; empty when the configuration can be used."""
        problems: dict[str, str] = {}
        if self.environment not in ENVIRONMENTS:
            problems["environment"] = f"Choose one of: {', '.join(ENVIRONMENTS)}."
        for name, label in (
            ("client_id", "Client ID"),
            ("client_secret", "Client secret"),
            ("payment_secret", "Payment secret"),
        ):
            if not getattr(self, name):
                problems[name] = f"{label} is required; find it in Optty's portal under View profile → View credentials."
        for name in ("api_url", "auth_url"):
            url = getattr(self, name)
            if url and urlparse(url).scheme not in ("https", "http"):
                problems[name] = "Enter a full URL starting with https://, or leave it empty."
            elif url and self.environment == "production" and urlparse(url).scheme != "https":
                problems[name] = "Production traffic must use https://."
        if not self.supported_currencies:
            problems["supported_currencies"] = "List at least one currency, e.g. AUD or AUD,NZD."
        elif any(len(code) != 3 or not code.isalpha() for code in self.supported_currencies):
            problems["supported_currencies"] = "Use three-letter ISO 4217 codes separated by commas."
        prefix = self.order_reference_prefix
        if len(prefix) > MAX_REFERENCE_PREFIX_LENGTH or not all(c.isalnum() or c in "-_" for c in prefix):
            problems["order_reference_prefix"] = (
                f"Use up to {MAX_REFERENCE_PREFIX_LENGTH} letters, digits, '-' or '_'."
            )
        return problems

    def checked_problems(self, *, token_store: TokenStore | None = None) -> dict[str, str]:
        """:meth:`problems`, and when there are none, whether Optty accepts the credentials
        (a token request): what a merchant is told when saving a configuration."""
        problems = self.problems()
        if not problems:
            try:
                self.client(token_store=token_store).check_credentials()
            except OpttyAuthenticationError as error:
                problems["client_secret"] = error.message
            except OpttyError as error:
                problems["environment"] = f"Could not reach Optty to check the credentials: {error.message}"
        return problems

    def allows_provider(self, provider: str) -> bool:
        return not self.providers or provider.upper() in self.providers

    @property
    def identity(self) -> str:
        """A fingerprint of what a client depends on; contains no secret."""
        text = "|".join(
            (self.environment, self.api_url, self.auth_url, self.client_id, self.client_secret)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def client(self, *, token_store: TokenStore | None = None, policy: HttpPolicy = DEFAULT_POLICY) -> OpttyClient:
        """This configuration's shared client (connection pool and token cache)."""
        key = (self.identity, policy)
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = OpttyClient(
                    self.client_id,
                    self.client_secret,
                    environment=self.environment,
                    api_url=self.api_url or None,
                    auth_url=self.auth_url or None,
                    token_store=token_store,
                    policy=policy,
                )
                _clients[key] = client
            return client


# One client per credentials and policy for the life of the process; configurations
# change rarely, so this stays small.
_clients: dict[tuple[str, HttpPolicy], OpttyClient] = {}
_clients_lock = threading.Lock()
