"""One channel's Optty configuration: read, checked and saved in one place, so that the
Dashboard page and ``saleor-optty-app configure`` can never disagree.

The rules are the plugin's (:meth:`OpttyConfiguration.problems`, and Optty's own verdict
on the credentials); the App adds only the storefront origins a shopper may be sent back
to. Nothing is saved while any field has a problem. Saved values count from the next
request on: every request reads its channel's row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache

from ...core.config import FIELD_TEXT, OpttyConfiguration
from ...optty import ENVIRONMENTS
from .. import problems as problems_to_fix
from ..models import ChannelConfiguration, Installation

SECRETS = ("client_secret", "payment_secret")
STOREFRONT_URLS = "storefront_urls"
#: The problem key for the channel itself (a missing or overlong slug).
CHANNEL = "channel"
#: Hosts a storefront may be served from over plain http:// in production: a developer's own machine.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class Field:
    """One setting as the page shows it and the command line names it."""

    name: str
    label: str
    help_text: str
    #: "choice", "text", "secret", "boolean" or "origins".
    kind: str
    choices: tuple[str, ...] = ()


def _field(name: str, kind: str, choices: tuple[str, ...] = ()) -> Field:
    return Field(name, FIELD_TEXT[name].label, FIELD_TEXT[name].help_text, kind, choices)


#: In the order a merchant fills them in.
FIELDS: tuple[Field, ...] = (
    _field("environment", "choice", tuple(ENVIRONMENTS)),
    _field("client_id", "text"),
    _field("client_secret", "secret"),
    _field("payment_secret", "secret"),
    Field(
        STOREFRONT_URLS,
        "Storefront URLs",
        "Where shoppers may return after paying: one origin per line, e.g. https://shop.example.com "
        "(http:// only for localhost, or in sandbox).",
        "origins",
    ),
    _field("supported_currencies", "text"),
    _field("providers", "text"),
    _field("auto_capture", "boolean"),
    _field("optty_channel", "text"),
    _field("order_reference_prefix", "text"),
    _field("api_url", "text"),
    _field("auth_url", "text"),
)
FIELD_NAMES = tuple(field.name for field in FIELDS)


@dataclass(frozen=True)
class SaveResult:
    """What saving did: the stored configuration, or the problems (field -> message)
    that kept it from being saved."""

    configuration: ChannelConfiguration | None
    problems: dict[str, str]

    @property
    def saved(self) -> bool:
        return not self.problems


def load(installation: Installation, channel_slug: str) -> ChannelConfiguration | None:
    return ChannelConfiguration.objects.filter(installation=installation, channel_slug=channel_slug).first()


def save(installation: Installation, channel_slug: str, values: Mapping[str, Any]) -> SaveResult:
    """Check ``values`` and, when every field is fine and Optty accepts the credentials,
    store them as ``channel_slug``'s configuration.

    ``values`` holds the fields to change, by name (:data:`FIELD_NAMES`); a field not
    given keeps its stored value (or its default, for a new channel), and so does a
    secret given empty ("leave empty to keep").
    """
    slug = channel_slug.strip() if isinstance(channel_slug, str) else ""
    if not slug:
        return SaveResult(None, {CHANNEL: "Name the Saleor channel by its slug."})
    if len(slug) > _max_length("channel_slug"):
        return SaveResult(None, {CHANNEL: f"Use at most {_max_length('channel_slug')} characters."})
    current = load(installation, slug) or ChannelConfiguration(installation=installation, channel_slug=slug)
    merged, problems = _merged(current, values)
    if problems:
        return SaveResult(None, problems)
    optty = _optty(merged)
    problems = {**_length_problems(merged), **_storefront_problems(merged[STOREFRONT_URLS], optty.environment)}
    if problems:
        # Every field's problem at once; Optty is asked only about a configuration that could work.
        problems.update(optty.problems())
    else:
        problems = optty.checked_problems(token_store=cache)
    if problems:
        return SaveResult(None, problems)
    stored = {
        **merged,
        # As the plugin reads them back: one spelling, so the page shows what counts.
        "environment": optty.environment,
        "providers": ",".join(optty.providers),
        "supported_currencies": ",".join(optty.supported_currencies),
        STOREFRONT_URLS: "\n".join(dict.fromkeys(storefront_origin(url) for url in merged[STOREFRONT_URLS])),
    }
    configuration, _ = ChannelConfiguration.objects.update_or_create(
        installation=installation, channel_slug=slug, defaults=stored
    )
    problems_to_fix.configuration_saved(configuration)
    return SaveResult(configuration, {})


def callback_url(configuration: ChannelConfiguration) -> str:
    """The merchant webhook URL to paste into Optty's portal (its last segment is a key)."""
    from ..optty_views import merchant_webhook_url  # imported when needed: the views bring the whole payment flow

    return merchant_webhook_url(configuration)


