"""What Saleor accepts from an App, written as code from Saleor's source (nothing copied).

The Saleor stand-in (:mod:`tests.app.standin`) judges every answer and manifest the App
gives with these rules, for the version it plays. Sources, all in saleor/saleor:

- webhook answers, 3.20: ``saleor/payment/utils.py@3.20.119``
  (``parse_transaction_action_data``, ``parse_transaction_event_data``,
  ``OPTIONAL_PSP_REFERENCE_EVENTS`` in ``saleor/payment/__init__.py``), a hand-written
  parse of the JSON Saleor reads with a plain ``json.loads``;
- webhook answers, 3.21+: the pydantic models of
  ``saleor/webhook/response_schemas/transaction.py`` (3.21.0, 3.23.28, main) as chosen by
  ``_validate_transaction_session_action_data`` / ``_validate_transaction_action_data``
  (``saleor/payment/utils.py@3.23.28``); 3.22 adds ``paymentMethodDetails``, 3.23
  ``CANCEL_SUCCESS`` in sessions and gift-card details;
- the gateway-initialize answer: ``PaymentGatewayInitializeSessionSchema`` (3.21+) and,
  on 3.20, the mutation passing only ``data`` to the storefront;
- manifests: ``saleor/app/manifest_validations.py`` (3.20.119, 3.23.28) and
  ``saleor/app/manifest_schema.py`` (3.23.28), ``AppURLValidator``, ``ICON_MIME_TYPES``.

Each check returns a list of problems, empty when Saleor accepts. Where Saleor's code
*crashes* on a value (a ``TypeError`` inside its parse), that counts as refused.
"""

from __future__ import annotations

import decimal
import ipaddress
import json
import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLSchema, OperationType, build_schema, parse, validate
from graphql.language import FieldNode, InlineFragmentNode, OperationDefinitionNode

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
SCHEMA_FILES = {
    "3.20.119": "schema-3.20.119.graphql",
    "3.23.28": "schema-3.23.28.graphql",
    "3.24.0-a.0": "schema-main-3.24.0a0.graphql",
}

GATEWAY_EVENT = "PAYMENT_GATEWAY_INITIALIZE_SESSION"
SESSION_EVENTS = frozenset({"TRANSACTION_INITIALIZE_SESSION", "TRANSACTION_PROCESS_SESSION"})
#: Staff-action webhooks, by the action they request.
ACTION_EVENTS = {
    "TRANSACTION_CHARGE_REQUESTED": "CHARGE",
    "TRANSACTION_REFUND_REQUESTED": "REFUND",
    "TRANSACTION_CANCELATION_REQUESTED": "CANCEL",
}
#: ``result`` values a session answer may carry, 3.20 and 3.21+; 3.23 adds CANCEL_SUCCESS.
SESSION_SUCCESS = frozenset({"AUTHORIZATION_SUCCESS", "CHARGE_SUCCESS", "AUTHORIZATION_REQUEST", "CHARGE_REQUEST"})
SESSION_FAILURE = frozenset({"AUTHORIZATION_FAILURE", "CHARGE_FAILURE"})
SESSION_ACTION_REQUIRED = frozenset({"AUTHORIZATION_ACTION_REQUIRED", "CHARGE_ACTION_REQUIRED"})
#: Results whose answer may leave out ``pspReference`` (Saleor's OPTIONAL_PSP_REFERENCE_EVENTS).
OPTIONAL_PSP_REFERENCE = frozenset(SESSION_ACTION_REQUIRED | {f"{a}_FAILURE" for a in ("CHARGE", "AUTHORIZATION", "REFUND", "CANCEL")})
#: Saleor's 3.20 TransactionEvent.external_url is a URLField of Django's default length.
EXTERNAL_URL_MAX_LENGTH_320 = 200
#: pydantic's HttpUrl.
EXTERNAL_URL_MAX_LENGTH = 2083


