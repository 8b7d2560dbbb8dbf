"""Saleor's GraphQL API, called as the App (with the token Saleor gave it at install).

A small surface: :meth:`SaleorClient.app_id`, :meth:`~SaleorClient.report_transaction_event`,
:meth:`~SaleorClient.channels`, :meth:`~SaleorClient.create_app_problem`,
:meth:`~SaleorClient.dismiss_app_problems` and :meth:`~SaleorClient.execute` for the rest.
Every failure is a :class:`SaleorError` whose ``code`` says what happened and whose
``retryable`` says whether the same call may succeed later. The token appears in no
repr, log line or error.

Retries: connection failures (nothing was sent) are retried for every call; answers of
502/503/504 (a proxy or Saleor in trouble, the call may or may not have run) only for
idempotent calls, which are the queries and the ``transactionEventReport`` types Saleor
de-duplicates by (transaction, pspReference, type, amount). A read timeout is never
retried here: it raises a retryable error and the caller decides.

Amounts go to Saleor as decimal strings (its ``PositiveDecimal`` parses ``str(value)``)
and come back as JSON numbers, read as Decimal, never float.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ...__version__ import __version__
from ..models import Installation
from .responses import SaleorVersion, amount_text

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0
RETRIES = 2
BACKOFF_FACTOR = 0.2

#: ``transactionEventReport`` types that Saleor records anew every time (never
#: de-duplicated), so a report of them is sent once, not retried after an answer was lost.
NOT_DEDUPLICATED_EVENTS = frozenset({"CHARGE_ACTION_REQUIRED", "AUTHORIZATION_ACTION_REQUIRED", "INFO"})

#: The first Saleor with app problems is 3.22.36; a 3.22 install is tried and an older
#: one answers with a schema error, which the client takes as "not supported".
APP_PROBLEMS_SINCE = SaleorVersion(3, 22, 0)
APP_PROBLEM_KEY_LENGTH = (3, 128)
APP_PROBLEM_MESSAGE_MIN_LENGTH = 3

APP_ID_QUERY = "query OpttyAppId { app { id } }"

CHANNELS_QUERY = "query OpttyChannels { channels { slug name currencyCode } }"

REPORT_TRANSACTION_EVENT = """
mutation OpttyReportTransactionEvent(
  $id: ID!
  $pspReference: String!
  $type: TransactionEventTypeEnum!
  $amount: PositiveDecimal
  $message: String
  $time: DateTime
  $availableActions: [TransactionActionEnum!]
  $externalUrl: String
) {
  transactionEventReport(
    id: $id
    pspReference: $pspReference
    type: $type
    amount: $amount
    message: $message
    time: $time
    availableActions: $availableActions
    externalUrl: $externalUrl
  ) {
    alreadyProcessed
    transactionEvent { id }
    transaction {
      id
      chargedAmount { amount }
      authorizedAmount { amount }
      refundedAmount { amount }
      checkout { id }
      order { id }
    }
    errors { field message code }
  }
}
"""

APP_PROBLEM_CREATE = """
mutation OpttyAppProblemCreate($input: AppProblemCreateInput!) {
  appProblemCreate(input: $input) { errors { field message code } }
}
"""

APP_PROBLEM_DISMISS = """
mutation OpttyAppProblemDismiss($keys: [String!]!) {
  appProblemDismiss(input: { byApp: { keys: $keys } }) { errors { field message code } }
}
"""

#: Every document the client sends, with the first Saleor version that has what it uses
#: (the tests validate each against the schemas of that version and later).
DOCUMENTS = {
    "app_id": (APP_ID_QUERY, SaleorVersion(3, 20, 0)),
    "channels": (CHANNELS_QUERY, SaleorVersion(3, 20, 0)),
    "report_transaction_event": (REPORT_TRANSACTION_EVENT, SaleorVersion(3, 20, 0)),
    "create_app_problem": (APP_PROBLEM_CREATE, SaleorVersion(3, 22, 36)),
    "dismiss_app_problems": (APP_PROBLEM_DISMISS, SaleorVersion(3, 22, 36)),
}


class SaleorError(Exception):
    """A call to Saleor that did not succeed.

    ``code`` is Saleor's own (``INCORRECT_DETAILS``, ``PermissionDenied``,
    ``GraphQLError``, ...) or the client's: ``UNREACHABLE``, ``TIMEOUT``,
    ``SALEOR_UNAVAILABLE`` (5xx), ``BAD_RESPONSE``. ``message`` is safe to log.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool = False,
        status_code: int | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.status_code = status_code
        self.field = field

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


