"""What the App's benchmarks send it: tests/app/shop.py's storefront and staff, for an App
in its own processes (``served.py``), and Optty's callbacks as the emulator sends them.

Saleor's side is the stand-in of the App's test suite (tests/app/standin.py): it signs
every webhook with a real RSA key, judges every answer by the rules of the Saleor version
it plays, and keeps each transaction's events and amounts as Saleor does.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from bench.emulator import order_callback
from tests.app.shop import CHANNEL, STOREFRONT, Shop

from .served import ServedApp


class RemoteShop(Shop):
    """The App suite's shop, its channel configured through the App's CLI (the App runs
    in other processes, with a database of its own)."""

    def __init__(self, saleor, optty, app: ServedApp):  # noqa: D107 - Shop's, without the ORM
        self.saleor = saleor
        self.optty = optty
        self.app = app
        self.checkouts = {}
        self.configure(auto_capture=True)
        self.saleor.on("transaction", self._transaction)

    def configure(self, *, auto_capture: bool) -> None:
        self.app.configure(
            self.saleor.api_url, self.optty, channel=CHANNEL, currency="AUD", storefront=STOREFRONT, auto_capture=auto_capture
        )


@dataclass(frozen=True)
class Callback:
    """Optty's ORDER_ASYNC_CALLBACK for one order, as the emulator would deliver it."""

    url: str
    body: str

    @classmethod
    def of(cls, optty, reference: str) -> Callback:
        return cls(*order_callback(optty, reference))

    def to(self, path: str) -> Callback:
        """The same request to another path of the App with the same last two segments."""
        origin = self.url.split("/api/", 1)[0]
        reference_and_key = "/".join(self.url.rsplit("/", 2)[-2:])
        return Callback(f"{origin}/{path}/{reference_and_key}", self.body)

    def send(self, http: requests.Session) -> str:
        """Deliver it; the App's answer (``"success"``...), which must come with a 200."""
        response = http.post(self.url, data=self.body, headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return response.json()["status"]