def shown(configuration: ChannelConfiguration) -> dict[str, Any]:
    """The values as the page shows them: secrets only as their last characters."""
    values: dict[str, Any] = {name: getattr(configuration, name) for name in FIELD_NAMES}
    values[STOREFRONT_URLS] = list(configuration.storefront_origins)
    for name in SECRETS:
        values[name] = mask(values[name])
    return values


def mask(secret: str) -> str:
    """The end of a secret, as Saleor's Dashboard shows a plugin's secret fields: the last
    four characters, or only the last one of a secret of four or fewer; "" when unset."""
    if not secret:
        return ""
    return secret[-4:] if len(secret) > 4 else secret[-1:]


def storefront_origin(url: str) -> str | None:
    """``url``'s origin (``https://shop.example.com``, lowercase, default port dropped),
    or None when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # an unparseable port or IPv6 address
        return None
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    suffix = "" if port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"


def return_url_allowed(configuration: ChannelConfiguration, return_url: str) -> bool:
    """Whether a shopper may be sent to ``return_url``: its origin is one the channel allows."""
    origin = storefront_origin(return_url) if isinstance(return_url, str) else None
    return origin is not None and origin in configuration.storefront_origins


# ------------------------------------------------------------------------ internals


def _merged(current: ChannelConfiguration, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored values with ``values`` applied, and what is wrong with the input's shape."""
    merged: dict[str, Any] = {name: getattr(current, name) for name in FIELD_NAMES}
    merged[STOREFRONT_URLS] = list(current.storefront_origins)
    problems: dict[str, str] = {}
    for name, value in values.items():
        if name not in FIELD_NAMES:
            problems[str(name)[:64]] = "Not a setting of this App."
        elif name == "auto_capture":
            flag = _boolean(value)
            if flag is None:
                problems[name] = "Choose on or off."
            else:
                merged[name] = flag
        elif name == STOREFRONT_URLS:
            origins = _origins(value)
            if origins is None:
                problems[name] = "Enter the origins as text, one per line."
            else:
                merged[name] = origins
        elif value is not None and not isinstance(value, str):
            problems[name] = "Enter text."
        elif name in SECRETS:
            if value and value.strip():
                merged[name] = value.strip()
        else:
            merged[name] = (value or "").strip()
    return merged, problems


def _optty(merged: Mapping[str, Any]) -> OpttyConfiguration:
    return OpttyConfiguration.from_values({name: value for name, value in merged.items() if name != STOREFRONT_URLS})


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    return None


def _origins(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        return None
    return list(dict.fromkeys(item.strip().rstrip("/") for item in value if item.strip()))


def _max_length(name: str) -> int:
    return ChannelConfiguration._meta.get_field(name).max_length


def _length_problems(merged: Mapping[str, Any]) -> dict[str, str]:
    problems = {}
    for name, value in merged.items():
        limit = ChannelConfiguration._meta.get_field(name).max_length
        if limit and isinstance(value, str) and len(value) > limit:
            problems[name] = f"Use at most {limit} characters."
    return problems


def _storefront_problems(urls: list[str], environment: str) -> dict[str, str]:
    if not urls:
        return {
            STOREFRONT_URLS: "List at least one storefront origin, e.g. https://shop.example.com: "
            "shoppers return there after paying."
        }
    found = [problem for url in urls if (problem := _origin_problem(url, environment))]
    return {STOREFRONT_URLS: " ".join(found)} if found else {}


def _origin_problem(url: str, environment: str) -> str | None:
    origin = storefront_origin(url)
    if origin is None:
        return f"{url}: enter an origin such as https://shop.example.com."
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        return f"{url}: enter only the origin ({origin}), with no path, query or fragment."
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and environment != "sandbox":
        return f"{url}: production storefronts must use https:// (http:// only for localhost)."
    return None