@dataclass(frozen=True)
class Channel:
    slug: str
    name: str
    currency_code: str


@dataclass(frozen=True)
class EventReport:
    """Saleor's answer to ``transactionEventReport``."""

    #: Saleor already had this (transaction, pspReference, type, amount): nothing changed.
    already_processed: bool
    event_id: str | None
    #: ``id``, ``chargedAmount``/``authorizedAmount``/``refundedAmount`` (``{"amount": Decimal}``),
    #: ``checkout`` and ``order`` (``{"id": ...}`` or None): where the money sits now.
    transaction: Mapping[str, Any]


class SaleorClient:
    """Talks to one Saleor as the App."""

    def __init__(self, api_url: str, token: str, *, schema_version: str = ""):
        self.api_url = api_url
        self._token = token
        #: ``Saleor-Schema-Version`` from install ("3.20"), when known: decides what to try.
        self.schema_version = schema_version
        self._idempotent = _session(token, _retry(status=True))
        self._once = _session(token, _retry(status=False))

    @classmethod
    def for_installation(cls, installation: Installation) -> SaleorClient:
        return cls(installation.saleor_api_url, installation.token, schema_version=installation.schema_version)

    def __repr__(self) -> str:
        return f"<SaleorClient {self.api_url}>"

    def close(self) -> None:
        self._idempotent.close()
        self._once.close()

    def __enter__(self) -> SaleorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- public API

    def app_id(self) -> str:
        """The App's id in this Saleor; raises ``SaleorError`` (``PermissionDenied``) when
        Saleor does not accept the token."""
        app = self.execute(APP_ID_QUERY, idempotent=True).get("app")
        if not isinstance(app, Mapping) or not isinstance(app.get("id"), str):
            raise SaleorError("Saleor did not name the App this token belongs to.", code="PermissionDenied")
        return app["id"]

    def channels(self) -> list[Channel]:
        """Every channel of the shop (the App needs no permission beyond being an App)."""
        channels = self.execute(CHANNELS_QUERY, idempotent=True).get("channels")
        if not isinstance(channels, list):
            raise SaleorError("Saleor's channel list is not a list.", code="BAD_RESPONSE")
        return [Channel(item["slug"], item["name"], item["currencyCode"]) for item in channels]

    def report_transaction_event(
        self,
        *,
        transaction_id: str,
        psp_reference: str,
        type: str,
        amount: Decimal | None,
        message: str = "",
        time: datetime | None = None,
        available_actions: Sequence[str] | None = None,
        external_url: str | None = None,
    ) -> EventReport:
        """Reports one event of a transaction (``transactionEventReport``).

        The same (transaction, pspReference, type, amount) reported again answers
        ``already_processed=True``; the same key with another amount raises
        ``SaleorError`` with code ``INCORRECT_DETAILS``.
        """
        variables: dict[str, Any] = {"id": transaction_id, "pspReference": psp_reference, "type": type}
        if amount is not None:
            variables["amount"] = amount_text(amount)
        if message:
            variables["message"] = message
        if time is not None:
            variables["time"] = time.isoformat()
        if available_actions is not None:
            variables["availableActions"] = list(available_actions)
        if external_url:
            variables["externalUrl"] = external_url
        data = self.execute(REPORT_TRANSACTION_EVENT, variables, idempotent=type not in NOT_DEDUPLICATED_EVENTS)
        payload = _payload(data, "transactionEventReport")
        event = payload.get("transactionEvent") or {}
        return EventReport(
            already_processed=bool(payload.get("alreadyProcessed")),
            event_id=event.get("id"),
            transaction=payload.get("transaction") or {},
        )

    def create_app_problem(
        self,
        message: str,
        key: str,
        *,
        critical_threshold: int | None = None,
        aggregation_period: int | None = None,
    ) -> bool:
        """Shows a problem the merchant must fix on the App's page in the Dashboard
        (``appProblemCreate``, Saleor 3.22.36+). True when Saleor recorded it.

        Never raises for Saleor's sake: on a Saleor without app problems, or when the
        call fails, it logs and answers False, so that no payment breaks over a report.
        """
        if not APP_PROBLEM_KEY_LENGTH[0] <= len(key) <= APP_PROBLEM_KEY_LENGTH[1]:
            raise ValueError(f"A problem key has {APP_PROBLEM_KEY_LENGTH[0]} to {APP_PROBLEM_KEY_LENGTH[1]} characters.")
        if len(message.strip()) < APP_PROBLEM_MESSAGE_MIN_LENGTH:
            raise ValueError("A problem message has at least 3 characters.")
        problem: dict[str, Any] = {"message": message, "key": key}
        if critical_threshold is not None:
            problem["criticalThreshold"] = critical_threshold
        if aggregation_period is not None:
            problem["aggregationPeriod"] = aggregation_period
        return self._app_problems("appProblemCreate", APP_PROBLEM_CREATE, {"input": problem})

    def dismiss_app_problems(self, keys: Sequence[str]) -> bool:
        """Dismisses the App's problems with these keys (``appProblemDismiss``); like
        :meth:`create_app_problem`, never raises for Saleor's sake."""
        if not keys:
            return True
        return self._app_problems("appProblemDismiss", APP_PROBLEM_DISMISS, {"keys": list(keys)[:100]})

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """Runs a GraphQL document; its ``data``, or ``SaleorError``.

        ``idempotent``: sending the same request twice is harmless (queries, and reports
        Saleor de-duplicates), so it is repeated after a 502/503/504 answer.
        """
        session = self._idempotent if idempotent else self._once
        body = json.dumps({"query": query, "variables": dict(variables or {})})
        try:
            response = session.post(
                self.api_url, data=body, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False
            )
        except requests.Timeout as error:
            connect = isinstance(error, requests.ConnectTimeout)
            raise SaleorError(
                f"Saleor at {self.api_url} did not {'accept the connection' if connect else 'answer'} in time.",
                code="TIMEOUT",
                retryable=True,
            ) from None
        except requests.RequestException as error:
            raise SaleorError(
                f"Saleor at {self.api_url} could not be reached ({type(error).__name__}).",
                code="UNREACHABLE",
                retryable=True,
            ) from None
        return _data(response, self.api_url)

    # ---------------------------------------------------------------- internals

    def _app_problems(self, field: str, document: str, variables: dict[str, Any]) -> bool:
        if self.schema_version and SaleorVersion.parse(self.schema_version) < APP_PROBLEMS_SINCE:
            return False
        try:
            _payload(self.execute(document, variables), field)
        except SaleorError as error:
            if error.code == "GraphQLError" and error.status_code == 400:
                # The document is valid from 3.22.36 on (tests/app): an older schema.
                logger.info("Saleor at %s has no %s (older than 3.22.36)", self.api_url, field)
            else:
                logger.warning("Saleor at %s refused %s: %s", self.api_url, field, error)
            return False
        return True


