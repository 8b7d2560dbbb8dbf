"""The Optty emulator in its own process, driven through its HTTP control API.

The benchmarks measure the CPU time of the process that runs Saleor. An in-process
emulator would add its own request handling and callback deliveries to that figure
(and compete for the GIL), so it runs as ``python -m saleor_optty.emulator`` instead,
the way Optty is a remote service. :class:`RemoteEmulator` offers the part of
:class:`saleor_optty.emulator.OpttyEmulator`'s Python API that the integration suite's
``Storefront`` and fixtures use, so they work unchanged against it.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from typing import Any

import requests

from saleor_optty.emulator import redirect_hash
from saleor_optty.optty.money import loads

CLIENT_ID = "emulator-client"
CLIENT_SECRET = "emulator-secret"
PAYMENT_SECRET = "emulator-payment-secret"

_LISTENING = re.compile(r"listening on (http://\S+)")


def order_callback(optty, reference: str) -> tuple[str, str]:
    """Optty's ORDER_ASYNC_CALLBACK for one order, as the emulator would deliver it: the
    order's callback URL and the body (``optty``: this module's emulator or the in-process
    one, both of which answer ``order(reference)``)."""
    order = optty.order(reference)
    body = {"event": "ORDER_ASYNC_CALLBACK", "data": {"orderReference": reference, "status": order["status"]}}
    return order["request"]["dynamicCallbackUrl"], json.dumps(body)


class RemoteEmulator:
    """``python -m saleor_optty.emulator --port 0`` at zero latency, until :meth:`stop`."""

    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    payment_secret = PAYMENT_SECRET

    def __init__(self) -> None:
        command = [
            sys.executable, "-m", "saleor_optty.emulator", "--port", "0",
            "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--payment-secret", PAYMENT_SECRET,
            # Callbacks go to the test settings' PUBLIC_URL, where nothing listens: the
            # benchmarks deliver callbacks themselves, so one quick failed attempt is enough.
            "--callback-max-attempts", "1", "--callback-backoff", "0.01",
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        banner = self._process.stdout.readline()
        found = _LISTENING.search(banner)
        if found is None:
            self.stop()
            raise RuntimeError(f"The Optty emulator did not start: {banner!r}")
        self.url = found.group(1)
        # One keep-alive session for the control API: after its first call it opens no
        # more connections, so a change in stats()["connections"] is the plugin's alone.
        self._control = requests.Session()

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def auth_url(self) -> str:
        return self.url + "/token"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait(timeout=10)
        self._process.stdout.close()

    # The control API (see saleor_optty/emulator/__init__.py) ---------------------------

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self._control.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return loads(response.content)  # amounts as Decimal, as the in-process emulator gives them

    def reset(self) -> None:
        self._call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def decide(self, reference: str, decision: str) -> dict[str, Any]:
        return self._call("POST", f"orders/{reference}/decision", {"decision": decision})

    def order(self, reference: str) -> dict[str, Any]:
        return self._call("GET", f"orders/{reference}")

    def configure_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "faults", spec)

    def hang_next(self, endpoint: str, seconds: float, count: int = 1) -> None:
        self.configure_faults({"next": {endpoint: [{"action": "hang", "count": count, "seconds": seconds}]}})

    def redirect_hash(self, status: str, reference: str) -> str:
        return redirect_hash(self.payment_secret, status, reference)
