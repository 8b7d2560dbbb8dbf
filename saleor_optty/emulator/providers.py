"""The emulated merchant's payment-method catalogue and its ``GET /options`` rendering.

In Optty the merchant enables providers, orders them and sets basket limits in the
Universal Payment Platform; here the same settings are a list of :class:`Provider`.
``supports_partial_capture`` and ``supports_partial_void`` are emulator-only: Optty says
both "depend on the provider" without publishing which, so they are not sent in
``/options``.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from .money import loads, quantum, to_money

STANDARD_FIELDS = ("firstName", "lastName", "email", "phoneNumber", "billingAddress")


@dataclass(frozen=True)
class Provider:
    name: str
    currencies: tuple[str, ...]
    min_amount: Decimal
    max_amount: Decimal
    priority: int
    terms: str
    button_text: str
    instalments: int = 4
    term_unit: str = "FORTNIGHT"
    required_fields: tuple[str, ...] = STANDARD_FIELDS
    recommended: bool = False
    supports_partial_capture: bool = True
    supports_partial_void: bool = True
    enabled: bool = True
    # Channel aliases the provider is configured for; empty means every channel.
    channels: tuple[str, ...] = ()

    def offers(self, currency: str, amount: Decimal, channel: str | None = None) -> bool:
        return (
            self.enabled
            and currency.upper() in self.currencies
            and self.min_amount <= amount <= self.max_amount
            and (not self.channels or channel is None or channel in self.channels)
        )

    def option(self, currency: str, amount: Decimal, logo_base_url: str, with_image: bool) -> dict[str, Any]:
        """One ``/options`` entry, shaped like Optty's example (limits and priority as text)."""
        rate = (amount / self.instalments).quantize(quantum(currency), rounding=ROUND_HALF_UP)
        entry: dict[str, Any] = {
            "name": self.name,
            "terms": self.terms,
            "imageUrl": f"{logo_base_url}/logos/{self.name}.svg",
            "currency": currency,
            "minAmount": str(to_money(self.min_amount, currency)),
            "maxAmount": str(to_money(self.max_amount, currency)),
            "priority": str(self.priority),
            "recommended": self.recommended,
            "requiredFields": list(self.required_fields),
            "instalment": {
                "rate": {"amount": rate, "currency": currency},
                "termDuration": self.instalments,
                "termUnit": self.term_unit,
            },
            "checkoutConfig": {"button": {"text": self.button_text}},
        }
        if with_image:
            entry["image"] = "data:image/svg+xml;base64," + base64.b64encode(logo_svg(self.name)).decode(
                "ascii"
            )
        return entry

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provider:
        """Build from a providers-file entry, written in Optty's camelCase."""
        names = {
            "name": "name",
            "currencies": "currencies",
            "minAmount": "min_amount",
            "maxAmount": "max_amount",
            "priority": "priority",
            "terms": "terms",
            "buttonText": "button_text",
            "instalments": "instalments",
            "termUnit": "term_unit",
            "requiredFields": "required_fields",
            "recommended": "recommended",
            "supportsPartialCapture": "supports_partial_capture",
            "supportsPartialVoid": "supports_partial_void",
            "enabled": "enabled",
            "channels": "channels",
        }
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"unknown provider keys: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {names[key]: value for key, value in data.items()}
        if "name" not in kwargs or "currencies" not in kwargs:
            raise ValueError("a provider needs at least name and currencies")
        kwargs["currencies"] = tuple(code.upper() for code in kwargs["currencies"])
        for key in ("required_fields", "channels"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        kwargs["min_amount"] = Decimal(str(kwargs.get("min_amount", "1")))
        kwargs["max_amount"] = Decimal(str(kwargs.get("max_amount", "10000")))
        kwargs.setdefault("priority", 99)
        kwargs["priority"] = int(kwargs["priority"])
        kwargs.setdefault("terms", f"Pay with {kwargs['name']}")
        kwargs.setdefault("button_text", f"Pay with {kwargs['name']}")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The emulator's own view of the provider, including the capability flags."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _provider(name: str, currencies: str, limits: str, priority: int, label: str, **extra: Any) -> Provider:
    low, high = limits.split("-")
    extra.setdefault("terms", f"Pay in 4 interest-free instalments with {label}")
    return Provider(
        name=name,
        currencies=tuple(currencies.split()),
        min_amount=Decimal(low),
        max_amount=Decimal(high),
        priority=priority,
        button_text=f"Continue with {label}",
        **extra,
    )


NAME_AND_CONTACT = ("firstName", "lastName", "email", "billingAddress")

# Capability flags are spread on purpose so every client path meets a provider that
# refuses partial capture or partial void.
DEFAULT_PROVIDERS: tuple[Provider, ...] = (
    _provider("AFTERPAY_AU", "AUD", "1-2000", 1, "Afterpay", recommended=True),
    _provider(
        "ZIP_AU", "AUD", "1-5000", 2, "Zip",
        required_fields=NAME_AND_CONTACT, supports_partial_capture=False, supports_partial_void=False,
    ),
    _provider(
        "KLARNA", "USD AUD GBP EUR", "1-10000", 3, "Klarna",
        instalments=3, term_unit="MONTH", terms="Pay in 3 interest-free instalments with Klarna",
        required_fields=NAME_AND_CONTACT,
    ),
    _provider(
        "LATITUDEPAY_AU", "AUD", "20-1500", 4, "LatitudePay",
        instalments=10, term_unit="WEEK", terms="10 weekly payments with LatitudePay",
        supports_partial_capture=False, supports_partial_void=False,
    ),
    _provider(
        "HUMM_AU", "AUD", "1-30000", 5, "humm",
        instalments=5, terms="5 fortnightly payments with humm", supports_partial_void=False,
    ),
    _provider("AFTERPAY_US", "USD", "1-2000", 1, "Afterpay", recommended=True),
    _provider("CLEARPAY", "GBP", "1-1000", 1, "Clearpay", recommended=True),
    _provider(
        "ATOME_SG", "SGD", "1-3000", 1, "Atome",
        instalments=3, term_unit="MONTH", terms="3 interest-free monthly payments with Atome",
        required_fields=("firstName", "lastName", "email", "phoneNumber"), supports_partial_capture=False,
    ),
    # A zero-decimal currency, so JPY-style amounts can be tested end to end.
    _provider(
        "PAIDY_JP", "JPY", "100-500000", 1, "Paidy",
        instalments=3, term_unit="MONTH", terms="Pay next month or in 3 instalments with Paidy",
        required_fields=("email", "phoneNumber"),
    ),
)  # fmt: skip


def load_providers(path: str | Path) -> tuple[Provider, ...]:
    """Read a JSON list of provider objects (the ``--providers-file`` format)."""
    data = loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError("a providers file holds a JSON list of provider objects")
    return tuple(Provider.from_dict(entry) for entry in data)


def coerce_providers(providers: Any) -> tuple[Provider, ...]:
    """Accept Provider objects or providers-file dicts (the constructor's ``providers``)."""
    if providers is None:
        return DEFAULT_PROVIDERS
    result = tuple(p if isinstance(p, Provider) else Provider.from_dict(p) for p in providers)
    names = [p.name for p in result]
    if len(set(names)) != len(names):
        raise ValueError("provider names must be unique")
    return result


def logo_svg(name: str) -> bytes:
    # The name is an enum-like identifier, but escape anyway: it may come from a file.
    label = html.escape(name)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">'
        '<rect width="160" height="40" rx="6" fill="#1f2a44"/>'
        '<text x="80" y="25" font-family="sans-serif" font-size="13" fill="#fff" text-anchor="middle">'
        f"{label}</text></svg>"
    ).encode("utf-8")
