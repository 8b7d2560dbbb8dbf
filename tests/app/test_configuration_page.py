"""The configuration page in a real browser (Debian's Chromium, driven by Playwright),
inside an iframe of a page that plays Saleor Dashboard's side of AppBridge.

The "Dashboard" is served from 127.0.0.1 and the App from ``localhost`` (pytest-django's
live server), so the page crosses origins as it does in production. The Dashboard
embeds the App's ``appUrl`` with its query parameters (``id``, ``saleorApiUrl``,
``domain``, ``theme``, ``locale``), sends the ``handshake`` with a token the Saleor
stand-in signed once the iframe has loaded, answers the App's actions with
``response``, and records them. The page saves a configuration that the Optty
emulator checks.

Outside CI the tests skip when Chromium or Playwright is missing; in CI they fail.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from saleor_optty.app.models import ChannelConfiguration
from saleor_optty.app.optty_views import merchant_webhook_url
from tests.browser import browser, page  # noqa: F401  (fixtures)

DASHBOARD_PAGE = """<!doctype html>
<meta charset="utf-8"><title>Saleor Dashboard</title>
<iframe id="app" src="{src}" referrerpolicy="{referrer_policy}" style="width: 900px; height: 1800px"></iframe>
<script>
  const appOrigin = {app_origin};
  const frame = document.getElementById("app");
  window.received = [];
  window.handshakeSent = false;
  window.addEventListener("message", (event) => {{
    if (event.origin !== appOrigin) return;
    window.received.push(event.data);
    const actionId = event.data && event.data.payload && event.data.payload.actionId;
    frame.contentWindow.postMessage({{ type: "response", payload: {{ actionId: actionId, ok: true }} }}, appOrigin);
  }});
  frame.addEventListener("load", () => {{
    const handshake = {{ type: "handshake", payload: {{ token: {token}, version: 1, saleorVersion: "3.23.28" }} }};
    frame.contentWindow.postMessage(handshake, appOrigin);
    window.handshakeSent = true;
  }});
</script>
"""


@pytest.fixture
def saleor_version():
    return "3.23.28"


class Dashboard:
    """Saleor Dashboard's side of the page: serves the page that embeds the App."""

    def __init__(self):
        self.html = b""
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(dashboard.html)))
                self.end_headers()
                self.wfile.write(dashboard.html)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def open(self, page, installed_app, token, *, referrer_policy="strict-origin-when-cross-origin"):
        """Opens the App in the Dashboard as a staff user holding ``token``; the App's frame."""
        saleor = installed_app.saleor
        query = urlencode(
            {"id": saleor.app.id, "saleorApiUrl": saleor.api_url, "domain": saleor.domain, "theme": "light", "locale": "en"}
        )
        self.html = DASHBOARD_PAGE.format(
            src=f"{installed_app.url}/configuration?{query}",
            referrer_policy=referrer_policy,
            app_origin=json.dumps(installed_app.url),
            token=json.dumps(token),
        ).encode()
        page.goto(f"{self.url}/dashboard")
        return page.frame_locator("#app")


@pytest.fixture
def dashboard():
    dashboard = Dashboard()
    yield dashboard
    dashboard.close()


@pytest.fixture
def expect(browser):  # noqa: F811  (after the browser fixture has made sure Playwright is there)
    from playwright.sync_api import expect

    return expect


def fill_in(frame, optty, *, client_secret):
    frame.get_by_label("Client ID").fill(optty.client_id)
    frame.get_by_label("Client secret").fill(client_secret)
    frame.get_by_label("Payment secret").fill(optty.payment_secret)
    frame.get_by_label("Storefront URLs").fill("https://shop.example.com\nhttp://localhost:3000")
    frame.get_by_label("API URL override").fill(optty.api_url)
    frame.get_by_label("Token URL override").fill(optty.auth_url)