def version_tuple(version: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return (3, 20, 0)
    major, minor, patch = match.groups()
    return (int(major), int(minor), int(patch or 0))


# ------------------------------------------------------------------ webhook answers


def response_problems(version: str, event: str, body: Any) -> list[str]:
    """Why Saleor ``version`` would refuse ``body`` (already JSON-decoded the way Saleor
    does: plain ``json.loads``, numbers as float) as the answer to ``event``."""
    release = version_tuple(version)
    if event == GATEWAY_EVENT:
        return _gateway_problems(release, body)
    if event in SESSION_EVENTS:
        return _session_problems_320(body) if release < (3, 21) else _session_problems(release, body)
    if event in ACTION_EVENTS:
        action = ACTION_EVENTS[event]
        return _action_problems_320(action, body) if release < (3, 21) else _action_problems(action, body)
    raise ValueError(f"No rules for {event}.")


def _gateway_problems(release: tuple[int, int, int], body: Any) -> list[str]:
    # 3.20 hands the storefront ``body.get("data")`` (payment_gateway_initialize.py,
    # prepare_response): anything but an object crashes it. 3.21+ validate a non-empty
    # answer as {"data": JSON} (data required, may be null); an empty one is not validated.
    # Either way an answer without "data" reaches the storefront as null, without an error.
    if release < (3, 21):
        return [] if not body or isinstance(body, Mapping) else ["the answer is not a JSON object"]
    if not body:
        return []
    if not isinstance(body, Mapping) or "data" not in body:
        return ["`data` is required"]
    return []


def _session_problems_320(body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return ["the answer is not a JSON object"]
    results = SESSION_SUCCESS | SESSION_FAILURE | SESSION_ACTION_REQUIRED
    return _event_problems_320(body, results)


def _action_problems_320(action: str, body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return ["the answer is not a JSON object"]
    if body.get("amount") is None and not body.get("result"):
        # The asynchronous form: only the pspReference is recorded, and it is required
        # (the request type is not in OPTIONAL_PSP_REFERENCE_EVENTS).
        problems = _actions_problems_320(body)
        if not body.get("pspReference"):
            problems.append("`pspReference` is required when there is no `result`")
        return problems
    return _event_problems_320(body, {f"{action}_SUCCESS", f"{action}_FAILURE"})


def _event_problems_320(body: Mapping[str, Any], results: set[str] | frozenset[str]) -> list[str]:
    problems = _actions_problems_320(body)
    result = body.get("result")
    if not result:
        problems.append("`result` is missing")
    elif not isinstance(result, str) or result not in results:
        problems.append(f"`result` {result!r} is not one of {sorted(results)}")
    amount = body.get("amount")
    if amount is None:
        problems.append("`amount` is missing (3.20 needs it with every result)")
    else:
        try:
            parsed = Decimal(amount).quantize(Decimal("0.001"))
            if not parsed.is_finite():
                problems.append(f"`amount` {amount!r} is not finite")
        except (decimal.DecimalException, TypeError, ValueError):
            problems.append(f"`amount` {amount!r} is not a number")
    time = body.get("time")
    if time and not _iso_time_320(time):
        problems.append(f"`time` {time!r} is not an ISO 8601 time")
    psp = body.get("pspReference")
    if not psp and result not in OPTIONAL_PSP_REFERENCE:
        problems.append(f"`pspReference` is required with {result}")
    url = body.get("externalUrl")
    if isinstance(url, str) and len(url) > EXTERNAL_URL_MAX_LENGTH_320:
        problems.append("`externalUrl` is longer than 3.20 can store")
    elif url is not None and not isinstance(url, str):
        problems.append("`externalUrl` is not a string")
    return problems


def _iso_time_320(value: Any) -> bool:
    # 3.20 tries datetime.fromisoformat, then aniso8601's parse_datetime, and refuses
    # what neither reads; on the Python 3.12 Saleor 3.20 runs, fromisoformat reads every
    # ISO 8601 date-time an App would write (aniso8601 adds week and ordinal dates).
    if not isinstance(value, str):
        return False  # fromisoformat raises TypeError: Saleor's parse crashes
    try:
        datetime.fromisoformat(value)
        return True
    except ValueError:
        return False


def _actions_problems_320(body: Mapping[str, Any]) -> list[str]:
    actions = body.get("actions")
    if actions is None:
        return []
    try:
        [action for action in actions if action in {"CHARGE", "REFUND", "CANCEL"}]
    except TypeError:
        return [f"`actions` {actions!r} is not a list of names"]
    return []


def _session_problems(release: tuple[int, int, int], body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return ["the answer is not a JSON object"]
    result = body.get("result")
    cancel = {"CANCEL_SUCCESS"} if release >= (3, 23) else set()
    if result in SESSION_SUCCESS:
        problems = _psp_problems(body, required=True)
    elif result in SESSION_FAILURE | SESSION_ACTION_REQUIRED | cancel:
        problems = _psp_problems(body, required=False)
    else:
        return [f"`result` {result!r} is missing or not a session result"]
    problems += _common_field_problems(body)
    if release >= (3, 22):
        problems += _payment_method_problems(release, body.get("paymentMethodDetails"))
    return problems


def _action_problems(action: str, body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return ["the answer is not a JSON object"]
    result = body.get("result")
    if result is None:  # the asynchronous schema: pspReference and actions only
        return _psp_problems(body, required=True) + _list_problems(body.get("actions"))
    if result == f"{action}_SUCCESS":
        problems = _psp_problems(body, required=True)
    elif result == f"{action}_FAILURE":
        problems = _psp_problems(body, required=False)
    else:
        return [f"`result` {result!r} is not {action}_SUCCESS or {action}_FAILURE"]
    return problems + _common_field_problems(body)


def _psp_problems(body: Mapping[str, Any], *, required: bool) -> list[str]:
    if "pspReference" not in body or body["pspReference"] is None:
        return ["`pspReference` is required"] if required else []
    if not isinstance(body["pspReference"], str):
        return [f"`pspReference` {body['pspReference']!r} is not a string"]
    return []


def _common_field_problems(body: Mapping[str, Any]) -> list[str]:
    """TransactionBaseSchema: amount, time, externalUrl, actions (message: anything)."""
    problems = []
    amount = body.get("amount")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
            problems.append(f"`amount` {amount!r} is not a number or a numeric string")
        else:
            try:
                if not Decimal(str(amount).strip()).is_finite():
                    problems.append(f"`amount` {amount!r} is not finite")
            except decimal.DecimalException:
                problems.append(f"`amount` {amount!r} is not a decimal")
    time = body.get("time")
    if time is not None:
        if isinstance(time, str):
            try:
                datetime.fromisoformat(time)
            except ValueError:
                problems.append(f"`time` {time!r} is not ISO 8601")
        elif isinstance(time, bool) or not isinstance(time, (int, float)):
            problems.append(f"`time` {time!r} is not a time")
    url = body.get("externalUrl")
    if url is not None and not _http_url(url, EXTERNAL_URL_MAX_LENGTH):
        problems.append(f"`externalUrl` {url!r} is not a valid http(s) URL")
    return problems + _list_problems(body.get("actions"))


def _list_problems(actions: Any) -> list[str]:
    # Items other than CHARGE/REFUND/CANCEL are skipped, not refused.
    if actions is not None and not isinstance(actions, list):
        return [f"`actions` {actions!r} is not a list"]
    return []


def _payment_method_problems(release: tuple[int, int, int], details: Any) -> list[str]:
    if details is None:
        return []
    types = {"CARD", "OTHER", "GIFT_CARD"} if release >= (3, 23) else {"CARD", "OTHER"}
    if not isinstance(details, Mapping) or details.get("type") not in types:
        return [f"`paymentMethodDetails` must be an object with `type` one of {sorted(types)}"]
    name = details.get("name")
    if not isinstance(name, str) or len(name) > 256:
        return ["`paymentMethodDetails.name` must be a string of at most 256 characters"]
    return []


def _http_url(url: Any, max_length: int) -> bool:
    if not isinstance(url, str) or not url or len(url) > max_length or any(char.isspace() for char in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# ------------------------------------------------------------------ manifests


def manifest_problems(version: str, manifest: Any, *, schema: GraphQLSchema | None = None) -> list[str]:
    """Why Saleor ``version`` would refuse to install from ``manifest``."""
    if not isinstance(manifest, Mapping):
        return ["the manifest is not a JSON object"]
    release = version_tuple(version)
    schema = schema or load_schema(version)
    problems = []
    required = {"id", "version", "name"} | ({"tokenTargetUrl"} if release < (3, 23) else set())
    problems += [f"`{field}` is required" for field in sorted(required - set(manifest))]
    for field in ("id", "version", "name"):
        if field in manifest and not isinstance(manifest[field], str):
            problems.append(f"`{field}` must be a string")
    if manifest.get("id") == "saleor.io.gift-card-payment-gateway":
        problems.append("`id` is Saleor's gift-card gateway")
    for field in ("about", "appUrl", "tokenTargetUrl", "dataPrivacyUrl", "homepageUrl", "supportUrl", "audience"):
        if manifest.get(field) is not None and not isinstance(manifest[field], str):
            problems.append(f"`{field}` must be a string")
    if "tokenTargetUrl" in manifest and not app_url_valid(manifest["tokenTargetUrl"]):
        problems.append("`tokenTargetUrl` is not a valid URL")
    problems += _required_version_problems(version, manifest.get("requiredSaleorVersion"))
    author = manifest.get("author")
    if author is not None and (not isinstance(author, str) or not author.strip()):
        problems.append("`author` must be a non-empty string")
    problems += _brand_problems(manifest.get("brand"))
    permissions = manifest.get("permissions", [])
    known = set(schema.get_type("PermissionEnum").values)
    if not isinstance(permissions, list) or not all(name in known for name in permissions):
        problems.append(f"`permissions` {permissions!r} are not all Saleor permissions")
    elif "MANAGE_APPS" in permissions:
        problems.append("`MANAGE_APPS` cannot be given to an App installed from a manifest")
    if manifest.get("extensions") not in (None, []):
        problems.append("this App declares no extensions; the rules for them are not derived here")
    webhooks = manifest.get("webhooks", [])
    if not isinstance(webhooks, list):
        return problems + ["`webhooks` must be a list"]
    for webhook in webhooks:
        problems += _webhook_problems(schema, webhook)
    return problems


def app_url_valid(url: Any, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """Saleor's ``AppURLValidator``: an absolute URL whose host is an IP address, a
    domain name or ``localhost`` (no top-level domain needed), with an optional port."""
    if not isinstance(url, str) or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in schemes or not parts.hostname:
        return False
    if port is not None and not 10 <= port <= 99999:
        return False
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return all(re.fullmatch(r"[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?", label) for label in labels)


def _required_version_problems(version: str, constraint: Any) -> list[str]:
    if not constraint:
        return []
    from semantic_version import NpmSpec, Version
    from semantic_version.base import Range

    class NaturalPrereleaseSpec(NpmSpec):  # Saleor reads the range with prereleases "natural"
        class Parser(NpmSpec.Parser):
            @classmethod
            def range(cls, operator, target):
                return Range(operator, target, prerelease_policy=Range.PRERELEASE_NATURAL)

    try:
        spec = NaturalPrereleaseSpec(constraint)
    except Exception:  # Saleor: any parse error is "Incorrect value"
        return [f"`requiredSaleorVersion` {constraint!r} is not a version range"]
    if not spec.match(Version(version)):
        return [f"Saleor {version} does not satisfy `requiredSaleorVersion` {constraint!r}"]
    return []


def _brand_problems(brand: Any) -> list[str]:
    if brand is None:
        return []
    try:
        logo = brand["logo"]["default"]
    except (TypeError, KeyError):
        return ["`brand.logo.default` is required in `brand`"]
    if not app_url_valid(logo):
        return ["`brand.logo.default` is not a valid URL"]
    if mimetypes.guess_type(logo)[0] != "image/png":
        return ["`brand.logo.default` must name a PNG file (Saleor accepts image/png only)"]
    return []


def _webhook_problems(schema: GraphQLSchema, webhook: Any) -> list[str]:
    if not isinstance(webhook, Mapping):
        return ["a webhook is not an object"]
    name = webhook.get("name", "?")
    problems = [f"webhook {name}: `{field}` is required" for field in ("name", "targetUrl", "query") if field not in webhook]
    if problems:
        return problems
    if not isinstance(webhook.get("isActive", True), bool):
        problems.append(f"webhook {name}: `isActive` must be true or false")
    if not app_url_valid(webhook["targetUrl"], ("http", "https", "awssqs", "gcpubsub")):
        problems.append(f"webhook {name}: `targetUrl` is not a valid URL")
    sync_events = set(schema.get_type("WebhookEventTypeSyncEnum").values)
    async_events = set(schema.get_type("WebhookEventTypeAsyncEnum").values)
    events = list(webhook.get("syncEvents", [])) + list(webhook.get("asyncEvents", []))
    problems += [
        f"webhook {name}: {event!r} is not a Saleor event"
        for event in webhook.get("syncEvents", [])
        if event not in sync_events
    ]
    problems += [
        f"webhook {name}: {event!r} is not a Saleor event"
        for event in webhook.get("asyncEvents", [])
        if event not in async_events
    ]
    query_problems, event_types = subscription_problems(schema, webhook["query"])
    problems += [f"webhook {name}: {problem}" for problem in query_problems]
    for event in events:
        type_name = "".join(part.capitalize() for part in event.split("_"))
        if not query_problems and type_name not in event_types:
            problems.append(f"webhook {name}: the query selects nothing of {type_name}, so {event} would send no payload")
    return problems


def subscription_problems(schema: GraphQLSchema, query: Any) -> tuple[list[str], set[str]]:
    """Saleor's ``SubscriptionQuery`` checks (valid against the schema, a subscription
    with one ``event`` field); also the event types its ``... on`` fragments name."""
    if not isinstance(query, str):
        return ["`query` is not a string"], set()
    try:
        document = parse(query)
    except Exception as error:
        return [f"the query does not parse: {error}"], set()
    errors = validate(schema, document)
    if errors:
        return [f"the query is not valid: {error.message}" for error in errors], set()
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return ["the query must be one subscription"], set()
    fields = operations[0].selection_set.selections
    if len(fields) != 1 or not isinstance(fields[0], FieldNode) or fields[0].name.value != "event":
        return ["the subscription must select exactly `event`"], set()
    event_types = {
        selection.type_condition.name.value
        for selection in fields[0].selection_set.selections
        if isinstance(selection, InlineFragmentNode) and selection.type_condition
    }
    return [], event_types


def event_level_fields(query: str) -> set[str]:
    """The fields a subscription selects directly on the event (its own and those of
    ``... on`` fragments): what Saleor puts at the top of the webhook body."""
    operation = next(node for node in parse(query).definitions if isinstance(node, OperationDefinitionNode))
    event = operation.selection_set.selections[0]
    names = set()
    for selection in event.selection_set.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.alias.value if selection.alias else selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names |= {
                (field.alias.value if field.alias else field.name.value)
                for field in selection.selection_set.selections
                if isinstance(field, FieldNode)
            }
    return names


# ------------------------------------------------------------------ schemas


@cache
def load_schema(version: str) -> GraphQLSchema:
    """Saleor's GraphQL schema for ``version`` (tests/schema)."""
    return build_schema((SCHEMA_DIR / SCHEMA_FILES[version]).read_text())


def as_saleor_reads(text: bytes | str) -> Any:
    """An answer decoded as Saleor decodes it: ``json.loads``, numbers as float."""
    return json.loads(text)