def _retry(*, status: bool) -> Retry:
    return Retry(
        total=RETRIES,
        connect=RETRIES,
        read=False,  # a read timeout is raised as such, never repeated
        status=RETRIES if status else 0,
        other=0,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=(502, 503, 504) if status else (),
        allowed_methods=frozenset({"POST"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def _session(token: str, retry: Retry) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"saleor-optty-app/{__version__}",
        }
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _data(response: requests.Response, api_url: str) -> dict[str, Any]:
    status = response.status_code
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        code = ((first.get("extensions") or {}).get("exception") or {}).get("code") or "GraphQLError"
        raise SaleorError(
            str(first.get("message") or "Saleor refused the request."),
            code=str(code),
            retryable=status >= 500,
            status_code=status,
        )
    if status >= 500:
        raise SaleorError(
            f"Saleor at {api_url} failed (HTTP {status}).", code="SALEOR_UNAVAILABLE", retryable=True, status_code=status
        )
    if status in (401, 403):
        raise SaleorError(f"Saleor at {api_url} refused the App's token (HTTP {status}).", code="PermissionDenied", status_code=status)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise SaleorError(f"Saleor at {api_url} gave an unreadable answer (HTTP {status}).", code="BAD_RESPONSE", status_code=status)
    return body["data"]


def _payload(data: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """A mutation's payload, or ``SaleorError`` carrying the first error Saleor listed."""
    payload = data.get(field)
    if not isinstance(payload, Mapping):
        raise SaleorError(f"Saleor answered no {field} result.", code="BAD_RESPONSE")
    errors = payload.get("errors") or []
    if errors:
        first = errors[0]
        raise SaleorError(
            str(first.get("message") or f"Saleor refused {field}."),
            code=str(first.get("code") or "INVALID"),
            field=first.get("field"),
        )
    return payload