def test_the_merchant_saves_a_configuration_optty_accepts(page, dashboard, installed_app, optty, expect):
    frame = dashboard.open(page, installed_app, installed_app.saleor.dashboard_token())

    expect(frame.get_by_role("status")).to_have_text("Not configured yet: fill in the form and save.")
    expect(frame.get_by_label("Channel", exact=True)).to_have_value("default-channel")
    expect(frame.locator("#channel option")).to_have_text(
        ["Channel-USD (default-channel) (not configured)", "Channel-PLN (channel-pln) (not configured)"]
    )
    expect(frame.get_by_label("Supported currencies")).to_have_value("USD")  # the channel's currency
    fill_in(frame, optty, client_secret=optty.client_secret)
    frame.get_by_role("button", name="Save").click()

    expect(frame.get_by_role("status")).to_have_text("Saved. Optty accepted the credentials.")
    expect(frame.locator("#channel option:checked")).to_have_text("Channel-USD (default-channel)")
    configuration = ChannelConfiguration.objects.get()
    assert (configuration.channel_slug, configuration.client_secret) == ("default-channel", optty.client_secret)
    assert configuration.storefront_origins == ("https://shop.example.com", "http://localhost:3000")
    expect(frame.get_by_label("Callback URL")).to_have_value(merchant_webhook_url(configuration))
    # The secret is not shown back, only its end.
    expect(frame.get_by_label("Client secret")).to_have_value("")
    expect(frame.locator("#client_secret-stored")).to_have_text(
        f"Stored, ending in {optty.client_secret[-4:]}. Leave empty to keep it."
    )
    # AppBridge actions reached the Dashboard: ready, then a notification toast.
    received = page.evaluate("window.received")
    assert [message["type"] for message in received] == ["notifyReady", "notification"]
    assert received[1]["payload"]["status"] == "success"
    assert all(message["payload"]["actionId"] for message in received)

    # Another channel: its own configuration, none yet.
    frame.get_by_label("Channel", exact=True).select_option("channel-pln")
    expect(frame.get_by_label("Supported currencies")).to_have_value("PLN")
    expect(frame.get_by_role("status")).to_have_text("Not configured yet: fill in the form and save.")
    expect(frame.get_by_label("Client ID")).to_have_value("")
    expect(frame.get_by_label("Callback URL")).to_be_hidden()


def test_a_secret_optty_refuses_is_shown_on_its_field_and_not_saved(page, dashboard, installed_app, optty, expect):
    frame = dashboard.open(page, installed_app, installed_app.saleor.dashboard_token())
    expect(frame.get_by_role("status")).to_have_text("Not configured yet: fill in the form and save.")

    fill_in(frame, optty, client_secret="not-the-secret")
    frame.get_by_role("button", name="Save").click()

    expect(frame.get_by_role("status")).to_have_text("Not saved: see the problems below.")
    expect(frame.locator("#client_secret-problem")).to_contain_text(
        "Optty refused the client id and secret for the sandbox environment"
    )
    expect(frame.get_by_label("Callback URL")).to_be_hidden()
    assert not ChannelConfiguration.objects.exists()


def test_a_user_without_manage_apps_is_refused(page, dashboard, installed_app, expect):
    token = installed_app.saleor.dashboard_token(permissions=("HANDLE_PAYMENTS",))

    frame = dashboard.open(page, installed_app, token)

    expect(frame.get_by_role("status")).to_contain_text("needs the MANAGE_APPS permission")
    expect(frame.get_by_role("button", name="Save")).to_be_hidden()


def test_a_handshake_from_an_origin_other_than_the_dashboard_s_is_ignored(page, dashboard, installed_app, expect):
    # With no referrer, the page expects the Dashboard at the API's origin; this parent is elsewhere.
    api_calls = []
    page.on("request", lambda request: "/api/configuration" in request.url and api_calls.append(request.url))

    frame = dashboard.open(page, installed_app, installed_app.saleor.dashboard_token(), referrer_policy="no-referrer")
    page.wait_for_function("window.handshakeSent")
    page.wait_for_timeout(300)

    expect(frame.get_by_role("status")).to_have_text("Waiting for Saleor's Dashboard…")
    assert api_calls == []
